import { versionIndexKey } from "../../shared/file-keys";
import { parseVersionIndex, type VersionIndex } from "../../shared/title-version";
import { setBounded } from "./bounded-map";

/**
 * Reads title version indexes from origin, kept per isolate once read: a version's index never
 * changes, so it is kept (up to MAX_CACHED versions, least recently used out first). A missing index
 * is not kept, so a version registered a moment later is found on the next request. Only indexes
 * read are shared, never a read in flight: another request's read may never settle in this one's
 * I/O context (see SingleFlight), so requests that miss together each read (a cold isolate's first
 * moment).
 */
const MAX_CACHED = 512;
const cache = new Map<string, VersionIndex>();

/** The index of (title, version), or null when origin has none. */
export async function versionIndex(origin: R2Bucket, titleId: string, version: number): Promise<VersionIndex | null> {
  const key = versionIndexKey(titleId, version);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const obj = await origin.get(key);
  if (!obj) return null;
  const index = parseVersionIndex(await obj.text(), titleId, version);
  if (index) setBounded(cache, key, index, MAX_CACHED);
  return index;
}
