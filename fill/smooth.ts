/**
 * Exponential smoothing for daily viewing series: Holt-Winters on a site's (or region's) total to get
 * day-of-week factors, and Holt's level + trend on one title's deseasonalised series. The weekly
 * shape is learned on totals because one title's daily counts are too sparse to carry seven factors
 * of their own; every title of the site shares them. Pure arithmetic.
 */
import { dayOfWeek } from "./day";
import type { DayNumber } from "./types";

/** Smoothing constants (see PredictParams). */
export interface Smoothing {
  alpha: number;
  beta: number;
  gamma: number;
}

/** Factors never leave this band, so a day with (almost) no traffic cannot blow up a division. */
const MIN_FACTOR = 0.1;
const MAX_FACTOR = 10;

const mean = (xs: ArrayLike<number>, from: number, to: number): number => {
  let s = 0;
  for (let i = from; i < to; i++) s += xs[i];
  return to > from ? s / (to - from) : 0;
};

const clampFactor = (f: number): number => (Number.isFinite(f) ? Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, f)) : 1);

/**
 * Day-of-week factors (index 0 = Sunday … 6 = Saturday, mean 1) of a daily series whose first value
 * is day `firstDay`: multiplicative Holt-Winters, initialised on the first week against the
 * first-to-second-week slope (so a trend is not mistaken for a weekly shape). All ones with less
 * than a week of data or no traffic.
 */
export function weeklyFactors(series: ArrayLike<number>, firstDay: DayNumber, s: Smoothing): number[] {
  const factors = [1, 1, 1, 1, 1, 1, 1];
  const n = series.length;
  if (n < 7) return factors;
  const week1 = mean(series, 0, 7);
  if (week1 <= 0) return factors;
  let trend = n >= 14 ? (mean(series, 7, 14) - week1) / 7 : 0;
  // Level at day 6: the first week's mean sits at its middle day (3).
  let level = week1 + 3 * trend;
  for (let i = 0; i < 7; i++) {
    const base = week1 + (i - 3) * trend;
    factors[dayOfWeek(firstDay + i)] = base > 0 ? clampFactor(series[i] / base) : 1;
  }
  for (let i = 7; i < n; i++) {
    const dow = dayOfWeek(firstDay + i);
    const f = factors[dow];
    const prev = level;
    level = s.alpha * (series[i] / f) + (1 - s.alpha) * (level + trend);
    trend = s.beta * (level - prev) + (1 - s.beta) * trend;
    if (level > 0) factors[dow] = clampFactor(s.gamma * (series[i] / level) + (1 - s.gamma) * f);
  }
  const m = factors.reduce((a, b) => a + b, 0) / 7;
  return factors.map((f) => f / m);
}

/** Divides each day of a series (first value = day `firstDay`) by its day-of-week factor. */
export function deseasonalise(series: ArrayLike<number>, firstDay: DayNumber, factors: readonly number[]): number[] {
  const out = new Array<number>(series.length);
  for (let i = 0; i < series.length; i++) out[i] = series[i] / factors[dayOfWeek(firstDay + i)];
  return out;
}

/** A trend whose slope is within this many standard errors of zero is not believed at all. */
export const TREND_T = 2;

/**
 * How much of a series' trend to believe: 1 - (TREND_T · se(b) / b)² (at least 0) for its
 * least-squares slope b, so a slope well clear of the day-to-day noise counts fully and one that is
 * not fades away. Holt's trend would otherwise extrapolate noise: popularity mostly wanders rather
 * than trends (on the offload benchmark an undamped trend costs about half a point of offload).
 * 1 for a clean line, 0 for a flat or pure-noise series.
 */
export function trendConfidence(x: readonly number[]): number {
  const n = x.length;
  if (n < 3) return 0;
  const tMean = (n - 1) / 2;
  const xMean = mean(x, 0, n);
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (i - tMean) ** 2;
    sxy += (i - tMean) * (x[i] - xMean);
  }
  const slope = sxy / sxx;
  let rss = 0;
  for (let i = 0; i < n; i++) rss += (x[i] - xMean - slope * (i - tMean)) ** 2;
  const slopeVariance = rss / (n - 2) / sxx;
  const b2 = slope * slope;
  return b2 > 0 ? Math.max(0, 1 - (TREND_T * TREND_T * slopeVariance) / b2) : 0;
}

/**
 * Holt's linear smoothing of a deseasonalised daily series, its trend damped by how clearly the
 * series trends (trendConfidence); returns the forecast for `horizon` days after the last (never
 * negative). With two weeks or more the level and trend start from the first two weeks' means;
 * with less than a week it is plain exponential smoothing (too short for a trend).
 */
export function holtNext(x: readonly number[], s: Smoothing, horizon = 1): number {
  const n = x.length;
  if (n === 0) return 0;
  let level: number;
  let trend = 0;
  let start: number;
  if (n >= 14) {
    const week1 = mean(x, 0, 7);
    trend = (mean(x, 7, 14) - week1) / 7;
    level = week1 + 3 * trend;
    start = 7;
  } else if (n >= 7) {
    level = mean(x, 0, 7);
    start = 7;
  } else {
    level = x[0];
    start = 1;
  }
  const phi = n >= 7 ? trendConfidence(x) : 0;
  for (let i = start; i < n; i++) {
    const prev = level;
    level = s.alpha * x[i] + (1 - s.alpha) * (level + phi * trend);
    trend = s.beta * (level - prev) + (1 - s.beta) * phi * trend;
  }
  // A steep decline (a launch spike decaying, read as a trend) must not forecast a title still
  // watched at zero: tomorrow is at least half of the last three days.
  const recent = mean(x, Math.max(0, n - 3), n);
  return Math.max(0, level + horizon * phi * trend, 0.5 * recent);
}

/** Least the two weeks' profiles of a title must correlate for its own weekly rhythm to be believed. */
export const TITLE_RHYTHM_MIN_CORRELATION = 0.9;
/** Least ratio of a title's busiest weekday to its quietest (against the site's week) that counts as a rhythm. */
export const TITLE_RHYTHM_MIN_SWING = 2;

/**
 * A title's own day-of-week factors (index = dayOfWeek, mean 1) on top of its site's, from the last
 * two weeks of its series already divided by the site's factors (first value = day `firstDay`); or
 * undefined when it shows no clear rhythm of its own. Each day is read against the two weeks' line
 * (so a steady rise or decline is no rhythm), and the rhythm is believed only when both weeks show
 * it (correlation TITLE_RHYTHM_MIN_CORRELATION) and it swings by TITLE_RHYTHM_MIN_SWING: a
 * weekend-heavy title smoothed with the site's flatter week is forecast in anti-phase (high after a
 * weekend, low for one), since its level follows the last few days.
 */
export function titleWeeklyFactors(x: readonly number[], firstDay: DayNumber): number[] | undefined {
  const n = x.length;
  if (n < 14) return undefined;
  const from = n - 14;
  const tMean = 6.5;
  const xMean = mean(x, from, n);
  if (!(xMean > 0)) return undefined;
  // The line through the two weeks' means: whole weeks hold every weekday once, so a rhythm does not tilt it.
  const slope = (mean(x, from + 7, n) - mean(x, from, from + 7)) / 7;
  const weeks = [new Array<number>(7).fill(0), new Array<number>(7).fill(0)];
  for (let i = 0; i < 14; i++) {
    const line = xMean + slope * (i - tMean);
    if (!(line > 0)) return undefined;
    weeks[i < 7 ? 0 : 1][dayOfWeek(firstDay + from + i)] = x[from + i] / line;
  }
  const [a, b] = weeks;
  if (!(correlation(a, b) >= TITLE_RHYTHM_MIN_CORRELATION)) return undefined;
  const f = a.map((v, d) => clampFactor((v + b[d]) / 2));
  const m = f.reduce((s, v) => s + v, 0) / 7;
  const factors = f.map((v) => v / m);
  return Math.max(...factors) >= TITLE_RHYTHM_MIN_SWING * Math.min(...factors) ? factors : undefined;
}

/** Pearson correlation of two equally long series (0 when either is flat). */
function correlation(a: readonly number[], b: readonly number[]): number {
  const ma = mean(a, 0, a.length);
  const mb = mean(b, 0, b.length);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}
