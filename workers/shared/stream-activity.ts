import { TOUCH_EVERY_MS } from "../../shared/stream-touch";
import { setBounded } from "./bounded-map";

/**
 * A stream's activity, told to its member's object (MemberStreams) by either plane: steering polls and
 * QoE batches by the control plane, segments and manifests served by the data plane. One throttle per
 * isolate for all of them, so a session whose polls and segments land in one isolate costs one object
 * call per TOUCH_EVERY_MS, not one per request. The object's answer is kept: a stream it refuses (it
 * stopped, or it came back from silence to find every slot taken) gets 409 from this isolate's OCAs
 * until a later touch finds it a slot.
 */

/**
 * The member's object id as the URL token carries it (hex: opaque, where a member id may be an e-mail
 * address). Sites use it too: healthy traffic that outweighs clients' reports counts per member.
 */
export const memberStreamsId = (env: Env, memberId: string): string => env.MEMBER_STREAMS.idFromName(memberId).toString();

/** When this isolate last told each session's object (a Map: session ids come from URLs); bounded, oldest first out. */
const lastTouch = new Map<string, number>();
/** Sessions the object refused, until their token's expiry (ms). */
const refused = new Map<string, number>();
const MAX_SESSIONS = 50_000;

/** What the member's object says of a stream's activity (its RPC result, restated: the planes reach objects by RPC only). */
type TouchVerdict = "counted" | "readmitted" | "refused" | "unknown";

/** A stream's title and token expiry (ms): what its object needs to give it a slot again after a silence. */
export interface StreamRef {
  titleId: string;
  expiresAt: number;
}

function remember(map: Map<string, number>, sessionId: string, value: number): void {
  setBounded(map, sessionId, value, MAX_SESSIONS);
}

/** Notes that the session's object heard of it at `now` (its admission, or a touch). */
export function noteStreamActivity(sessionId: string, now: number): void {
  remember(lastTouch, sessionId, now);
}

/** Forgets when this isolate last touched a session that stopped: its next request asks the object (which refuses it once the stop's grace is over). */
export function forgetStream(sessionId: string): void {
  lastTouch.delete(sessionId);
}

/** True while the member's object refuses the session (as last heard by this isolate). */
export function streamRefused(sessionId: string, now = Date.now()): boolean {
  const until = refused.get(sessionId);
  if (until === undefined) return false;
  if (until > now) return true;
  refused.delete(sessionId);
  return false;
}

/**
 * Tells the member's object (`streamsId`, asked only when a touch is due) that the session is alive:
 * at most once per TOUCH_EVERY_MS per session from this isolate, never awaited by the request. Its
 * answer updates the isolate's refusals. An object that cannot be reached is logged: the stream then
 * counts until its silence runs out.
 */
export function touchStream(
  env: Env,
  streamsId: () => DurableObjectId,
  sessionId: string,
  stream: StreamRef,
  waitUntil: (p: Promise<unknown>) => void,
  now = Date.now(),
): void {
  if (now - (lastTouch.get(sessionId) ?? 0) < TOUCH_EVERY_MS) return;
  noteStreamActivity(sessionId, now);
  try {
    waitUntil(
      Promise.resolve(env.MEMBER_STREAMS.get(streamsId()).touch(sessionId, stream))
        .then((verdict: TouchVerdict) => {
          if (verdict === "refused") remember(refused, sessionId, stream.expiresAt);
          else if (verdict !== "unknown") refused.delete(sessionId);
        })
        .catch((err) => console.error("member streams touch", err)),
    );
  } catch (err) {
    console.error("member streams touch", err);
  }
}
