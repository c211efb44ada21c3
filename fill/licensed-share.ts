/**
 * How much of a day's demand for a title a site may serve when the title's licence there starts or
 * ends part-way through that day (a 21:00 premiere, a licence ending at 20:00): the share of the day's
 * viewing that falls in its licensed local hours. Hours are read on the site's wall clock (the clock
 * its viewers watch by and its hourly history is kept in), and weighed by the site's own hour-of-day
 * shape when it has one: a licence ending at 20:00 loses the evening peak, most of a day's viewing.
 * Pure: run by the Worker's fill cycle (and usable by the simulator).
 */
import { dayNumber, localClockHours } from "./day";
import { SHAPE_MIN_BYTES, summedShape } from "./peak-shape";
import type { DayNumber } from "./types";

/** When a title may be played at a site: from `from` (ms; its release or first licence there) until `until` (ms, exclusive; null: open-ended). */
export interface LicensedSpan {
  from: number;
  until: number | null;
}

/** The local clock hour (0..24) of instant `ms` on local day `day`: 0 before that day, 24 after it. */
export function clockHourOn(ms: number, day: DayNumber, timeZone: string): number {
  const d = dayNumber(ms, timeZone);
  if (d < day) return 0;
  if (d > day) return 24;
  return Math.min(24, localClockHours(ms, timeZone));
}

/**
 * Share (0..1) of a day's bytes that its local hours before `hour` (fractional: 20.5 is 20:30) carry,
 * by per-day hourly byte counts (24 local hours each, days summed), an hour's bytes spread evenly over
 * it. With no hourly history the clock alone (hour / 24); thin history (under `minBytes`) blends
 * towards the clock in proportion to its bytes, as the peak share does (a few plays are no shape).
 */
export function shareBeforeHour(days: ReadonlyArray<ArrayLike<number>>, hour: number, minBytes = SHAPE_MIN_BYTES): number {
  const h = Math.min(24, Math.max(0, hour));
  const { shape, total } = summedShape(days);
  const byClock = h / 24;
  if (!(total > 0)) return byClock;
  const whole = Math.floor(h);
  let before = 0;
  for (let i = 0; i < whole; i++) before += shape[i];
  if (whole < 24) before += shape[whole] * (h - whole);
  const trust = Math.min(1, total / minBytes);
  return trust * (before / total) + (1 - trust) * byClock;
}

/**
 * Share (0..1) of local day `day`'s demand for a title at a site in `timeZone` that falls while the
 * title may be played there (`span`), by the site's hourly shape `days` (see shareBeforeHour): 1 for
 * a licence covering the whole day, the share of the hours after a premiere, before an ending, or
 * between both. Multiply a whole day's predicted bytes by it.
 */
export function licensedShare(span: LicensedSpan, day: DayNumber, timeZone: string, days: ReadonlyArray<ArrayLike<number>>): number {
  const start = clockHourOn(span.from, day, timeZone);
  const end = span.until === null ? 24 : clockHourOn(span.until, day, timeZone);
  if (start <= 0 && end >= 24) return 1;
  if (!(end > start)) return 0;
  return Math.max(0, Math.min(1, shareBeforeHour(days, end) - shareBeforeHour(days, start)));
}
