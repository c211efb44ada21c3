/** Local calendar days and hours of a site, via Intl (works in the Worker and in Node). */

const formatters = new Map<string, Intl.DateTimeFormat>();

function parts(ms: number, timeZone: string): { y: number; m: number; d: number; h: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", hourCycle: "h23" });
    formatters.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(new Date(ms))) if (x.type !== "literal") p[x.type] = Number(x.value);
  return { y: p.year, m: p.month, d: p.day, h: p.hour };
}

/** Whole days since the Unix epoch in the local calendar of `timeZone`. */
export function dayNumber(ms: number, timeZone: string): number {
  const { y, m, d } = parts(ms, timeZone);
  return Math.floor(Date.UTC(y, m - 1, d) / 86_400_000);
}

/** Local hour (0-23) in `timeZone`. */
export function localHour(ms: number, timeZone: string): number {
  return parts(ms, timeZone).h;
}

/** Day of week of a day number (0 = Sunday). */
export function dayOfWeek(day: number): number {
  return (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
}
