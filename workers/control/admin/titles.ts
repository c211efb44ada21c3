/** Admin: catalogue registration of titles (metadata, renditions, files, licences). */
import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { ApiError } from "../../shared/errors";
import { isSafeFilePath, isSafeId, SAFE_ID_RULE } from "../../../shared/ids";
import { validationHook } from "../validation";
import { catalogueDb } from "../../shared/catalogue-db";
import { type AdminEnv, params, titleParam } from "./params";

export const titlesRoutes = new Hono<AdminEnv>();

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
titlesRoutes.put("/titles/:titleId", params(titleParam), zValidator("json", titleBody, validationHook), async (c) => {
  const titleId = c.req.param("titleId");
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
  await catalogueDb.register(c.env.DB, titleId, t);
  return c.json({ titleId, renditions: t.renditions.length, files: t.files.length, licences: t.licences.length });
});

titlesRoutes.get("/titles/:titleId", params(titleParam), async (c) => {
  const titleId = c.req.param("titleId");
  const found = await catalogueDb.describe(c.env.DB, titleId);
  if (!found) throw new ApiError(404, "unknown_title", `no title ${titleId}`);
  const { encoding_json, ...rest } = found.row;
  return c.json({
    title: { ...rest, encoding: typeof encoding_json === "string" ? JSON.parse(encoding_json) : null },
    renditions: found.renditions,
    files: found.files,
    licences: found.licences,
  });
});
