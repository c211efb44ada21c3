import type { TitleCache } from "./title-cache";
import { TitleQueue } from "./title-queue";

/**
 * A byte-capacity LRU cache of whole titles, the classic reactive baseline: a miss is served from
 * upstream and the title is filled into the cache at once, evicting the least recently used titles.
 */
export class LruCache implements TitleCache {
  /** Titles and their bytes, least recently used first. */
  private readonly entries = new TitleQueue();
  private used = 0;
  evictions = 0;
  filledBytes = 0;

  constructor(readonly capacityBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** True (and marks it most recent) if the title is cached. */
  lookup(title: number): boolean {
    const size = this.entries.sizeOf(title);
    if (size === undefined) return false;
    this.entries.push(title, size);
    return true;
  }

  /** Fills a title after a miss, evicting least recently used titles until it fits. */
  admit(title: number, size: number): boolean {
    if (size > this.capacityBytes || this.entries.has(title)) return false;
    while (this.used + size > this.capacityBytes) {
      const oldest = this.entries.first();
      const bytes = this.entries.sizeOf(oldest) as number;
      this.entries.delete(oldest);
      this.used -= bytes;
      this.evictions++;
    }
    this.entries.push(title, size);
    this.used += size;
    this.filledBytes += size;
    return true;
  }
}
