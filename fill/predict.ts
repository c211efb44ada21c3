/**
 * Tomorrow's demand per title for one site: smoothed local history (level + trend, with the site's
 * day-of-week factor), blended with the region's history scaled by the site's share where the
 * local history is thin, and launch-aware for titles on the release schedule. Run by the Worker's
 * cron and by the simulator alike: pure, no Worker-only or Node-only dependency.
 */
import { dayOfWeek } from "./day";
import { LaunchHistory } from "./launch";
import { mixShiftStart, SHIFT_REFERENCE_DAYS, shiftedToday } from "./shift";
import { deseasonalise, holtNext, titleWeeklyFactors, weeklyFactors, type Smoothing } from "./smooth";
import type { DayNumber, PredictInput, PredictParams, Prediction, TodaySoFar } from "./types";

/** Tuned on the offload benchmark (bench/offload.ts). */
export const DEFAULT_PREDICT_PARAMS: PredictParams = {
  alpha: 0.3,
  beta: 0.05,
  gamma: 0.2,
  thinBytes: 200e9,
  windowDays: 14,
};

/** Days of a site's viewing history a forecast reads (the cron's window), and the views an eviction weighs. */
export const HISTORY_DAYS = 14;

/** Titles launched at most this many days before the target day are projected along the launch curve. */
export const LAUNCH_RAMP_DAYS = 7;
/** A launch with no curve yet is assumed as popular as the mean of the region's top this-many titles. */
export const RELEASE_PEER_TITLES = 10;
/** Latest days whose observations are projected along the launch curve (and averaged). */
const PROJECTED_DAYS = 3;

interface Context {
  p: PredictParams;
  targetDay: DayNumber;
  /** Days from the history's last day to the target (1 when the history ends the day before). */
  horizon: number;
  firstDay: DayNumber;
  days: number;
  local: Map<string, number[]>;
  regional: Map<string, number[]>;
  localFactors: number[];
  regionalFactors: number[];
  /** Index of the site's first day with any bytes (0 when none): the days before it are unknown, not zero demand. */
  localStart: number;
  /** This site's share of the region's bytes over the days it recorded. */
  share: number;
  titleBytes: Readonly<Record<string, number>>;
}

/** The last `days` values of a series, zero-padded at the front (series end on the history's last day). */
function lastDays(series: readonly number[] | undefined, days: number): number[] {
  const out = new Array<number>(days).fill(0);
  if (!series) return out;
  const n = Math.min(days, series.length);
  for (let i = 0; i < n; i++) {
    const v = series[series.length - n + i];
    out[days - n + i] = Number.isFinite(v) && v > 0 ? v : 0;
  }
  return out;
}

/**
 * Days watched before its launch day that make a title not new: a licence renewed (or started
 * again) rather than a launch. Two, so one stray play across a time-zone boundary does not count.
 */
export const MIN_DAYS_BEFORE_LAUNCH = 2;

/** Days of the window before index `before` on which the region or the site recorded bytes of a title. */
function daysWatchedBefore(regional: readonly number[] | undefined, local: readonly number[] | undefined, days: number, before: number): number {
  const r = lastDays(regional, days);
  const l = lastDays(local, days);
  let n = 0;
  for (let i = 0; i < Math.min(before, days); i++) if (r[i] > 0 || l[i] > 0) n++;
  return n;
}

/** Days at the start of the window on which neither the region nor the site recorded any bytes. */
function leadingEmptyDays(regional: Record<string, number[]>, local: Record<string, number[]>, days: number): number {
  let first = days;
  for (const byTitle of [regional, local]) {
    for (const series of Object.values(byTitle)) {
      const s = lastDays(series, days);
      for (let i = 0; i < first; i++) {
        if (s[i] > 0) {
          first = i;
          break;
        }
      }
      if (first === 0) return 0;
    }
  }
  return first === days ? 0 : first;
}

/** A caller's prior share of the region when it is one (0..1], else 1: the region's whole demand. */
const priorShareOf = (prior: number | undefined): number => (prior !== undefined && prior > 0 && prior <= 1 ? prior : 1);

/** A day whose total is below this share of the window's median day is an outage (see fillOutages). */
export const OUTAGE_SHARE = 0.1;

/**
 * Replaces the outage days of a site's (or region's) series from day index `start` on, in place:
 * days whose total across titles is below OUTAGE_SHARE of the median day since `start`, each title's
 * value on them interpolated from its nearest days either side (the nearest one at the ends). Series
 * of less than `minBytes` are left alone: a thin site's quiet day is noise, not an outage.
 */
function fillOutages(byTitle: Map<string, number[]>, days: number, minBytes: number, start = 0): void {
  const t = totals(byTitle, days);
  if (sum(t, start) < minBytes) return;
  const sorted = t.slice(start).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const ok = t.map((v, i) => i < start || v >= OUTAGE_SHARE * median);
  if (!(median > 0) || ok.every(Boolean)) return;
  for (const series of byTitle.values()) {
    for (let i = start; i < days; i++) {
      if (ok[i]) continue;
      let before = i - 1;
      while (before >= start && !ok[before]) before--;
      let after = i + 1;
      while (after < days && !ok[after]) after++;
      if (before < start) series[i] = series[after];
      else if (after >= days) series[i] = series[before];
      else series[i] = series[before] + ((series[after] - series[before]) * (i - before)) / (after - before);
    }
  }
}

function totals(byTitle: Map<string, number[]>, days: number): number[] {
  const t = new Array<number>(days).fill(0);
  for (const s of byTitle.values()) for (let i = 0; i < days; i++) t[i] += s[i];
  return t;
}

const sum = (xs: readonly number[], from = 0): number => {
  let s = 0;
  for (let i = from; i < xs.length; i++) s += xs[i];
  return s;
};

/** Local weight of a title with `localBytes` of history: 1 at thinBytes and above, linear below. */
const localWeight = (localBytes: number, thinBytes: number): number => (thinBytes > 0 ? Math.min(1, localBytes / thinBytes) : 1);

const basisOf = (w: number): Prediction["basis"] => (w >= 1 ? "local" : w > 0 ? "blend" : "regional");

/**
 * Holt's forecast of one title's series (first value = day `first`) for the target day, by the
 * site's weekly factors and, for a title with enough bytes (`rich`) to show one, its own rhythm.
 */
function next(series: number[], first: DayNumber, factors: readonly number[], rich: boolean, s: Smoothing, ctx: Context): number {
  const x = deseasonalise(series, first, factors);
  const own = rich ? titleWeeklyFactors(x, first) : undefined;
  const target = dayOfWeek(ctx.targetDay);
  if (!own) return holtNext(x, s, ctx.horizon) * factors[target];
  return holtNext(deseasonalise(x, first, own), s, ctx.horizon) * factors[target] * own[target];
}

/** Smoothed forecast of one title from the window day `from` on (after its launch, if in the window). */
function smoothed(ctx: Context, titleId: string, from: number): { bytes: number; basis: Prediction["basis"] } {
  const s: Smoothing = ctx.p;
  const local = ctx.local.get(titleId)!;
  const regional = ctx.regional.get(titleId)!;
  const first = ctx.firstDay + from;
  // The site's days before it recorded anything are no part of its level (a new site is not a decline).
  const localFrom = Math.max(from, ctx.localStart);
  const w = localWeight(sum(local, localFrom), ctx.p.thinBytes);
  const localNext = next(local.slice(localFrom), ctx.firstDay + localFrom, ctx.localFactors, w >= 1, s, ctx);
  if (w >= 1) return { bytes: localNext, basis: "local" };
  const regionalNext = next(regional.slice(from), first, ctx.regionalFactors, sum(regional, from) >= ctx.p.thinBytes, s, ctx);
  return { bytes: w * localNext + (1 - w) * regionalNext * ctx.share, basis: basisOf(w) };
}

/**
 * Mean of the latest days' (deseasonalised) observations of a recent launch from day index `start`
 * on, each projected to the target day along the launch ratio between its age and the target's;
 * persistence where the region's launches cannot tell.
 */
function projectAlongLaunches(ctx: Context, series: number[], factors: number[], launchIndex: number, launches: LaunchHistory, start: number): number {
  const age = ctx.targetDay - (ctx.firstDay + launchIndex);
  let total = 0;
  let n = 0;
  for (let i = Math.max(launchIndex, ctx.days - PROJECTED_DAYS, start); i < ctx.days; i++) {
    const ratio = launches.ratio(i - launchIndex, age) ?? 1;
    total += (series[i] / factors[dayOfWeek(ctx.firstDay + i)]) * ratio;
    n++;
  }
  return n > 0 ? (total / n) * factors[dayOfWeek(ctx.targetDay)] : 0;
}

/**
 * Expected popularity (bytes / size, deseasonalised) of an unknown launch: the mean of the region's
 * top RELEASE_PEER_TITLES titles over the last week, when recent launches cannot tell.
 */
function peerPopularity(ctx: Context): number {
  const pops: number[] = [];
  for (const [titleId, series] of ctx.regional) {
    const size = ctx.titleBytes[titleId];
    const pop = size > 0 ? sum(series, ctx.days - Math.min(7, ctx.days)) / Math.min(7, ctx.days) / size : 0;
    if (pop > 0) pops.push(pop);
  }
  pops.sort((a, b) => b - a);
  const top = pops.slice(0, RELEASE_PEER_TITLES);
  return top.length ? top.reduce((a, b) => a + b, 0) / top.length : 0;
}

/**
 * Predicts the bytes this site will serve of each title on `input.targetDay`. Every title with
 * history (local or regional) in the window or on the release schedule gets a prediction, sorted by
 * bytes descending (ties by title id), with popularity = bytes / title size and the basis used.
 */
export function predictSite(input: PredictInput): Prediction[] {
  return forecast(input).predictions;
}

/**
 * predictSite's predictions, and whether `input.today` showed a shift of the region's mix (they then
 * rest on it): the cron's same-day check re-plans only then.
 */
export function forecast(input: PredictInput): { predictions: Prediction[]; shiftedToday: boolean } {
  const shiftedToday = input.today !== undefined && shiftsToday(input);
  return { predictions: shiftedToday ? predictFrom(withToday(input, input.today!), true) : predictFrom(input, false), shiftedToday };
}

const lastDayOf = (input: PredictInput): DayNumber => Math.min(input.targetDay - 1, input.lastDay ?? input.targetDay - 1);

/**
 * Whether `input.today` (the day after the history's last, so far) shows a shift of the region's
 * whole mix against the week before it, or the days since a shift its history already shows
 * (fill/shift.ts shiftedToday), launches left out: then the week's catalogue is gone now, not
 * tomorrow, and waiting a night for the history to show it costs a whole evening.
 */
export function shiftsToday(input: PredictInput): boolean {
  const today = input.today;
  const lastDay = lastDayOf(input);
  if (!today || !(today.share > 0) || lastDay + 1 >= input.targetDay) return false;
  const p: PredictParams = { ...DEFAULT_PREDICT_PARAMS, ...input.params };
  const window = Math.max(7, Math.floor(p.windowDays));
  const moved = new Set(input.releases.filter((r) => r.launchDay > lastDay - window && r.launchDay <= lastDay + 1).map((r) => r.titleId));
  const ids = [...new Set([...Object.keys(input.regional), ...Object.keys(input.local), ...Object.keys(today.regional), ...Object.keys(today.local)])].filter(
    (id) => !moved.has(id),
  );
  const days = window - leadingEmptyDays(input.regional, input.local, window);
  const series = ids.map((id) => {
    const r = lastDays(input.regional[id], days);
    const l = lastDays(input.local[id], days);
    return r.map((v, i) => Math.max(v, l[i]));
  });
  // Today is compared with the week before it, or with the days since a shift the history already shows.
  const from = Math.max(days - SHIFT_REFERENCE_DAYS, mixShiftStart(series, days));
  const now = ids.map((id) => Math.max(0, today.regional[id] ?? 0, today.local[id] ?? 0));
  return shiftedToday(
    series.map((x) => x.slice(from)),
    now,
    p.thinBytes,
  );
}

/** The input with today so far appended as a whole day (its bytes over the share of a day they usually are). */
function withToday(input: PredictInput, today: TodaySoFar): PredictInput {
  const append = (history: Record<string, number[]>, now: Record<string, number>) => {
    const out: Record<string, number[]> = {};
    for (const id of new Set([...Object.keys(history), ...Object.keys(now)])) {
      const v = now[id];
      out[id] = [...(history[id] ?? []), Number.isFinite(v) && v > 0 ? v / today.share : 0];
    }
    return out;
  };
  return {
    ...input,
    lastDay: lastDayOf(input) + 1,
    local: append(input.local, today.local),
    regional: append(input.regional, today.regional),
    today: undefined,
  };
}

/** The prediction proper; `shiftAtEnd`: the history's last day starts a new mix (found by shiftsToday). */
function predictFrom(input: PredictInput, shiftAtEnd: boolean): Prediction[] {
  const p: PredictParams = { ...DEFAULT_PREDICT_PARAMS, ...input.params };
  const window = Math.max(7, Math.floor(p.windowDays));
  const lastDay = lastDayOf(input);
  // Days before the region recorded anything (a new site or region) are unknown, not zero demand.
  const days = window - leadingEmptyDays(input.regional, input.local, window);
  const firstDay = lastDay + 1 - days;

  const launches = new Map<string, DayNumber>();
  for (const r of input.releases) {
    if (r.launchDay > input.targetDay) continue; // not playable tomorrow
    const known = launches.get(r.titleId);
    if (known === undefined || r.launchDay < known) launches.set(r.titleId, r.launchDay);
  }
  // A title watched here or in the region on days before its "launch" was not launched then: a
  // licence renewed by a new row (or started again after a gap) reads as a first licensed day. As a
  // launch, its history would be ignored for the launch prior (the region's top titles: a mid-list
  // title predicted as a hit) or projected along the launch decay, and it would teach that curve.
  for (const [id, launch] of [...launches]) {
    if (daysWatchedBefore(input.regional[id], input.local[id], days, launch - firstDay) >= MIN_DAYS_BEFORE_LAUNCH) launches.delete(id);
  }

  const ids = new Set<string>([...Object.keys(input.local), ...Object.keys(input.regional), ...launches.keys()]);
  const local = new Map<string, number[]>();
  const regional = new Map<string, number[]>();
  for (const id of ids) {
    const l = lastDays(input.local[id], days);
    const r = lastDays(input.regional[id], days);
    // The region includes this site; a caller's regional series that lags the local one would
    // otherwise make the site look bigger than its region.
    for (let i = 0; i < days; i++) r[i] = Math.max(r[i], l[i]);
    local.set(id, l);
    regional.set(id, r);
  }
  // A site that joined its region inside the window (or whose counting started late) has no demand
  // before its first recorded day, not zero demand: read as data, those days diluted its share of the
  // region and dragged every title's level down (a site three days old was predicted a third of its demand).
  const localStart = Math.max(
    0,
    totals(local, days).findIndex((v) => v > 0),
  );
  // An outage (the site's or the region's counting) is not a day nobody watched: read as data, a day
  // near zero drops every title's level and its weekday's factor for weeks.
  fillOutages(local, days, p.thinBytes, localStart);
  fillOutages(regional, days, p.thinBytes);
  for (const id of ids) {
    const l = local.get(id)!;
    const r = regional.get(id)!;
    for (let i = 0; i < days; i++) r[i] = Math.max(r[i], l[i]);
  }

  const localTotal = totals(local, days);
  const regionalTotal = totals(regional, days);
  // The site's share over the days it recorded (see localStart).
  const localSum = sum(localTotal, localStart);
  const regionalSum = sum(regionalTotal, localStart);
  const regionalFactors = weeklyFactors(regionalTotal, firstDay, p);
  const ctx: Context = {
    p,
    targetDay: input.targetDay,
    horizon: input.targetDay - lastDay,
    firstDay,
    days,
    local,
    regional,
    regionalFactors,
    // A small site's own weekly shape is noise; the region's is the better guess.
    localFactors: localSum >= p.thinBytes ? weeklyFactors(localTotal.slice(localStart), firstDay + localStart, p) : regionalFactors,
    localStart,
    // With no local history at all the site's size is unknown: the caller's prior (its OCAs' share of
    // the region's throughput), else the region's demand. Copy counts follow predicted bytes, so the
    // region's whole demand put a new site's hits on every OCA and left room for fewer titles.
    share: localSum > 0 && regionalSum > 0 ? localSum / regionalSum : priorShareOf(input.priorShare),
    titleBytes: input.titleBytes,
  };

  // A shift of the region's whole mix (launches left out: a launch is not a shift): every title is
  // smoothed from its first day, the history before it being of a catalogue that no longer exists.
  const launchedInWindow = (id: string) => {
    const l = launches.get(id);
    return l !== undefined && l >= firstDay;
  };
  const shiftStart = shiftAtEnd
    ? days - 1
    : mixShiftStart(
        [...regional].filter(([id]) => !launchedInWindow(id)).map(([, r]) => r),
        days,
      );

  let launchHistory: LaunchHistory | undefined;
  let peerPop: number | undefined;
  const out: Prediction[] = [];
  for (const titleId of ids) {
    const size = input.titleBytes[titleId] ?? 0;
    const launch = launches.get(titleId);
    const age = launch === undefined ? Infinity : input.targetDay - launch;
    const launchIndex = launch === undefined ? 0 : Math.max(0, launch - firstDay);
    let est: { bytes: number; basis: Prediction["basis"] };

    if (age <= LAUNCH_RAMP_DAYS) {
      launchHistory ??= new LaunchHistory({ launches, regional, firstDay, days, titleBytes: input.titleBytes, factors: regionalFactors });
      const l = local.get(titleId)!;
      const r = regional.get(titleId)!;
      if (sum(r, launchIndex) > 0) {
        const w = localWeight(sum(l, launchIndex), p.thinBytes);
        const localNext = w > 0 ? projectAlongLaunches(ctx, l, ctx.localFactors, launchIndex, launchHistory, localStart) : 0;
        const regionalNext = w < 1 ? projectAlongLaunches(ctx, r, regionalFactors, launchIndex, launchHistory, 0) : 0;
        est = { bytes: w * localNext + (1 - w) * regionalNext * ctx.share, basis: "release" };
      } else {
        // No history yet (launching tomorrow, or nobody watched): how recent launches did at this age.
        peerPop ??= peerPopularity(ctx);
        const pop = launchHistory.meanAt(age) ?? peerPop;
        est = { bytes: pop * size * regionalFactors[dayOfWeek(input.targetDay)] * ctx.share, basis: "release" };
      }
    } else {
      // A launch's spike is not a trend: a title launched less than a window ago is smoothed from
      // the end of its launch ramp (a spike-then-decay read as a trend forecasts a title still
      // watched at zero).
      const rampEnd = launch === undefined ? 0 : Math.min(days - 1, Math.max(0, launch - firstDay + LAUNCH_RAMP_DAYS));
      est = smoothed(ctx, titleId, Math.max(rampEnd, shiftStart));
    }
    const bytes = Number.isFinite(est.bytes) && est.bytes > 0 ? est.bytes : 0;
    out.push({ titleId, bytes, popularity: size > 0 ? bytes / size : 0, basis: est.basis });
  }
  out.sort((a, b) => b.bytes - a.bytes || (a.titleId < b.titleId ? -1 : a.titleId > b.titleId ? 1 : 0));
  return out;
}
