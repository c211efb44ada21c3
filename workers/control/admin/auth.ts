import { createMiddleware } from "hono/factory";
import { setBounded } from "../../shared/bounded-map";
import { ApiError } from "../../shared/errors";
import { clientIp, enforceLimit, rateLimited } from "../limits";
import type { AdminEnv } from "./params";

/** Constant-time string comparison through HMAC, so token length and prefix do not leak. */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const key = await crypto.subtle.importKey("raw", crypto.getRandomValues(new Uint8Array(32)), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const enc = new TextEncoder();
  const [x, y] = await Promise.all([crypto.subtle.sign("HMAC", key, enc.encode(a)), crypto.subtle.sign("HMAC", key, enc.encode(b))]);
  const xa = new Uint8Array(x);
  const ya = new Uint8Array(y);
  let diff = 0;
  for (let i = 0; i < xa.length; i++) diff |= xa[i] ^ ya[i];
  return diff === 0;
}

/**
 * Shortest ADMIN_TOKEN the API runs on, so it cannot be guessed within the failures a client may send
 * (the same floor as MEMBER_JWT_SECRET and the URL signing keys).
 */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** How long an address past its failed admin tokens (ADMIN_AUTH_PER_IP) is refused in an isolate. */
export const ADMIN_REFUSAL_MS = 60_000;

/** Addresses refused in this isolate, until when (bounded). */
const refusedUntil = new Map<string, number>();

/**
 * Requires `Authorization: Bearer <ADMIN_TOKEN>`; 503 while ADMIN_TOKEN is unset, too short or holds whitespace. Failed
 * tokens count per client IP (an IPv6 client per /64; 20 a minute); past that, 429 for a minute whatever the token.
 */
export const requireAdmin = createMiddleware<AdminEnv>(async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) throw new ApiError(503, "not_configured", "the admin API is disabled: ADMIN_TOKEN is not set");
  if (expected.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ApiError(503, "not_configured", `the admin API is disabled: ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  }
  // A bearer token carries no whitespace: a secret set with one (a trailing newline from `echo`, a
  // passphrase) matched no request, and every right token sent was counted as a failed guess.
  if (/\s/.test(expected)) {
    throw new ApiError(
      503,
      "not_configured",
      "the admin API is disabled: ADMIN_TOKEN contains whitespace (a trailing newline?), which no bearer token carries",
    );
  }
  // An address past its failures is refused before any token is compared: a guesser learns nothing more.
  const ip = clientIp(c.req.raw);
  const now = Date.now();
  const until = ip === null ? undefined : refusedUntil.get(ip);
  if (until !== undefined && until > now) throw rateLimited("ADMIN_AUTH_PER_IP", Math.ceil((until - now) / 1000));
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("Authorization") ?? "");
  if (!m || !(await sameSecret(m[1], expected))) {
    if (ip !== null) {
      // Failures count across the location (the binding); the isolate that sees one past the limit
      // refuses the address for a minute.
      try {
        await enforceLimit(c.env, "ADMIN_AUTH_PER_IP", ip);
      } catch (err) {
        setBounded(refusedUntil, ip, now + ADMIN_REFUSAL_MS, 10_000);
        throw err;
      }
    }
    // RFC 9110: a 401 names its scheme; RFC 6750: a token sent and refused is invalid_token.
    const challenge = m ? 'Bearer realm="admin", error="invalid_token"' : 'Bearer realm="admin"';
    throw new ApiError(401, "unauthorized", "admin bearer token required", undefined, { "WWW-Authenticate": challenge });
  }
  await next();
});
