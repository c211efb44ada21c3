import { first, run } from "../site/sql";

/**
 * The plan's limit, kept for as long as a stream whose row went could still come back. A member's
 * object reads its limit back from its streams' rows when it restarts (a deploy, or hibernation some
 * seconds after its last call), and a silent stream's row is deleted as it goes. Once every row
 * carrying the limit had gone, a restarted object knew none, and every paused session of the member
 * came back undecided ("unknown"): served, and counted nowhere, however many (a member spent the hour's
 * handovers, let the counted streams go silent, waited for the restart and resumed a pool of paused
 * sessions). A table of its own, one row, written only as a row with a live token goes: not a row of
 * `streams` (whose rows are its streams), nor a write of a new member's first play (whose one write
 * also creates the table: a second table there cost about 2.5 ms a play, see PlayWindow).
 */
const KEPT_LIMIT_SCHEMA = `CREATE TABLE IF NOT EXISTS stream_limit_kept (id INTEGER PRIMARY KEY CHECK (id = 1), stream_limit INTEGER NOT NULL, expires_at INTEGER NOT NULL)`;

/** Keeps `limit` until `until` (ms) at least: a stream whose token lasts until then may come back. */
export function keepLimit(sql: SqlStorage, limit: number, until: number): void {
  sql.exec(KEPT_LIMIT_SCHEMA);
  run(
    sql,
    `INSERT INTO stream_limit_kept (id, stream_limit, expires_at) VALUES (1, ?, ?)
     ON CONFLICT (id) DO UPDATE SET stream_limit = excluded.stream_limit, expires_at = max(expires_at, excluded.expires_at)`,
    limit,
    until,
  );
}

/**
 * The limit kept at `now`, or null when none is (no table, or every token it covered has expired: its
 * row goes then). A schema look-up, not a query that fails on a missing table: most members never have it.
 */
export function keptLimit(sql: SqlStorage, now: number): number | null {
  if (!first(sql, `SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'stream_limit_kept'`)) return null;
  const kept = first<{ stream_limit: number; expires_at: number }>(sql, `SELECT stream_limit, expires_at FROM stream_limit_kept WHERE id = 1`);
  if (!kept) return null;
  if (kept.expires_at > now) return kept.stream_limit;
  run(sql, `DELETE FROM stream_limit_kept WHERE id = 1`);
  return null;
}
