const DAY_S = 86_400;
/** Days the chart always spans, so one or two days of history do not stretch over years. */
export const MIN_DAYS_SHOWN = 7;

/**
 * The x range (seconds) of the dashboard's per-day chart: at least MIN_DAYS_SHOWN days ending on the
 * last day, half a day of margin on each side. uPlot's own range for a single point is 1000 days wide.
 */
export function dayAxisRange(minS: number | null, maxS: number | null, nowS = Date.now() / 1000): [number, number] {
  const last = maxS ?? Math.floor(nowS / DAY_S) * DAY_S;
  const first = Math.min(minS ?? last, last - (MIN_DAYS_SHOWN - 1) * DAY_S);
  return [first - DAY_S / 2, last + DAY_S / 2];
}
