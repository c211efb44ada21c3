import { TOUCH_EVERY_MS } from "../../shared/stream-touch";
import { ApiError } from "../shared/errors";
import { withTimeout } from "../shared/with-timeout";
import { forgetStream, noteStreamActivity, type StreamRef, touchStream as touchStreamObject } from "../shared/stream-activity";

export { TOUCH_EVERY_MS };

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
 * session from this isolate (steering polls, QoE batches; the data plane tells it of segments served),
 * and told when a stream stops.
 */

const STREAMS_TIMEOUT_MS = 2_000;

const stub = (env: Env, memberId: string) => env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName(memberId));

export { memberStreamsId } from "../shared/stream-activity";

/** The member object's answer to a play (its RPC result, restated here: the control plane reaches objects by RPC only). */
type Admission =
  | { verdict: "granted"; active: ActiveStream[] }
  | { verdict: "full"; active: ActiveStream[]; stoppedHolding?: number }
  | { verdict: "rate_limited"; retryAfterS: number };

export type StreamSlot =
  | { state: "granted" }
  | { state: "full"; active: ActiveStream[]; stoppedHolding: number }
  | { state: "rate_limited"; retryAfterS: number }
  | { state: "unchecked"; reason: string };

/**
 * Asks the member's object to admit a new stream (the play counts against the member's play rate, then
 * takes a slot); "unchecked" when it cannot answer in time (the play goes ahead).
 */
export async function acquireStream(
  env: Env,
  memberId: string,
  s: { sessionId: string; titleId: string; expiresAt: number },
  limits: { streams: number; playsPerWindow: number },
): Promise<StreamSlot> {
  try {
    const r = (await withTimeout(Promise.resolve(stub(env, memberId).acquire(s, limits)), STREAMS_TIMEOUT_MS, "member streams")) as Admission;
    if (r.verdict === "granted") noteStreamActivity(s.sessionId, Date.now());
    return r.verdict === "granted"
      ? { state: "granted" }
      : r.verdict === "full"
        ? { state: "full", active: r.active, stoppedHolding: r.stoppedHolding ?? 0 }
        : { state: "rate_limited", retryAfterS: r.retryAfterS };
  } catch (err) {
    return { state: "unchecked", reason: String(err).slice(0, 300) };
  }
}

/** Activity of a stream (throttled per isolate, never awaited by the request). */
export function touchStream(
  env: Env,
  memberId: string,
  sessionId: string,
  stream: StreamRef,
  waitUntil: (p: Promise<unknown>) => void,
  now = Date.now(),
): void {
  touchStreamObject(env, () => env.MEMBER_STREAMS.idFromName(memberId), sessionId, stream, waitUntil, now);
}

/**
 * The client stopped the stream: its slot is free by the time the request answers (a renewing client
 * plays next). `stream` (from the signed session) lets the object keep the stop even of a stream it no
 * longer held. False when the member's object could not be asked (logged): the slot is still held.
 */
export async function releaseStream(
  env: Env,
  memberId: string,
  sessionId: string,
  stream: StreamRef,
  by: "client" | "failed_play" = "client",
): Promise<boolean> {
  return memberStreams(env, memberId)
    .release(sessionId, stream, by)
    .then(() => true)
    .catch((err) => {
      console.error("member streams release", err);
      return false;
    });
}

/**
 * The member's object asked for its streams that count, or to free one (a client's stop, an
 * operator's). Answers within STREAMS_TIMEOUT_MS, else 503 `streams_unavailable`.
 */
export function memberStreams(env: Env, memberId: string) {
  const ask = <T>(p: Promise<T>): Promise<T> =>
    withTimeout(p, STREAMS_TIMEOUT_MS, "member streams").catch((err) => {
      throw new ApiError(503, "streams_unavailable", `the member's streams could not be read: ${String(err).slice(0, 200)}`);
    });
  return {
    active: (): Promise<ActiveStream[]> => ask(Promise.resolve(stub(env, memberId).active())),
    release: (sessionId: string, stream?: StreamRef, by?: "client" | "failed_play"): Promise<boolean> => {
      forgetStream(sessionId);
      return ask(Promise.resolve(stub(env, memberId).release(sessionId, stream, by)));
    },
  };
}
