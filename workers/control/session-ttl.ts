/** How long after its session expired a batch is still taken: the last one of a page closed at the end. */
export const LAST_BATCH_GRACE_S = 300;

/** How long a play session (and its URL token) lives, in seconds: SESSION_TTL_S, at least a minute, 6 h by default. */
export function sessionTtlS(env: Pick<Env, "SESSION_TTL_S">): number {
  return Math.max(60, Number(env.SESSION_TTL_S) || 21600);
}
