import { TOUCH_EVERY_MS } from "../../shared/stream-touch";

/**
 * A stream's activity, told to its member's object (MemberStreams) by either plane: steering polls and
 * QoE batches by the control plane, segments and manifests served by the data plane. One throttle per
 * isolate for all of them, so a session whose polls and segments land in one isolate costs one object
 * call per TOUCH_EVERY_MS, not one per request.
 */

/** When this isolate last told each session's object (a Map: session ids come from URLs); bounded, oldest first out. */
const lastTouch = new Map<string, number>();
const LAST_TOUCH_MAX = 50_000;

/** Notes that the session's object heard of it at `now` (its admission, or a touch). */
export function noteStreamActivity(sessionId: string, now: number): void {
  lastTouch.delete(sessionId);
  lastTouch.set(sessionId, now);
  if (lastTouch.size > LAST_TOUCH_MAX) lastTouch.delete(lastTouch.keys().next().value as string);
}

/** Forgets a session that stopped. */
export function forgetStream(sessionId: string): void {
  lastTouch.delete(sessionId);
}

/**
 * Tells the member's object (`streamsId`, asked only when a touch is due) that the session is alive:
 * at most once per TOUCH_EVERY_MS per session from this isolate, never awaited by the request. An
 * object that cannot be reached is logged: the stream then counts until its silence runs out.
 */
export function touchStream(env: Env, streamsId: () => DurableObjectId, sessionId: string, waitUntil: (p: Promise<unknown>) => void, now = Date.now()): void {
  if (now - (lastTouch.get(sessionId) ?? 0) < TOUCH_EVERY_MS) return;
  noteStreamActivity(sessionId, now);
  try {
    waitUntil(
      env.MEMBER_STREAMS.get(streamsId())
        .touch(sessionId)
        .catch((err) => console.error("member streams touch", err)),
    );
  } catch (err) {
    console.error("member streams touch", err);
  }
}
