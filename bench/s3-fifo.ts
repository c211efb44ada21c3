import type { TitleCache } from "./title-cache";
import { TitleQueue } from "./title-queue";

/**
 * S3-FIFO (Yang et al., SOSP 2023) over bytes: a small FIFO (10 % of capacity) that new titles
 * enter, a main FIFO with lazy promotion (a title accessed while queued goes round again), and a
 * ghost FIFO of titles the small queue dropped unseen, whose return goes straight to main.
 * Access counts saturate at 3, as in the paper.
 */
export class S3FifoCache implements TitleCache {
  /** Titles and their sizes, oldest first. */
  private readonly small = new TitleQueue();
  private readonly main = new TitleQueue();
  /** Titles dropped from `small` without a second access, oldest first. */
  private readonly ghost = new TitleQueue();
  private readonly freq = new Map<number, number>();
  private smallUsed = 0;
  private mainUsed = 0;
  private readonly smallCapacity: number;
  private admittedBytes = 0;
  private admitted = 0;
  filledBytes = 0;
  evictions = 0;

  constructor(
    readonly capacityBytes: number,
    smallFraction = 0.1,
  ) {
    this.smallCapacity = capacityBytes * smallFraction;
  }

  get usedBytes(): number {
    return this.smallUsed + this.mainUsed;
  }

  lookup(title: number): boolean {
    const f = this.freq.get(title);
    if (f === undefined) return false;
    this.freq.set(title, Math.min(3, f + 1));
    return true;
  }

  admit(title: number, size: number): boolean {
    if (size > this.capacityBytes || this.freq.has(title)) return false;
    while (this.smallUsed + this.mainUsed + size > this.capacityBytes) this.evict();
    if (this.ghost.delete(title)) {
      this.main.push(title, size);
      this.mainUsed += size;
    } else {
      this.small.push(title, size);
      this.smallUsed += size;
    }
    this.freq.set(title, 0);
    this.filledBytes += size;
    this.admittedBytes += size;
    this.admitted++;
    return true;
  }

  private evict(): void {
    if (this.smallUsed >= this.smallCapacity || this.main.length === 0) this.evictSmall();
    else this.evictMain();
  }

  private evictSmall(): void {
    while (this.small.length > 0) {
      const title = this.small.first();
      const size = this.small.sizeOf(title) as number;
      this.small.delete(title);
      this.smallUsed -= size;
      if ((this.freq.get(title) ?? 0) >= 1) {
        // Seen again while on probation: it moves to main (which makes room for it later).
        this.main.push(title, size);
        this.mainUsed += size;
        this.freq.set(title, 0);
        continue;
      }
      this.freq.delete(title);
      this.evictions++;
      this.ghost.push(title, 0);
      // The ghost remembers about as many titles as main can hold.
      const ghostLimit = Math.max(1, Math.round((this.capacityBytes - this.smallCapacity) / (this.admittedBytes / this.admitted)));
      while (this.ghost.length > ghostLimit) this.ghost.delete(this.ghost.first());
      return;
    }
    this.evictMain();
  }

  private evictMain(): void {
    while (this.main.length > 0) {
      const title = this.main.first();
      const size = this.main.sizeOf(title) as number;
      const f = this.freq.get(title) ?? 0;
      if (f > 0) {
        // Lazy promotion: round again with one access spent.
        this.main.push(title, size);
        this.freq.set(title, f - 1);
        continue;
      }
      this.main.delete(title);
      this.mainUsed -= size;
      this.freq.delete(title);
      this.evictions++;
      return;
    }
    this.evictSmall();
  }
}
