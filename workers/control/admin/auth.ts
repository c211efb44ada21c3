import { createMiddleware } from "hono/factory";
import { ApiError } from "../../shared/errors";
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
 * Shortest ADMIN_TOKEN the API runs on: failed tokens are not rate limited, so a short one could be
 * guessed (the same floor as MEMBER_JWT_SECRET and the URL signing keys).
 */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** Requires `Authorization: Bearer <ADMIN_TOKEN>`; 503 while ADMIN_TOKEN is unset or too short. */
export const requireAdmin = createMiddleware<AdminEnv>(async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) throw new ApiError(503, "not_configured", "the admin API is disabled: ADMIN_TOKEN is not set");
  if (expected.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ApiError(503, "not_configured", `the admin API is disabled: ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  }
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("Authorization") ?? "");
  if (!m || !(await sameSecret(m[1], expected))) throw new ApiError(401, "unauthorized", "admin bearer token required");
  await next();
});
