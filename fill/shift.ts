import { median } from "../shared/stats";

/**
 * Catalogue-wide shifts of taste: a hit season, a holiday, a competitor's launch moves many titles'
 * popularity at once. Smoothing each title's history on its own learns the new ranking only as fast
 * as its alpha lets it (days), and raising alpha for every title makes sparse titles' noise the
 * forecast. A shift of the whole mix, though, is visible at once in the region's totals: the day's
 * mix of titles departs from the week before by far more than days usually depart from each other.
 * From such a day on, the history before it describes a catalogue that no longer exists. Pure.
 */

/** Days of reference mix a day is compared with. */
export const SHIFT_REFERENCE_DAYS = 7;
/** A day departs from its reference week by this many times the week's own day-to-day departure. */
export const SHIFT_FACTOR = 2.5;

/**
 * Total-variation distance (0 = same mix, 1 = disjoint) between day `d`'s mix of titles and the pooled
 * mix of a reference whose per-title sums are `ref` (total `refTotal`), less day `skip`'s own bytes.
 */
function departure(series: readonly (readonly number[])[], totals: readonly number[], d: number, ref: Float64Array, refTotal: number, skip = -1): number {
  const total = refTotal - (skip >= 0 ? totals[skip] : 0);
  if (totals[d] <= 0 || total <= 0) return 0;
  let tv = 0;
  for (let t = 0; t < series.length; t++) {
    const x = series[t];
    tv += Math.abs(x[d] / totals[d] - (ref[t] - (skip >= 0 ? x[skip] : 0)) / total);
  }
  return tv / 2;
}

/**
 * The index of the first day of the latest shift of the title mix within a window of `days` daily
 * series (index 0 = the window's first day), or 0 when there is none. A day is a shift when its
 * departure from the mix of the SHIFT_REFERENCE_DAYS before it exceeds SHIFT_FACTOR times the median
 * departure of those days from each other (each left out in turn); a run of such days starts at its
 * first. Series should leave out titles whose own launch moves them (a launch is not a shift).
 */
export function mixShiftStart(series: readonly (readonly number[])[], days: number): number {
  if (days <= SHIFT_REFERENCE_DAYS || series.length === 0) return 0;
  const totals = new Array<number>(days).fill(0);
  for (const x of series) for (let d = 0; d < days; d++) totals[d] += x[d];
  const shifted: boolean[] = new Array<boolean>(days).fill(false);
  const ref = new Float64Array(series.length);
  for (let d = SHIFT_REFERENCE_DAYS; d < days; d++) {
    const from = d - SHIFT_REFERENCE_DAYS;
    let refTotal = 0;
    for (let j = from; j < d; j++) refTotal += totals[j];
    for (let t = 0; t < series.length; t++) {
      let sum = 0;
      for (let j = from; j < d; j++) sum += series[t][j];
      ref[t] = sum;
    }
    const usual = median(Array.from({ length: SHIFT_REFERENCE_DAYS }, (_, k) => departure(series, totals, from + k, ref, refTotal, from + k)));
    shifted[d] = usual > 0 && departure(series, totals, d, ref, refTotal) > SHIFT_FACTOR * usual;
  }
  let start = days - 1;
  while (start >= SHIFT_REFERENCE_DAYS && !shifted[start]) start--;
  if (start < SHIFT_REFERENCE_DAYS) return 0;
  while (start - 1 >= SHIFT_REFERENCE_DAYS && shifted[start - 1]) start--;
  return start;
}

/** The head of last week's mix: its most watched titles that make up this share of its bytes. */
export const HEAD_SHARE = 0.5;
/**
 * Today's share of bytes going to last week's head, as a fraction of the week's (HEAD_SHARE), below
 * which today's mix has shifted. Whole days' mixes depart by up to about 0.87 of it and a hit season
 * drops it to 0.5-0.72 by 10:00 in the offload simulator's matrix (bench/offload.ts), launches left out.
 */
export const TODAY_HEAD_RATIO = 0.8;

/**
 * Whether the hours of today recorded so far show a shift of the whole mix: the titles that made
 * up HEAD_SHARE of the last `week` days' bytes carry less than TODAY_HEAD_RATIO of that share of
 * today's. Read from the head rather than the whole mix because a morning's few sessions spread
 * over the catalogue's tail look like a shift by any whole-mix distance. `week` holds one series per
 * title (the reference days) and `today` that title's bytes so far, in the same order; leave out
 * titles whose own launch moves them. Today needs at least `minBytes` before it is judged.
 */
export function shiftedToday(week: readonly (readonly number[])[], today: readonly number[], minBytes: number): boolean {
  const weekBytes = week.map((x) => x.reduce((a, b) => a + b, 0));
  const weekTotal = weekBytes.reduce((a, b) => a + b, 0);
  const todayTotal = today.reduce((a, b) => a + b, 0);
  if (weekTotal <= 0 || todayTotal < minBytes || todayTotal <= 0) return false;
  const order = weekBytes.map((_, i) => i).sort((a, b) => weekBytes[b] - weekBytes[a]);
  let head = 0;
  let todayHead = 0;
  for (const i of order) {
    if (head >= HEAD_SHARE * weekTotal) break;
    head += weekBytes[i];
    todayHead += today[i];
  }
  return todayHead / todayTotal < TODAY_HEAD_RATIO * (head / weekTotal);
}

/**
 * Hours before its fill window closes at which a site that has planned looks at today so far for a
 * shift (10:00 in the default 02:00-14:00 window): late enough for a morning's sessions to tell,
 * early enough to refill before the evening.
 */
export const SHIFT_CHECK_HOURS_BEFORE_WINDOW_END = 4;

/** The local hour of the same-day check in a fill window that ends at `endHour`. */
export const shiftCheckHour = (window: { endHour: number }): number => (window.endHour - SHIFT_CHECK_HOURS_BEFORE_WINDOW_END + 24) % 24;
