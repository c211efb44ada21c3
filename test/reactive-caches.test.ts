import { describe, expect, it } from "vitest";
import { LruCache } from "../bench/lru";
import { S3FifoCache } from "../bench/s3-fifo";
import type { TitleCache } from "../bench/title-cache";
import { WTinyLfuCache } from "../bench/w-tinylfu";
import { mulberry32 } from "../fill/rng";

/** A request: a hit, or a miss followed by the cache's admission decision. */
function request(cache: TitleCache, title: number, size = 1): boolean {
  if (cache.lookup(title)) return true;
  cache.admit(title, size);
  return false;
}

describe("the reactive baselines of the offload benchmark", () => {
  it("never hold more bytes than their capacity, whatever the requests", () => {
    const rng = mulberry32(7);
    for (const cache of [new LruCache(50), new S3FifoCache(50), new WTinyLfuCache(50, 3)]) {
      for (let i = 0; i < 20_000; i++) {
        const title = Math.floor(rng() ** 2 * 300);
        request(cache, title, 1 + (title % 7));
        expect(cache.usedBytes).toBeLessThanOrEqual(cache.capacityBytes);
      }
      expect(cache.filledBytes).toBeGreaterThan(0);
    }
  });

  it("LRU loses a title seen twice to a scan of titles seen once; S3-FIFO keeps it", () => {
    const lru = new LruCache(10);
    const s3 = new S3FifoCache(10);
    for (const cache of [lru, s3]) {
      request(cache, 1);
      request(cache, 1); // seen again while in the small queue
      for (let t = 100; t < 130; t++) request(cache, t); // a scan of one-hit wonders
    }
    expect(lru.lookup(1)).toBe(false);
    expect(s3.lookup(1)).toBe(true);
  });

  it("S3-FIFO sends a title its ghost remembers straight to the main queue", () => {
    const s3 = new S3FifoCache(10);
    request(s3, 1); // enters small, never seen again...
    for (let t = 100; t < 112; t++) request(s3, t); // ...so it is dropped to the ghost
    expect(s3.lookup(1)).toBe(false);
    s3.admit(1, 1); // back: into main
    for (let t = 200; t < 230; t++) request(s3, t); // a scan churns the small queue only
    expect(s3.lookup(1)).toBe(true);
  });

  it("W-TinyLFU admits a newcomer only if it was requested more often than the title it would evict", () => {
    const w = new WTinyLfuCache(10, 1); // window 0.1, main 9.9: every title goes through admission
    for (let t = 0; t < 9; t++) for (let k = 0; k < 3; k++) request(w, t); // nine titles, three requests each
    expect(w.usedBytes).toBe(9);
    request(w, 50); // a one-off: less frequent than any victim, refused
    expect(w.lookup(50)).toBe(false);
    for (let k = 0; k < 4; k++) request(w, 60); // asked four times: it beats a three-request victim
    expect(w.lookup(60)).toBe(true);
    expect(w.frequency(60)).toBeGreaterThan(3);
  });

  it("W-TinyLFU ages frequencies: counts halve every ten times the titles it holds", () => {
    const w = new WTinyLfuCache(10, 1); // sample size: 100 requests
    for (let k = 0; k < 8; k++) w.lookup(7);
    expect(w.frequency(7)).toBe(8);
    for (let k = 0; k < 92; k++) w.lookup(1000 + k);
    expect(w.frequency(7)).toBe(4);
  });
});
