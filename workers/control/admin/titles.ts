/** Admin: catalogue registration of titles (metadata, renditions, files, licences). */
import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { ApiError } from "../../shared/errors";
import { validationHook } from "../validation";
import { catalogueDb } from "../../shared/catalogue-db";
import { titleRegistrationSchema } from "../../../shared/catalogue";
import { type AdminEnv, params, titleParam } from "./params";

export const titlesRoutes = new Hono<AdminEnv>();

/**
 * Registers (or replaces) a title: metadata, renditions, files and licences. Every file must
 * already be in origin with the declared size, so the catalogue never lists bytes that are not there.
 */
titlesRoutes.put("/titles/:titleId", params(titleParam), zValidator("json", titleRegistrationSchema, validationHook), async (c) => {
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
