/** Admin: one site's state, health, capacity, fill cycle, plan, predictions, viewing history, chaos and evictions. */
import { type Context, Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { ApiError } from "../../shared/errors";
import { findOca } from "../../shared/topology";
import { idSchema, isSafeId } from "../../../shared/ids";
import { queryInt, validationHook } from "../validation";
import { catalogueDb } from "../../shared/catalogue-db";
import { siteStub } from "../../shared/site-link";
import { predictionsFor, runFillCycle } from "../fill-cycle";
import { dayNumber } from "../../../fill/day";
import { noBody } from "./json-body";
import { type AdminEnv, params, requireSite, siteOcaParam, siteOcaTitleParam, siteParam } from "./params";

export const sitesRoutes = new Hono<AdminEnv>();

/** How many titles per OCA and misses a site's state lists (0-1000, default 100 each); the rest are counted. */
export const describeQuery = z.strictObject({
  titles: queryInt(0, 1000, 100),
  misses: queryInt(0, 1000, 100),
});

sitesRoutes.get("/sites/:siteId", params(siteParam), zValidator("query", describeQuery, validationHook), async (c) => {
  requireSite(c.req.param("siteId"));
  return c.json(await siteStub(c.env, c.req.param("siteId")).describe(c.req.valid("query")));
});

/** A page of an OCA's titles: `limit` 1-1000 (default 200), `cursor` the `titlesCursor` or `cursor` given before. */
export const ocaTitlesQuery = z.strictObject({
  limit: queryInt(1, 1000, 200),
  cursor: idSchema("cursor").optional(),
});

/** An OCA's held titles by id, a page at a time (the site's state lists only the first). */
sitesRoutes.get("/sites/:siteId/ocas/:ocaId/titles", params(siteOcaParam), zValidator("query", ocaTitlesQuery, validationHook), async (c) => {
  const { siteId, ocaId } = c.req.param();
  requireSite(siteId);
  if (!findOca(siteId, ocaId)) throw new ApiError(404, "unknown_oca", `site ${siteId} has no OCA ${ocaId}`);
  const { limit, cursor } = c.req.valid("query");
  const page = await siteStub(c.env, siteId).ocaTitles(ocaId, cursor ?? null, limit);
  if (!page) throw refusedBySite(siteId, [ocaId]);
  return c.json({ siteId, ocaId, ...page });
});

/**
 * A change the site's object refused (`ok: false`): it does not know the OCA, its copy of the topology
 * and this isolate's disagreeing for a few seconds after an OCA is added or retired. Never a 200.
 */
function refusedBySite(siteId: string, ocaIds: string[], details?: unknown): ApiError {
  return new ApiError(
    404,
    "unknown_oca",
    `the site's object of ${siteId} does not know OCA ${ocaIds.join(", ")} (a topology change reaches it within seconds); not changed there, retry`,
    details,
  );
}

// Admin bodies are strict: a misspelt field is a 400 naming it, never dropped (`{"errorrate":0.5}` cleared a fault).
export const healthBody = z.strictObject({ health: z.enum(["healthy", "drained", "failed"]) });

sitesRoutes.post("/sites/:siteId/ocas/:ocaId/health", params(siteOcaParam), zValidator("json", healthBody, validationHook), async (c) => {
  const { siteId, ocaId } = c.req.param();
  requireSite(siteId);
  if (!findOca(siteId, ocaId)) throw new ApiError(404, "unknown_oca", `site ${siteId} has no OCA ${ocaId}`);
  if (!(await siteStub(c.env, siteId).setHealth(ocaId, c.req.valid("json").health)).ok) throw refusedBySite(siteId, [ocaId]);
  return c.json({ siteId, ocaId, health: c.req.valid("json").health });
});

export const cycleBody = z
  .strictObject({
    fillRateBps: z.number().positive().max(1e12).optional(),
    peerWaitMs: z.number().int().min(0).max(86_400_000).optional(),
    parentWaitMs: z.number().int().min(0).max(86_400_000).optional(),
  })
  .default({});

/**
 * The fill cycle's body: none, or an empty one, is every default. An empty body declared JSON (`curl -X
 * POST -H 'Content-Type: application/json'` with no `-d`) was a 400 "malformed JSON" while the same
 * request without the header ran; JSON that does not parse is still a 400.
 */
async function cycleOptionsOf(c: Context<AdminEnv>): Promise<z.infer<typeof cycleBody>> {
  const text = c.req.raw.body === null ? "" : (await c.req.text()).trim();
  let body: unknown;
  if (text !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(400, "invalid_request", "the body is not JSON: send fields as a JSON object, {} or no body for the defaults");
    }
  }
  const result = cycleBody.safeParse(body);
  if (!result.success) {
    // The one 400 every other body's validator answers, listing each issue (the hook throws it).
    validationHook({ success: false, error: result.error, data: body, target: "json" }, c);
    throw new ApiError(400, "invalid_request", "invalid body");
  }
  return result.data;
}

/** Runs a site's fill cycle now (predict, plan, queue), whatever the hour. */
sitesRoutes.post("/sites/:siteId/fill-cycle", params(siteParam), async (c) => {
  const options = await cycleOptionsOf(c);
  const siteId = c.req.param("siteId");
  requireSite(siteId);
  return c.json(await runFillCycle(c.env, siteId, Date.now(), { ...options, force: true }));
});

/** Planned titles (OCA, title) in a page of the plan, and predictions in a page, unless asked: 1-5000, default 1000. */
export const PLAN_PAGE_DEFAULT = 1000;
export const PLAN_PAGE_MAX = 5000;
export const PREDICTIONS_PAGE_DEFAULT = 1000;
export const PREDICTIONS_PAGE_MAX = 5000;

/** `limit`: planned titles a page; `cursor`: the page before's (`ocaId:titleId`, the last row given), unchanged. */
export const planQuery = z.strictObject({
  limit: queryInt(1, PLAN_PAGE_MAX, PLAN_PAGE_DEFAULT),
  cursor: z
    .string()
    .max(200)
    .refine((s) => s.split(":").length === 2 && s.split(":").every(isSafeId), "the `cursor` of the page before, unchanged")
    .optional(),
});

/**
 * The site's current plan, the last cycle's figures and fill progress (files and bytes by source). The
 * plan is every OCA's titles, by OCA then title id, a page at a time (`cursor` when more remain: its
 * titles join the same OCAs' lists); the figures and progress are the same on every page.
 */
sitesRoutes.get("/sites/:siteId/plan", params(siteParam), zValidator("query", planQuery, validationHook), async (c) => {
  const siteId = c.req.param("siteId");
  requireSite(siteId);
  const { limit, cursor } = c.req.valid("query");
  const at = cursor?.indexOf(":") ?? -1;
  const after = cursor && at > 0 ? { ocaId: cursor.slice(0, at), titleId: cursor.slice(at + 1) } : null;
  const { next, ...last } = await siteStub(c.env, siteId).lastCycle({ after, limit });
  return c.json({ siteId, ...last, ...(next ? { cursor: `${next.ocaId}:${next.titleId}` } : {}) });
});

/** The cursor of a page of rows by day then title (`day:titleId`, the last row given), unchanged. */
const dayTitleCursor = z
  .string()
  .max(300)
  // The title part by the one id rule: a page never ends on a reserved name such as __proto__.
  .refine((s) => /^-?\d{1,9}:/.test(s) && isSafeId(s.slice(s.indexOf(":") + 1)), "the `cursor` of the page before, unchanged")
  .optional();

/** `limit`: predictions a page; `cursor`: the page before's (`targetDay:titleId`), unchanged. */
export const predictionsQuery = z.strictObject({
  limit: queryInt(1, PREDICTIONS_PAGE_MAX, PREDICTIONS_PAGE_DEFAULT),
  cursor: dayTitleCursor,
});

/**
 * Tomorrow's predicted demand per title for the site, computed now from its and its region's history,
 * most bytes first, a page at a time: every title the catalogue has history or a release for, so it
 * grows with the catalogue. The cursor names the target day and the last title given; the next page
 * goes on after that title in the predictions as computed then. Within a day they rest on the same
 * complete days of history, so the order holds; a cursor of another target day, or of a title no longer
 * predicted, is a 409 `predictions_changed` (start again without it), not a page that repeats or skips titles.
 */
sitesRoutes.get("/sites/:siteId/predictions", params(siteParam), zValidator("query", predictionsQuery, validationHook), async (c) => {
  const site = requireSite(c.req.param("siteId"));
  const { limit, cursor } = c.req.valid("query");
  const { targetDay, predictions } = await predictionsFor(c.env, site, Date.now());
  let start = 0;
  if (cursor) {
    const at = cursor.indexOf(":");
    const [day, titleId] = [Number(cursor.slice(0, at)), cursor.slice(at + 1)];
    const last = day === targetDay ? predictions.findIndex((p) => p.titleId === titleId) : -1;
    if (last < 0) {
      throw new ApiError(
        409,
        "predictions_changed",
        day === targetDay
          ? `title ${titleId} is no longer predicted for day ${targetDay}: start again without a cursor`
          : `the predictions are for day ${targetDay} now, not ${day}: start again without a cursor`,
      );
    }
    start = last + 1;
  }
  const page = predictions.slice(start, start + limit);
  const tail = page.at(-1);
  return c.json({
    siteId: site.id,
    targetDay,
    predictions: page,
    ...(start + page.length < predictions.length && tail ? { cursor: `${targetDay}:${tail.titleId}` } : {}),
  });
});

/**
 * `days`: whole local days back, 1-90 (default 14); anything else is a 400, not a window the operator did
 * not ask for. `limit`: rows a page, 1-5000 (default 1000); `cursor`: the page before's, unchanged.
 */
export const viewsQuery = z.strictObject({
  days: queryInt(1, 90, 14),
  limit: queryInt(1, 5000, 1000),
  cursor: dayTitleCursor,
});

/**
 * The site's viewing history (plays, reported bytes, estimated bytes) for the last `days` local days, by
 * day then title, a page at a time. The cursor names the last row given (`day:titleId`), so a row added
 * meanwhile is not given twice.
 */
sitesRoutes.get("/sites/:siteId/views", params(siteParam), zValidator("query", viewsQuery, validationHook), async (c) => {
  const site = requireSite(c.req.param("siteId"));
  const { days, limit, cursor } = c.req.valid("query");
  const today = dayNumber(Date.now(), site.timeZone);
  const [day, titleId] = cursor ? [Number(cursor.slice(0, cursor.indexOf(":"))), cursor.slice(cursor.indexOf(":") + 1)] : [];
  const after = day === undefined || titleId === undefined ? undefined : { day, titleId };
  const page = await siteStub(c.env, site.id).viewsPage(today - days + 1, today, { limit, after });
  return c.json({
    siteId: site.id,
    fromDay: today - days + 1,
    toDay: today,
    views: page.views,
    ...(page.next ? { cursor: `${page.next.day}:${page.next.titleId}` } : {}),
  });
});

export const capacityBody = z
  .strictObject({
    capacityBytes: z.number().int().nonnegative().max(1e15).nullable().optional(),
    throughputBps: z.number().int().positive().max(1e13).nullable().optional(),
  })
  .refine(
    (b) => b.capacityBytes !== undefined || b.throughputBps !== undefined,
    "give capacityBytes and/or throughputBps (null resets to the topology's value)",
  );

/** Sets an OCA's usable storage and/or throughput limit (a disk or link degraded); null resets it. */
sitesRoutes.post("/sites/:siteId/ocas/:ocaId/capacity", params(siteOcaParam), zValidator("json", capacityBody, validationHook), async (c) => {
  const { siteId, ocaId } = c.req.param();
  requireSite(siteId);
  if (!findOca(siteId, ocaId)) throw new ApiError(404, "unknown_oca", `site ${siteId} has no OCA ${ocaId}`);
  const body = c.req.valid("json");
  const stub = siteStub(c.env, siteId);
  const capacity = body.capacityBytes !== undefined ? await stub.setCapacity(ocaId, body.capacityBytes) : undefined;
  if (capacity && !capacity.ok) throw refusedBySite(siteId, [ocaId]);
  const throughput = body.throughputBps !== undefined ? await stub.setThroughput(ocaId, body.throughputBps) : undefined;
  if (throughput && !throughput.ok) throw refusedBySite(siteId, [ocaId], capacity ? { capacityBytes: capacity.capacityBytes } : undefined);
  return c.json({ siteId, ocaId, capacityBytes: capacity?.capacityBytes, throughputBps: throughput?.throughputBps });
});

/** Drains, fails or restores every OCA of a site at once. */
sitesRoutes.post("/sites/:siteId/health", params(siteParam), zValidator("json", healthBody, validationHook), async (c) => {
  const site = requireSite(c.req.param("siteId"));
  const stub = siteStub(c.env, site.id);
  const applied: string[] = [];
  const refused: string[] = [];
  for (const o of site.ocas) ((await stub.setHealth(o.id, c.req.valid("json").health)).ok ? applied : refused).push(o.id);
  if (refused.length > 0) throw refusedBySite(site.id, refused, { applied, refused });
  return c.json({ siteId: site.id, ocas: site.ocas.map((o) => o.id), health: c.req.valid("json").health });
});

export const faultBody = z.strictObject({
  errorRate: z.number().min(0).max(1).default(0).describe("share of requests answered 503"),
  addedLatencyMs: z.number().int().min(0).max(30_000).default(0).describe("added before every answer"),
  throughputBps: z.number().int().positive().max(1e13).nullable().default(null).describe("bodies paced to this rate; null: no cap"),
});

/**
 * A fault switch on one OCA (Chaos Monkey, Latency Monkey): the data plane applies it to what the OCA
 * serves and the site's probe sees it too, so automatic health can be exercised. All zero clears it.
 */
sitesRoutes.post("/sites/:siteId/ocas/:ocaId/fault", params(siteOcaParam), zValidator("json", faultBody, validationHook), async (c) => {
  const { siteId, ocaId } = c.req.param();
  requireSite(siteId);
  if (!findOca(siteId, ocaId)) throw new ApiError(404, "unknown_oca", `site ${siteId} has no OCA ${ocaId}`);
  const r = await siteStub(c.env, siteId).setFault(ocaId, c.req.valid("json"));
  if (!r.ok) throw refusedBySite(siteId, [ocaId]);
  return c.json({ siteId, ocaId, fault: r.fault });
});

export const chaosBody = z.strictObject({ unreachable: z.boolean() });

/** Chaos: makes a site's Durable Object refuse steering and data-plane syncs, as if the site were cut off. */
sitesRoutes.post("/sites/:siteId/chaos", params(siteParam), zValidator("json", chaosBody, validationHook), async (c) => {
  const site = requireSite(c.req.param("siteId"));
  return c.json({ siteId: site.id, ...(await siteStub(c.env, site.id).setUnreachable(c.req.valid("json").unreachable)) });
});

sitesRoutes.delete("/sites/:siteId/ocas/:ocaId/titles/:titleId", params(siteOcaTitleParam), noBody, async (c) => {
  const { siteId, ocaId, titleId } = c.req.param();
  requireSite(siteId);
  if (!findOca(siteId, ocaId)) throw new ApiError(404, "unknown_oca", `site ${siteId} has no OCA ${ocaId}`);
  // A title the catalogue never had (a typo) is a 404, not "0 files evicted"; one taken down is still known and evicts.
  if (!(await catalogueDb.knownTitles(c.env.DB, [titleId])).has(titleId)) throw new ApiError(404, "unknown_title", `no title ${titleId}`);
  return c.json({ siteId, ocaId, titleId, evicted: await siteStub(c.env, siteId).evictTitle(ocaId, titleId) });
});
