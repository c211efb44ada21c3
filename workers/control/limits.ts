import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../shared/errors";
import { setBounded } from "../shared/bounded-map";

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

/** Names of the Rate Limiting bindings (wrangler.toml `[[ratelimits]]`). */
export type LimiterName = "PLAY_PER_IP" | "EVENTS_PER_MEMBER" | "EVENTS_PER_IP" | "STEERING_PER_IP" | "DEV_TOKEN_PER_IP" | "ADMIN_AUTH_PER_IP";

/**
 * Limits kept without a binding, named like the bindings in 429 bodies: a member's plays per minute
 * (counted by the member's own object, which every valid play calls anyway, and in the isolate, where
 * plays refused before that call count too), a session's steering polls per minute (counted in the
 * isolate: a poll then calls nothing at all), a member's browse-list reads, a session's stored events
 * (counted by the shard that stores them, against the session's age), and an address's poster requests
 * that must read D1.
 */
export type KeptLimitName = "PLAY_PER_MEMBER" | "STEERING_PER_SESSION" | "BROWSE_PER_MEMBER" | "EVENTS_PER_SESSION" | "POSTER_LOOKUPS_PER_IP";
export const PLAYS_PER_MEMBER_PER_MINUTE = 60;
/** A member's browse-list reads per minute, counted in the isolate (the list itself is cached per country). */
export const BROWSES_PER_MEMBER_PER_MINUTE = 60;
export const STEERING_POLLS_PER_SESSION_PER_MINUTE = 120;
/**
 * Poster requests per client IP per minute, counted in the isolate, that must read D1 (a title or a
 * version this isolate has not seen): the route is public, and made-up ids would otherwise be a D1 read
 * each. Posters of titles the isolate knows cost no read and are not counted.
 */
export const POSTER_LOOKUPS_PER_IP_PER_MINUTE = 120;
/** The STEERING_PER_IP binding's limit (wrangler.toml), kept by the isolate too for polls it need not verify. */
export const STEERING_POLLS_PER_IP_PER_MINUTE = 12_000;
/** The PLAY_PER_IP binding's limit (wrangler.toml), kept by the isolate too for plays of verified members. */
export const PLAYS_PER_IP_PER_MINUTE = 1_200;

/** Every limiter's period (the binding cannot tell it): all limits here count per 60 s. */
const PERIOD_S = 60;

/**
 * The client's address as every per-IP limit counts it, from Cloudflare's edge (CF-Connecting-IP cannot
 * be set by the client in production, where every request carries it): an IPv4 address, or an IPv6
 * address's /64 (addressKey). Null without it: locally every request would share one bucket, so the
 * per-IP limits do not apply there.
 */
export function clientIp(req: Request): string | null {
  const ip = req.headers.get("CF-Connecting-IP") ?? "";
  return /^[0-9A-Fa-f:.]{2,45}$/.test(ip) ? addressKey(ip) : null;
}

/**
 * What a per-IP limit counts under: an IPv4 address, or an IPv6 address's /64 (one subscriber's or
 * server's network: a client given a /64, as every VPS is, would otherwise have 2^64 addresses of a
 * limit each). An IPv4-mapped address counts as its IPv4 address.
 */
export function addressKey(ip: string): string {
  if (!ip.includes(":")) return ip;
  const [head, tail] = ip.toLowerCase().split("::", 2);
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const last = right.at(-1) ?? left.at(-1) ?? "";
  if (last.includes(".")) {
    // An IPv4-mapped address (::ffff:192.0.2.1) is that IPv4 address; another embedded IPv4 tail is two groups.
    if (left.length === 0 && right.length === 2 && right[0] === "ffff") return right[1];
    (right.length > 0 ? right : left).splice(-1, 1, "0", "0");
  }
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  const prefix = groups.slice(0, 4).map((g) => (Number.parseInt(g, 16) || 0).toString(16));
  return `${prefix.join(":")}::/64`;
}

/** The 429 of every limit: the limiter's name in the details and a Retry-After. */
export function rateLimited(limiter: LimiterName | KeptLimitName, retryAfterS = PERIOD_S): ApiError {
  return new ApiError(
    429,
    "rate_limited",
    `too many requests (${limiter.toLowerCase().replace(/_/g, " ")}); retry after ${retryAfterS} s`,
    { limiter },
    { "Retry-After": String(retryAfterS) },
  );
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
  if (!success) throw rateLimited(limiter);
}

/** Fixed one-minute windows of the isolate's own limits, oldest first (bounded). */
const isolateWindows = new Map<string, { start: number; count: number }>();
const ISOLATE_WINDOWS_MAX = 100_000;

/**
 * Counts one request under `key` in this isolate's one-minute window; over `perMinute` is 429. For
 * limits on a signed, per-client key (a session), where a global count would cost a call per request,
 * and for a binding's limit on requests the binding no longer sees (steering polls of known sessions).
 */
export function enforceIsolateLimit(limiter: KeptLimitName | LimiterName, key: string, perMinute: number, now = Date.now()): void {
  const start = now - (now % 60_000);
  const k = `${limiter}:${key}`;
  const w = isolateWindows.get(k);
  if (w && w.start === start) {
    if (w.count >= perMinute) throw rateLimited(limiter, Math.max(1, Math.ceil((start + 60_000 - now) / 1000)));
    w.count++;
    return;
  }
  setBounded(isolateWindows, k, { start, count: 1 }, ISOLATE_WINDOWS_MAX);
}

/** Middleware: rate limit by client IP. */
export const limitByIp = (limiter: LimiterName) =>
  createMiddleware<{ Bindings: Env }>(async (c, next) => {
    const ip = clientIp(c.req.raw);
    if (ip) await enforceLimit(c.env, limiter, ip);
    await next();
  });

/**
 * Middleware for a route behind a member token whose members are counted where the route's work is
 * (plays: by the member's own object). Every request counts per client IP in the isolate against
 * `perMinute`; the binding, shared across the location, counts the requests whose member token fails
 * (missing, forged, expired): a verified member's request costs less than a limiter call, and an
 * address with many members' valid tokens is still bounded per member and per isolate. So a valid
 * play makes one call, the member's object, as deployed and locally alike.
 */
export const limitByIpUnlessMember = (limiter: LimiterName, perMinute: number) =>
  createMiddleware<{ Bindings: Env }>(async (c, next) => {
    const ip = clientIp(c.req.raw);
    if (ip) enforceIsolateLimit(limiter, ip, perMinute);
    await next();
    // The route's own error handler already answered 401; a location-wide flood turns it into 429.
    if (ip && c.error instanceof ApiError && c.error.status === 401) await enforceLimit(c.env, limiter, ip);
  });

/** Middleware (after requireMember): rate limit by member id. */
export const limitByMember = (limiter: LimiterName) =>
  createMiddleware<{ Bindings: Env; Variables: { member: { id: string } } }>(async (c, next) => {
    await enforceLimit(c.env, limiter, c.get("member").id);
    await next();
  });
