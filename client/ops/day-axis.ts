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

/**
 * A day of the chart as the table under it names it: the UTC date of a time (seconds), "2025-12-02".
 * Days are UTC day numbers; uPlot would otherwise name them in the browser's zone, where west of UTC a
 * day's midnight is the evening before.
 */
export function dayLabel(ts: number): string {
  return new Date(ts * 1000).toISOString().slice(0, 10);
}

/**
 * A day number (days since 1970-01-01, as the API's `day` and `targetDay` count them; a site's are its
 * local days) as its date, "2025-12-02".
 */
export function dayNumberLabel(day: number): string {
  return dayLabel(day * DAY_S);
}

/**
 * uPlot's `tzDate` for the chart: a Date whose local fields (getDate, getHours…) are the UTC ones of
 * the time (seconds), so uPlot places the ticks at UTC midnights, on the days' points.
 */
export function utcDate(ts: number): Date {
  const d = new Date(ts * 1000);
  return new Date(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

/** Tick steps of the day axis (seconds): whole days only, so no tick falls between two days. */
export const DAY_INCRS = [1, 2, 3, 7, 14, 28, 56, 91, 182, 364].map((n) => n * DAY_S);

/**
 * How long ago a time (ms) was, in the unit an operator reads at a glance: "42 s ago", "12 min ago",
 * "3 h 5 min ago", "2 d 4 h ago"; empty for no time.
 */
export function agoLabel(ms: number, now = Date.now()): string {
  if (!ms) return "";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h${min % 60 ? ` ${min % 60} min` : ""} ago`;
  return `${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ""} ago`;
}
