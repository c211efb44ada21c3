import { z } from "zod";
import { contentTypeFor, originKey } from "../../shared/file-keys";
import { idSchema } from "../../shared/ids";
import { setBounded } from "../shared/bounded-map";
import { catalogueDb, type CatalogueFile } from "../shared/catalogue-db";
import { ApiError } from "../shared/errors";
import { cachedRepresentation, teedToColoCache } from "../shared/colo-cache";
import { readReplica } from "../shared/replica-reads";
import { r2Representation, RepresentationChanged, serveRepresentation } from "../shared/representation";
import { catalogueCache } from "./catalogue-cache";
import { clientIp, enforceIsolateLimit, POSTER_LOOKUPS_PER_IP_PER_MINUTE } from "./limits";

/**
 * A title's poster (`GET /v1/titles/{titleId}/poster/{version}`): public, since apps show posters
 * before sign-in. The URL names the version, whose poster never changes (a registration with another
 * poster makes a new version), so the answer is cached as immutable by browsers and shared caches,
 * and validated by the file's SHA-256. It is answered as an OCA's file is (HEAD, conditionals, one
 * byte range), from origin through the colo cache, keyed by its origin key: read from R2 once per
 * colo. The title's state comes from the isolate's catalogue view, so a title taken down stops
 * showing its poster within 2 × CATALOGUE_TTL_S.
 */

/** Each poster path's image format, by the first bytes its file must start with (what browsers sniff). */
const SIGNATURES: Record<string, { name: string; at: number; bytes: number[] }[]> = {
  "poster.jpg": [{ name: "JPEG", at: 0, bytes: [0xff, 0xd8, 0xff] }],
  "poster.png": [{ name: "PNG", at: 0, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] }],
  // "RIFF", a size, "WEBP".
  "poster.webp": [
    { name: "WebP", at: 0, bytes: [0x52, 0x49, 0x46, 0x46] },
    { name: "WebP", at: 8, bytes: [0x57, 0x45, 0x42, 0x50] },
  ],
};

/** How many first bytes of a poster the format check reads. */
export const POSTER_SIGNATURE_BYTES = 12;

/**
 * Why a poster's first bytes are not the image its name says, or null. Served as that type to every
 * browse list: a poster.jpg that is not a JPEG shows as a broken image in every app.
 */
export function posterBytesProblem(path: string, head: Uint8Array): string | null {
  const parts = Object.hasOwn(SIGNATURES, path) ? SIGNATURES[path] : [];
  for (const part of parts) {
    if (part.bytes.some((b, i) => head[part.at + i] !== b)) return `${path} is not a ${part.name} image (its first bytes say otherwise)`;
  }
  return null;
}

/** What the browse list and the route agree on: the poster's public, versioned URL. */
export function posterUrl(origin: string, titleId: string, version: number): string {
  return `${origin}/v1/titles/${titleId}/poster/${version}`;
}

export const posterParam = z.object({
  titleId: idSchema("titleId"),
  // Digits only: "1e3", " 1" or "01" would be other URLs for the same immutable answer.
  version: z.string().regex(/^[1-9][0-9]{0,8}$/, "version must be a version number (1-999999999)"),
});

/** How long browsers and shared caches keep a poster: a year, as it never changes under its URL. */
const POSTER_CACHE_CONTROL = "public, max-age=31536000, immutable";
/**
 * Every poster answer's own headers: the API's origin serves it, so a browser must take it as the image
 * its type says and never sniff it into anything else (HTML, script).
 */
const POSTER_HEADERS = { "X-Content-Type-Options": "nosniff" };
/** How long a colo keeps one: its bytes never change, but a title's posters are few and seldom asked for after it changes. */
const COLO_TTL_S = 86_400;

/** Each (title, version)'s poster as D1 said: it never changes, so kept (bounded) for the isolate's life. */
const posters = new Map<string, CatalogueFile | null>();
const POSTERS_KEPT = 4000;

const notFound = (titleId: string) => new ApiError(404, "unknown_title", `no title ${titleId}`);
/** Listed in the catalogue but gone from origin: an operator's doing, said as such (nothing is cached). */
const notInOrigin = (p: { titleId: string; version: number }) => new ApiError(404, "no_poster", `${p.titleId} version ${p.version}'s poster is not in origin`);

/** The poster of a version new plays could get now or sessions may still play, or null. */
async function posterOf(env: Env, req: Request, titleId: string, version: number, current: number): Promise<CatalogueFile | null> {
  // A version past the isolate's view of the current one is none yet here (it shows with the view,
  // as the browse list's URL does): made-up versions cost no D1 read.
  if (version > current) return null;
  const key = `${titleId}|${version}`;
  if (posters.has(key)) return posters.get(key) ?? null;
  countLookup(req);
  let found: CatalogueFile | null;
  try {
    found = await readReplica(env.DB, (db) => catalogueDb.versionPoster(db, titleId, version));
  } catch (err) {
    console.error("poster read failed", err);
    throw new ApiError(503, "catalogue_unavailable", "the catalogue cannot be read right now; retry shortly", undefined, { "Retry-After": "5" });
  }
  setBounded(posters, key, found, POSTERS_KEPT);
  return found;
}

/**
 * Whether a title may show its poster at `now`: not taken down, launched, and licensed somewhere now or
 * later (its last licence ending takes it down, as play and steering answer it).
 */
function onShow(
  ctx: { title: { taken_down_at: number | null; available_from: number }; licences: ReadonlyMap<string, { available_until: number | null }> },
  now: number,
): boolean {
  if (ctx.title.taken_down_at !== null || ctx.title.available_from > now) return false;
  for (const l of ctx.licences.values()) if (l.available_until === null || l.available_until > now) return true;
  return false;
}

/** Counts a poster request that must read D1 against its address (the route is public: 429 past the limit). */
function countLookup(req: Request): void {
  const ip = clientIp(req);
  if (ip !== null) enforceIsolateLimit("POSTER_LOOKUPS_PER_IP", ip, POSTER_LOOKUPS_PER_IP_PER_MINUTE);
}

/**
 * The poster's answer to GET or HEAD, with an OCA file's HTTP semantics (serveRepresentation:
 * conditionals, one byte range, 304/412/206/416), from the colo cache or else from origin.
 */
export async function posterResponse(
  env: Env,
  req: Request,
  p: { titleId: string; version: number },
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<Response> {
  if (!catalogueCache.holds(p.titleId)) countLookup(req);
  const title = await catalogueCache.title(env, p.titleId, waitUntil);
  // Taken down, unknown, not launched yet or out of every licence alike: a poster says nothing of a title
  // no browse list shows (an embargoed title's artwork is not public before its launch).
  if (!title || !onShow(title, Date.now())) throw notFound(p.titleId);
  const file = await posterOf(env, req, p.titleId, p.version, title.title.version);
  if (!file) throw new ApiError(404, "no_poster", `${p.titleId} has no poster in version ${p.version}`);
  const contentType = contentTypeFor(file.path);
  // Keyed by the origin key, never the URL: the bytes under a key never change.
  const at = { space: "origin", key: originKey(p.titleId, file.path, file.sha256) } as const;
  const cached = await cachedRepresentation(at, contentType, POSTER_CACHE_CONTROL);
  try {
    if (cached) return await serveRepresentation(req, cached, { ...POSTER_HEADERS, "X-Cache": "HIT" });
  } catch (err) {
    // Evicted between the lookup and the read of a range: served from origin below.
    if (!(err instanceof RepresentationChanged)) throw err;
  }
  // At most 2 MiB (registration refuses larger), so read whole whatever was asked (a HEAD, a range, a
  // conditional): one R2 call, and the colo cache has it for the next request.
  const object = await env.ORIGIN.get(at.key);
  if (!object) throw notInOrigin(p);
  // Validated by the file's SHA-256, the poster's identity in the catalogue, rather than R2's MD5.
  const base = { ...r2Representation(env.ORIGIN, at.key, object, contentType, POSTER_CACHE_CONTROL), etag: `"${file.sha256}"` };
  const rep = teedToColoCache(base, object.body, at, COLO_TTL_S, waitUntil);
  try {
    return await serveRepresentation(req, rep, { ...POSTER_HEADERS, "X-Cache": "MISS" });
  } catch (err) {
    // A range read after the whole get found nothing: the content-addressed key was deleted meanwhile.
    if (err instanceof RepresentationChanged) throw notInOrigin(p);
    throw err;
  }
}

/** Forgets the posters read (tests). */
export function clearPosters(): void {
  posters.clear();
}
