/**
 * The reactive baselines: every embedded and IXP site is a cache of whole titles (LRU, S3-FIFO or
 * W-TinyLFU) with the same capacity as the planned sites. A miss at an embedded site goes to its
 * parent IXP site, a miss there to origin; each cache on the way may take the title as it is served
 * (at request time, evening peak included, never in a fill window).
 */
import { LruCache } from "./lru";
import { emptyDay, type DayMetrics } from "./metrics";
import { S3FifoCache } from "./s3-fifo";
import type { TitleCache } from "./title-cache";
import { inEveningPeak, type SiteDay } from "./trace";
import { WTinyLfuCache } from "./w-tinylfu";
import type { World } from "./world";

export type ReactiveName = "lru" | "s3fifo" | "wtinylfu";

const capacityOf = (ocas: Array<{ capacityBytes: number }>) => ocas.reduce((s, o) => s + o.capacityBytes, 0);

function makeCache(kind: ReactiveName, capacityBytes: number, meanTitleBytes: number): TitleCache {
  switch (kind) {
    case "lru":
      return new LruCache(capacityBytes);
    case "s3fifo":
      return new S3FifoCache(capacityBytes);
    case "wtinylfu":
      return new WTinyLfuCache(capacityBytes, meanTitleBytes);
  }
}

export class ReactivePolicy {
  private readonly caches = new Map<string, TitleCache>();

  constructor(
    readonly name: ReactiveName,
    private readonly world: World,
  ) {
    const mean = world.sizes.reduce((a, b) => a + b, 0) / world.sizes.length;
    // One cache per site over its OCAs' summed capacity: kinder to the cache than per-OCA caches would be.
    for (const s of world.topo.sites) this.caches.set(s.id, makeCache(name, capacityOf(s.ocas), mean));
  }

  /** Serves day k hour by hour, the sessions of an IXP site's children interleaved within each hour. */
  run(k: number, demand: Map<string, SiteDay>): DayMetrics {
    const w = this.world;
    const m = emptyDay(k, w.date(k));
    const before = this.counters();
    for (const [ixpId, kids] of w.topo.children) {
      const parent = this.caches.get(ixpId)!;
      const days = kids.map((kid) => ({ cache: this.caches.get(kid.id)!, day: demand.get(kid.id)!, busiest: w.busiestHour.get(kid.id)!, at: 0 }));
      for (let hour = 0; hour < 24; hour++) {
        const peak = inEveningPeak(hour);
        const inHour = days.map((d) => {
          let end = d.at;
          while (end < d.day.hour.length && d.day.hour[end] === hour) end++;
          return end;
        });
        const steps = Math.max(1, ...days.map((d, j) => inHour[j] - d.at));
        for (let step = 0; step < steps; step++) {
          days.forEach((d, j) => {
            const n = inHour[j] - d.at;
            const from = d.at + Math.floor((step * n) / steps);
            const to = d.at + Math.floor(((step + 1) * n) / steps);
            for (let s = from; s < to; s++) this.serve(m, k, d.cache, parent, d.day.title[s], d.day.bytes[s], peak, hour === d.busiest);
          });
        }
        days.forEach((d, j) => {
          d.at = inHour[j];
        });
      }
    }
    const after = this.counters();
    m.fillEmbeddedBytes = after.embeddedFill - before.embeddedFill;
    m.fillIxpBytes = after.ixpFill - before.ixpFill;
    m.embeddedRemoves = after.embeddedEvictions - before.embeddedEvictions;
    m.ixpRemoves = after.ixpEvictions - before.ixpEvictions;
    m.maxReplicas = 1;
    m.maxOcaPeakUse = null;
    m.ocaHoursOver = null;
    return m;
  }

  private serve(m: DayMetrics, k: number, cache: TitleCache, parent: TitleCache, i: number, b: number, peak: boolean, busiest: boolean): void {
    const size = this.world.sizes[i];
    m.totalBytes += b;
    m.requests++;
    if (peak) m.peakBytes += b;
    if (busiest) m.peakHourBytes += b;
    const release = this.world.launchedOn(i, k);
    if (release) m.releaseDayBytes += b;
    if (cache.lookup(i)) {
      m.embeddedBytes += b;
      if (release) m.releaseDayEmbeddedBytes += b;
      return;
    }
    m.missedRequests++;
    if (peak) m.peakUpstreamBytes += b;
    if (busiest) m.peakHourUpstreamBytes += b;
    if (parent.lookup(i)) {
      m.ixpParentBytes += b;
    } else {
      m.originBytes += b;
      if (parent.admit(i, size)) {
        m.fillFromOriginBytes += size;
        if (peak) m.peakFillBytes += size;
      }
    }
    if (cache.admit(i, size)) {
      m.fillFromParentBytes += size;
      if (peak) m.peakFillBytes += size;
    }
  }

  private counters() {
    const c = { embeddedFill: 0, ixpFill: 0, embeddedEvictions: 0, ixpEvictions: 0 };
    for (const s of this.world.topo.sites) {
      const cache = this.caches.get(s.id)!;
      if (s.tier === "embedded") {
        c.embeddedFill += cache.filledBytes;
        c.embeddedEvictions += cache.evictions;
      } else {
        c.ixpFill += cache.filledBytes;
        c.ixpEvictions += cache.evictions;
      }
    }
    return c;
  }
}
