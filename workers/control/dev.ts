import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { ApiError } from "../shared/errors";
import { isMemberId, isSafeFilePath, isSafeId, memberIdSchema } from "../../shared/ids";
import { PLAN_IDS } from "../../shared/plans";
import { contentTypeFor, parseOriginKey } from "../../shared/file-keys";
import { signMemberToken } from "./member-auth";
import { validationHook } from "./validation";
import { BODY_LIMITS, limitBody, limitByIp } from "./limits";

/** Dev-only routes: they answer 404 unless DEV_MODE is "true" (never in the deployed default). */
export const dev = new Hono<{ Bindings: Env }>();

dev.use("*", async (c, next) => {
  if (c.env.DEV_MODE !== "true") throw new ApiError(404, "not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}`);
  await next();
});

export const tokenBody = z.object({
  memberId: memberIdSchema,
  plan: z.enum(PLAN_IDS),
});

dev.post("/token", limitByIp("DEV_TOKEN_PER_IP"), limitBody(BODY_LIMITS.devToken), zValidator("json", tokenBody, validationHook), async (c) => {
  const { memberId, plan } = c.req.valid("json");
  const { token, exp } = await signMemberToken(c.env, { id: memberId, plan });
  return c.json({ token, memberId, plan, expiresAt: new Date(exp * 1000).toISOString() });
});

/**
 * Baselines for `npm run bench:play` (dev only): a route that makes one Durable Object call (on a
 * member's object, as play does) and nothing else, and one that makes one D1 read and nothing else.
 */
dev.get("/bench/do/:memberId", async (c) => {
  const id = c.req.param("memberId");
  if (!isMemberId(id)) throw new ApiError(400, "invalid_request", "bad member id");
  const at = await c.env.MEMBER_STREAMS.get(c.env.MEMBER_STREAMS.idFromName(id)).ping();
  return c.json({ at });
});

/** The member object's admission call alone (a slot taken and written), as play makes it: what play costs beyond its own work. */
dev.get("/bench/do-acquire/:memberId", async (c) => {
  const id = c.req.param("memberId");
  if (!isMemberId(id)) throw new ApiError(400, "invalid_request", "bad member id");
  const now = Date.now();
  const r = await c.env.MEMBER_STREAMS.get(c.env.MEMBER_STREAMS.idFromName(id)).acquire(
    { sessionId: crypto.randomUUID(), titleId: "bench", expiresAt: now + 3_600_000 },
    { streams: 4, playsPerWindow: 30 },
  );
  return c.json({ verdict: r.verdict });
});

dev.get("/bench/d1", async (c) => c.json(await c.env.DB.prepare("SELECT COUNT(*) AS plans FROM plans").first()));

/** An origin key as `originKey` writes it (`{title}/{tag}/{path}`), by the rules the planes check: else null. */
function bareOriginKey(key: string): { key: string; path: string } | null {
  const title = key.slice(0, key.indexOf("/"));
  const parsed = isSafeId(title) ? parseOriginKey(title, key) : null;
  return parsed && isSafeFilePath(parsed.path) ? { key, path: parsed.path } : null;
}

/**
 * Baseline for segments: a bare R2-reading route (the object under an origin key, whole, and nothing
 * else: no token, no version index, no colo cache, no counting). The data plane's own cost is an OCA
 * URL's rate beside this one's on the same runtime.
 */
dev.get("/bench/r2/*", async (c) => {
  let origin: { key: string; path: string } | null = null;
  try {
    origin = bareOriginKey(decodeURIComponent(new URL(c.req.url).pathname.slice("/v1/dev/bench/r2/".length)));
  } catch {
    // A malformed escape: not an origin key either.
  }
  if (!origin) throw new ApiError(400, "bad_path", "not an origin key ({title}/{tag}/{path})");
  const { key, path } = origin;
  const object = await c.env.ORIGIN.get(key);
  if (!object) throw new ApiError(404, "not_found", `no origin object ${key}`);
  return new Response(object.body, {
    // Typed by the file's path, as a static server types by extension.
    headers: { "Content-Type": contentTypeFor(path), "Content-Length": String(object.size), ETag: object.httpEtag },
  });
});
