import { first, run } from "./sql";

/**
 * Which of each isolate's reports a site has counted. An isolate numbers its reports on its link to
 * the site and keeps each until a call that carried it is answered (workers/shared/site-link.ts), so
 * the site counts a report once whether the call failed before the site committed it (nothing is
 * lost) or after (nothing counts twice). Every call that carries reports carries all the isolate's
 * unanswered ones, and the site counts them in number order, so the highest number counted is all it
 * keeps per isolate.
 */

export const LINK_REPORTS_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS link_reports (isolate TEXT PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS link_reports_by_at ON link_reports (at)`,
];

/** An isolate not heard this long is forgotten: longer than it keeps a report to resend (UNACKED_MAX_AGE_MS). */
export const LINK_MEMORY_MS = 10 * 60_000;

/**
 * True when report `seq` of `isolate` is not counted yet, and notes it as counted (call in the
 * transaction that counts it). A report without a number or an isolate (an operator's or a test's
 * direct call) always counts.
 */
export function countOnce(sql: SqlStorage, isolate: unknown, seq: unknown, now: number): boolean {
  if (typeof isolate !== "string" || isolate.length === 0 || isolate.length > 64) return true;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq <= 0) return true;
  const last = first<{ seq: number }>(sql, `SELECT seq FROM link_reports WHERE isolate = ?`, isolate)?.seq ?? 0;
  if (seq <= last) return false;
  run(
    sql,
    `INSERT INTO link_reports (isolate, seq, at) VALUES (?, ?, ?) ON CONFLICT (isolate) DO UPDATE SET seq = excluded.seq, at = excluded.at`,
    isolate,
    seq,
    now,
  );
  return true;
}

/** Forgets isolates not heard for LINK_MEMORY_MS (an index seek that usually finds nothing). */
export function forgetQuietLinks(sql: SqlStorage, now: number): void {
  run(sql, `DELETE FROM link_reports WHERE at < ?`, now - LINK_MEMORY_MS);
}
