/** HMAC-SHA256 helpers shared by the signed formats (URL tokens, session tokens): keys, and one canonical MAC text. */

const MAC = /^[A-Za-z0-9_-]{43}$/;

const enc = new TextEncoder();
/** Imported keys, never an import in flight (see workers/shared/single-flight.ts). Keyed by the deployment's own secrets. */
const keyCache = new Map<string, CryptoKey>();

/** The HMAC-SHA256 key of a secret, imported once per isolate (requests that miss together each import it). */
export async function hmacKey(secret: string): Promise<CryptoKey> {
  const cached = keyCache.get(secret);
  if (cached) return cached;
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  keyCache.set(secret, key);
  return key;
}

// Every play verifies one of these and signs two. The runtime's own base64 (Uint8Array.toBase64 /
// fromBase64, in workerd) is about 100 times faster than a string built in JavaScript (0.6 against 60 µs
// for an 844-byte session token); the portable versions are kept for a runtime without it.
const CHUNK = 8192;

interface NativeBase64 {
  toBase64?: (this: Uint8Array, o: { alphabet: "base64url"; omitPadding: boolean }) => string;
}
interface NativeFromBase64 {
  fromBase64?: (s: string, o: { alphabet: "base64url"; lastChunkHandling: "loose" }) => Uint8Array;
}
const nativeTo = (Uint8Array.prototype as NativeBase64).toBase64;
const nativeFrom = (Uint8Array as unknown as NativeFromBase64).fromBase64;

/** Unpadded base64url. */
export function b64url(bytes: ArrayBuffer | Uint8Array): string {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return nativeTo ? nativeTo.call(u8, { alphabet: "base64url", omitPadding: true }) : b64urlPortable(u8);
}

/** Unpadded base64url, in JavaScript alone (what `b64url` does where the runtime has no `toBase64`). */
export function b64urlPortable(u8: Uint8Array): string {
  let s = "";
  for (let i = 0; i < u8.length; i += CHUNK) s += String.fromCharCode(...u8.subarray(i, i + CHUNK));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Unpadded base64url's alphabet and lengths (checked before decoding: the runtime's decoder would skip whitespace). */
const isB64url = (s: string) => /^[A-Za-z0-9_-]*$/.test(s) && s.length % 4 !== 1;

/** Decodes unpadded base64url; null when it is not that. */
export function fromB64url(s: string): Uint8Array | null {
  if (!nativeFrom) return fromB64urlPortable(s);
  if (!isB64url(s)) return null;
  try {
    return nativeFrom(s, { alphabet: "base64url", lastChunkHandling: "loose" });
  } catch {
    return null;
  }
}

/** `fromB64url` in JavaScript alone (for a runtime without `Uint8Array.fromBase64`). */
export function fromB64urlPortable(s: string): Uint8Array | null {
  if (!isB64url(s)) return null;
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
