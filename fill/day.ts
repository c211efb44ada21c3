/**
 * Calendar days and hours in a site's local time zone. Sites count their viewing history per local
 * day and fill in a local off-peak window, so "day" always means the site's calendar, not UTC's.
 * Pure: only Intl, which both workerd and Node provide.
 */
import type { DayNumber } from "./types";

const MS_PER_DAY = 86_400_000;

// Building an Intl.DateTimeFormat is costly; the cron and the simulator ask for few zones many times.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      hourCycle: "h23",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function localParts(ms: number, timeZone: string): { year: number; month: number; day: number; hour: number } {
  const out = { year: 0, month: 0, day: 0, hour: 0 };
  for (const p of formatter(timeZone).formatToParts(ms)) {
    if (p.type === "year" || p.type === "month" || p.type === "day" || p.type === "hour") out[p.type] = Number(p.value);
  }
  return out;
}

/** The day number of the last minute asked, per zone. */
const lastDay = new Map<string, { minute: number; day: DayNumber }>();

/**
 * Whole days since 1970-01-01 in the local calendar of `timeZone` (an IANA name such as
 * "Europe/Berlin"): two instants on the same local date give the same number, across DST changes.
 */
export function dayNumber(ms: number, timeZone: string): DayNumber {
  // Every UTC offset in use since 1972 is a whole number of minutes, so a local date changes only on a
  // UTC minute: the last minute's answer per zone serves every play of that minute (formatting is not cheap).
  const minute = Math.floor(ms / 60_000);
  const last = lastDay.get(timeZone);
  if (last?.minute === minute) return last.day;
  const { year, month, day } = localParts(ms, timeZone);
  const n = Math.floor(Date.UTC(year, month - 1, day) / MS_PER_DAY);
  lastDay.set(timeZone, { minute, day: n });
  return n;
}

/** Local hour of the day (0-23) at instant `ms` in `timeZone`: for testing whether a fill window is open. */
export function localHour(ms: number, timeZone: string): number {
  return localParts(ms, timeZone).hour % 24;
}

// Hours with minutes and seconds, for the instant a licence starts or ends: its own formatter, so
// dayNumber's (asked for every play) formats no more parts than it reads.
const clockFormatters = new Map<string, Intl.DateTimeFormat>();

/**
 * Hours since local midnight on `timeZone`'s wall clock at instant `ms`, with minutes and seconds as
 * fractions (20:30 is 20.5): the clock a site's viewers and its hourly history keep, so on a day of 23
 * or 25 hours (a DST change) 20:00 is still 20, not the share of the day elapsed times 24.
 */
export function localClockHours(ms: number, timeZone: string): number {
  let f = clockFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hour: "numeric", minute: "numeric", second: "numeric", hourCycle: "h23" });
    clockFormatters.set(timeZone, f);
  }
  let hours = 0;
  for (const p of f.formatToParts(ms)) {
    if (p.type === "hour") hours += Number(p.value) % 24;
    else if (p.type === "minute") hours += Number(p.value) / 60;
    else if (p.type === "second") hours += Number(p.value) / 3600;
  }
  // Milliseconds are no part of Intl's answer; a licence boundary is seldom finer than a second.
  return hours + (ms - Math.floor(ms / 1000) * 1000) / 3_600_000;
}

/** Day of the week of a day number: 0 = Sunday … 6 = Saturday (day 0, 1970-01-01, was a Thursday). */
export function dayOfWeek(day: DayNumber): number {
  return (((day + 4) % 7) + 7) % 7;
}

/**
 * The instant (ms) the local day `day` begins in `timeZone`: local midnight, or the first instant
 * of that date where a DST change skips midnight. Binary search over the UTC instants around it.
 */
export function localDayStart(day: DayNumber, timeZone: string): number {
  let lo = day * MS_PER_DAY - 16 * 3_600_000; // no zone is more than 14 h ahead of UTC
  let hi = day * MS_PER_DAY + 16 * 3_600_000; // nor more than 12 h behind
  while (hi - lo > 1_000) {
    const mid = Math.floor((lo + hi) / 2);
    if (dayNumber(mid, timeZone) >= day) hi = mid;
    else lo = mid;
  }
  return hi - (hi % 1_000);
}

/**
 * The instant (ms) local hour `hour` of day `day` begins in `timeZone`: `hour`:00 on the local clock,
 * or the first instant after it where a DST change skips it. Found on the local clock, as
 * localDayStart, since a zone's hours begin off UTC's where its offset has a half or three-quarter
 * hour (Asia/Kolkata, Asia/Kathmandu).
 */
export function localHourStart(day: DayNumber, hour: number, timeZone: string): number {
  let lo = localDayStart(day, timeZone);
  const reached = (t: number) => dayNumber(t, timeZone) > day || localHour(t, timeZone) >= hour;
  if (reached(lo)) return lo;
  let hi = localDayStart(day + 1, timeZone);
  while (hi - lo > 1_000) {
    const mid = Math.floor((lo + hi) / 2);
    if (reached(mid)) hi = mid;
    else lo = mid;
  }
  return hi - (hi % 1_000);
}
