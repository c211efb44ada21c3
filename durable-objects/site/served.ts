import type { ServedFrom } from "../../workers/shared/site-view";
import { rows, run } from "./sql";

/**
 * Bytes the site's OCAs served to viewers per local day, by where they came from (the site's own
 * copies, a parent site's, origin): the offload figures operators chart.
 */

export const SERVED_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS served_daily (day INTEGER NOT NULL, source TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (day, source))`,
];

const SOURCES: readonly ServedFrom[] = ["embedded", "ixp", "origin"];

/** Adds one report's bytes by source (each value sanitised, none above what the OCA reported in all). */
export function addServed(sql: SqlStorage, day: number, bytesFrom: unknown, total: number): void {
  if (!bytesFrom || typeof bytesFrom !== "object") return;
  let left = Math.max(0, total);
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
