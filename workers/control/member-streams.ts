import { withTimeout } from "../shared/with-timeout";

/** A stream that counts against the member's limit, as the member's object reports it. */
export interface ActiveStream {
  sessionId: string;
  titleId: string;
  startedAt: number;
  lastSeenAt: number;
}

/**
 * The control plane's side of the per-member stream limit: one Durable Object per member, asked on
 * play (within STREAMS_TIMEOUT_MS, failing open), told of activity at most once per TOUCH_EVERY_MS per
 * session from this isolate (steering polls, QoE batches), and told when a stream stops.
 */

const STREAMS_TIMEOUT_MS = 2_000;
const TOUCH_EVERY_MS = 20_000;
const lastTouch = new Map<string, number>();

const stub = (env: Env, memberId: string) => env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName(memberId));

export type StreamSlot = { state: "granted" } | { state: "full"; active: ActiveStream[] } | { state: "unchecked"; reason: string };

/** Asks the member's object for a slot; "unchecked" when it cannot answer in time (the play goes ahead). */
export async function acquireStream(
  env: Env,
  memberId: string,
  s: { sessionId: string; titleId: string; expiresAt: number },
  limit: number,
): Promise<StreamSlot> {
  try {
    const r = await withTimeout(stub(env, memberId).acquire(s, limit), STREAMS_TIMEOUT_MS, "member streams");
    if (r.ok) lastTouch.set(s.sessionId, Date.now());
    return r.ok ? { state: "granted" } : { state: "full", active: r.active };
  } catch (err) {
    return { state: "unchecked", reason: String(err).slice(0, 300) };
  }
}

/** Activity of a stream (throttled per isolate, never awaited by the request). */
export function touchStream(env: Env, memberId: string, sessionId: string, waitUntil: (p: Promise<unknown>) => void, now = Date.now()): void {
  if (now - (lastTouch.get(sessionId) ?? 0) < TOUCH_EVERY_MS) return;
  lastTouch.set(sessionId, now);
  if (lastTouch.size > 50_000) lastTouch.delete(lastTouch.keys().next().value as string);
  waitUntil(
    stub(env, memberId)
      .touch(sessionId)
      .catch((err) => console.error("member streams touch", err)),
  );
}

/** The client stopped the stream: its slot is free by the time the request answers (a renewing client plays next). */
export async function releaseStream(env: Env, memberId: string, sessionId: string): Promise<void> {
  lastTouch.delete(sessionId);
  await withTimeout(stub(env, memberId).release(sessionId), STREAMS_TIMEOUT_MS, "member streams").catch((err) => console.error("member streams release", err));
}
