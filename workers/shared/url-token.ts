/**
 * OCA URL tokens: HMAC-SHA256 over (title, session, expiry, height cap), with a key id so keys
 * rotate. Carried as one path segment, so relative URIs inside playlists keep it, and not bound
 * to any OCA, so a client fails over to the next OCA without a new play request.
 *
 * Format: v1.{kid}.{sessionId}.{expiresAtSeconds}.{maxHeight}.{base64url(mac)}
 */

export interface UrlTokenClaims {
  titleId: string;
  sessionId: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Highest video rendition height the session may fetch (plan and device cap). */
  maxHeight: number;
}

export type KeyRing = Record<string, string>;

const enc = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keyCache.set(secret, key);
  }
  return key;
}

function b64url(bytes: ArrayBuffer): string {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]+$/.test(s)) return null;
  try {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function message(kid: string, c: UrlTokenClaims): Uint8Array {
  return enc.encode(`v1|${kid}|${c.titleId}|${c.sessionId}|${c.exp}|${c.maxHeight}`);
}

/** Parses the URL_SIGNING_KEYS secret ({"kid":"secret",...}). */
export function parseKeyRing(raw: string | undefined): KeyRing {
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (parsed && typeof parsed === "object") {
      return Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === "string" && v.length >= 16)) as KeyRing;
    }
  } catch {
    /* fall through */
  }
  return {};
}

/** Signs claims with the key `kid` of the ring. */
export async function signUrlToken(ring: KeyRing, kid: string, claims: UrlTokenClaims): Promise<string> {
  const secret = ring[kid];
  if (!secret) throw new Error(`URL signing key ${kid} is not configured`);
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), message(kid, claims));
  return `v1.${kid}.${claims.sessionId}.${claims.exp}.${claims.maxHeight}.${b64url(mac)}`;
}

export type VerifyResult =
  | { ok: true; claims: UrlTokenClaims }
  | { ok: false; reason: "malformed" | "unknown_key" | "bad_signature" | "expired" };

/** Verifies a token for a title at time `nowS` (seconds); the title comes from the URL, so a token for another title fails. */
export async function verifyUrlToken(ring: KeyRing, token: string, titleId: string, nowS: number): Promise<VerifyResult> {
  const parts = token.split(".");
  if (parts.length !== 6 || parts[0] !== "v1") return { ok: false, reason: "malformed" };
  const [, kid, sessionId, expRaw, heightRaw, macRaw] = parts;
  if (!/^\d{1,12}$/.test(expRaw) || !/^\d{1,5}$/.test(heightRaw) || !/^[A-Za-z0-9-]{1,64}$/.test(sessionId)) {
    return { ok: false, reason: "malformed" };
  }
  const secret = ring[kid];
  if (!secret) return { ok: false, reason: "unknown_key" };
  const mac = fromB64url(macRaw);
  if (!mac || mac.length !== 32) return { ok: false, reason: "malformed" };
  const claims: UrlTokenClaims = { titleId, sessionId, exp: Number(expRaw), maxHeight: Number(heightRaw) };
  // crypto.subtle.verify compares in constant time.
  const good = await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, message(kid, claims));
  if (!good) return { ok: false, reason: "bad_signature" };
  if (claims.exp <= nowS) return { ok: false, reason: "expired" };
  return { ok: true, claims };
}
