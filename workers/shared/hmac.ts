/** HMAC-SHA256 helpers shared by the signed formats (URL tokens, session tokens): keys, and one canonical MAC text. */

const MAC = /^[A-Za-z0-9_-]{43}$/;

const enc = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

/** The HMAC-SHA256 key of a secret, imported once per isolate. */
export function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keyCache.set(secret, key);
  }
  return key;
}

// Every play verifies one of these and signs two: no per-byte string concatenation or mapping callbacks.
const CHUNK = 8192;

/** Unpadded base64url. */
export function b64url(bytes: ArrayBuffer | Uint8Array): string {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (let i = 0; i < u8.length; i += CHUNK) s += String.fromCharCode(...u8.subarray(i, i + CHUNK));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes unpadded base64url; null when it is not that. */
export function fromB64url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
  let bin: string;
  try {
    bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  } catch {
    return null;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const utf8 = new TextDecoder();

/** The JSON value of a signed payload's UTF-8 bytes, or undefined when they are not JSON. */
export function jsonOfBytes(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
}

/** Decodes a 43-character MAC; null unless re-encoding gives back the very same text (one spelling per MAC). */
export function macBytes(s: string): Uint8Array | null {
  if (!MAC.test(s)) return null;
  const bytes = fromB64url(s);
  return bytes && bytes.length === 32 && b64url(bytes) === s ? bytes : null;
}
