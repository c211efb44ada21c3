/**
 * How launches ramp: the mean regional popularity (bytes / title size, deseasonalised) of recent
 * releases at each age in days since launch. A title that launches tomorrow borrows its expected
 * demand from that curve before it has any history; a title launched a few days ago is projected
 * along it, since a launch spike decays much faster than smoothing can follow.
 */
import { dayOfWeek } from "./day";
import type { DayNumber } from "./types";

/** Ages with fewer samples than this are unknown (the caller falls back). */
export const MIN_LAUNCH_SAMPLES = 2;

export interface LaunchCurveInput {
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

/**
 * Mean deseasonalised regional popularity of launched titles by age (index = days since launch);
 * `undefined` at ages seen fewer than MIN_LAUNCH_SAMPLES times in the window.
 */
export function launchCurve(input: LaunchCurveInput): Array<number | undefined> {
  const sum = new Array<number>(input.days).fill(0);
  const count = new Array<number>(input.days).fill(0);
  for (const [titleId, launch] of input.launches) {
    const size = input.titleBytes[titleId];
    const series = input.regional.get(titleId);
    if (!series || !(size > 0)) continue;
    const from = launch - input.firstDay;
    if (from < 0) continue; // launched before the window: its early ages are not visible
    for (let i = from; i < input.days; i++) {
      const age = i - from;
      sum[age] += series[i] / input.factors[dayOfWeek(input.firstDay + i)] / size;
      count[age] += 1;
    }
  }
  return sum.map((s, age) => (count[age] >= MIN_LAUNCH_SAMPLES ? s / count[age] : undefined));
}
