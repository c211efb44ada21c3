/**
 * How launches ramp, learned from the region's recent releases: their popularity (bytes / title
 * size, deseasonalised) at each age in days since launch. A title that launches tomorrow borrows
 * the mean launch-day popularity before it has any history; a title launched recently is projected
 * along the ratio between ages, since a launch spike decays faster than smoothing can follow.
 */
import { dayOfWeek } from "./day";
import type { DayNumber } from "./types";

/** Ages (or pairs of ages) seen in fewer titles than this are unknown: the caller falls back. */
export const MIN_LAUNCH_SAMPLES = 2;

export interface LaunchHistoryInput {
  /** Launch day per title (titles launched inside the window teach the curve). */
  launches: ReadonlyMap<string, DayNumber>;
  /** Regional bytes per title, one value per day of the window (first = firstDay). */
  regional: ReadonlyMap<string, readonly number[]>;
  firstDay: DayNumber;
  /** Number of days in the window (the day after the last is the target day). */
  days: number;
  titleBytes: Readonly<Record<string, number>>;
  /** Regional day-of-week factors (index = dayOfWeek). */
  factors: readonly number[];
}

export class LaunchHistory {
  /** Deseasonalised popularity by age, one array per title launched inside the window. */
  private readonly curves: number[][] = [];

  constructor(input: LaunchHistoryInput) {
    for (const [titleId, launch] of input.launches) {
      const size = input.titleBytes[titleId];
      const series = input.regional.get(titleId);
      const from = launch - input.firstDay;
      // Launched before the window: its early ages are not visible.
      if (!series || !(size > 0) || from < 0 || from >= input.days) continue;
      const curve: number[] = [];
      for (let i = from; i < input.days; i++) curve.push(series[i] / input.factors[dayOfWeek(input.firstDay + i)] / size);
      this.curves.push(curve);
    }
  }

  /** Mean popularity of recent launches at `age` days (0 = launch day), if seen often enough. */
  meanAt(age: number): number | undefined {
    let sum = 0;
    let n = 0;
    for (const c of this.curves) {
      if (age < c.length) {
        sum += c[age];
        n++;
      }
    }
    return n >= MIN_LAUNCH_SAMPLES ? sum / n : undefined;
  }

  /**
   * How demand at age `to` compares with demand at age `from`, over the launches seen at both
   * (ratio of sums, so big launches weigh more); undefined if too few or no demand at `from`.
   */
  ratio(from: number, to: number): number | undefined {
    let a = 0;
    let b = 0;
    let n = 0;
    for (const c of this.curves) {
      if (from < c.length && to < c.length) {
        a += c[from];
        b += c[to];
        n++;
      }
    }
    return n >= MIN_LAUNCH_SAMPLES && a > 0 ? b / a : undefined;
  }
}
