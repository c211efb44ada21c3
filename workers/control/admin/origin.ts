/** Admin: origin uploads and listings (what ingest publishes through). */
import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { z } from "zod";
import { ApiError } from "../../shared/errors";
import { b64url, fromB64url } from "../../shared/hmac";
import { queryInt, validationHook } from "../validation";
import { originKey, parseOriginKey } from "../../../shared/file-keys";
import { isSafeFilePath, SAFE_PATH_RULE } from "../../../shared/ids";

import { type AdminEnv, params, titleParam } from "./params";

export const originRoutes = new Hono<AdminEnv>();

/** Files in a page of the listing when the caller names no limit, and the most it may ask for. */
export const ORIGIN_PAGE_MAX = 1000;
/**
 * R2 list calls one page may make. A call answers up to 1,000 keys, fewer with their checksums (custom
 * metadata: 100 locally), and stray keys are skipped: a page keeps listing until full, within this.
 */
export const ORIGIN_PAGE_LIST_CALLS = 10;
/** An R2 key is at most 1,024 bytes: a longer cursor was not made here. */
const CURSOR_MAX_CHARS = 1400;

const originListQuery = z.strictObject({
  limit: queryInt(1, ORIGIN_PAGE_MAX, ORIGIN_PAGE_MAX),
  cursor: z.string().min(1).max(CURSOR_MAX_CHARS).optional(),
});

/**
 * The opaque cursor after the origin key `key` of `titleId`: the key's part below the title, so a page
 * lists from just after it (R2's `startAfter`) and any cursor names only keys of the title it is given for.
 */
export function encodeOriginCursor(titleId: string, key: string): string {
  return b64url(new TextEncoder().encode(key.slice(titleId.length + 1)));
}

/** The key a page of `titleId` starts after, or null when the cursor is not one this API made. */
export function decodeOriginCursor(titleId: string, cursor: string): string | null {
  const bytes = fromB64url(cursor);
  if (!bytes || bytes.length === 0 || bytes.length > 1024) return null;
  try {
    // ignoreBOM: a key's bytes back as they were, a leading BOM included
    return `${titleId}/${new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes)}`;
  } catch {
    return null;
  }
}

/**
 * True when no content key can sort after `key`: content tags are lowercase hex, so under the title
 * nothing from "g" on (the version indexes, `versions/…`) is a file, and listing on would find none.
 */
const pastContentKeys = (titleId: string, key: string) => key.slice(titleId.length + 1) >= "g";

/**
 * Lists a title's files in origin (path, bytes, sha256) a page at a time (`limit`, default and at most
 * 1,000; `cursor` from the page before), so uploaders send only what differs. A path appears once per
 * content in origin: every version's bytes stay until no session can ask for them, so a title's listing
 * grows with its versions; a page costs at most ORIGIN_PAGE_LIST_CALLS + 1 list calls whatever its size.
 */
originRoutes.get("/origin/:titleId", params(titleParam), zValidator("query", originListQuery, validationHook), async (c) => {
  const titleId = c.req.param("titleId");
  const { limit, cursor } = c.req.valid("query");
  let after = cursor === undefined ? undefined : decodeOriginCursor(titleId, cursor);
  if (after === null) throw new ApiError(400, "invalid_cursor", "cursor is not one this API gave: pass the `cursor` of the page before, unchanged");
  const files: Array<{ path: string; bytes: number; sha256: string | null }> = [];
  let more = true;
  let r2Cursor: string | undefined;
  for (let calls = 0; more && files.length < limit && calls < ORIGIN_PAGE_LIST_CALLS; calls++) {
    // Never more keys than the page has room for: every key listed is before the page's cursor, none skipped.
    const room: R2ListOptions = { prefix: `${titleId}/`, limit: limit - files.length, include: ["customMetadata"] };
    const page = await c.env.ORIGIN.list(r2Cursor ? { ...room, cursor: r2Cursor } : { ...room, startAfter: after });
    for (const o of page.objects) {
      const k = parseOriginKey(titleId, o.key);
      const sha256 = o.customMetadata?.sha256 ?? null;
      // Only content-addressed files whose checksum agrees with their key (indexes and stray keys are not files).
      if (k && sha256?.startsWith(k.tag)) files.push({ path: k.path, bytes: o.size, sha256 });
    }
    after = page.objects.at(-1)?.key ?? after;
    r2Cursor = page.truncated ? page.cursor : undefined;
    more = page.truncated && !(after !== undefined && pastContentKeys(titleId, after));
  }
  if (more && after !== undefined) {
    // A full page may end on the title's last file with only its version indexes after: one key tells.
    const next = await c.env.ORIGIN.list({ prefix: `${titleId}/`, startAfter: after, limit: 1 });
    const key = next.objects[0]?.key;
    more = key !== undefined && !pastContentKeys(titleId, key);
  }
  return c.json({ titleId, files, ...(more && after !== undefined ? { cursor: encodeOriginCursor(titleId, after) } : {}) });
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
