import { cachedRepresentation, cacheWhole } from "../shared/colo-cache";
import { COLO_READ_TIMEOUT_MS } from "../shared/colo-shared-text";
import { withTimeout } from "../shared/with-timeout";

/**
 * A version's top manifest (`master.m3u8`, `manifest.mpd`) as text, for the steered playlists every
 * player asks for as it starts. Its origin key names its SHA-256, so its bytes never change: it is kept
 * in the isolate (bounded) and in the colo cache, and origin is read once per colo rather than on every
 * start (thousands of R2 reads a second at a national peak, each on the startup path).
 */

/** Kept in the isolate up to this many bytes in all, each at most ENTRY_MAX_BYTES (top manifests may be 8 MiB: those only in the colo cache). */
const ISOLATE_MAX_BYTES = 8 * 1024 * 1024;
const ENTRY_MAX_BYTES = 1024 * 1024;
/** How long the colo cache keeps a manifest, s (it never changes: the bound only frees room). */
const COLO_TTL_S = 3600;

const kept = new Map<string, string>();
let keptBytes = 0;

/** Reads by where they were answered (tests). */
export const originTextReads = { isolate: 0, colo: 0, origin: 0 };

function keep(key: string, text: string): void {
  // UTF-16 code units, twice the bytes of ASCII: a bound on what the isolate holds, not an exact size.
  const size = text.length * 2;
  if (size > ENTRY_MAX_BYTES || kept.has(key)) return;
  kept.set(key, text);
  keptBytes += size;
  for (const [k, t] of kept) {
    if (keptBytes <= ISOLATE_MAX_BYTES) break;
    kept.delete(k);
    keptBytes -= t.length * 2;
  }
}

/**
 * The text of the origin object at `key` (content-addressed: `sha256` is its identity), or null when
 * origin has none: from the isolate, else the colo cache, else origin (then put in the colo cache in
 * `waitUntil`, the request not waiting for it).
 */
export async function originText(
  origin: R2Bucket,
  key: string,
  sha256: string,
  contentType: string,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<string | null> {
  const held = kept.get(key);
  if (held !== undefined) {
    kept.delete(key);
    kept.set(key, held);
    originTextReads.isolate++;
    return held;
  }
  const at = { space: "origin", key } as const;
  // A colo cache that fails or hangs is read around: origin answers.
  const cached = await withTimeout(cachedRepresentation(at, contentType, "no-store"), COLO_READ_TIMEOUT_MS, "colo cache read").catch(() => null);
  const body = cached ? await cached.body() : null;
  if (body) {
    const text = await new Response(body).text();
    if (cached && new TextEncoder().encode(text).byteLength === cached.size) {
      originTextReads.colo++;
      keep(key, text);
      return text;
    }
  }
  const obj = await origin.get(key);
  if (!obj) return null;
  originTextReads.origin++;
  const text = await obj.text();
  keep(key, text);
  const meta = { size: obj.size, etag: `"${sha256}"`, lastModified: obj.uploaded, contentType, maxAgeS: COLO_TTL_S };
  waitUntil(cacheWhole(at, text, meta).catch((err) => console.error("manifest: colo cache put failed", err)));
  return text;
}

/** Forgets what the isolate keeps (tests). */
export function forgetOriginTexts(): void {
  kept.clear();
  keptBytes = 0;
}
