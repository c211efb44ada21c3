/**
 * Planned policies: every night each embedded site plans its OCAs with fill/plan.ts from an
 * estimate of tomorrow's demand per title (this project's predictor, yesterday's counts, or the
 * oracle's knowledge of tomorrow); then each IXP site plans for what its children will miss (and,
 * with the "steering" fallback, for its share of the whole catalogue). Fills are checked against
 * the fill window at the per-OCA fill rate; the day's demand is then served from what is held.
 */
import { planSite } from "../fill/plan";
import { predictSite } from "../fill/predict";
import type { PlanTitle, SitePlan } from "../fill/types";
import { emptyDay, type DayMetrics, type PolicyName } from "./metrics";
import type { SimSite } from "./topology";
import { PEAK_HOUR_SHARE, type SiteDay } from "./trace";
import type { World } from "./world";

/** Tomorrow's (day k's) bytes per title index at an embedded site. */
export type Estimator = (site: SimSite, k: number, demand: Map<string, SiteDay>) => Float64Array;

/** Peak-hour bits/s of a day's bytes: what the planner weighs against OCA throughput. */
export const peakBps = (dayBytes: number) => (dayBytes * 8 * PEAK_HOUR_SHARE) / 3600;

/** This project's predictor over the site's and its region's recorded history. */
export function predictionEstimator(world: World): Estimator {
  const windowDays = world.cfg.predict?.windowDays ?? 14;
  const regionalCache = new Map<string, Record<string, number[]>>();
  const seriesOf = (days: Float64Array[], from: number, to: number): Record<string, number[]> => {
    const out: Record<string, number[]> = {};
    world.titleIds.forEach((id, i) => {
      let any = false;
      const s = new Array<number>(to - from);
      for (let d = from; d < to; d++) {
        s[d - from] = days[d][i];
        if (s[d - from] > 0) any = true;
      }
      if (any) out[id] = s;
    });
    return out;
  };
  return (site, k) => {
    const from = Math.max(0, k - windowDays);
    const key = `${site.parent}/${k}`;
    let regional = regionalCache.get(key);
    if (!regional) {
      regionalCache.clear(); // one day at a time
      regional = seriesOf(world.groupHistory.get(site.parent!)!, from, k);
      regionalCache.set(key, regional);
    }
    const target = world.startDay + k;
    const predictions = predictSite({
      targetDay: target,
      local: seriesOf(world.history.get(site.id)!, from, k),
      regional,
      titleBytes: world.titleBytes,
      // Launches of the window teach the launch curve; tomorrow's are known in advance.
      releases: world.trace.releases.filter((r) => r.launchDay >= target - windowDays && r.launchDay <= target),
      params: world.cfg.predict,
    });
    const out = new Float64Array(world.titleIds.length);
    const index = titleIndex(world);
    for (const p of predictions) out[index.get(p.titleId)!] = p.bytes;
    return out;
  };
}

/** Yesterday's counts, as they are: no smoothing, no region, no release schedule. */
export const yesterdayEstimator =
  (world: World): Estimator =>
  (site, k) =>
    k > 0 ? world.history.get(site.id)![k - 1] : new Float64Array(world.titleIds.length);

/** Perfect knowledge of tomorrow: the bytes each title will actually stream at the site. */
export const oracleEstimator = (): Estimator => (site, _k, demand) => demand.get(site.id)!.perTitle;

const indexes = new WeakMap<World, Map<string, number>>();
function titleIndex(world: World): Map<string, number> {
  let m = indexes.get(world);
  if (!m) indexes.set(world, (m = new Map(world.titleIds.map((id, i) => [id, i]))));
  return m;
}

/** Copies per title index of a site's holdings. */
function copies(world: World, byOca: Record<string, string[]>): Uint8Array {
  const index = titleIndex(world);
  const out = new Uint8Array(world.titleIds.length);
  for (const ids of Object.values(byOca)) for (const id of ids) out[index.get(id)!]++;
  return out;
}

export class PlannedPolicy {
  private readonly current = new Map<string, Record<string, string[]>>();
  private readonly held = new Map<string, Uint8Array>();

  constructor(
    readonly name: PolicyName,
    private readonly world: World,
    private readonly estimate: Estimator,
  ) {
    for (const s of world.topo.sites) {
      this.current.set(s.id, {});
      this.held.set(s.id, new Uint8Array(world.titleIds.length));
    }
  }

  /** Plans and fills the night before day k, then serves day k. */
  run(k: number, demand: Map<string, SiteDay>): DayMetrics {
    const w = this.world;
    const m = emptyDay(k, w.date(k));
    const plans = new Map<string, SitePlan>();
    const next = new Map<string, Uint8Array>();
    const predicted = new Map<string, Float64Array>();

    for (const site of w.topo.embedded) {
      const pred = this.estimate(site, k, demand);
      predicted.set(site.id, pred);
      const was = this.held.get(site.id)!;
      const titles: PlanTitle[] = [];
      for (let i = 0; i < pred.length; i++) {
        const value = w.released(i, k) ? pred[i] : 0;
        if (value > 0 || was[i] > 0) titles.push({ titleId: w.titleIds[i], bytes: w.sizes[i], predictedBytes: value, peakBps: peakBps(value) });
      }
      const plan = planSite({ ocas: site.ocas, titles, current: this.current.get(site.id)!, params: w.cfg.plan });
      plans.set(site.id, plan);
      next.set(site.id, copies(w, plan.byOca));
    }

    for (const ixp of w.topo.ixps) {
      const plan = planSite({ ocas: ixp.ocas, titles: this.ixpTitles(ixp, k, predicted, next), current: this.current.get(ixp.id)!, params: w.cfg.plan });
      plans.set(ixp.id, plan);
      next.set(ixp.id, copies(w, plan.byOca));
    }

    this.account(m, plans, next);
    for (const [id, plan] of plans) this.current.set(id, plan.byOca);
    for (const [id, held] of next) this.held.set(id, held);
    this.serve(m, demand);
    return m;
  }

  /**
   * What an IXP site is worth holding: the bytes its children are predicted to miss; with the
   * "steering" fallback also the whole catalogue share it is home to (pinned above any demand, so
   * every released title has a copy in some IXP site) and the misses of every other site for it.
   */
  private ixpTitles(ixp: SimSite, k: number, predicted: Map<string, Float64Array>, next: Map<string, Uint8Array>): PlanTitle[] {
    const w = this.world;
    const n = w.titleIds.length;
    const kids = new Set(w.topo.children.get(ixp.id)!.map((s) => s.id));
    const share = w.cfg.fallback === "steering";
    const demand = new Float64Array(n);
    for (const site of w.topo.embedded) {
      const pred = predicted.get(site.id)!;
      const heldThere = next.get(site.id)!;
      const mine = kids.has(site.id);
      for (let i = 0; i < n; i++) {
        if (heldThere[i] === 0 && (mine || (share && w.home[i] === ixp.id))) demand[i] += pred[i];
      }
    }
    let pin = 0;
    if (share) for (let i = 0; i < n; i++) pin = Math.max(pin, demand[i] / w.sizes[i]);
    pin += 1;
    const was = this.held.get(ixp.id)!;
    const titles: PlanTitle[] = [];
    for (let i = 0; i < n; i++) {
      if (!w.released(i, k)) {
        if (was[i] > 0) titles.push({ titleId: w.titleIds[i], bytes: w.sizes[i], predictedBytes: 0, peakBps: 0 });
        continue;
      }
      const pinned = share && w.home[i] === ixp.id ? pin * w.sizes[i] : 0;
      if (demand[i] > 0 || pinned > 0 || was[i] > 0) {
        titles.push({ titleId: w.titleIds[i], bytes: w.sizes[i], predictedBytes: demand[i] + pinned, peakBps: peakBps(demand[i]) });
      }
    }
    return titles;
  }

  /** Fill bytes per OCA against the window, fill sources, adds and removes. */
  private account(m: DayMetrics, plans: Map<string, SitePlan>, next: Map<string, Uint8Array>): void {
    const w = this.world;
    const index = titleIndex(w);
    const windowBits = w.cfg.fillRateBps * w.cfg.fillWindowHours * 3600;
    let maxUse = 0;
    for (const [siteId, plan] of plans) {
      const site = w.siteById.get(siteId)!;
      const was = this.held.get(siteId)!;
      const parentHolds = site.parent ? next.get(site.parent)! : undefined;
      const perOca = new Map<string, number>();
      for (const a of plan.adds) {
        const i = index.get(a.titleId)!;
        const size = w.sizes[i];
        perOca.set(a.ocaId, (perOca.get(a.ocaId) ?? 0) + size);
        if (was[i] > 0) m.fillFromPeerBytes += size;
        else if (parentHolds && parentHolds[i] > 0) m.fillFromParentBytes += size;
        else m.fillFromOriginBytes += size;
      }
      let over = false;
      for (const bytes of perOca.values()) {
        const use = (bytes * 8) / windowBits;
        maxUse = Math.max(maxUse, use);
        if (use > 1) over = true;
      }
      if (over) m.sitesOverWindow++;
      const added = [...perOca.values()].reduce((s, b) => s + b, 0);
      if (site.tier === "embedded") {
        m.fillEmbeddedBytes += added;
        m.embeddedAdds += plan.adds.length;
        m.embeddedRemoves += plan.removes.length;
        for (const r of Object.values(plan.replicas)) m.maxReplicas = Math.max(m.maxReplicas, r);
      } else {
        m.fillIxpBytes += added;
        m.ixpAdds += plan.adds.length;
        m.ixpRemoves += plan.removes.length;
      }
    }
    m.maxWindowUse = maxUse;
  }

  /** Serves the day: own site, else parent IXP, else (steering) any IXP site, else origin. */
  private serve(m: DayMetrics, demand: Map<string, SiteDay>): void {
    const w = this.world;
    const n = w.titleIds.length;
    // Per title: held by some IXP site (1), by one in this region (per region).
    const anyIxp = new Uint8Array(n);
    const inRegion = new Map(w.topo.regions.map((r) => [r, new Uint8Array(n)]));
    for (const ixp of w.topo.ixps) {
      const h = this.held.get(ixp.id)!;
      const mine = inRegion.get(ixp.region)!;
      for (let i = 0; i < n; i++) {
        if (h[i] > 0) {
          anyIxp[i] = 1;
          mine[i] = 1;
        }
      }
    }
    const steering = w.cfg.fallback === "steering";
    for (const site of w.topo.embedded) {
      const per = demand.get(site.id)!.perTitle;
      const here = this.held.get(site.id)!;
      const parent = this.held.get(site.parent!)!;
      const region = inRegion.get(site.region)!;
      for (let i = 0; i < n; i++) {
        const b = per[i];
        if (b === 0) continue;
        m.totalBytes += b;
        if (here[i] > 0) m.embeddedBytes += b;
        else if (parent[i] > 0) m.ixpParentBytes += b;
        else if (steering && anyIxp[i] > 0) {
          m.ixpOtherBytes += b;
          if (region[i] === 0) m.ixpCrossRegionBytes += b;
        } else m.originBytes += b;
      }
    }
  }
}
