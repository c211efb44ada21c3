import type { QoeEvent } from "../../shared/events";
import type { ByteReport } from "../../workers/shared/site-view";
import type { Migration } from "./schema";
import { first, rows, run } from "./sql";

/**
 * Play and QoE events of a site's sessions, kept by its event shards (durable-objects/session-log.ts)
 * once per batch id, for EVENT_RETENTION_MS. A batch is one row (its events as JSON): a batch of any
 * size writes two rows, the batch and its key's index entry, where a row per event and per batch wrote
 * three per event and three per batch (rows written are most of what a viewer costs: docs/capacity.md).
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

/**
 * The shard's schema as numbered migrations (applied by `migrate`). A batch's id advances by its
 * events, so the span of ids bounds the events a shard holds as the span of rowids bounded them when
 * each event had its row; ids only grow, and the oldest batches are the lowest.
 */
export const SHARD_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "a QoE batch stored as one row, its session's figures with it for the forward to the site; the forward's cursor",
    statements: [
      // `forwards`: the batch's bytes (or its stop) go to the site; the alarm forwards batches past the
      // cursor, so a batch needs no row of its own in a queue (a row written, and deleted, per batch).
      `CREATE TABLE IF NOT EXISTS qoe_batches (
         id INTEGER PRIMARY KEY, session_id TEXT NOT NULL, batch_id TEXT NOT NULL, events INTEGER NOT NULL, bytes INTEGER NOT NULL,
         accepted_at INTEGER NOT NULL, data TEXT NOT NULL, title_id TEXT NOT NULL, started_at INTEGER NOT NULL,
         est_bytes INTEGER NOT NULL, top_bps INTEGER NOT NULL, forwards INTEGER NOT NULL)`,
      `CREATE UNIQUE INDEX IF NOT EXISTS qoe_batches_by_session ON qoe_batches (session_id, batch_id)`,
      // Names this shard's run of report ids for the site (a shard whose storage started afresh starts a new run).
      `CREATE TABLE IF NOT EXISTS shard_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), epoch TEXT NOT NULL)`,
      // The last batch id the site has counted (or that had nothing for it); new ids start above it.
      `ALTER TABLE shard_epoch ADD COLUMN forwarded_up_to INTEGER NOT NULL DEFAULT 0`,
    ],
  },
  {
    version: 2,
    name: "the forwards failed in a row, so a shard restarted between them still backs off",
    statements: [`ALTER TABLE shard_epoch ADD COLUMN failures INTEGER NOT NULL DEFAULT 0`],
  },
  {
    version: 3,
    name: "the reports a shard dropped before its site counted them (retention, row cap), counted",
    statements: [
      `ALTER TABLE shard_epoch ADD COLUMN dropped_reports INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE shard_epoch ADD COLUMN dropped_bytes INTEGER NOT NULL DEFAULT 0`,
    ],
  },
];

/**
 * The tables events had before a batch was one row: a row per batch and a row per event. The site's
 * schema v4 made them (events lived at the site before the shards), and shards made them until their
 * v1. A shard that still holds such rows reads, counts and expires them beside its batches until they
 * are gone (EVENT_RETENTION_MS), then drops them (`adoptLegacyEvents`).
 */
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
 * Whether a shard still holds events in the earlier tables (call once as it starts, after `migrate`):
 * tables left empty by expiry are dropped, so a shard pays for them only while they hold something.
 */
export function adoptLegacyEvents(sql: SqlStorage): boolean {
  const tables = new Set(
    rows<{ name: string }>(sql, `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('play_events', 'event_batches')`).map((r) => r.name),
  );
  if (tables.size === 0) return false;
  // The names come from the fixed list above, never from input.
  const holds = [...tables].some((t) => first(sql, `SELECT 1 AS x FROM ${t} LIMIT 1`));
  if (holds) return true;
  run(sql, `DROP TABLE IF EXISTS play_events`);
  run(sql, `DROP TABLE IF EXISTS event_batches`);
  return false;
}

/** Where a shard's events are: `legacy` while the earlier tables still hold some (adoptLegacyEvents). */
export interface EventTables {
  legacy: boolean;
}

/** The session a batch belongs to, as its signed token says: what the site needs to count its bytes. */
export interface BatchSession {
  sessionId: string;
  titleId: string;
  startedAt: number;
  estBytes?: number;
  topBps?: number;
}

/**
 * The events a session has stored: a read of each of its batches, so a shard keeps the figure once
 * read (SessionLog) rather than summing a long session's batches again for each new one.
 */
export function sessionEventsStored(sql: SqlStorage, sessionId: string, tables: EventTables = { legacy: false }): number {
  let stored = first<{ n: number }>(sql, `SELECT COALESCE(SUM(events), 0) AS n FROM qoe_batches WHERE session_id = ?`, sessionId)!.n;
  if (tables.legacy) stored += first<{ n: number }>(sql, `SELECT COALESCE(SUM(events), 0) AS n FROM event_batches WHERE session_id = ?`, sessionId)!.n;
  return stored;
}

/**
 * Stores a batch under its idempotency key: "duplicate" when it was already stored (a retry), "over"
 * when the session would pass what its age allows (sessionEventsAllowed); then nothing is written.
 * `storedEvents` is the session's events stored so far when the caller knows it (else they are summed).
 * Its id is above every id stored or forwarded, so the forward's cursor never passes it unsent.
 * Call inside a transaction with whatever else the batch changes.
 */
export function storeBatch(
  sql: SqlStorage,
  s: BatchSession,
  batchId: string,
  events: QoeEvent[],
  bytes: number,
  now: number,
  tables: EventTables = { legacy: false },
  storedEvents?: number,
): "stored" | "duplicate" | "over" {
  if (first(sql, `SELECT 1 AS x FROM qoe_batches WHERE session_id = ? AND batch_id = ?`, s.sessionId, batchId)) return "duplicate";
  if (tables.legacy && first(sql, `SELECT 1 AS x FROM event_batches WHERE session_id = ? AND batch_id = ?`, s.sessionId, batchId)) return "duplicate";
  const stored = storedEvents ?? sessionEventsStored(sql, s.sessionId, tables);
  if (stored + events.length > sessionEventsAllowed(s.startedAt, now)) return "over";
  const forwards = batchForwards(events, bytes);
  run(
    sql,
    `INSERT INTO qoe_batches (id, session_id, batch_id, events, bytes, accepted_at, data, title_id, started_at, est_bytes, top_bps, forwards)
     VALUES (MAX((SELECT COALESCE(MAX(id), 0) FROM qoe_batches), (SELECT forwarded_up_to FROM shard_epoch)) + ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    Math.max(1, events.length),
    s.sessionId,
    batchId,
    events.length,
    bytes,
    now,
    JSON.stringify(events.map((e) => ({ ...e, at: e.at ?? now }))),
    s.titleId,
    s.startedAt,
    s.estBytes ?? 0,
    s.topBps ?? 0,
    forwards ? 1 : 0,
  );
  return "stored";
}

/** Whether a batch goes to the site: its bytes, or a stop even with none (it settles the session's play estimate). */
export const batchForwards = (events: QoeEvent[], bytes: number): boolean => bytes > 0 || events.some((e) => e.type === "stop");

/** A batch's bytes as the site counts them, with its id in the shard's run. */
export type BatchReport = ByteReport & { id: number };

/** A report's row: a batch's (its arrival as `at`) or one of the earlier queue's. */
export interface ReportRow extends Record<string, SqlStorageValue> {
  id: number;
  session_id: string;
  title_id: string;
  started_at: number;
  est_bytes: number;
  top_bps: number;
  bytes: number;
  at: number;
}

/** A report as the site takes it, from its row. */
export const reportOf = (r: ReportRow): BatchReport => ({
  id: r.id,
  sessionId: r.session_id,
  titleId: r.title_id,
  startedAt: r.started_at,
  estBytes: r.est_bytes,
  topBps: r.top_bps,
  bytes: r.bytes,
  at: r.at,
});

/**
 * The next batches past the forward's cursor, at most `limit` looked at: those whose bytes go to the
 * site, the last id looked at (the cursor's next place, whether or not that batch forwards), when the
 * first of them arrived (how far behind the forward is), and the last id of the leading run of them
 * accepted before `staleBefore` (`staleUpTo`, null when the first is not): batches that outlived the
 * retention unforwarded, which expiry takes whether or not they went.
 */
export function batchesToForward(
  sql: SqlStorage,
  limit: number,
  staleBefore = Number.NEGATIVE_INFINITY,
): { reports: BatchReport[]; upTo: number | null; looked: number; oldestAt: number | null; staleUpTo: number | null } {
  const cursor = first<{ c: number }>(sql, `SELECT forwarded_up_to AS c FROM shard_epoch`)?.c ?? 0;
  const scanned = rows<ReportRow & { forwards: number }>(
    sql,
    `SELECT id, session_id, title_id, started_at, est_bytes, top_bps, bytes, accepted_at AS at, forwards FROM qoe_batches WHERE id > ? ORDER BY id LIMIT ?`,
    cursor,
    limit,
  );
  let staleUpTo: number | null = null;
  for (const b of scanned) {
    if (b.at >= staleBefore) break;
    staleUpTo = b.id;
  }
  return {
    reports: scanned.filter((b) => b.forwards === 1).map(reportOf),
    upTo: scanned.length ? scanned[scanned.length - 1].id : null,
    looked: scanned.length,
    oldestAt: scanned.length ? scanned[0].at : null,
    staleUpTo,
  };
}

/** Moves the forward's cursor to `upTo` (never back). */
export function noteForwarded(sql: SqlStorage, upTo: number): void {
  run(sql, `UPDATE shard_epoch SET forwarded_up_to = MAX(forwarded_up_to, ?)`, upTo);
}

/** Reports (batches with bytes or a stop) a shard gave up before its site counted them, and their bytes. */
export interface Dropped {
  reports: number;
  bytes: number;
}

export const NONE_DROPPED: Dropped = { reports: 0, bytes: 0 };

/**
 * Counts the reports past the cursor up to `upTo` (and below `below`, when given) as dropped: call just
 * before they are deleted or the cursor passes them. The site's figure lacks their bytes for good, so the
 * shard keeps a running count (shard_epoch) and the caller logs it; nothing is written when none were due.
 */
export function noteDropped(sql: SqlStorage, upTo: number, below = Number.MAX_SAFE_INTEGER): Dropped {
  const d = first<{ reports: number; bytes: number }>(
    sql,
    `SELECT COUNT(*) AS reports, COALESCE(SUM(bytes), 0) AS bytes FROM qoe_batches
     WHERE id > (SELECT forwarded_up_to FROM shard_epoch) AND id <= ? AND id < ? AND forwards = 1`,
    upTo,
    below,
  )!;
  if (d.reports > 0) run(sql, `UPDATE shard_epoch SET dropped_reports = dropped_reports + ?, dropped_bytes = dropped_bytes + ?`, d.reports, d.bytes);
  return { reports: d.reports, bytes: d.bytes };
}

/** The reports a shard has dropped unforwarded so far (noteDropped). */
export function droppedSoFar(sql: SqlStorage): Dropped {
  return first<{ reports: number; bytes: number }>(sql, `SELECT dropped_reports AS reports, dropped_bytes AS bytes FROM shard_epoch`) ?? NONE_DROPPED;
}

const plus = (a: Dropped, b: Dropped): Dropped => ({ reports: a.reports + b.reports, bytes: a.bytes + b.bytes });

/** True when a batch past the cursor has bytes (or a stop) for the site. */
export function forwardDue(sql: SqlStorage): boolean {
  return !!first(sql, `SELECT 1 AS x FROM qoe_batches WHERE id > (SELECT forwarded_up_to FROM shard_epoch) AND forwards = 1 LIMIT 1`);
}

/**
 * Whether the queue of byte reports shards kept before a batch was one row still holds some (call once
 * as the shard starts): they go to the site before any batch. New ids start above every id that queue
 * gave (the site keeps the highest it counted per shard run); an empty queue is dropped.
 */
export function adoptLegacyPending(sql: SqlStorage): boolean {
  if (!first(sql, `SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'pending_reports'`)) return false;
  const seq = first<{ seq: number }>(sql, `SELECT seq FROM sqlite_sequence WHERE name = 'pending_reports'`)?.seq ?? 0;
  noteForwarded(sql, seq);
  if (first(sql, `SELECT 1 AS x FROM pending_reports LIMIT 1`)) return true;
  run(sql, `DROP TABLE pending_reports`);
  return false;
}

/** How many of the oldest batches one call looks at for expired ones: more than a call adds. */
const EXPIRE_SLICE = 64;

/**
 * Drops batches past their retention and the oldest past SHARD_EVENTS_MAX (`max`) events, a bounded
 * number per call (`slice` of the oldest looked at): more than a batch adds, so the shard stays within its bound. Reads one row when
 * nothing has expired (the oldest batch), which is the common case. Returns the reports it dropped
 * before the site counted them (a site unreachable that long): counted in the shard (noteDropped), for
 * the caller to log.
 */
export function expireEvents(sql: SqlStorage, now: number, max = SHARD_EVENTS_MAX, tables: EventTables = { legacy: false }, slice = EXPIRE_SLICE): Dropped {
  const before = now - EVENT_RETENTION_MS;
  let dropped = NONE_DROPPED;
  const oldest = first<{ accepted_at: number }>(sql, `SELECT accepted_at FROM qoe_batches ORDER BY id LIMIT 1`);
  if (oldest && oldest.accepted_at < before) {
    // Batches are accepted in id order, so the expired ones are a run at the low end.
    const upTo = first<{ id: number | null }>(
      sql,
      `SELECT MAX(id) AS id FROM (SELECT id, accepted_at FROM qoe_batches ORDER BY id LIMIT ?) WHERE accepted_at < ?`,
      slice,
      before,
    )?.id;
    // The newest batch stays whatever its age: new ids start above it, and above every id a forward sent.
    if (upTo !== null && upTo !== undefined) {
      const newest = first<{ id: number }>(sql, `SELECT MAX(id) AS id FROM qoe_batches`)!.id;
      dropped = noteDropped(sql, upTo, newest);
      run(sql, `DELETE FROM qoe_batches WHERE id <= ? AND id < ?`, upTo, newest);
    }
  }
  dropped = plus(dropped, trimOldest(sql, "qoe_batches", max));
  if (!tables.legacy) return dropped;
  run(sql, `DELETE FROM play_events WHERE id IN (SELECT id FROM play_events WHERE received_at < ? LIMIT 1000)`, before);
  run(sql, `DELETE FROM event_batches WHERE rowid IN (SELECT rowid FROM event_batches WHERE accepted_at < ? LIMIT 1000)`, before);
  trimOldest(sql, "play_events", max);
  trimOldest(sql, "event_batches", max);
  return dropped;
}

/**
 * When the oldest batch that expiry may delete (every one but the newest) was accepted, or null: a shard
 * with nothing to forward wakes then to expire it, so a quiet shard keeps no batch past the retention.
 */
export function nextExpiryAt(sql: SqlStorage): number | null {
  return (
    first<{ accepted_at: number }>(sql, `SELECT accepted_at FROM qoe_batches WHERE id < (SELECT MAX(id) FROM qoe_batches) ORDER BY id LIMIT 1`)?.accepted_at ??
    null
  );
}

/**
 * Deletes up to 1,000 of a table's oldest rows while it holds more than `max` (events for
 * `qoe_batches`, whose ids advance by their events; rows for the others). Rowids only grow (the oldest
 * go first, never the newest), so the span of rowids bounds what is held: a look at both ends of the key.
 * Returns the reports of `qoe_batches` it dropped before the site counted them (noteDropped).
 */
function trimOldest(sql: SqlStorage, table: "qoe_batches" | "play_events" | "event_batches", max: number): Dropped {
  // Two subqueries: SQLite answers a lone MIN or MAX from the key's ends, but both in one SELECT scan every row.
  const span = first<{ lo: number | null; hi: number | null }>(sql, `SELECT (SELECT MIN(rowid) FROM ${table}) AS lo, (SELECT MAX(rowid) FROM ${table}) AS hi`)!;
  if (span.lo === null || span.hi === null || span.hi - span.lo < max) return NONE_DROPPED;
  // The last rowid of the (at most) 1,000 oldest at or below the bound: all of them go.
  const upTo = first<{ id: number }>(
    sql,
    `SELECT MAX(rowid) AS id FROM (SELECT rowid FROM ${table} WHERE rowid <= ? ORDER BY rowid LIMIT 1000)`,
    span.hi - max,
  )!.id;
  const dropped = table === "qoe_batches" ? noteDropped(sql, upTo) : NONE_DROPPED;
  run(sql, `DELETE FROM ${table} WHERE rowid <= ?`, upTo);
  return dropped;
}

/** A session's events, oldest first (at most `limit`). */
export function sessionEvents(sql: SqlStorage, sessionId: string, limit = 5000, tables: EventTables = { legacy: false }): QoeEvent[] {
  const out: QoeEvent[] = tables.legacy
    ? rows<{ at: number; data: string }>(sql, `SELECT at, data FROM play_events WHERE session_id = ? ORDER BY id LIMIT ?`, sessionId, limit).map((r) => ({
        ...(JSON.parse(r.data) as QoeEvent),
        at: r.at,
      }))
    : [];
  // The session's batch ids first (its index holds them), then each batch's events up to the limit: a
  // query of every batch's events in id order sorted them all in memory first, and a long session's (a
  // week's can pass a few hundred MB) would pass the object's memory and reset the shard with every
  // batch in flight at it.
  if (out.length >= limit) return out;
  // A batch holds at least one event: the first `limit` batches hold all that is asked for.
  const ids = rows<{ id: number }>(sql, `SELECT id FROM qoe_batches WHERE session_id = ? ORDER BY id LIMIT ?`, sessionId, limit - out.length);
  for (const { id } of ids) {
    const b = first<{ data: string }>(sql, `SELECT data FROM qoe_batches WHERE id = ?`, id);
    if (b) out.push(...(JSON.parse(b.data) as QoeEvent[]).slice(0, limit - out.length));
    if (out.length >= limit) break;
  }
  return out;
}
