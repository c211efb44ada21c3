import type { OcaSpec } from "../../workers/shared/topology";
import { type EdgeReport, MAX_REPORT_ITEMS, type MissKind, type OcaHealth, type OcaLive } from "../../workers/shared/site-view";
import { isSafeId, isSessionId, isStreamsId } from "../../shared/ids";
import { SEEN_BUCKET_MS } from "../../shared/session-activity";
import { forgetEarlyServed, recordServed } from "./viewing-history";
import { first, rows, run } from "./sql";

/**
 * Load and misses as the data plane reports them, batched: egress per OCA (an exponentially decayed
 * sum over every isolate's reports, whose steady state is the OCA's whole rate), sessions last seen, bytes served per session (for the viewing-history cross-check) and
 * misses by kind.
 */

/** Time constant of the egress average. */
export const EGRESS_TAU_MS = 5_000;
/**
 * The longest window a report's bytes are spread over. A report says what an isolate served since its
 * last one; spread over a long window (the isolate's quiet spell before it, or the 2-20 s a site synced
 * by many isolates asks: workers/shared/sync-pace.ts) its bytes add what the last seconds of a steady
 * rate are worth now, and the sum, decaying until that isolate's next report, reads on average
 * (1 - e^(-W/τ)) / (W/τ) of the rate (a quarter at 20 s; a burst after a minute's quiet, a twelfth of
 * what it is worth), so that an OCA far past its throughput looks well within it to steering. Spread over a second at most, each report adds
 * about what its bytes are worth in the decayed sum (8·bytes/τ), and the sum reads within a tenth of the
 * rate on average, whatever the window (as at one second, where nothing changes).
 */
export const EGRESS_WINDOW_MAX_MS = 1_000;
/** How long a session counts as active after its last request. */
export const SESSION_ACTIVE_MS = 30_000;

/**
 * A session's activity on an OCA is found for its clean-up by a coarse bucket of when it was last seen
 * (schema v27; SEEN_BUCKET_MS): its exact `last_seen`, which the counts read, is not indexed, so a report
 * rewrites its row alone and the index entry moves once a bucket (an indexed column written is two rows more).
 */
export const SEEN_BUCKET_SCHEMA = [
  `ALTER TABLE oca_sessions ADD COLUMN seen_bucket INTEGER NOT NULL DEFAULT 0`,
  `UPDATE oca_sessions SET seen_bucket = last_seen / ${SEEN_BUCKET_MS}`,
  `DROP INDEX IF EXISTS oca_sessions_by_seen`,
  `CREATE INDEX IF NOT EXISTS oca_sessions_by_bucket ON oca_sessions (seen_bucket)`,
];

/** The oldest a session entry's own time (`lastAt`) may date its activity: older is taken as this old. */
export const SEEN_AT_MAX_AGE_MS = 60_000;

/** How often a site counts each OCA's active sessions: at most once a second, however many isolates sync. */
export const SESSIONS_COUNT_EVERY_MS = 1_000;

/**
 * Each OCA's active sessions as last counted. A count reads every active session's index entry, and
 * every sync's answer carries the figure: at a busy site (thousands of sessions an OCA, hundreds of
 * syncs a second) counting on each would be most of the object's work. A second-old count is as good
 * for load: sessions stay active 30 s.
 */
export class ActiveSessions {
  private readonly counted = new Map<string, { at: number; n: number }>();

  count(sql: SqlStorage, ocaId: string, now: number): number {
    const c = this.counted.get(ocaId);
    if (c && now >= c.at && now - c.at < SESSIONS_COUNT_EVERY_MS) return c.n;
    const n = first<{ n: number }>(sql, `SELECT COUNT(*) AS n FROM oca_sessions WHERE oca_id = ? AND last_seen > ?`, ocaId, now - SESSION_ACTIVE_MS)!.n;
    this.counted.set(ocaId, { at: now, n });
    return n;
  }
}

/** The live state of each OCA: health, egress (decayed since the last report), active sessions (counted by `sessions`; fresh when none is given). */
export function liveView(
  sql: SqlStorage,
  ocas: Array<OcaSpec & { health: OcaHealth; throughputBps: number }>,
  now: number,
  sessions: ActiveSessions = new ActiveSessions(),
): OcaLive[] {
  return ocas.map((o) => {
    const row = first<{ egress_bps: number; updated_at: number }>(sql, `SELECT egress_bps, updated_at FROM oca_load WHERE oca_id = ?`, o.id);
    const egressBps = row ? row.egress_bps * Math.exp(-Math.max(0, now - row.updated_at) / EGRESS_TAU_MS) : 0;
    const active = sessions.count(sql, o.id, now);
    return { ocaId: o.id, health: o.health, egressBps: Math.round(egressBps), load: o.throughputBps > 0 ? egressBps / o.throughputBps : 0, sessions: active };
  });
}

const count = (n: unknown) => (typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.round(n) : 0);

/**
 * The most bytes one report may count for one figure (an OCA's, a session's, a miss's): 80 Tbit, past
 * what any isolate serves in a report's window. A figure beyond it (a bug, an isolate on other code) is
 * not the truth: unbounded, it made an OCA's decayed egress infinite for as long as reports came (and
 * the site's load write to D1 fail), or overloaded for an hour.
 */
export const MAX_REPORT_BYTES = 1e13;
/** Misses of one title one report may count (as many as the requests a report may count). */
const MAX_REPORT_MISSES = 1e7;

/** A byte count of a report, sanitised: whole, not below 0, at most MAX_REPORT_BYTES. */
export const reportBytes = (n: unknown): number => Math.min(count(n), MAX_REPORT_BYTES);

/** Adds a miss to the site's counters. */
export function recordMiss(sql: SqlStorage, ocaId: string, titleId: string, kind: MissKind, n: number, bytes: number): void {
  run(
    sql,
    `INSERT INTO misses (oca_id, title_id, kind, count, bytes) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (oca_id, title_id, kind) DO UPDATE SET count = count + excluded.count, bytes = bytes + excluded.bytes`,
    ocaId,
    titleId,
    kind,
    n,
    bytes,
  );
}

/** Takes one batched report from the data plane: only OCAs of this site, every list capped, every number sanitised. */
export function ingestEdgeReport(sql: SqlStorage, siteOcas: readonly OcaSpec[], report: EdgeReport, now: number, at = now): void {
  const windowS = Math.min(EGRESS_WINDOW_MAX_MS / 1000, Math.max(0.25, count(report.windowMs) / 1000));
  // A report measured before it arrived (sent again after a failed sync) adds what its bytes are worth
  // now, decayed as they would have been: a resend two minutes late is not egress now.
  const aged = Math.exp(-Math.max(0, now - at) / EGRESS_TAU_MS);
  for (const oca of siteOcas) {
    if (!Object.hasOwn(report.ocas, oca.id)) continue;
    const r = report.ocas[oca.id];
    const prev = first<{ egress_bps: number; updated_at: number }>(sql, `SELECT egress_bps, updated_at FROM oca_load WHERE oca_id = ?`, oca.id);
    // A decayed sum, not an average: every isolate serving the OCA reports its own share, and each
    // report adds what its window's bytes are worth now (a steady rate r from all of them reads r).
    const decayed = prev ? prev.egress_bps * Math.exp(-Math.max(0, now - prev.updated_at) / EGRESS_TAU_MS) : 0;
    const rate = (reportBytes(r.bytes) * 8) / windowS;
    const worth = 1 - Math.exp(-(windowS * 1000) / EGRESS_TAU_MS);
    // An upsert, not a REPLACE: a replace deletes and inserts, two rows written on every sync.
    run(
      sql,
      `INSERT INTO oca_load (oca_id, egress_bps, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (oca_id) DO UPDATE SET egress_bps = excluded.egress_bps, updated_at = excluded.updated_at`,
      oca.id,
      decayed + worth * rate * aged,
      now,
    );
    for (const s of (Array.isArray(r.sessions) ? r.sessions : []).slice(0, MAX_REPORT_ITEMS)) {
      if (!isSessionId(s?.id)) continue;
      // Dated by when the OCA last served it (an entry the isolate held arrives up to a few seconds
      // later), within the last minute and never ahead; an isolate on older code sends no time: now.
      const seenAt = typeof s.lastAt === "number" && Number.isFinite(s.lastAt) ? Math.min(now, Math.max(now - SEEN_AT_MAX_AGE_MS, s.lastAt)) : now;
      const seenBucket = Math.floor(seenAt / SEEN_BUCKET_MS);
      // A session's member is kept once known: a report from an isolate on older code leaves it as it
      // was. Its time never goes back (two isolates may serve it, one holding its entry longer).
      run(
        sql,
        `INSERT INTO oca_sessions (oca_id, session_id, last_seen, streams, seen_bucket) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (oca_id, session_id) DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen), streams = COALESCE(excluded.streams, streams)`,
        oca.id,
        s.id,
        seenAt,
        isStreamsId(s.streams) ? s.streams : null,
        seenBucket,
      );
      // Its index entry moves only when the bucket has (a read otherwise, nothing written).
      run(sql, `UPDATE oca_sessions SET seen_bucket = ? WHERE oca_id = ? AND session_id = ? AND seen_bucket < ?`, seenBucket, oca.id, s.id, seenBucket);
      recordServed(sql, s.id, reportBytes(s.bytes), s.home === true, now);
    }
    for (const m of (Array.isArray(r.misses) ? r.misses : []).slice(0, MAX_REPORT_ITEMS)) {
      if (typeof m?.titleId !== "string" || !isSafeId(m.titleId) || (m.kind !== "content" && m.kind !== "health")) continue;
      recordMiss(sql, oca.id, m.titleId, m.kind, Math.min(MAX_REPORT_MISSES, Math.max(1, count(m.count))), reportBytes(m.bytes));
    }
  }
  // Whole buckets past the active window: a session stays up to a bucket longer, counted by its exact time.
  run(sql, `DELETE FROM oca_sessions WHERE seen_bucket < ?`, Math.floor((now - SESSION_ACTIVE_MS) / SEEN_BUCKET_MS));
}

/**
 * Bytes served to this site's sessions elsewhere: by other sites' OCAs (`servedAway`) and by the origin
 * pathway (whose bytes count at the session's home). They count in each session's served figure, the
 * viewing history's, and not in this site's load.
 */
export function ingestServedElsewhere(sql: SqlStorage, report: EdgeReport, originId: string, now: number): void {
  const origin = Object.hasOwn(report.ocas, originId) ? report.ocas[originId]?.sessions : undefined;
  for (const list of [report.servedAway, origin]) {
    for (const s of (Array.isArray(list) ? list : []).slice(0, MAX_REPORT_ITEMS)) {
      if (!isSessionId(s?.id)) continue;
      recordServed(sql, s.id, reportBytes(s.bytes), true, now);
    }
  }
  forgetEarlyServed(sql, now);
}

/** Misses summed by kind, for the dashboard. */
export function missesByKind(sql: SqlStorage): Record<MissKind, { count: number; bytes: number }> {
  const out: Record<MissKind, { count: number; bytes: number }> = { content: { count: 0, bytes: 0 }, health: { count: 0, bytes: 0 } };
  for (const r of rows<{ kind: string; count: number; bytes: number }>(
    sql,
    `SELECT kind, SUM(count) AS count, SUM(bytes) AS bytes FROM misses GROUP BY kind`,
  )) {
    if (r.kind === "content" || r.kind === "health") out[r.kind] = { count: r.count, bytes: r.bytes };
  }
  return out;
}

/** Misses per OCA, title and kind, for operators: the `limit` most frequent, and how many there are. */
export function missesByTitle(
  sql: SqlStorage,
  limit: number,
): { top: Array<{ ocaId: string; titleId: string; kind: MissKind; count: number; bytes: number }>; total: number } {
  const top = rows<{ oca_id: string; title_id: string; kind: MissKind; count: number; bytes: number }>(
    sql,
    `SELECT * FROM misses ORDER BY count DESC, oca_id, title_id, kind LIMIT ?`,
    limit,
  ).map((m) => ({
    ocaId: m.oca_id,
    titleId: m.title_id,
    kind: m.kind,
    count: m.count,
    bytes: m.bytes,
  }));
  const total = top.length < limit ? top.length : (first<{ n: number }>(sql, `SELECT COUNT(*) AS n FROM misses`)?.n ?? top.length);
  return { top, total };
}
