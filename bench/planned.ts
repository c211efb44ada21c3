/**
 * Planned policies: every night each embedded site plans its OCAs with fill/plan.ts from an
 * estimate of tomorrow's demand per title (this project's predictor, yesterday's counts, or the
 * oracle's knowledge of tomorrow) and of its busiest hour's share; then each IXP site plans, with
 * fill/ixp-plan.ts as the Worker does, for what its children will miss and then the rest of the
 * catalogue. Fills are checked against the fill window at the per-OCA fill rate; the day's
 * sessions are then served from what is held, a miss going to the parent IXP site, then origin.
 */
import { childMisses, ixpPlanTitles } from "../fill/ixp-plan";
import { peakBps, peakHourShare, shareBefore } from "../fill/peak-shape";
import { planSite } from "../fill/plan";
import topology from "../config/topology.json";
import { forecast } from "../fill/predict";
import { SHIFT_CHECK_HOURS_BEFORE_WINDOW_END, shiftCheckHour } from "../fill/shift";
import type { PlanTitle, PredictInput, SitePlan, TodaySoFar } from "../fill/types";
import { emptyDay, type DayMetrics, type PolicyName } from "./metrics";
import type { SimSite } from "./topology";
import { inEveningPeak, type SiteDay } from "./trace";
import type { World } from "./world";

/** Tomorrow's (day k's) bytes per title index at an embedded site. */
export type Estimator = (site: SimSite, k: number, demand: Map<string, SiteDay>) => Float64Array;
/** Tomorrow's share of the day's bytes in a site's busiest hour (IXP sites: their children's, summed). */
export type PeakEstimator = (site: SimSite, k: number, demand: Map<string, SiteDay>) => number;

/** Hourly history of a site (an IXP site: its children summed) over days [from, to). */
function hourlyOf(world: World, site: SimSite, from: number, to: number): Float64Array[] {
  const kids = site.tier === "ixp" ? world.topo.children.get(site.id)! : [site];
  const out: Float64Array[] = [];
  for (let d = Math.max(0, from); d < to; d++) {
    const day = new Float64Array(24);
    for (const kid of kids) {
      const h = world.hourlyHistory.get(kid.id)![d];
      for (let i = 0; i < 24; i++) day[i] += h[i];
    }
    out.push(day);
  }
  return out;
}

/** The busiest-hour share learned from the last `windowDays` of hourly history (fill/peak-shape.ts). */
export const learnedPeak =
  (world: World, windowDays: number): PeakEstimator =>
  (site, k) =>
    peakHourShare(hourlyOf(world, site, k - windowDays, k));

/** The oracle's: tomorrow's actual busiest-hour share. */
export const actualPeak =
  (world: World): PeakEstimator =>
  (site, _k, demand) => {
    const kids = site.tier === "ixp" ? world.topo.children.get(site.id)! : [site];
    return peakHourShare([kids.reduce((sum, kid) => sum.map((v, h) => v + demand.get(kid.id)!.hourly[h]), new Float64Array(24))], 0);
  };

/** The Worker's default fill window (config/topology.json) closes at this local hour; the same-day check runs before it. */
export const WINDOW_END_HOUR = topology.fill.windowEndHour;
const SHIFT_CHECK_HOUR = shiftCheckHour({ endHour: WINDOW_END_HOUR });

/** Same-day re-plans: the new forecast of each embedded site whose region's mix shifted today. */
export type Replan = (k: number, demand: Map<string, SiteDay>) => Map<string, Float64Array>;

/** This project's predictor over the site's and its region's recorded history. */
export function predictionEstimator(world: World): Estimator {
  const predict = predictor(world);
  return (site, k) => predict(site, k)!;
}

/**
 * The Worker's same-day check: at SHIFT_CHECK_HOUR, with the fill window still open, each region's
 * sessions so far are compared with its last week (fill/shift.ts shiftedToday); where the mix has
 * shifted, its embedded sites forecast from today so far, scaled by the share of a day those hours
 * usually carry (fill/peak-shape.ts shareBefore), as the Worker's cron does (history to yesterday,
 * forecast of tomorrow).
 */
export function sameDayReplan(world: World): Replan {
  const predict = predictor(world);
  const windowDays = world.cfg.predict?.windowDays ?? 14;
  const n = world.titleIds.length;
  const record = (bytes: Float64Array) => {
    const out: Record<string, number> = {};
    for (let i = 0; i < n; i++) if (bytes[i] > 0) out[world.titleIds[i]] = bytes[i];
    return out;
  };
  return (k, demand) => {
    const out = new Map<string, Float64Array>();
    for (const ixp of world.topo.ixps) {
      const kids = world.topo.children.get(ixp.id)!;
      const share = shareBefore(hourlyOf(world, ixp, k - windowDays, k), SHIFT_CHECK_HOUR);
      if (!(share > 0)) continue;
      const region = new Float64Array(n);
      const local = kids.map((kid) => {
        const day = demand.get(kid.id)!;
        const bytes = new Float64Array(n);
        for (let s = 0; s < day.title.length; s++) if (day.hour[s] < SHIFT_CHECK_HOUR) bytes[day.title[s]] += day.bytes[s];
        for (let i = 0; i < n; i++) region[i] += bytes[i];
        return bytes;
      });
      const regional = record(region);
      kids.forEach((kid, j) => {
        const forecast = predict(kid, k, { local: record(local[j]), regional, share });
        if (forecast) out.set(kid.id, forecast);
      });
    }
    return out;
  };
}

type Predictor = (site: SimSite, k: number, today?: TodaySoFar) => Float64Array | null;
const predictors = new WeakMap<World, Predictor>();

/**
 * Forecasts an embedded site's day k from history to k - 1 (the Worker's timing: day k + 1 when
 * cfg.workerTiming, or when today so far is given, as the Worker's same-day check does). With
 * `today`, only a shift seen in it gives a forecast (else null). One per world, so the nightly
 * forecast and the same-day check share the region's series.
 */
function predictor(world: World): Predictor {
  let p = predictors.get(world);
  if (!p) predictors.set(world, (p = makePredictor(world)));
  return p;
}

function makePredictor(world: World): Predictor {
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
  return (site, k, today) => {
    const from = Math.max(0, k - windowDays);
    const key = `${site.parent}/${k}`;
    let regional = regionalCache.get(key);
    if (!regional) {
      regionalCache.clear(); // one day at a time
      regional = seriesOf(world.groupHistory.get(site.parent!)!, from, k);
      regionalCache.set(key, regional);
    }
    const target = world.startDay + k + (world.cfg.workerTiming || today ? 1 : 0);
    const input: PredictInput = {
      targetDay: target,
      lastDay: world.startDay + k - 1,
      local: seriesOf(world.history.get(site.id)!, from, k),
      regional,
      titleBytes: world.titleBytes,
      // Launches of the window teach the launch curve, those of the window before mark where their
      // ramp ends; tomorrow's are known in advance.
      releases: world.trace.releases.filter((r) => r.launchDay >= target - 2 * windowDays && r.launchDay <= target),
      today,
      params: world.cfg.predict,
    };
    const { predictions, shiftedToday } = forecast(input);
    if (today && !shiftedToday) return null;
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

/**
 * The best any predictor can do: tomorrow's expected bytes per title (the trace's true popularity
 * before sessions are drawn). The gap between it and the oracle is chance no history can know.
 */
export const expectedEstimator = (): Estimator => (site, _k, demand) => demand.get(site.id)!.expected;

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
    private readonly peakShare: PeakEstimator,
    private readonly replan?: Replan,
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
    const predicted = new Map<string, Float64Array>();
    for (const site of w.topo.embedded) predicted.set(site.id, this.estimate(site, k, demand));
    this.plan(m, k, demand, predicted, new Set(w.topo.sites.map((s) => s.id)), w.cfg.fillWindowHours);

    // The same-day check: where the morning showed a shift, the rest of the window refills for the
    // evening; the morning is served from what the night filled, from the window's end the new plan.
    let morning: Map<string, Record<string, string[]>> | undefined;
    const replanned = this.replan?.(k, demand);
    if (replanned && replanned.size > 0) {
      morning = new Map(this.current);
      for (const [id, pred] of replanned) predicted.set(id, pred);
      const sites = new Set([...replanned.keys(), ...[...replanned.keys()].map((id) => w.siteById.get(id)!.parent!)]);
      this.plan(m, k, demand, predicted, sites, SHIFT_CHECK_HOURS_BEFORE_WINDOW_END);
      m.replannedSites = replanned.size;
    }
    this.serve(m, k, demand, morning);
    return m;
  }

  /** Plans and fills `sites` (embedded first, then their IXP sites) from `predicted`, in `windowHours` of fill. */
  private plan(m: DayMetrics, k: number, demand: Map<string, SiteDay>, predicted: Map<string, Float64Array>, sites: Set<string>, windowHours: number): void {
    const w = this.world;
    const plans = new Map<string, SitePlan>();
    const next = new Map<string, Uint8Array>(this.held);
    for (const site of w.topo.embedded) {
      if (!sites.has(site.id)) continue;
      const pred = predicted.get(site.id)!;
      const share = this.peakShare(site, k, demand);
      const was = this.held.get(site.id)!;
      const titles: PlanTitle[] = [];
      for (let i = 0; i < pred.length; i++) {
        const value = w.released(i, k) ? pred[i] : 0;
        if (value > 0 || was[i] > 0) titles.push({ titleId: w.titleIds[i], bytes: w.sizes[i], predictedBytes: value, peakBps: peakBps(value, share) });
      }
      const plan = planSite({ ocas: site.ocas, titles, current: this.current.get(site.id)!, params: w.cfg.plan });
      plans.set(site.id, plan);
      next.set(site.id, copies(w, plan.byOca));
    }

    for (const ixp of w.topo.ixps) {
      if (!sites.has(ixp.id)) continue;
      const titles = this.ixpTitles(ixp, k, predicted, next, this.peakShare(ixp, k, demand));
      const plan = planSite({ ocas: ixp.ocas, titles, current: this.current.get(ixp.id)!, params: w.cfg.plan });
      plans.set(ixp.id, plan);
      next.set(ixp.id, copies(w, plan.byOca));
    }

    this.account(m, plans, next, windowHours);
    for (const [id, plan] of plans) this.current.set(id, plan.byOca);
    for (const [id, held] of next) this.held.set(id, held);
  }

  /** What an IXP site is worth holding (fill/ixp-plan.ts): its children's predicted misses, then the catalogue. */
  private ixpTitles(ixp: SimSite, k: number, predicted: Map<string, Float64Array>, next: Map<string, Uint8Array>, share: number): PlanTitle[] {
    const w = this.world;
    const n = w.titleIds.length;
    const kids = w.topo.children.get(ixp.id)!;
    const regional = new Float64Array(n);
    const outlooks = kids.map((kid) => {
      const pred = predicted.get(kid.id)!;
      const heldThere = next.get(kid.id)!;
      const p = new Map<string, number>();
      const held = new Set<string>();
      for (let i = 0; i < n; i++) {
        regional[i] += pred[i];
        if (pred[i] > 0) p.set(w.titleIds[i], pred[i]);
        if (heldThere[i] > 0) held.add(w.titleIds[i]);
      }
      return { predicted: p, held };
    });
    const catalogue: Array<{ titleId: string; bytes: number; regionalBytes: number }> = [];
    const was = this.held.get(ixp.id)!;
    const retired: PlanTitle[] = [];
    for (let i = 0; i < n; i++) {
      if (w.released(i, k)) catalogue.push({ titleId: w.titleIds[i], bytes: w.sizes[i], regionalBytes: regional[i] });
      else if (was[i] > 0) retired.push({ titleId: w.titleIds[i], bytes: w.sizes[i], predictedBytes: 0, peakBps: 0 });
    }
    return [...ixpPlanTitles({ catalogue, misses: childMisses(outlooks), peakShare: share }), ...retired];
  }

  /** Fill bytes per OCA against the window, fill sources, adds and removes. */
  private account(m: DayMetrics, plans: Map<string, SitePlan>, next: Map<string, Uint8Array>, windowHours: number): void {
    const w = this.world;
    const index = titleIndex(w);
    const windowBits = w.cfg.fillRateBps * windowHours * 3600;
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
    m.maxWindowUse = Math.max(m.maxWindowUse ?? 0, maxUse);
  }

  /**
   * Serves the day session by session: own site, else the parent IXP site, else origin. A held
   * title's bytes spread evenly over its copies (steering spreads a title's sessions over the OCAs
   * holding it), which gives each OCA's egress per hour against its throughput. With `morning` (a
   * same-day re-plan), sessions before the fill window's end are served from what the night filled.
   */
  private serve(m: DayMetrics, k: number, demand: Map<string, SiteDay>, morning?: Map<string, Record<string, string[]>>): void {
    const w = this.world;
    const egress = new Map<string, Float64Array>();
    const copiesOf = (siteId: string, placement = this.current) => {
      const byTitle = new Map<number, Float64Array[]>();
      for (const [ocaId, ids] of Object.entries(placement.get(siteId)!)) {
        let hours = egress.get(ocaId);
        if (!hours) egress.set(ocaId, (hours = new Float64Array(24)));
        for (const id of ids) {
          const i = titleIndex(w).get(id)!;
          const list = byTitle.get(i);
          if (list) list.push(hours);
          else byTitle.set(i, [hours]);
        }
      }
      return byTitle;
    };
    const ixpCopies = new Map(w.topo.ixps.map((x) => [x.id, copiesOf(x.id)]));
    const ixpMorning = morning ? new Map(w.topo.ixps.map((x) => [x.id, copiesOf(x.id, morning)])) : ixpCopies;
    const switchHour = morning ? WINDOW_END_HOUR : 0;
    for (const site of w.topo.embedded) {
      const day = demand.get(site.id)!;
      const evening = copiesOf(site.id);
      const early = morning ? copiesOf(site.id, morning) : evening;
      const busiestHour = w.busiestHour.get(site.id)!;
      for (let s = 0; s < day.title.length; s++) {
        const i = day.title[s];
        const b = day.bytes[s];
        const h = day.hour[s];
        const here = h < switchHour ? early : evening;
        const parent = (h < switchHour ? ixpMorning : ixpCopies).get(site.parent!)!;
        const peak = inEveningPeak(h);
        const busiest = h === busiestHour;
        const release = w.launchedOn(i, k);
        m.totalBytes += b;
        m.requests++;
        if (peak) m.peakBytes += b;
        if (busiest) m.peakHourBytes += b;
        if (release) m.releaseDayBytes += b;
        const own = here.get(i);
        if (own) {
          m.embeddedBytes += b;
          if (release) m.releaseDayEmbeddedBytes += b;
          for (const hours of own) hours[h] += b / own.length;
          continue;
        }
        m.missedRequests++;
        if (peak) m.peakUpstreamBytes += b;
        if (busiest) m.peakHourUpstreamBytes += b;
        const up = parent.get(i);
        if (up) {
          m.ixpParentBytes += b;
          for (const hours of up) hours[h] += b / up.length;
        } else m.originBytes += b;
      }
    }
    let maxUse = 0;
    let over = 0;
    for (const site of w.topo.sites) {
      for (const oca of site.ocas) {
        const hours = egress.get(oca.id);
        if (!hours) continue;
        for (let h = 0; h < 24; h++) {
          const use = (hours[h] * 8) / 3600 / oca.throughputBps;
          maxUse = Math.max(maxUse, use);
          if (use > 1) over++;
        }
      }
    }
    m.maxOcaPeakUse = maxUse;
    m.ocaHoursOver = over;
  }
}
