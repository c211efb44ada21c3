/**
 * A site's hour-of-day shape, learned from its history: the share of a day's bytes its busiest
 * local hour carries. Replica counts weigh each title's predicted peak egress against the OCAs'
 * throughput, so a site that peaks sharply gets more copies of its hits than one with a flat
 * evening. Pure: run by the Worker's fill cycle and the simulator alike.
 */

/** With no hourly history: the evening peak at 2.5 times the mean hour. */
export const DEFAULT_PEAK_SHARE = 2.5 / 24;
/** Below this many bytes of hourly history the shape is too thin to trust and blends towards the default. */
export const SHAPE_MIN_BYTES = 1e9;

/**
 * Share of a day's bytes in its busiest hour, from per-day hourly byte counts (24 local hours each).
 * Days are summed (a busy day weighs more), the busiest hour of the summed shape is taken, and thin
 * history blends with DEFAULT_PEAK_SHARE in proportion to its bytes.
 */
export function peakHourShare(days: ReadonlyArray<ArrayLike<number>>, minBytes = SHAPE_MIN_BYTES): number {
  const { shape, total } = summedShape(days);
  if (!(total > 0)) return DEFAULT_PEAK_SHARE;
  const learned = Math.max(...shape) / total;
  const trust = Math.min(1, total / minBytes);
  return trust * learned + (1 - trust) * DEFAULT_PEAK_SHARE;
}

/** Peak-hour bits/s of a day's bytes at a site whose busiest hour carries `share` of them. */
export const peakBps = (dayBytes: number, share: number): number => (Math.max(0, dayBytes) * 8 * share) / 3600;

/**
 * Share of a day's bytes that its local hours before `hour` carry, from per-day hourly byte counts
 * (days summed); 0 with no history (today so far then cannot be scaled to a day, and is not used).
 */
export function shareBefore(days: ReadonlyArray<ArrayLike<number>>, hour: number): number {
  const { shape, total } = summedShape(days);
  if (!(total > 0)) return 0;
  let before = 0;
  for (let h = 0; h < 24 && h < hour; h++) before += shape[h];
  return before / total;
}

/**
 * A site's hourly shape: per-day hourly byte counts (24 local hours each) summed hour by hour, so a
 * busy day weighs more; missing, negative and non-finite hours count as 0. With the shape's total.
 */
export function summedShape(days: ReadonlyArray<ArrayLike<number>>): { shape: number[]; total: number } {
  const shape = new Array<number>(24).fill(0);
  let total = 0;
  for (const day of days) {
    for (let h = 0; h < 24 && h < day.length; h++) {
      const v = Number(day[h]);
      if (!(Number.isFinite(v) && v > 0)) continue;
      shape[h] += v;
      total += v;
    }
  }
  return { shape, total };
}
