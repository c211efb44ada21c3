import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { ApiError } from "../shared/errors";
import { originKey } from "../../shared/file-keys";
import { isSafeFilePath, isSafeId, isSafeSegment, SAFE_ID_RULE } from "../../shared/ids";
import { findOca, findSite, topology } from "../shared/topology";
import { validationHook } from "./validation";
import { steeringTable } from "../shared/steering-table";
import { siteStub } from "../shared/site-link";
import { BODY_LIMITS, limitBody } from "./limits";
import { predictionsFor, runFillCycle } from "./fill-cycle";
import { dayNumber } from "../../fill/day";

type AdminEnv = { Bindings: Env };

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

const requireAdmin = createMiddleware<AdminEnv>(async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) throw new ApiError(503, "not_configured", "the admin API is disabled: ADMIN_TOKEN is not set");
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("Authorization") ?? "");
  if (!m || !(await sameSecret(m[1], expected))) throw new ApiError(401, "unauthorized", "admin bearer token required");
  await next();
});

function requireSite(siteId: string) {
  const site = findSite(siteId);
  if (!site) throw new ApiError(404, "unknown_site", `no site ${siteId}`);
  return site;
}

/** Admin API (bearer ADMIN_TOKEN): topology, site state, manual fill, catalogue registration, origin upload. */
export const admin = new Hono<AdminEnv>();
admin.use("*", requireAdmin);
// Origin uploads stream media files; every other admin route takes JSON.
admin.use("/origin/*", limitBody(BODY_LIMITS.originUpload));
admin.use("*", async (c, next) => (c.req.path.startsWith("/admin/origin/") ? next() : limitBody(BODY_LIMITS.adminJson)(c, next)));

admin.get("/topology", async (c) => {
  const { health, holding } = await steeringTable.summary(c.env.DB);
  return c.json({
    origin: topology.origin,
    regions: topology.regions,
    isps: topology.isps,
    sites: topology.sites.map((s) => ({
      ...s,
      ocas: s.ocas.map((o) => ({
        ...o,
        health: health.get(o.id) ?? "healthy",
        titles: holding.get(o.id)?.titles ?? 0,
        bytes: holding.get(o.id)?.bytes ?? 0,
      })),
    })),
  });
});

admin.get("/sites/:siteId", async (c) => {
  requireSite(c.req.param("siteId"));
  return c.json(await siteStub(c.env, c.req.param("siteId")).describe());
});

const healthBody = z.object({ health: z.enum(["healthy", "drained", "failed"]) });

admin.post("/sites/:siteId/ocas/:ocaId/health", zValidator("json", healthBody, validationHook), async (c) => {
  const { siteId, ocaId } = c.req.param();
  requireSite(siteId);
  if (!findOca(siteId, ocaId)) throw new ApiError(404, "unknown_oca", `site ${siteId} has no OCA ${ocaId}`);
  await siteStub(c.env, siteId).setHealth(ocaId, c.req.valid("json").health);
  return c.json({ siteId, ocaId, health: c.req.valid("json").health });
});

const cycleBody = z
  .object({
    fillRateBps: z.number().positive().max(1e12).optional(),
    peerWaitMs: z.number().int().min(0).max(86_400_000).optional(),
    parentWaitMs: z.number().int().min(0).max(86_400_000).optional(),
  })
  .default({});

/** Runs a site's fill cycle now (predict, plan, queue), whatever the hour. */
admin.post("/sites/:siteId/fill-cycle", zValidator("json", cycleBody, validationHook), async (c) => {
  const siteId = c.req.param("siteId");
  requireSite(siteId);
  return c.json(await runFillCycle(c.env, siteId, Date.now(), { ...c.req.valid("json"), force: true }));
});

/** The site's current plan, the last cycle's figures and fill progress (files and bytes by source). */
admin.get("/sites/:siteId/plan", async (c) => {
  const siteId = c.req.param("siteId");
  requireSite(siteId);
  return c.json({ siteId, ...(await siteStub(c.env, siteId).lastCycle()) });
});

/** Tomorrow's predicted demand per title for the site, computed now from its and its region's history. */
admin.get("/sites/:siteId/predictions", async (c) => {
  const site = requireSite(c.req.param("siteId"));
  const { targetDay, predictions } = await predictionsFor(c.env, site, Date.now());
  return c.json({ siteId: site.id, targetDay, predictions });
});

/** The site's viewing history (plays, reported bytes, estimated bytes) for the last `days` local days. */
admin.get("/sites/:siteId/views", async (c) => {
  const site = requireSite(c.req.param("siteId"));
  const days = Math.min(90, Math.max(1, Number(c.req.query("days") ?? 14) || 14));
  const today = dayNumber(Date.now(), site.timeZone);
  return c.json({ siteId: site.id, fromDay: today - days + 1, toDay: today, views: await siteStub(c.env, site.id).views(today - days + 1, today) });
});

const capacityBody = z
  .object({
    capacityBytes: z.number().int().nonnegative().max(1e15).nullable().optional(),
    throughputBps: z.number().int().positive().max(1e13).nullable().optional(),
  })
  .refine(
    (b) => b.capacityBytes !== undefined || b.throughputBps !== undefined,
    "give capacityBytes and/or throughputBps (null resets to the topology's value)",
  );

/** Sets an OCA's usable storage and/or throughput limit (a disk or link degraded); null resets it. */
admin.post("/sites/:siteId/ocas/:ocaId/capacity", zValidator("json", capacityBody, validationHook), async (c) => {
  const { siteId, ocaId } = c.req.param();
  requireSite(siteId);
  if (!findOca(siteId, ocaId)) throw new ApiError(404, "unknown_oca", `site ${siteId} has no OCA ${ocaId}`);
  const body = c.req.valid("json");
  const stub = siteStub(c.env, siteId);
  const capacity = body.capacityBytes !== undefined ? await stub.setCapacity(ocaId, body.capacityBytes) : undefined;
  const throughput = body.throughputBps !== undefined ? await stub.setThroughput(ocaId, body.throughputBps) : undefined;
  return c.json({ siteId, ocaId, capacityBytes: capacity?.capacityBytes, throughputBps: throughput?.throughputBps });
});

/** Drains, fails or restores every OCA of a site at once. */
admin.post("/sites/:siteId/health", zValidator("json", healthBody, validationHook), async (c) => {
  const site = requireSite(c.req.param("siteId"));
  const stub = siteStub(c.env, site.id);
  for (const o of site.ocas) await stub.setHealth(o.id, c.req.valid("json").health);
  return c.json({ siteId: site.id, ocas: site.ocas.map((o) => o.id), health: c.req.valid("json").health });
});

const chaosBody = z.object({ unreachable: z.boolean() });

/** Chaos: makes a site's Durable Object refuse steering and data-plane syncs, as if the site were cut off. */
admin.post("/sites/:siteId/chaos", zValidator("json", chaosBody, validationHook), async (c) => {
  const site = requireSite(c.req.param("siteId"));
  return c.json({ siteId: site.id, ...(await siteStub(c.env, site.id).setUnreachable(c.req.valid("json").unreachable)) });
});

/** A session's play and QoE events, oldest first. */
admin.get("/sessions/:sessionId/events", async (c) => {
  const sessionId = c.req.param("sessionId");
  const { results } = await c.env.DB.prepare(`SELECT type, at, data FROM play_events WHERE session_id = ? ORDER BY id`)
    .bind(sessionId)
    .all<{ type: string; at: number; data: string }>();
  return c.json({ sessionId, events: results.map((r) => ({ ...(JSON.parse(r.data) as object), type: r.type, at: r.at })) });
});

const fillBody = z.object({
  placements: z
    .array(
      z.object({
        siteId: z.string().min(1).max(64),
        ocaId: z.string().min(1).max(64),
        titleIds: z.array(z.string().refine(isSafeId, SAFE_ID_RULE)).min(1).max(100),
      }),
    )
    .min(1)
    .max(200),
});

/** Copies titles into OCAs now (a real byte copy, checksum verified). 409 when any copy could not be made. */
admin.post("/fill", zValidator("json", fillBody, validationHook), async (c) => {
  const { placements } = c.req.valid("json");
  for (const p of placements) {
    requireSite(p.siteId);
    if (!findOca(p.siteId, p.ocaId)) throw new ApiError(404, "unknown_oca", `site ${p.siteId} has no OCA ${p.ocaId}`);
  }
  const wanted = [...new Set(placements.flatMap((p) => p.titleIds))];
  const known = await c.env.DB.prepare(`SELECT id FROM titles WHERE id IN (SELECT value FROM json_each(?))`).bind(JSON.stringify(wanted)).all<{ id: string }>();
  const missing = wanted.filter((t) => !known.results.some((r) => r.id === t));
  if (missing.length) throw new ApiError(404, "unknown_title", `no title ${missing.join(", ")}`);

  // One site at a time keeps peer copies possible (an earlier OCA of the site becomes a source).
  const results = [];
  for (const p of placements) {
    const stub = siteStub(c.env, p.siteId);
    for (const titleId of p.titleIds) results.push({ siteId: p.siteId, ...(await stub.fillTitle(p.ocaId, titleId)) });
  }
  const ok = results.every((r) => r.ok);
  return c.json({ ok, results }, ok ? 200 : 409);
});

admin.delete("/sites/:siteId/ocas/:ocaId/titles/:titleId", async (c) => {
  const { siteId, ocaId, titleId } = c.req.param();
  requireSite(siteId);
  if (!findOca(siteId, ocaId)) throw new ApiError(404, "unknown_oca", `site ${siteId} has no OCA ${ocaId}`);
  return c.json({ siteId, ocaId, titleId, evicted: await siteStub(c.env, siteId).evictTitle(ocaId, titleId) });
});

/** Lists a title's files in origin (path, bytes, sha256), so uploaders send only what differs. */
admin.get("/origin/:titleId", async (c) => {
  const titleId = c.req.param("titleId");
  if (!isSafeSegment(titleId)) throw new ApiError(400, "bad_path", "bad title id");
  const files: Array<{ path: string; bytes: number; sha256: string | null }> = [];
  let cursor: string | undefined;
  do {
    const page = await c.env.ORIGIN.list({ prefix: `${titleId}/`, cursor, include: ["customMetadata"] });
    for (const o of page.objects) files.push({ path: o.key.slice(titleId.length + 1), bytes: o.size, sha256: o.customMetadata?.sha256 ?? null });
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return c.json({ titleId, files });
});

/** Uploads one file to origin, streamed; with X-Content-SHA256 the digest is verified by R2. */
admin.put("/origin/:titleId/*", async (c) => {
  const titleId = c.req.param("titleId");
  let path: string;
  try {
    path = decodeURIComponent(new URL(c.req.url).pathname).slice(`/admin/origin/${titleId}/`.length);
  } catch {
    throw new ApiError(400, "bad_path", "path is not valid percent-encoding");
  }
  if (!isSafeSegment(titleId) || !isSafeFilePath(path)) throw new ApiError(400, "bad_path", "unsafe title id or path");
  const length = Number(c.req.header("Content-Length"));
  if (!c.req.raw.body || !Number.isFinite(length)) throw new ApiError(411, "length_required", "Content-Length is required");
  const sha256 = c.req.header("X-Content-SHA256")?.toLowerCase();
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) throw new ApiError(400, "bad_checksum", "X-Content-SHA256 must be 64 hex digits");
  try {
    const put = await c.env.ORIGIN.put(originKey(titleId, path), c.req.raw.body, {
      ...(sha256 ? { sha256, customMetadata: { sha256 } } : {}),
    });
    return c.json({ titleId, path, bytes: put?.size ?? length, etag: put?.httpEtag ?? null }, 201);
  } catch (err) {
    if (/digest|checksum|sha/i.test(String(err))) throw new ApiError(400, "checksum_mismatch", `${path}: body does not match X-Content-SHA256`);
    throw err;
  }
});

const titleBody = z.object({
  name: z.string().min(1).max(200),
  description: z.string().max(2000).default(""),
  releaseYear: z.number().int().min(1870).max(2200).optional(),
  durationS: z
    .number()
    .positive()
    .max(86400 * 2),
  availableFrom: z.iso.datetime().optional(),
  /** Complete copies a region needs before its clients are steered to them (default: topology). */
  liveMinCopies: z.number().int().min(0).max(100).optional(),
  /** How the ladder was chosen (ingest): rungs, complexity, reason. Stored as given. */
  encoding: z
    .object({
      reason: z.string().max(2000),
      complexity: z.number().optional(),
      ladder: z
        .array(
          z.object({
            id: z.string().max(64),
            codec: z.string().max(64),
            width: z.number().int().positive(),
            height: z.number().int().positive(),
            bitrate: z.number().int().positive(),
          }),
        )
        .max(50),
    })
    .loose()
    .optional(),
  renditions: z
    .array(
      z.object({
        id: z.string().refine(isSafeId, SAFE_ID_RULE),
        kind: z.enum(["video", "audio", "subtitle"]),
        codec: z.string().min(1).max(64),
        width: z.number().int().positive().optional(),
        height: z.number().int().positive().optional(),
        bandwidth: z.number().int().nonnegative(),
        language: z.string().max(16).optional(),
        label: z.string().max(64).optional(),
      }),
    )
    .min(1)
    .max(200),
  files: z
    .array(
      z.object({ path: z.string().refine(isSafeFilePath, "unsafe path"), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
    )
    .min(1)
    .max(20000),
  licences: z
    .array(
      z.object({
        country: z.string().regex(/^[A-Z]{2}$/),
        availableFrom: z.iso.datetime(),
        availableUntil: z.iso.datetime().nullable().optional(),
      }),
    )
    .max(300),
});

/**
 * Registers (or replaces) a title: metadata, renditions, files and licences. Every file must
 * already be in origin with the declared size, so the catalogue never lists bytes that are not there.
 */
admin.put("/titles/:titleId", zValidator("json", titleBody, validationHook), async (c) => {
  const titleId = c.req.param("titleId");
  if (!isSafeId(titleId)) throw new ApiError(400, "bad_title_id", `title id must be ${SAFE_ID_RULE}`);
  const t = c.req.valid("json");
  const inOrigin = new Map<string, number>();
  let cursor: string | undefined;
  do {
    const page = await c.env.ORIGIN.list({ prefix: `${titleId}/`, cursor });
    for (const o of page.objects) inOrigin.set(o.key.slice(titleId.length + 1), o.size);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const absent = t.files.filter((f) => inOrigin.get(f.path) !== f.bytes).map((f) => f.path);
  if (absent.length) {
    throw new ApiError(409, "files_not_in_origin", `${absent.length} file(s) are missing from origin or differ in size`, { paths: absent.slice(0, 50) });
  }
  const db = c.env.DB;
  const now = Date.now();
  const stmts = [
    db
      .prepare(
        `INSERT INTO titles (id, name, description, release_year, duration_s, available_from, live_min_copies, encoding_json, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, release_year = excluded.release_year,
           duration_s = excluded.duration_s, available_from = excluded.available_from, live_min_copies = excluded.live_min_copies, encoding_json = excluded.encoding_json,
           updated_at = excluded.updated_at`,
      )
      .bind(
        titleId,
        t.name,
        t.description,
        t.releaseYear ?? null,
        t.durationS,
        t.availableFrom ? Date.parse(t.availableFrom) : 0,
        t.liveMinCopies ?? null,
        t.encoding ? JSON.stringify(t.encoding) : null,
        now,
      ),
    db.prepare(`DELETE FROM renditions WHERE title_id = ?`).bind(titleId),
    db.prepare(`DELETE FROM files WHERE title_id = ?`).bind(titleId),
    db.prepare(`DELETE FROM licences WHERE title_id = ?`).bind(titleId),
    ...t.renditions.map((r) =>
      db
        .prepare(`INSERT INTO renditions (title_id, id, kind, codec, width, height, bandwidth, language, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .bind(titleId, r.id, r.kind, r.codec, r.width ?? null, r.height ?? null, r.bandwidth, r.language ?? null, r.label ?? null),
    ),
    ...t.files.map((f) => db.prepare(`INSERT INTO files (title_id, path, bytes, sha256) VALUES (?, ?, ?, ?)`).bind(titleId, f.path, f.bytes, f.sha256)),
    ...t.licences.map((l) =>
      db
        .prepare(`INSERT INTO licences (title_id, country, available_from, available_until) VALUES (?, ?, ?, ?)`)
        .bind(titleId, l.country, Date.parse(l.availableFrom), l.availableUntil ? Date.parse(l.availableUntil) : null),
    ),
  ];
  await db.batch(stmts);
  return c.json({ titleId, renditions: t.renditions.length, files: t.files.length, licences: t.licences.length });
});

admin.get("/titles/:titleId", async (c) => {
  const titleId = c.req.param("titleId");
  const [title, renditions, files, licences] = await c.env.DB.batch([
    c.env.DB.prepare(`SELECT * FROM titles WHERE id = ?`).bind(titleId),
    c.env.DB.prepare(`SELECT * FROM renditions WHERE title_id = ? ORDER BY kind, height, id`).bind(titleId),
    c.env.DB.prepare(`SELECT COUNT(*) AS files, SUM(bytes) AS bytes FROM files WHERE title_id = ?`).bind(titleId),
    c.env.DB.prepare(`SELECT country, available_from, available_until FROM licences WHERE title_id = ? ORDER BY country`).bind(titleId),
  ]);
  const row = title.results[0] as Record<string, unknown> | undefined;
  if (!row) throw new ApiError(404, "unknown_title", `no title ${titleId}`);
  const { encoding_json, ...rest } = row;
  return c.json({
    title: { ...rest, encoding: typeof encoding_json === "string" ? JSON.parse(encoding_json) : null },
    renditions: renditions.results,
    files: files.results[0],
    licences: licences.results,
  });
});
