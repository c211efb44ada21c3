// The longest a session may live (its expiry must stay a date: a larger one made every play a 500).
import { MAX_SESSION_TTL_S } from "../../shared/session-life";

/** How long after its session expired a batch is still taken: the last one of a page closed at the end. */
export const LAST_BATCH_GRACE_S = 300;

/**
 * How long a play session (and its URL token) lives, in whole seconds: SESSION_TTL_S, at least a
 * minute and at most a week, 6 h by default (signed expiries are integers: a fractional one made every play a 500).
 */
export function sessionTtlS(env: Pick<Env, "SESSION_TTL_S">): number {
  const n = Math.floor(Number(env.SESSION_TTL_S));
  return Number.isFinite(n) && n !== 0 ? Math.min(MAX_SESSION_TTL_S, Math.max(60, n)) : 21600;
}
