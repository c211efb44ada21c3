/**
 * A seeded, deterministic viewing trace: a catalogue of episodes and films with realistic sizes
 * (the whole bitrate ladder is what a copy costs), Zipf popularity that drifts day to day, regional
 * and per-site taste, scheduled releases whose launch spike decays, a weekly rhythm and a diurnal
 * curve with an evening peak. Each day yields every embedded site's play sessions (title, bytes).
 */
import { dayOfWeek } from "../fill/day";
import type { DayNumber } from "../fill/types";
import { AliasTable, normal, stream, uniform, type Rng } from "../fill/rng";
import type { SimSite } from "./topology";

export interface TraceConfig {
  seed: number;
  /** Titles in the catalogue, releases included. */
  titles: number;
  /** Zipf exponent of base popularity. */
  alpha: number;
  /** Days simulated (warm-up included). */
  days: number;
  /** Day number of the first simulated day. */
  startDay: DayNumber;
  /** Titles launching per week during the trace (drawn from the catalogue). */
  releasesPerWeek: number;
  /** Daily step of the random walk on log-popularity… */
  driftSigma: number;
  /** …which reverts to the title's base popularity at this rate per day (1 = pure random walk). */
  driftRho: number;
  /** Spread (log-normal sigma) of a title's popularity between regions. */
  regionTasteSigma: number;
  /** Spread of a title's popularity between sites of a region. */
  siteTasteSigma: number;
  /**
   * A catalogue-wide popularity shift (a hit season launches): on day `day` (0-based) the base
   * popularity of a random `fraction` of titles is reshuffled among them.
   */
  shift?: { day: number; fraction: number };
  /** One IXP site's children share a taste of their own, this far (log-normal sigma) from their region's. */
  outlier?: { ixp: string; sigma: number };
}

export const DEFAULT_TRACE: Omit<TraceConfig, "seed" | "days" | "startDay"> = {
  titles: 2000,
  alpha: 0.9,
  releasesPerWeek: 14,
  driftSigma: 0.1,
  driftRho: 0.97,
  regionTasteSigma: 0.5,
  siteTasteSigma: 0.2,
};

/** A per-title encoding ladder (kbps), 235 kbps to 5.8 Mbps, and how often sessions settle on each. */
export const LADDER_KBPS = [235, 375, 560, 750, 1050, 1750, 2350, 3000, 4300, 5800];
export const RENDITION_MIX = [0.01, 0.02, 0.03, 0.04, 0.06, 0.09, 0.12, 0.16, 0.2, 0.27];
/** Two audio languages are stored, one is streamed. */
const AUDIO_KBPS = 128;
const AUDIO_TRACKS = 2;

/** Relative viewing per local hour: an evening peak around 21:00, a trough before dawn. */
export const DIURNAL = [1.6, 1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.7, 2.0, 2.5, 3.0, 3.4, 3.5, 3.0, 2.3];
/** Relative viewing per day of week (Sunday first): weekends and Friday evenings are busier. */
export const DOW_FACTOR = [1.12, 0.93, 0.92, 0.93, 0.95, 1.06, 1.14];

export interface TraceTitle {
  id: string;
  durationS: number;
  /** Bytes of all of the title's files: what one copy on an OCA costs. */
  bytes: number;
  /** Zipf weight of the title's base rank. */
  baseWeight: number;
  /** Day the title launches (null: in the catalogue before the trace starts). */
  launchDay: DayNumber | null;
  /** Launch spike: demand × (1 + spikeHeight · e^(-age / spikeDays)). */
  spikeHeight: number;
  spikeDays: number;
}

/** One embedded site's sessions of one day. */
export interface SiteDay {
  /** Title index of each session, sessions in order of their local start hour. */
  title: Int32Array;
  /** Local start hour of each session (its bytes count in that hour). */
  hour: Uint8Array;
  /** Bytes per local hour. */
  hourly: Float64Array;
  /** Bytes streamed by each session. */
  bytes: Float64Array;
  /** Bytes per title (sum over sessions). */
  perTitle: Float64Array;
  /** Expected bytes per title (what the day's popularity implies before sampling sessions). */
  expected: Float64Array;
  total: number;
}

const sumOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Share of a day's bytes streamed in its busiest hour (sessions spread over the hours they span). */
export const PEAK_HOUR_SHARE = Math.max(...DIURNAL) / sumOf(DIURNAL);

/** The evening peak, local hours [start, end): what reactive caches fill in and upstream links carry. */
export const EVENING_PEAK = { start: 19, end: 23 } as const;
export const inEveningPeak = (hour: number) => hour >= EVENING_PEAK.start && hour < EVENING_PEAK.end;

/**
 * A site's own hour-of-day shape (share of the day's sessions starting in each local hour): the
 * common curve shifted by -1..+2 hours and sharpened or flattened, so sites peak differently.
 */
export function siteShape(seed: number, siteId: string): Float64Array {
  const rng = stream(seed, `shape/${siteId}`);
  const shift = Math.floor(rng() * 4) - 1;
  const power = uniform(rng, 0.7, 1.6);
  const shape = Float64Array.from({ length: 24 }, (_, h) => DIURNAL[(h - shift + 24) % 24] ** power);
  const total = shape.reduce((a, b) => a + b, 0);
  for (let h = 0; h < 24; h++) shape[h] /= total;
  return shape;
}

/** Share of a day's bytes streamed during local hours [start, end). */
export function hoursShare(start: number, end: number): number {
  let s = 0;
  for (let h = start; h < end; h++) s += DIURNAL[h % 24];
  return s / sumOf(DIURNAL);
}

/** Mean of watchedFraction(). */
const MEAN_FRACTION = 0.25 * 0.085 + 0.75 * 0.7;

function watchedFraction(rng: Rng): number {
  // A quarter of sessions give up early; the rest watch most of it.
  return rng() < 0.25 ? uniform(rng, 0.02, 0.15) : uniform(rng, 0.4, 1);
}

function rendition(rng: Rng): number {
  let x = rng();
  for (let i = RENDITION_MIX.length - 1; i > 0; i--) {
    x -= RENDITION_MIX[i];
    if (x < 0) return i;
  }
  return 0;
}

/** Bits/s of a session on rendition i: mostly i, with the first tenth spent two rungs lower (start-up). */
const sessionKbps = (i: number) => 0.9 * LADDER_KBPS[i] + 0.1 * LADDER_KBPS[Math.max(0, i - 2)] + AUDIO_KBPS;
const MEAN_SESSION_KBPS = RENDITION_MIX.reduce((s, p, i) => s + p * sessionKbps(i), 0);

/** The trace. Days must be generated in order (popularity drifts from one day to the next). */
export class Trace {
  readonly cfg: TraceConfig;
  readonly titles: TraceTitle[];
  readonly catalogueBytes: number;
  /** Titles launching during the trace, with their launch day (known in advance). */
  readonly releases: Array<{ titleId: string; launchDay: DayNumber }>;
  /** Mean bytes of one session (for sizing the OCAs' throughput). */
  readonly meanSessionBytes: number;

  private readonly drift: Float64Array;
  private readonly driftRng: Rng;
  private readonly taste = new Map<string, Float64Array>();
  private readonly shapes = new Map<string, AliasTable>();
  private nextDay = 0;

  constructor(cfg: TraceConfig) {
    this.cfg = cfg;
    const rng = stream(cfg.seed, "catalogue");
    const n = cfg.titles;
    // Zipf ranks in random order, so a title's index says nothing about its popularity.
    const rank = Array.from({ length: n }, (_, i) => i + 1);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [rank[i], rank[j]] = [rank[j], rank[i]];
    }
    const ladderKbps = sumOf(LADDER_KBPS) + AUDIO_KBPS * AUDIO_TRACKS;
    this.titles = rank.map((r, i) => {
      const film = rng() < 0.45;
      const durationS = (film ? uniform(rng, 80, 125) : uniform(rng, 40, 60)) * 60;
      return {
        id: `t${String(i).padStart(4, "0")}`,
        durationS,
        bytes: Math.round((durationS * ladderKbps * 1000) / 8),
        baseWeight: r ** -cfg.alpha,
        launchDay: null,
        spikeHeight: 0,
        spikeDays: 1,
      };
    });
    this.catalogueBytes = this.titles.reduce((s, t) => s + t.bytes, 0);

    // Releases: biased towards popular ranks (log-uniform rank), half of them on Fridays.
    const byRank = new Map(rank.map((r, i) => [r, i]));
    const count = Math.min(n, Math.round((cfg.releasesPerWeek * (cfg.days - 1)) / 7));
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(byRank.get(Math.floor(Math.exp(rng() * Math.log(n / 2))))!);
    this.releases = [];
    for (const i of chosen) {
      let k = 1 + Math.floor(rng() * (cfg.days - 1));
      if (rng() < 0.5) while (dayOfWeek(cfg.startDay + k) !== 5 && k < cfg.days - 1) k++;
      const t = this.titles[i];
      t.launchDay = cfg.startDay + k;
      t.spikeHeight = uniform(rng, 2, 8);
      t.spikeDays = uniform(rng, 2, 6);
      this.releases.push({ titleId: t.id, launchDay: t.launchDay });
    }
    this.releases.sort((a, b) => a.launchDay - b.launchDay || (a.titleId < b.titleId ? -1 : 1));

    // Log-popularity drift starts from its stationary spread.
    this.driftRng = stream(cfg.seed, "drift");
    const spread = cfg.driftRho < 1 ? cfg.driftSigma / Math.sqrt(1 - cfg.driftRho ** 2) : 0;
    this.drift = Float64Array.from({ length: n }, () => spread * normal(this.driftRng));

    let w = 0;
    for (const t of this.titles) w += t.durationS;
    this.meanSessionBytes = ((w / n) * MEAN_FRACTION * MEAN_SESSION_KBPS * 1000) / 8;
  }

  /** Per-title popularity multiplier of a region or a site (log-normal, fixed for the trace). */
  private tasteOf(key: string, sigma: number): Float64Array {
    let t = this.taste.get(key);
    if (!t) {
      const rng = stream(this.cfg.seed, `taste/${key}`);
      t = Float64Array.from({ length: this.titles.length }, () => Math.exp(sigma * normal(rng) - (sigma * sigma) / 2));
      this.taste.set(key, t);
    }
    return t;
  }

  /** Global demand weight of each title on day `day` (0 before launch). */
  private weights(day: DayNumber): Float64Array {
    const w = new Float64Array(this.titles.length);
    for (let i = 0; i < w.length; i++) {
      const t = this.titles[i];
      if (t.launchDay !== null && day < t.launchDay) continue;
      const spike = t.launchDay === null ? 1 : 1 + t.spikeHeight * Math.exp(-(day - t.launchDay) / t.spikeDays);
      w[i] = t.baseWeight * Math.exp(this.drift[i]) * spike;
    }
    return w;
  }

  /**
   * Generates day `k` (0-based) of the trace: every embedded site's sessions. Call with k = 0, 1, …
   * in order.
   */
  day(k: number, sites: readonly SimSite[]): Map<string, SiteDay> {
    if (k !== this.nextDay) throw new Error(`trace days must be generated in order (expected ${this.nextDay}, got ${k})`);
    this.nextDay++;
    if (this.cfg.shift && k === this.cfg.shift.day) this.reshuffle(this.cfg.shift.fraction);
    if (k > 0) {
      const { driftRho: rho, driftSigma: sigma } = this.cfg;
      for (let i = 0; i < this.drift.length; i++) this.drift[i] = rho * this.drift[i] + sigma * normal(this.driftRng);
    }
    const day = this.cfg.startDay + k;
    const global = this.weights(day);
    const out = new Map<string, SiteDay>();
    const n = this.titles.length;
    for (const site of sites) {
      if (site.tier !== "embedded") continue;
      const region = this.tasteOf(`region/${site.region}`, this.cfg.regionTasteSigma);
      const local = this.tasteOf(`site/${site.id}`, this.cfg.siteTasteSigma);
      const outlier = this.cfg.outlier?.ixp === site.parent ? this.tasteOf(`outlier/${site.parent}`, this.cfg.outlier!.sigma) : null;
      const w = new Float64Array(n);
      for (let i = 0; i < n; i++) w[i] = global[i] * region[i] * local[i] * (outlier ? outlier[i] : 1);
      const table = new AliasTable(w);
      let weightSum = 0;
      for (let i = 0; i < n; i++) weightSum += w[i];
      const rng = stream(this.cfg.seed, `sessions/${site.id}/${k}`);
      const count = Math.round(site.sessionsPerDay * DOW_FACTOR[dayOfWeek(day)] * Math.exp(0.03 * normal(rng)));
      const drawn = new Int32Array(count);
      const drawnBytes = new Float64Array(count);
      const drawnHour = new Uint8Array(count);
      const perHour = new Int32Array(24);
      const hours = this.hoursOf(site.id);
      const perTitle = new Float64Array(n);
      const hourly = new Float64Array(24);
      let total = 0;
      for (let s = 0; s < count; s++) {
        const i = table.sample(rng);
        const b = (this.titles[i].durationS * watchedFraction(rng) * sessionKbps(rendition(rng)) * 1000) / 8;
        const h = hours.sample(rng);
        drawn[s] = i;
        drawnBytes[s] = b;
        drawnHour[s] = h;
        perHour[h]++;
        perTitle[i] += b;
        hourly[h] += b;
        total += b;
      }
      // Sessions in order of their start hour (a stable counting sort), as caches see them.
      const next = new Int32Array(24);
      for (let h = 1; h < 24; h++) next[h] = next[h - 1] + perHour[h - 1];
      const title = new Int32Array(count);
      const bytes = new Float64Array(count);
      const hour = new Uint8Array(count);
      for (let s = 0; s < count; s++) {
        const at = next[drawnHour[s]]++;
        title[at] = drawn[s];
        bytes[at] = drawnBytes[s];
        hour[at] = drawnHour[s];
      }
      const expected = new Float64Array(n);
      for (let i = 0; i < n; i++) expected[i] = (count * w[i] * this.titles[i].durationS * MEAN_FRACTION * MEAN_SESSION_KBPS * 1000) / 8 / weightSum;
      out.set(site.id, { title, hour, hourly, bytes, perTitle, expected, total });
    }
    return out;
  }

  private hoursOf(siteId: string): AliasTable {
    let t = this.shapes.get(siteId);
    if (!t) this.shapes.set(siteId, (t = new AliasTable(siteShape(this.cfg.seed, siteId))));
    return t;
  }

  /** A hit season: the base popularity of a random share of titles is dealt out again among them. */
  private reshuffle(fraction: number): void {
    const rng = stream(this.cfg.seed, "shift");
    const picked = this.titles.filter(() => rng() < fraction);
    const weights = picked.map((t) => t.baseWeight);
    for (let i = weights.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [weights[i], weights[j]] = [weights[j], weights[i]];
    }
    picked.forEach((t, i) => {
      t.baseWeight = weights[i];
    });
  }
}
