/**
 * The simulated world shared by every policy: configuration, trace, topology, catalogue index and
 * the viewing history each site has recorded so far (what the Worker's site Durable Objects count).
 */
import type { PlanParams, PredictParams } from "../fill/types";
import type { PolicyName } from "./metrics";
import { buildTopology, type SimSite, type SimTopology } from "./topology";
import { DEFAULT_TRACE, siteShape, Trace, type SiteDay, type TraceConfig } from "./trace";

export interface SimConfig {
  seed: number;
  /** Measured days, after `warmup` days that fill caches and history. */
  days: number;
  warmup: number;
  titles: number;
  alpha: number;
  /** Embedded site capacity as a fraction of catalogue bytes. */
  capacityFraction: number;
  /** IXP site capacity as a fraction of catalogue bytes. */
  ixpFraction: number;
  /** Bits/s one OCA may spend on filling, and the nightly fill window's length. */
  fillRateBps: number;
  fillWindowHours: number;
  sessionsPerSite: number;
  /** Scenario twists of the trace: a catalogue-wide popularity shift, a region of its own taste. */
  shift?: TraceConfig["shift"];
  outlier?: TraceConfig["outlier"];
  predict?: Partial<PredictParams>;
  /**
   * Predict as the Worker's cron does: it runs in the window before the evening it fills for and
   * forecasts the next local day from history ending yesterday (today is still being counted), so
   * day k is served by a forecast of day k + 1 from history to k - 1. Off: day k from history to k - 1.
   */
  workerTiming?: boolean;
  /** The Worker's same-day check for a shift of a region's mix, and its re-plan (default on). */
  sameDayReplan?: boolean;
  plan?: Partial<PlanParams>;
  policies: PolicyName[];
}

/** 2026-01-05, a Monday. */
export const START_DAY = Date.UTC(2026, 0, 5) / 86_400_000;

export class World {
  readonly cfg: SimConfig;
  readonly trace: Trace;
  readonly topo: SimTopology;
  readonly startDay: number;
  readonly titleIds: string[];
  readonly sizes: Float64Array;
  readonly titleBytes: Record<string, number>;
  readonly siteById: Map<string, SimSite>;
  /** Bytes per title per day, per embedded site (what its DO records). */
  readonly history = new Map<string, Float64Array[]>();
  /** The same summed over an IXP site's children: the region a child borrows from. */
  readonly groupHistory = new Map<string, Float64Array[]>();
  /** Each embedded site's busiest local hour (the top of its own hour-of-day curve). */
  readonly busiestHour = new Map<string, number>();
  /** Bytes per local hour per day, per embedded site (what its DO counts for the peak shape). */
  readonly hourlyHistory = new Map<string, Float64Array[]>();

  constructor(cfg: SimConfig) {
    this.cfg = cfg;
    this.startDay = START_DAY - cfg.warmup;
    this.trace = new Trace({
      ...DEFAULT_TRACE,
      seed: cfg.seed,
      titles: cfg.titles,
      alpha: cfg.alpha,
      days: cfg.warmup + cfg.days,
      startDay: this.startDay,
      shift: cfg.shift,
      outlier: cfg.outlier,
    });
    this.topo = buildTopology({
      seed: cfg.seed,
      catalogueBytes: this.trace.catalogueBytes,
      embeddedFraction: cfg.capacityFraction,
      ixpFraction: cfg.ixpFraction,
      sessionsPerSite: cfg.sessionsPerSite,
      // Each ISP sizes its OCAs for its own busiest hour.
      peakBpsPerSession: (siteId) => (this.trace.meanSessionBytes * 8 * Math.max(...siteShape(cfg.seed, siteId))) / 3600,
    });
    this.titleIds = this.trace.titles.map((t) => t.id);
    this.sizes = Float64Array.from(this.trace.titles, (t) => t.bytes);
    this.titleBytes = Object.fromEntries(this.trace.titles.map((t) => [t.id, t.bytes]));
    this.siteById = new Map(this.topo.sites.map((s) => [s.id, s]));
    for (const s of this.topo.embedded) {
      const shape = siteShape(cfg.seed, s.id);
      this.busiestHour.set(s.id, shape.indexOf(Math.max(...shape)));
      this.history.set(s.id, []);
      this.hourlyHistory.set(s.id, []);
    }
    for (const s of this.topo.ixps) this.groupHistory.set(s.id, []);
  }

  get totalDays(): number {
    return this.cfg.warmup + this.cfg.days;
  }

  /** Calendar date of simulated day k. */
  date(k: number): string {
    return new Date((this.startDay + k) * 86_400_000).toISOString().slice(0, 10);
  }

  /** Whether title i can be played on day k (launched). */
  released(i: number, k: number): boolean {
    const launch = this.trace.titles[i].launchDay;
    return launch === null || launch <= this.startDay + k;
  }

  /** Whether title i launches on day k (its first day). */
  launchedOn(i: number, k: number): boolean {
    return this.trace.titles[i].launchDay === this.startDay + k;
  }

  /** Records day k's demand as history. */
  record(k: number, demand: Map<string, SiteDay>): void {
    for (const [ixp, kids] of this.topo.children) {
      const group = new Float64Array(this.titleIds.length);
      for (const kid of kids) {
        const per = demand.get(kid.id)!.perTitle;
        this.history.get(kid.id)![k] = per;
        this.hourlyHistory.get(kid.id)![k] = demand.get(kid.id)!.hourly;
        for (let i = 0; i < per.length; i++) group[i] += per[i];
      }
      this.groupHistory.get(ixp)![k] = group;
    }
  }
}
