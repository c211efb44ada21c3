import type { TitleCache } from "./title-cache";
import { TitleQueue } from "./title-queue";

/**
 * W-TinyLFU (Einziger, Friedman & Manes, 2017; Caffeine's policy) over bytes: new titles enter a
 * small LRU window (1 % of capacity); a title leaving the window, or one too big for it, enters
 * the main segmented LRU (20 % probation, 80 % protected) only if it was requested more often than
 * every title it would evict. Frequencies are kept exactly per title (kinder to the policy than a
 * count-min sketch), saturate at 15 and are halved every `10 x entries` accesses, as in Caffeine.
 */
export class WTinyLfuCache implements TitleCache {
  /** Each segment's titles and sizes, least recently used first. */
  private readonly window = new TitleQueue();
  private readonly probation = new TitleQueue();
  private readonly protectedSeg = new TitleQueue();
  private windowUsed = 0;
  private probationUsed = 0;
  private protectedUsed = 0;
  private readonly windowCapacity: number;
  private readonly mainCapacity: number;
  private readonly protectedCapacity: number;
  private readonly freq = new Map<number, number>();
  private accesses = 0;
  private readonly sampleSize: number;
  filledBytes = 0;
  evictions = 0;

  /** `meanTitleBytes` sizes the frequency sample (10 x the titles the cache holds). */
  constructor(
    readonly capacityBytes: number,
    meanTitleBytes: number,
  ) {
    this.windowCapacity = capacityBytes * 0.01;
    this.mainCapacity = capacityBytes - this.windowCapacity;
    this.protectedCapacity = this.mainCapacity * 0.8;
    this.sampleSize = Math.max(100, Math.round((10 * capacityBytes) / Math.max(1, meanTitleBytes)));
  }

  get usedBytes(): number {
    return this.windowUsed + this.probationUsed + this.protectedUsed;
  }

  /** The title's recent request count. */
  frequency(title: number): number {
    return this.freq.get(title) ?? 0;
  }

  lookup(title: number): boolean {
    this.count(title);
    let size = this.window.sizeOf(title);
    if (size !== undefined) {
      this.window.push(title, size);
      return true;
    }
    size = this.probation.sizeOf(title);
    if (size !== undefined) {
      this.probation.delete(title);
      this.probationUsed -= size;
      this.protectedSeg.push(title, size);
      this.protectedUsed += size;
      // Protected overflow goes back to probation's most recent end.
      while (this.protectedUsed > this.protectedCapacity && this.protectedSeg.length > 1) {
        const t = this.protectedSeg.first();
        const s = this.protectedSeg.sizeOf(t) as number;
        this.protectedSeg.delete(t);
        this.protectedUsed -= s;
        this.probation.push(t, s);
        this.probationUsed += s;
      }
      return true;
    }
    size = this.protectedSeg.sizeOf(title);
    if (size !== undefined) {
      this.protectedSeg.push(title, size);
      return true;
    }
    return false;
  }

  admit(title: number, size: number): boolean {
    if (size > this.capacityBytes || this.window.has(title) || this.probation.has(title) || this.protectedSeg.has(title)) return false;
    if (size > this.windowCapacity) return this.toMain(title, size);
    this.window.push(title, size);
    this.windowUsed += size;
    this.filledBytes += size;
    while (this.windowUsed > this.windowCapacity) {
      const t = this.window.first();
      const s = this.window.sizeOf(t) as number;
      this.window.delete(t);
      this.windowUsed -= s;
      // Already copied in: leaving the window either keeps it in main or evicts it.
      if (!this.toMain(t, s, false)) this.evictions++;
    }
    return true;
  }

  /** TinyLFU admission into main: the candidate must beat every victim it would displace. */
  private toMain(title: number, size: number, fresh = true): boolean {
    if (size > this.mainCapacity) return false;
    const need = this.probationUsed + this.protectedUsed + size - this.mainCapacity;
    const victims: Array<[number, number, TitleQueue]> = [];
    let freed = 0;
    const f = this.frequency(title);
    for (const seg of [this.probation, this.protectedSeg]) {
      for (let t = seg.first(); t !== -1; t = seg.after(t)) {
        if (freed >= need) break;
        const s = seg.sizeOf(t) as number;
        if (this.frequency(t) >= f) return false;
        victims.push([t, s, seg]);
        freed += s;
      }
    }
    if (freed < need) return false;
    for (const [t, s, seg] of victims) {
      seg.delete(t);
      if (seg === this.probation) this.probationUsed -= s;
      else this.protectedUsed -= s;
      this.evictions++;
    }
    this.probation.push(title, size);
    this.probationUsed += size;
    if (fresh) this.filledBytes += size;
    return true;
  }

  private count(title: number): void {
    this.freq.set(title, Math.min(15, (this.freq.get(title) ?? 0) + 1));
    if (++this.accesses >= this.sampleSize) {
      this.accesses = 0;
      for (const [t, c] of this.freq) {
        if (c <= 1) this.freq.delete(t);
        else this.freq.set(t, c >> 1);
      }
    }
  }
}
