import type { QoeEvent } from "../../shared/events";
import { first, rows, run } from "./sql";

/**
 * Play and QoE events of the sessions whose home is this site, stored once per batch id. They land
 * here rather than in D1 so that a QoE batch costs one call to an object that carries only its own
 * site's sessions: no single database on the events path. Kept for EVENT_RETENTION_MS.
 */

export const EVENT_RETENTION_MS = 7 * 86_400_000;
/**
 * Events a shard keeps at most, newest first: at a national peak a shard's week of events would pass a
 * Durable Object's storage, so past this the oldest go before their retention ends (about 3 GB).
 */
export const SHARD_EVENTS_MAX = 5_000_000;
/**
 * Events one session may store: a burst, then one a second of its age. A player reports progress
 * every 10 s and a few events on changes, so only a client feeding junk meets it.
 */
export const SESSION_EVENTS_BURST = 400;
export const sessionEventsAllowed = (startedAt: number, now: number): number => SESSION_EVENTS_BURST + Math.floor(Math.max(0, now - startedAt) / 1000);

export const SESSION_EVENTS_SCHEMA = [
  `CREATE TABLE event_batches (
     session_id TEXT NOT NULL, batch_id TEXT NOT NULL, events INTEGER NOT NULL, bytes INTEGER NOT NULL, accepted_at INTEGER NOT NULL,
     PRIMARY KEY (session_id, batch_id))`,
  `CREATE INDEX event_batches_by_time ON event_batches (accepted_at)`,
  `CREATE TABLE play_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, title_id TEXT NOT NULL, type TEXT NOT NULL, at INTEGER NOT NULL,
     data TEXT NOT NULL, received_at INTEGER NOT NULL)`,
  `CREATE INDEX play_events_by_session ON play_events (session_id, id)`,
  `CREATE INDEX play_events_by_time ON play_events (received_at)`,
];

/**
 * Stores a batch under its idempotency key: "duplicate" when it was already stored (a retry), "over"
 * when the session would pass what its age allows (sessionEventsAllowed); then nothing is written.
 * Call inside a transaction with whatever else the batch changes.
 */
export function storeBatch(
  sql: SqlStorage,
  s: { sessionId: string; titleId: string; startedAt: number },
  batchId: string,
  events: QoeEvent[],
  bytes: number,
  now: number,
): "stored" | "duplicate" | "over" {
  if (first(sql, `SELECT 1 AS x FROM event_batches WHERE session_id = ? AND batch_id = ?`, s.sessionId, batchId)) return "duplicate";
  const stored = first<{ n: number }>(sql, `SELECT COALESCE(SUM(events), 0) AS n FROM event_batches WHERE session_id = ?`, s.sessionId)!.n;
  if (stored + events.length > sessionEventsAllowed(s.startedAt, now)) return "over";
  run(
    sql,
    `INSERT INTO event_batches (session_id, batch_id, events, bytes, accepted_at) VALUES (?, ?, ?, ?, ?)`,
    s.sessionId,
    batchId,
    events.length,
    bytes,
    now,
  );
  for (const e of events) {
    run(
      sql,
      `INSERT INTO play_events (session_id, title_id, type, at, data, received_at) VALUES (?, ?, ?, ?, ?, ?)`,
      s.sessionId,
      s.titleId,
      e.type,
      e.at ?? now,
      JSON.stringify(e),
      now,
    );
  }
  return "stored";
}

/**
 * Drops events and batch keys past their retention, and the oldest events and batch keys past
 * SHARD_EVENTS_MAX (`max`) each, a bounded number per call: more than a batch adds, so the shard stays
 * within its bound (a batch carries at least one event, so batch keys are never more than events).
 */
export function expireEvents(sql: SqlStorage, now: number, max = SHARD_EVENTS_MAX): void {
  const before = now - EVENT_RETENTION_MS;
  run(sql, `DELETE FROM play_events WHERE id IN (SELECT id FROM play_events WHERE received_at < ? LIMIT 1000)`, before);
  run(sql, `DELETE FROM event_batches WHERE rowid IN (SELECT rowid FROM event_batches WHERE accepted_at < ? LIMIT 1000)`, before);
  trimOldest(sql, "play_events", max);
  trimOldest(sql, "event_batches", max);
}

/**
 * Deletes up to 1,000 of a table's oldest rows while it holds more than `max`. Rowids only grow (the
 * oldest go first, never the newest), so the span of rowids bounds the rows: a look at both ends of the key.
 */
function trimOldest(sql: SqlStorage, table: "play_events" | "event_batches", max: number): void {
  const span = first<{ lo: number | null; hi: number | null }>(sql, `SELECT MIN(rowid) AS lo, MAX(rowid) AS hi FROM ${table}`)!;
  if (span.lo === null || span.hi === null || span.hi - span.lo < max) return;
  run(sql, `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE rowid <= ? ORDER BY rowid LIMIT 1000)`, span.hi - max);
}

/** A session's events, oldest first (at most `limit`). */
export function sessionEvents(sql: SqlStorage, sessionId: string, limit = 5000): QoeEvent[] {
  return rows<{ type: string; at: number; data: string }>(
    sql,
    `SELECT type, at, data FROM play_events WHERE session_id = ? ORDER BY id LIMIT ?`,
    sessionId,
    limit,
  ).map((r) => ({ ...(JSON.parse(r.data) as QoeEvent), at: r.at }));
}
