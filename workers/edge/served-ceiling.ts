import { setBounded } from "../shared/bounded-map";

/**
 * How many of a response's bytes count as served to its session. A response counts when it is made
 * (its body then streams natively: counting bytes as they went out would put JavaScript in every
 * chunk's path, about three times the Worker's CPU per segment), so a token holder who asks for files
 * and drops the requests would count them all toward the OCA's load, its site's bytes and the session.
 * Each session's count in an isolate is therefore held to a token bucket: a burst bigger than any
 * player's start-up prebuffer, then a steady rate above any rendition's. An honest stream never meets
 * it; an aborting client counts at most SERVED_RATE_BPS per session, not whatever it asks for.
 */

/** The burst a session may count at once (bytes). */
export const SERVED_BURST_BYTES = 256 * 2 ** 20;
/** The rate a session's count refills at (bits/s). */
export const SERVED_RATE_BPS = 100e6;
const MAX_SESSIONS = 50_000;

const buckets = new Map<string, { bytes: number; at: number }>();

/** The part of `bytes` served now to `sessionId` that counts (the rest is over the session's ceiling). */
export function countableBytes(sessionId: string, bytes: number, now = Date.now()): number {
  const prev = buckets.get(sessionId);
  const left = prev ? Math.min(SERVED_BURST_BYTES, prev.bytes + (Math.max(0, now - prev.at) / 1000) * (SERVED_RATE_BPS / 8)) : SERVED_BURST_BYTES;
  const counted = Math.max(0, Math.min(bytes, left));
  setBounded(buckets, sessionId, { bytes: left - counted, at: now }, MAX_SESSIONS);
  return counted;
}
