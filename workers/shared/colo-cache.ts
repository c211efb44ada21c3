import type { Representation } from "./representation";

/**
 * The colo cache (the Cache API) in front of R2, for objects whose bytes never change under their
 * key (content-addressed): a whole object is cached once per colo and later requests, whole or ranged,
 * are answered from it without an R2 call. The cache key is the R2 key, never the URL: tokens differ
 * per session, the bytes do not. How long an entry lives is its caller's to say (see `cacheWhole`).
 */

/**
 * The largest object the Cache API keeps (512 MB on every plan but Enterprise): past it a put fails at
 * its end, so nothing is read whole for the colo cache and every request reads R2, as with no cache.
 */
export const COLO_CACHE_MAX_BYTES = 512 * 1000 * 1000;

/**
 * Where an object sits in the colo cache: the R2 key space it was read from (an OCA's tier bucket, or
 * origin: the same key in two buckets is not the same bytes), its key there, and which variant of it
 * (a manifest filtered per height cap), if any.
 */
export interface ColoCacheKey {
  space: "oca" | "origin";
  key: string;
  variant?: string;
}

/** The entry's URL; an OCA's keep the host they always had, so a deploy does not empty the cache. */
const url = (at: ColoCacheKey) => `https://${at.space}-cache.invalid/${at.key}${at.variant ? `?${at.variant}` : ""}`;

/** The cached whole object at `at` as a Representation, or null on a miss. */
export async function cachedRepresentation(at: ColoCacheKey, contentType: string, cacheControl: string): Promise<Representation | null> {
  const cache = caches.default;
  const hit = await cache.match(url(at));
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
      const part = await cache.match(new Request(url(at), { headers: { Range: `bytes=${first}-${range ? last : ""}` } }));
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

/**
 * Puts a whole object into the colo cache for `maxAgeS` (run it in waitUntil: the viewer never waits
 * for it). Its validators are kept with it: a hit answers conditionals as R2 would.
 */
export async function cacheWhole(
  at: ColoCacheKey,
  body: ReadableStream | string,
  meta: { size: number; etag: string; lastModified?: Date; contentType: string; maxAgeS: number },
): Promise<void> {
  const headers = new Headers({
    "Content-Length": String(meta.size),
    ETag: meta.etag,
    "Content-Type": meta.contentType,
    "Cache-Control": `public, max-age=${meta.maxAgeS}`,
  });
  if (meta.lastModified) headers.set("Last-Modified", meta.lastModified.toUTCString());
  try {
    await caches.default.put(url(at), new Response(body, { headers }));
  } catch (err) {
    // A put refused before it read the body (a cache that is full, an entry it will not take) leaves
    // the stream open: a tee would hold in memory every byte the viewer reads, an R2 body its connection.
    if (typeof body !== "string") await body.cancel().catch(() => {});
    throw err;
  }
}

/**
 * Tees this isolate has in flight into the colo cache, by entry URL: when each started and its size.
 * Bounded: past `TEES_IN_FLIGHT_MAX` entries or `TEE_BYTES_IN_FLIGHT_MAX` bytes a miss is served without one.
 */
const teeing = new Map<string, { at: number; size: number }>();

/** Tees in flight at most (each one cache put). */
export const TEES_IN_FLIGHT_MAX = 64;
/**
 * Bytes of tees in flight at most: a tee holds what its viewer has not read yet, up to the whole object,
 * in an isolate of 128 MB; a herd of slow viewers of distinct cold objects must not fill it.
 */
export const TEE_BYTES_IN_FLIGHT_MAX = 64 * 1024 * 1024;
/**
 * A tee whose put has not settled by then no longer counts as in flight: its request was cut off
 * (waitUntil runs at most 30 s past the response) and its promise will never settle.
 */
const TEE_STALE_MS = 60_000;

/** Claims the fill of `at` for one tee of `size` bytes; null when another tee fills it or the bound is met. Answers the release. */
function claimTee(at: ColoCacheKey, size: number, now = Date.now()): (() => void) | null {
  const u = url(at);
  let bytes = 0;
  for (const [k, t] of teeing) {
    if (now - t.at >= TEE_STALE_MS) teeing.delete(k);
    else bytes += t.size;
  }
  if (teeing.has(u) || teeing.size >= TEES_IN_FLIGHT_MAX || bytes + size > TEE_BYTES_IN_FLIGHT_MAX) return null;
  const mine = { at: now, size };
  teeing.set(u, mine);
  return () => {
    if (teeing.get(u) === mine) teeing.delete(u);
  };
}

/**
 * `rep` with its whole body `body` (a full R2 get's) teed: one branch to the viewer, the other into the
 * colo cache at `at` in the background, under `rep`'s validators. A tee keeps in memory what the
 * slower side has not read yet, so only for objects small enough to hold whole in an isolate. One tee
 * per entry at a time in an isolate, within TEES_IN_FLIGHT_MAX and TEE_BYTES_IN_FLIGHT_MAX: past them
 * (another request is filling the entry, or the isolate holds its share of tees) `rep` goes to its
 * viewer alone and the cache is left to the tee in flight or to a later miss.
 */
export function teedToColoCache(
  rep: Representation,
  body: ReadableStream,
  at: ColoCacheKey,
  maxAgeS: number,
  waitUntil: (promise: Promise<unknown>) => void,
): Representation {
  const release = claimTee(at, rep.size);
  // A herd of misses for a new object each read it (a stream is its request's alone), but only the
  // first fills the cache: the others would put the same bytes again, each tee holding a copy in memory.
  if (!release) return alone(rep, body);
  const [toViewer, toCache] = body.tee();
  const meta = { size: rep.size, etag: rep.etag, lastModified: rep.lastModified, contentType: rep.contentType, maxAgeS };
  // A failed put only costs the next request an R2 read; settled either way, the entry is let go.
  waitUntil(
    cacheWhole(at, toCache, meta)
      .catch(() => {})
      .finally(release),
  );
  return alone(rep, toViewer);
}

/**
 * `rep` whose whole body is `body` (a full read, or the viewer's branch of a tee). A slice is read apart:
 * `body` is let go, or a tee would hold it all until the end.
 */
function alone(rep: Representation, body: ReadableStream): Representation {
  return {
    ...rep,
    async body(range) {
      if (!range) return body;
      await body.cancel();
      return rep.body(range);
    },
    release: () => body.cancel(),
  };
}
