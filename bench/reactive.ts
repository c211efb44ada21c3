/**
 * The reactive baseline: every embedded and IXP site is an LRU cache of whole titles with the same
 * capacity as the planned sites. A miss at an embedded site goes to its parent IXP site, a miss
 * there to origin; each cache on the way fills the title as it is served (at request time, in the
 * peak hours, not in the fill window).
 */
import { LruCache } from "./lru";
import { emptyDay, type DayMetrics } from "./metrics";
import type { SiteDay } from "./trace";
import type { World } from "./world";

const capacityOf = (ocas: Array<{ capacityBytes: number }>) => ocas.reduce((s, o) => s + o.capacityBytes, 0);

export class LruPolicy {
  readonly name = "lru" as const;
  private readonly caches = new Map<string, LruCache>();

  constructor(private readonly world: World) {
    // One cache per site over its OCAs' summed capacity: kinder to LRU than per-OCA caches would be.
    for (const s of world.topo.sites) this.caches.set(s.id, new LruCache(capacityOf(s.ocas)));
  }

  /** Serves day k session by session, the sessions of an IXP site's children interleaved in time. */
  run(k: number, demand: Map<string, SiteDay>): DayMetrics {
    const w = this.world;
    const m = emptyDay(k, w.date(k));
    const before = this.counters();
    for (const [ixpId, kids] of w.topo.children) {
      const parent = this.caches.get(ixpId)!;
      const days = kids.map((kid) => ({ cache: this.caches.get(kid.id)!, day: demand.get(kid.id)! }));
      const steps = Math.max(...days.map((d) => d.day.title.length));
      for (let step = 0; step < steps; step++) {
        for (const { cache, day } of days) {
          const n = day.title.length;
          for (let s = Math.floor((step * n) / steps); s < Math.floor(((step + 1) * n) / steps); s++) {
            const i = day.title[s];
            const b = day.bytes[s];
            const size = w.sizes[i];
            m.totalBytes += b;
            if (cache.hit(i)) {
              m.embeddedBytes += b;
              continue;
            }
            if (parent.hit(i)) {
              m.ixpParentBytes += b;
            } else {
              m.originBytes += b;
              parent.fill(i, size);
              m.fillFromOriginBytes += size;
            }
            cache.fill(i, size);
            m.fillFromParentBytes += size;
          }
        }
      }
    }
    const after = this.counters();
    m.fillEmbeddedBytes = after.embeddedFill - before.embeddedFill;
    m.fillIxpBytes = after.ixpFill - before.ixpFill;
    m.embeddedRemoves = after.embeddedEvictions - before.embeddedEvictions;
    m.ixpRemoves = after.ixpEvictions - before.ixpEvictions;
    m.maxReplicas = 1;
    return m;
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
