/** Admin: origin uploads and listings (what ingest publishes through). */
import { Hono } from "hono";
import { ApiError } from "../../shared/errors";
import { originKey, parseOriginKey } from "../../../shared/file-keys";
import { isSafeFilePath, SAFE_PATH_RULE } from "../../../shared/ids";

import { type AdminEnv, params, titleParam } from "./params";

export const originRoutes = new Hono<AdminEnv>();

/**
 * Lists a title's files in origin (path, bytes, sha256), so uploaders send only what differs. A path
 * appears once per content in origin: every version's bytes stay until no session can ask for them.
 */
originRoutes.get("/origin/:titleId", params(titleParam), async (c) => {
  const titleId = c.req.param("titleId");
  const files: Array<{ path: string; bytes: number; sha256: string | null }> = [];
  let cursor: string | undefined;
  do {
    const page = await c.env.ORIGIN.list({ prefix: `${titleId}/`, cursor, include: ["customMetadata"] });
    for (const o of page.objects) {
      const k = parseOriginKey(titleId, o.key);
      const sha256 = o.customMetadata?.sha256 ?? null;
      // Only content-addressed files whose checksum agrees with their key (indexes and stray keys are not files).
      if (k && sha256?.startsWith(k.tag)) files.push({ path: k.path, bytes: o.size, sha256 });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return c.json({ titleId, files });
});

/** Uploads one file to origin under its content key, streamed; R2 verifies the body against X-Content-SHA256. */
originRoutes.put("/origin/:titleId/*", params(titleParam), async (c) => {
  const titleId = c.req.param("titleId");
  let path: string;
  try {
    path = decodeURIComponent(new URL(c.req.url).pathname).slice(`/admin/origin/${titleId}/`.length);
  } catch {
    throw new ApiError(400, "bad_path", "path is not valid percent-encoding");
  }
  if (!isSafeFilePath(path)) throw new ApiError(400, "bad_path", `path must be ${SAFE_PATH_RULE}`);
  const length = Number(c.req.header("Content-Length"));
  if (!c.req.raw.body || !Number.isFinite(length)) throw new ApiError(411, "length_required", "Content-Length is required");
  const sha256 = c.req.header("X-Content-SHA256")?.toLowerCase();
  if (sha256 === undefined) throw new ApiError(400, "checksum_required", "X-Content-SHA256 is required: files are stored under their content");
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ApiError(400, "bad_checksum", "X-Content-SHA256 must be 64 hex digits");
  try {
    const put = await c.env.ORIGIN.put(originKey(titleId, path, sha256), c.req.raw.body, { sha256, customMetadata: { sha256 } });
    return c.json({ titleId, path, sha256, bytes: put?.size ?? length, etag: put?.httpEtag ?? null }, 201);
  } catch (err) {
    if (/digest|checksum|sha/i.test(String(err))) throw new ApiError(400, "checksum_mismatch", `${path}: body does not match X-Content-SHA256`);
    throw err;
  }
});
