import type { ServedFrom } from "../../workers/shared/site-view";
import { rows, run } from "./sql";

/**
 * Bytes the site's OCAs served to viewers per local day, by where they came from (the site's own
 * copies, a parent site's, origin): the offload figures operators chart. And the same bytes per
 * local hour, from which the fill cycle learns the site's evening peak (fill/peak-shape.ts).
 */

export const SERVED_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS served_daily (day INTEGER NOT NULL, source TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (day, source))`,
];

export const SERVED_HOURLY_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS served_hourly (day INTEGER NOT NULL, hour INTEGER NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (day, hour))`,
];

const SOURCES: readonly ServedFrom[] = ["embedded", "ixp", "origin"];

/** Days of served bytes a site keeps: as long as its views, more than any reader asks (operators 60, the fill 14). */
export const SERVED_KEEP_DAYS = 120;

/**
 * Refuses a range of local days a site could not hold (whole days, `fromDay` ≤ `toDay` + 1, at most the
 * 120 days kept): the answers are arrays of a day each, so `(0, 1e9)` would run the object out of memory.
 */
export function checkDayRange(fromDay: number, toDay: number): void {
  if (!Number.isSafeInteger(fromDay) || !Number.isSafeInteger(toDay) || toDay < fromDay - 1 || toDay - fromDay + 1 > SERVED_KEEP_DAYS) {
    throw new RangeError(`days ${String(fromDay)}..${String(toDay)}: whole days, at most ${SERVED_KEEP_DAYS} of them`);
  }
}
/** The newest day each site object (by its storage) has pruned for: once a local day, not per report. */
const prunedFor = new WeakMap<SqlStorage, number>();

/** Forgets days older than SERVED_KEEP_DAYS before `day`, once per new day: both tables otherwise grow by 27 rows a day forever. */
function pruneServed(sql: SqlStorage, day: number): void {
  if ((prunedFor.get(sql) ?? Number.NEGATIVE_INFINITY) >= day) return;
  prunedFor.set(sql, day);
  run(sql, `DELETE FROM served_daily WHERE day < ?`, day - SERVED_KEEP_DAYS);
  run(sql, `DELETE FROM served_hourly WHERE day < ?`, day - SERVED_KEEP_DAYS);
}

/**
 * Adds one report's bytes by source (each value sanitised, none above what the OCA reported in all),
 * and their sum to the local hour they arrived in.
 */
export function addServed(sql: SqlStorage, day: number, hour: number, bytesFrom: unknown, total: number): void {
  if (!bytesFrom || typeof bytesFrom !== "object") return;
  pruneServed(sql, day);
  const all = Math.max(0, total);
  let left = all;
  for (const source of SOURCES) {
    const raw = Object.hasOwn(bytesFrom, source) ? Number((bytesFrom as Record<string, unknown>)[source]) : 0;
    const bytes = Math.min(left, Number.isFinite(raw) && raw > 0 ? Math.round(raw) : 0);
    if (bytes === 0) continue;
    left -= bytes;
    run(
      sql,
      `INSERT INTO served_daily (day, source, bytes) VALUES (?, ?, ?) ON CONFLICT (day, source) DO UPDATE SET bytes = bytes + excluded.bytes`,
      day,
      source,
      bytes,
    );
  }
  addServedHour(sql, day, hour, all - left);
}

/**
 * Adds bytes to one local hour of one local day (the report path, and history imported by operators or
 * tests). A day that is not a whole number, or bytes that are not a finite count, are ignored: a day of
 * 100.5 fell between two rows of every read (servedByHour threw for any range holding it), and an
 * infinite count made every share of its day NaN.
 */
export function addServedHour(sql: SqlStorage, day: number, hour: number, bytes: number): void {
  if (!(bytes > 0) || !Number.isFinite(bytes) || !Number.isSafeInteger(day) || !Number.isInteger(hour) || hour < 0 || hour > 23) return;
  run(
    sql,
    `INSERT INTO served_hourly (day, hour, bytes) VALUES (?, ?, ?) ON CONFLICT (day, hour) DO UPDATE SET bytes = bytes + excluded.bytes`,
    day,
    hour,
    Math.round(bytes),
  );
}

/** Bytes served per local hour for days [fromDay, toDay]: one row of 24 per day, oldest first. */
export function servedByHour(sql: SqlStorage, fromDay: number, toDay: number): number[][] {
  const days = Array.from({ length: Math.max(0, toDay - fromDay + 1) }, () => new Array<number>(24).fill(0));
  for (const r of rows<{ day: number; hour: number; bytes: number }>(
    sql,
    `SELECT day, hour, bytes FROM served_hourly WHERE day BETWEEN ? AND ?`,
    fromDay,
    toDay,
  )) {
    days[r.day - fromDay][r.hour] = r.bytes;
  }
  return days;
}

/** Bytes served per day and source for days [fromDay, toDay]. */
export function servedByDay(sql: SqlStorage, fromDay: number, toDay: number): Array<{ day: number; source: ServedFrom; bytes: number }> {
  return rows<{ day: number; source: ServedFrom; bytes: number }>(
    sql,
    `SELECT day, source, bytes FROM served_daily WHERE day BETWEEN ? AND ? ORDER BY day, source`,
    fromDay,
    toDay,
  );
}
