import { versionIndexKey } from "../../shared/file-keys";
import { parseVersionIndex, type VersionIndex } from "../../shared/title-version";

/**
 * Reads title version indexes from origin, kept per isolate once read: a version's index never
 * changes, so it is kept (least recently used out first, within a count and a total of files: an
 * index's memory grows with its files, about 200 bytes each, and a two-hour title's ladder is some
 * 16,000 files). A missing index is not kept, so a version registered a moment later is found on the
 * next request. Only indexes read are shared, never a read in flight: another request's read may never
 * settle in this one's I/O context (see SingleFlight), so requests that miss together each read (a
 * cold isolate's first moment).
 */
const MAX_CACHED = 512;
/** About 30 MB of an isolate's 128 MB: a dozen two-hour titles, or hundreds of short ones. */
const MAX_CACHED_FILES = 150_000;

/** Indexes by key, least recently used first, within `maxIndexes` and `maxFiles` files in all. */
export class VersionIndexCache {
  private readonly map = new Map<string, VersionIndex>();
  private files = 0;

  constructor(
    private readonly maxIndexes: number,
    private readonly maxFiles: number,
  ) {}

  /** The index kept under `key`, now the most recently used. */
  get(key: string): VersionIndex | undefined {
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
    }
    return hit;
  }

  /** Keeps `index`, dropping the least recently used past either bound; one larger than `maxFiles` alone is not kept. */
  set(key: string, index: VersionIndex): void {
    this.delete(key);
    if (index.files.size > this.maxFiles) return;
    this.map.set(key, index);
    this.files += index.files.size;
    while (this.map.size > this.maxIndexes || this.files > this.maxFiles) this.delete(this.map.keys().next().value as string);
  }

  /** How many indexes and files are kept. */
  size(): { indexes: number; files: number } {
    return { indexes: this.map.size, files: this.files };
  }

  private delete(key: string): void {
    const old = this.map.get(key);
    if (!old) return;
    this.map.delete(key);
    this.files -= old.files.size;
  }
}

const cache = new VersionIndexCache(MAX_CACHED, MAX_CACHED_FILES);

/** The index of (title, version), or null when origin has none. */
export async function versionIndex(origin: R2Bucket, titleId: string, version: number): Promise<VersionIndex | null> {
  const key = versionIndexKey(titleId, version);
  const hit = cache.get(key);
  if (hit) return hit;
  const obj = await origin.get(key);
  if (!obj) return null;
  const index = parseVersionIndex(await obj.text(), titleId, version);
  if (index) cache.set(key, index);
  return index;
}
