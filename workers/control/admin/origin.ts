/** Admin: origin uploads and listings (what ingest publishes through). */
import { Hono } from "hono";
import { ApiError } from "../../shared/errors";
import { originKey } from "../../../shared/file-keys";
import { isSafeFilePath } from "../../../shared/ids";

import { type AdminEnv, params, titleParam } from "./params";

export const originRoutes = new Hono<AdminEnv>();

/** Lists a title's files in origin (path, bytes, sha256), so uploaders send only what differs. */
originRoutes.get("/origin/:titleId", params(titleParam), async (c) => {
  const titleId = c.req.param("titleId");
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
originRoutes.put("/origin/:titleId/*", params(titleParam), async (c) => {
  const titleId = c.req.param("titleId");
  let path: string;
  try {
    path = decodeURIComponent(new URL(c.req.url).pathname).slice(`/admin/origin/${titleId}/`.length);
  } catch {
    throw new ApiError(400, "bad_path", "path is not valid percent-encoding");
  }
  if (!isSafeFilePath(path)) throw new ApiError(400, "bad_path", "unsafe path");
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
