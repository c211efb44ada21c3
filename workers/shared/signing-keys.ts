import { ApiError } from "./errors";
import { isKid, KID_PATTERN, parseKeyRing, type KeyRing } from "./url-token";

let cached: { raw: string | undefined; ring: KeyRing } | null = null;

/**
 * The URL signing key ring from the URL_SIGNING_KEYS secret, parsed once per isolate. Missing or
 * unparsable keys are a 503 `not_configured`: no token is signed or accepted without a real key.
 */
export function urlKeyRing(env: Pick<Env, "URL_SIGNING_KEYS">): KeyRing {
  if (cached && cached.raw === env.URL_SIGNING_KEYS) return cached.ring;
  const verdict = parseKeyRing(env.URL_SIGNING_KEYS);
  if (!verdict.ok) throw new ApiError(503, "not_configured", `URL signing is not configured: ${verdict.reason}`);
  cached = { raw: env.URL_SIGNING_KEYS, ring: verdict.ring };
  return verdict.ring;
}

/** The ring and the key id new tokens are signed with (URL_SIGNING_KID), which must be in the ring. */
export function signingKey(env: Pick<Env, "URL_SIGNING_KEYS" | "URL_SIGNING_KID">): { ring: KeyRing; kid: string } {
  const ring = urlKeyRing(env);
  const kid = env.URL_SIGNING_KID;
  // A well-formed key id is public (every token carries it); anything else may be a secret pasted in the wrong place.
  if (!isKid(kid)) throw new ApiError(503, "not_configured", `URL signing is not configured: URL_SIGNING_KID must match ${KID_PATTERN}`);
  if (!ring.has(kid)) throw new ApiError(503, "not_configured", `URL signing is not configured: URL_SIGNING_KID "${kid}" is not a key of URL_SIGNING_KEYS`);
  return { ring, kid };
}
