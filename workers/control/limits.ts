import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../shared/errors";

/**
 * Request bounds of the control plane: body sizes checked before any parsing, and per-member /
 * per-client-IP rate limits through the Workers Rate Limiting bindings of wrangler.toml.
 * The README's "Limits" table lists the same numbers.
 */

/** Largest accepted request body per route, in bytes. */
export const BODY_LIMITS = {
  play: 4 * 1024,
  events: 128 * 1024,
  devToken: 1024,
  adminJson: 4 * 1024 * 1024,
  originUpload: 512 * 1024 * 1024,
} as const;

/** Refuses a body over `maxSize` bytes with 413 in the one error shape, before it is parsed. */
export function limitBody(maxSize: number) {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, "payload_too_large", `request body is over the ${maxSize}-byte limit of this route`, { limitBytes: maxSize });
    },
  });
}

/** Names of the Rate Limiting bindings (wrangler.toml `[[ratelimits]]`), each with its window in seconds. */
export type LimiterName =
  | "PLAY_PER_MEMBER"
  | "PLAY_PER_IP"
  | "EVENTS_PER_MEMBER"
  | "EVENTS_PER_IP"
  | "STEERING_PER_SESSION"
  | "STEERING_PER_IP"
  | "DEV_TOKEN_PER_IP";

/** Every limiter's period (the binding cannot tell it): all limits here count per 60 s. */
const PERIOD_S = 60;

/**
 * The client's IP as Cloudflare's edge reports it (CF-Connecting-IP cannot be set by the client in
 * production, where every request carries it). Null without it: locally every request would share
 * one bucket, so the per-IP limits do not apply there.
 */
export function clientIp(req: Request): string | null {
  const ip = req.headers.get("CF-Connecting-IP") ?? "";
  return /^[0-9A-Fa-f:.]{2,45}$/.test(ip) ? ip : null;
}

/**
 * Counts one request against `limiter` under `key`; over the limit is 429 with Retry-After. A
 * limiter that cannot be reached lets the request through: rate limiting protects capacity, it
 * must not become an outage of its own.
 */
export async function enforceLimit(env: Env, limiter: LimiterName, key: string): Promise<void> {
  const binding = env[limiter] as RateLimit | undefined;
  if (!binding) return;
  let success = true;
  try {
    success = (await binding.limit({ key: `${limiter}:${key}` })).success;
  } catch (err) {
    console.error("rate limiter unavailable", limiter, err);
  }
  if (!success) {
    throw new ApiError(
      429,
      "rate_limited",
      `too many requests (${limiter.toLowerCase().replace(/_/g, " ")}); retry after ${PERIOD_S} s`,
      { limiter },
      { "Retry-After": String(PERIOD_S) },
    );
  }
}

/** Middleware: rate limit by client IP. */
export const limitByIp = (limiter: LimiterName) =>
  createMiddleware<{ Bindings: Env }>(async (c, next) => {
    const ip = clientIp(c.req.raw);
    if (ip) await enforceLimit(c.env, limiter, ip);
    await next();
  });

/** Middleware (after requireMember): rate limit by member id. */
export const limitByMember = (limiter: LimiterName) =>
  createMiddleware<{ Bindings: Env; Variables: { member: { id: string } } }>(async (c, next) => {
    await enforceLimit(c.env, limiter, c.get("member").id);
    await next();
  });
