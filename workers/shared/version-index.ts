import { versionIndexKey } from "../../shared/file-keys";
import { parseVersionIndex, type VersionIndex } from "../../shared/title-version";
import { setBounded } from "./bounded-map";

/**
 * Reads title version indexes from origin, once per isolate: a version's index never changes, so
 * it is kept (up to MAX_CACHED versions, least recently used out first). A missing index is not
 * kept, so a version registered a moment later is found on the next request.
 */
const MAX_CACHED = 512;
const cache = new Map<string, Promise<VersionIndex | null>>();

/** The index of (title, version), or null when origin has none. */
export function versionIndex(origin: R2Bucket, titleId: string, version: number): Promise<VersionIndex | null> {
  const key = versionIndexKey(titleId, version);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const load = (async () => {
    const obj = await origin.get(key);
    return obj ? parseVersionIndex(await obj.text(), titleId, version) : null;
  })();
  setBounded(cache, key, load, MAX_CACHED);
  void load.then(
    (v) => {
      if (!v) cache.delete(key);
    },
    () => cache.delete(key),
  );
  return load;
}
