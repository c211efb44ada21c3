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

/** Length of the play-rate window. */
export const PLAY_WINDOW_MS = 60_000;

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

/** What the member's object says to a play: a slot, a full plan, or too many plays this minute. */
export type Admission =
  | { verdict: "granted"; active: ActiveStream[] }
  | { verdict: "full"; active: ActiveStream[] }
  | { verdict: "rate_limited"; retryAfterS: number };

/**
 * The member's plays in the current one-minute window. Kept in the object's memory, not its storage:
 * a second table in a new member's database cost each play about 2.5 ms of workerd CPU locally
 * (bench:play's admission call fell to 0.71 of a bare object call with it). The count matters only
 * while a member floods, and a flood keeps the object in memory; an idle object's eviction forgets a
 * count nobody is near.
 */
export interface PlayWindow {
  start: number;
  plays: number;
}

/**
 * Counts a play in the member's fixed one-minute window (every attempt counts, granted or not); not
 * ok when the window already holds `perWindow` plays.
 */
export function countPlay(window: PlayWindow, perWindow: number, now: number): { ok: boolean; retryAfterS: number } {
  const start = now - (now % PLAY_WINDOW_MS);
  if (window.start !== start) {
    window.start = start;
    window.plays = 0;
  }
  const retryAfterS = Math.max(1, Math.ceil((start + PLAY_WINDOW_MS - now) / 1000));
  if (window.plays >= perWindow) return { ok: false, retryAfterS };
  window.plays++;
  return { ok: true, retryAfterS };
}

/**
 * Admits a new stream: counts the play against `limits.playsPerWindow`, then takes a slot if fewer
 * than `limits.streams` count. The caller runs it in one transaction.
 */
export function acquire(
  sql: SqlStorage,
  window: PlayWindow,
  s: { sessionId: string; titleId: string; expiresAt: number },
  limits: { streams: number; playsPerWindow: number },
  now: number,
): Admission {
  const rate = countPlay(window, limits.playsPerWindow, now);
  if (!rate.ok) return { verdict: "rate_limited", retryAfterS: rate.retryAfterS };
  const current = active(sql, now);
  if (current.length >= limits.streams) return { verdict: "full", active: current };
  run(
    sql,
    `INSERT OR REPLACE INTO streams (session_id, title_id, started_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?)`,
    s.sessionId,
    s.titleId,
    now,
    now,
    s.expiresAt,
  );
  // The streams that count now are the ones just read plus this one: no second read.
  return {
    verdict: "granted",
    active: [...current.filter((a) => a.sessionId !== s.sessionId), { sessionId: s.sessionId, titleId: s.titleId, startedAt: now, lastSeenAt: now }],
  };
}

/** Activity of a stream: it keeps counting. */
export function touch(sql: SqlStorage, sessionId: string, now: number): void {
  run(sql, `UPDATE streams SET last_seen = MAX(last_seen, ?) WHERE session_id = ?`, now, sessionId);
}

/** The client said the stream stopped. */
export function release(sql: SqlStorage, sessionId: string): boolean {
  return run(sql, `DELETE FROM streams WHERE session_id = ?`, sessionId) > 0;
}
