import { rows, run } from "../site/sql";

/**
 * A member's concurrent streams, as plain functions over the member object's storage (so tests and
 * the object call the same code). A stream counts from its play until its client says it stopped, its
 * token expires, or it has shown no activity (steering polls, QoE batches) for SILENCE_MS.
 */

/** A stream with no steering poll or QoE batch for this long no longer counts. */
export const SILENCE_MS = 120_000;

export const STREAMS_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS streams (
     session_id TEXT PRIMARY KEY, title_id TEXT NOT NULL, started_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, expires_at INTEGER NOT NULL)`,
];

export interface ActiveStream {
  sessionId: string;
  titleId: string;
  startedAt: number;
  lastSeenAt: number;
}

/** Forgets streams that stopped showing activity or whose token expired. */
export function expire(sql: SqlStorage, now: number): void {
  run(sql, `DELETE FROM streams WHERE last_seen < ? OR expires_at <= ?`, now - SILENCE_MS, now);
}

export function active(sql: SqlStorage, now: number): ActiveStream[] {
  expire(sql, now);
  return rows<{ session_id: string; title_id: string; started_at: number; last_seen: number }>(
    sql,
    `SELECT session_id, title_id, started_at, last_seen FROM streams ORDER BY started_at`,
  ).map((r) => ({ sessionId: r.session_id, titleId: r.title_id, startedAt: r.started_at, lastSeenAt: r.last_seen }));
}

/** Takes a slot for a new stream if fewer than `limit` count; the caller runs it in one transaction. */
export function acquire(
  sql: SqlStorage,
  s: { sessionId: string; titleId: string; expiresAt: number },
  limit: number,
  now: number,
): { ok: boolean; active: ActiveStream[] } {
  const current = active(sql, now);
  if (current.length >= limit) return { ok: false, active: current };
  run(
    sql,
    `INSERT OR REPLACE INTO streams (session_id, title_id, started_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?)`,
    s.sessionId,
    s.titleId,
    now,
    now,
    s.expiresAt,
  );
  return { ok: true, active: active(sql, now) };
}

/** Activity of a stream: it keeps counting. */
export function touch(sql: SqlStorage, sessionId: string, now: number): void {
  run(sql, `UPDATE streams SET last_seen = MAX(last_seen, ?) WHERE session_id = ?`, now, sessionId);
}

/** The client said the stream stopped. */
export function release(sql: SqlStorage, sessionId: string): boolean {
  return run(sql, `DELETE FROM streams WHERE session_id = ?`, sessionId) > 0;
}
