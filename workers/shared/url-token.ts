/**
 * OCA URL tokens: HMAC-SHA256 over (title, version, session, issue time, expiry, height cap, home site,
 * licence country, the member's streams object), with a key id so keys rotate. Carried as one path segment, so relative URIs inside playlists keep it, and not bound
 * to any OCA, so a client fails over to the next OCA without a new play request.
 *
 * Format: v5.{kid}.{sessionId}.{issuedAtMs}.{expiresAtSeconds}.{maxHeight}.{titleVersion}.{homeSiteId}.{country}.{streamsObjectId}.{base64url(mac)}
 * (v1 had no title version, v2 no home site, v3 no streams object, v4 no country or issue time; none is
 * accepted: a player holding one gets 403 and presses play again.) The version pins the session to the bytes it started
 * with: a title re-published mid-stream never mixes two versions in one session. The home site tells the
 * data plane where the session's viewing history and QoE live, so what a player says on its segment
 * requests (CMCD) and origin bytes reach that site without a lookup. The streams object (the member's
 * `MemberStreams` id, 64 hex digits: opaque, unlike a member id that may be an e-mail address) is where
 * segments served count as the stream's activity, so a player that only fetches segments keeps its slot.
 * The country is the one whose licence the play was granted under, and the issue time when: when that
 * licence stops, the data plane stops the segments of the sessions it had granted (issued before the
 * stop) while the title plays on elsewhere, and on there for sessions granted after a new licence.
 *
 * Exactly one encoding of a set of claims verifies: numbers without leading zeros, the MAC as the
 * 43-character unpadded base64url form of 32 bytes (re-encoded and compared, so the spare low bits
 * of the last character cannot vary).
 */

import { isCountryCode, isInheritedName, isSafeId, isSessionId, isStreamsId } from "../../shared/ids";
import { MAX_SESSION_TTL_S } from "../../shared/session-life";
import { b64url, hmacKey, macBytes } from "./hmac";

export interface UrlTokenClaims {
  titleId: string;
  sessionId: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Highest video rendition height the session may fetch (plan and device cap). */
  maxHeight: number;
  /** The title version the session plays (its files' contents are fixed by the version's index). */
  version: number;
  /** The session's home site (whose viewing history it counts in). */
  home: string;
  /** The country whose licence the play was granted under (ISO 3166-1 alpha-2). */
  country: string;
  /** When the play was granted (ms since the epoch). */
  issuedAt: number;
  /** The member's MemberStreams object id (hex), told of the stream's activity as segments are served. */
  streams: string;
}

/**
 * Signing keys by key id. A Map, never a plain object: a key id from a URL must only ever find the
 * ring's own entries (`ring["__proto__"]` on an object would hand out a key anyone can compute).
 */
export type KeyRing = ReadonlyMap<string, string>;

/** Key ids: short and plain, so they fit a path segment. */
export const KID_PATTERN = /^[a-z][a-z0-9]{0,15}$/;

/** A well-formed key id that names no inherited property ("constructor" fits the pattern). */
export const isKid = (kid: string): boolean => KID_PATTERN.test(kid) && !isInheritedName(kid);
/** A signing secret shorter than this is refused (HMAC-SHA256 wants at least 128 bits of key). */
export const MIN_SECRET_LENGTH = 16;

/** Canonical decimal: no sign, no leading zeros (so "0123" and "123" are not two tokens). */
const EXP = /^[1-9]\d{0,11}$/;
const ISSUED = /^[1-9]\d{0,14}$/;
const HEIGHT = /^[1-9]\d{0,4}$/;
const VERSION = /^[1-9]\d{0,8}$/;
/**
 * True when an expiry (s) lies at most the longest session after its grant (ms): no token outlives
 * MAX_SESSION_TTL_S, whatever signed it (a signer's bug, or a setting read wrong, must not hand out
 * tokens good for years).
 */
export const withinLongestSession = (grantedAtMs: number, expS: number): boolean => expS * 1000 - grantedAtMs <= MAX_SESSION_TTL_S * 1000;

/** Expired at `nowS` (s); a clock that is not a finite number expires every token rather than none (`exp <= NaN` is false). */
export const expiredAt = (expS: number, nowS: number): boolean => !Number.isFinite(nowS) || expS <= nowS;

/** Longer than any token of well-formed claims (kid 16, session 64, issued 15, home 64, country 2, streams 64, MAC 43 and the rest). */
export const MAX_URL_TOKEN = 350;
function message(kid: string, c: UrlTokenClaims): Uint8Array {
  return new TextEncoder().encode(
    `v5|${kid}|${c.titleId}|${c.version}|${c.sessionId}|${c.issuedAt}|${c.exp}|${c.maxHeight}|${c.home}|${c.country}|${c.streams}`,
  );
}

export type KeyRingVerdict = { ok: true; ring: KeyRing } | { ok: false; reason: string };

/**
 * Parses the URL_SIGNING_KEYS secret (`{"kid":"secret",...}`). Missing, unparsable or empty is an
 * error, and so is any entry with a bad key id or a short secret: a half-valid ring is a
 * misconfiguration to report, not to serve with.
 */
export function parseKeyRing(raw: string | undefined): KeyRingVerdict {
  if (!raw) return { ok: false, reason: "URL_SIGNING_KEYS is not set" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ok: false, reason: "URL_SIGNING_KEYS is not JSON" };
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    return { ok: false, reason: "URL_SIGNING_KEYS must be a JSON object of key id to secret" };
  const ring = new Map<string, string>();
  for (const [i, [kid, secret]] of Object.entries(parsed).entries()) {
    // Named by position, never echoed: a malformed key id may be a secret written on the wrong side (`{"secret":"k1"}`),
    // and this reason is the body of every token route's 503.
    if (!isKid(kid)) return { ok: false, reason: `URL_SIGNING_KEYS: key id number ${i + 1} must match ${KID_PATTERN} and not be a reserved name` };
    if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) {
      return { ok: false, reason: `URL_SIGNING_KEYS: the secret of ${kid} must be a string of at least ${MIN_SECRET_LENGTH} characters` };
    }
    ring.set(kid, secret);
  }
  if (ring.size === 0) return { ok: false, reason: "URL_SIGNING_KEYS holds no keys" };
  return { ok: true, ring };
}

/** Signs claims with the key `kid` of the ring; throws when the ring has no such key. */
export async function signUrlToken(ring: KeyRing, kid: string, claims: UrlTokenClaims): Promise<string> {
  const secret = isKid(kid) ? ring.get(kid) : undefined;
  if (secret === undefined) throw new Error(`URL signing key ${kid} is not configured`);
  if (
    // Exactly what verifyUrlToken accepts: never a token that would be refused as malformed.
    !isSessionId(claims.sessionId) ||
    !EXP.test(String(claims.exp)) ||
    !ISSUED.test(String(claims.issuedAt)) ||
    !HEIGHT.test(String(claims.maxHeight)) ||
    !VERSION.test(String(claims.version)) ||
    !withinLongestSession(claims.issuedAt, claims.exp) ||
    !isSafeId(claims.home) ||
    !isCountryCode(claims.country) ||
    !isStreamsId(claims.streams)
  ) {
    throw new Error("URL token claims out of range");
  }
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), message(kid, claims));
  return `v5.${kid}.${claims.sessionId}.${claims.issuedAt}.${claims.exp}.${claims.maxHeight}.${claims.version}.${claims.home}.${claims.country}.${claims.streams}.${b64url(mac)}`;
}

export type VerifyResult = { ok: true; claims: UrlTokenClaims } | { ok: false; reason: "malformed" | "unknown_key" | "bad_signature" | "expired" };

/** Verifies a token for a title at time `nowS` (seconds); the title comes from the URL, so a token for another title fails. */
export async function verifyUrlToken(ring: KeyRing, token: string, titleId: string, nowS: number): Promise<VerifyResult> {
  if (token.length > MAX_URL_TOKEN) return { ok: false, reason: "malformed" };
  const parts = token.split(".");
  if (parts.length !== 11 || parts[0] !== "v5") return { ok: false, reason: "malformed" };
  const [, kid, sessionId, issuedRaw, expRaw, heightRaw, versionRaw, home, country, streams, macRaw] = parts;
  if (
    !ISSUED.test(issuedRaw) ||
    !EXP.test(expRaw) ||
    !HEIGHT.test(heightRaw) ||
    !VERSION.test(versionRaw) ||
    !isSessionId(sessionId) ||
    !isSafeId(home) ||
    !isCountryCode(country) ||
    !isStreamsId(streams)
  )
    return { ok: false, reason: "malformed" };
  const secret = isKid(kid) ? ring.get(kid) : undefined;
  if (secret === undefined) return { ok: false, reason: "unknown_key" };
  const mac = macBytes(macRaw);
  if (!mac) return { ok: false, reason: "malformed" };
  const claims: UrlTokenClaims = {
    titleId,
    sessionId,
    exp: Number(expRaw),
    maxHeight: Number(heightRaw),
    version: Number(versionRaw),
    home,
    country,
    issuedAt: Number(issuedRaw),
    streams,
  };
  // crypto.subtle.verify compares in constant time.
  const good = await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, message(kid, claims));
  if (!good) return { ok: false, reason: "bad_signature" };
  if (!withinLongestSession(claims.issuedAt, claims.exp)) return { ok: false, reason: "malformed" };
  if (expiredAt(claims.exp, nowS)) return { ok: false, reason: "expired" };
  return { ok: true, claims };
}
