import type { Representation } from "./representation";

/**
 * The colo cache (the Cache API) in front of an OCA's tier bucket. An OCA's copy of a file is
 * content-addressed, so its bytes never change under its key: a whole object is cached once per
 * colo and later requests, whole or ranged, are answered from it without an R2 call. Only an OCA's
 * own copies are cached; the miss path (parent, origin) is unchanged. The cache key is the R2 key,
 * never the URL: tokens differ per session, the bytes do not.
 *
 * Entries live COLO_CACHE_TTL_S: the bound on how long a colo may keep serving an OCA's copy after the
 * OCA dropped it (eviction, takedown).
 */
export const COLO_CACHE_TTL_S = 3600;

/**
 * The largest object the Cache API keeps (512 MB on every plan but Enterprise): past it a put fails at
 * its end, so nothing is read whole for the colo cache and every request reads R2, as with no cache.
 */
export const COLO_CACHE_MAX_BYTES = 512 * 1000 * 1000;

/**
 * The largest body a cold miss sends to the viewer and the colo cache from one read. A tee keeps in
 * memory what the slower side (a viewer on a slow link) has not read yet, up to the whole object, in an
 * isolate of 128 MB; a larger object goes to the viewer alone and the cache reads its own copy.
 */
export const COLO_TEE_MAX_BYTES = 16 * 1024 * 1024;

const url = (key: string, variant = "") => `https://oca-cache.invalid/${key}${variant ? `?${variant}` : ""}`;

/** The cached whole object under `key` as a Representation, or null on a miss. */
export async function cachedRepresentation(key: string, contentType: string, cacheControl: string, variant = ""): Promise<Representation | null> {
  const cache = caches.default;
  const hit = await cache.match(url(key, variant));
  if (!hit?.body) return null;
  // An entry that does not say its size is not trusted (Number(null) would read it as empty).
  const length = hit.headers.get("Content-Length");
  const size = length === null ? Number.NaN : Number(length);
  const etag = hit.headers.get("ETag");
  if (!Number.isSafeInteger(size) || size < 0 || !etag) {
    await hit.body.cancel();
    return null;
  }
  let whole: ReadableStream | null = hit.body;
  const modified = hit.headers.get("Last-Modified");
  return {
    size,
    etag,
    lastModified: modified ? new Date(modified) : undefined,
    contentType,
    cacheControl,
    async body(range) {
      if (!range && whole) {
        const b = whole;
        whole = null;
        return b;
      }
      // A slice: the cache answers a Range request from the whole object it holds.
      await whole?.cancel();
      whole = null;
      const first = range?.offset ?? 0;
      const last = range ? range.offset + range.length - 1 : size - 1;
      const part = await cache.match(new Request(url(key, variant), { headers: { Range: `bytes=${first}-${range ? last : ""}` } }));
      // Only the slice asked for, said so: a cache answering the whole object (200) or another range
      // would put the wrong bytes under this answer's Content-Range. Then the caller reads R2 instead.
      if (part && (part.status !== 206 || part.headers.get("Content-Range") !== `bytes ${first}-${last}/${size}`)) {
        await part.body?.cancel();
        return null;
      }
      return part?.body ?? null;
    },
    async release() {
      await whole?.cancel();
      whole = null;
    },
  };
}

/** Puts a whole object into the colo cache (run it in waitUntil: the viewer never waits for it). */
export async function cacheWhole(
  key: string,
  body: ReadableStream | string,
  meta: { size: number; etag: string; lastModified?: Date; contentType: string },
  variant = "",
): Promise<void> {
  const headers = new Headers({
    "Content-Length": String(meta.size),
    ETag: meta.etag,
    "Content-Type": meta.contentType,
    "Cache-Control": `public, max-age=${COLO_CACHE_TTL_S}`,
  });
  if (meta.lastModified) headers.set("Last-Modified", meta.lastModified.toUTCString());
  await caches.default.put(url(key, variant), new Response(body, { headers }));
}
