import { isCmcdSid, isSessionId } from "../../shared/ids";
import type { CmcdReport } from "../../workers/shared/site-view";
import { MAX_REPORT_ITEMS } from "../../workers/shared/site-view";
import { recordCmcdBytes, SESSION_MEMORY_MS } from "./viewing-history";
import { first, rows, run } from "./sql";

/**
 * What players said in CMCD (CTA-5004) on the media requests of sessions whose home is this site,
 * one row per session: requests, bytes served with CMCD attached, stalls (`bs`), start-up requests
 * (`su`), and the last bitrate, buffer and throughput they sent. Stock hls.js, dash.js and Shaka send
 * CMCD with one option and no SDK: this is their QoE, and their bytes count in the viewing history
 * as an SDK's reports do (`recordCmcdBytes`). Rows live as long as the session is remembered.
 */

export const CMCD_SCHEMA = [
  `CREATE TABLE cmcd_sessions (
     session_id TEXT PRIMARY KEY, title_id TEXT NOT NULL, sid TEXT, requests INTEGER NOT NULL, bytes INTEGER NOT NULL,
     stalls INTEGER NOT NULL, startups INTEGER NOT NULL, bitrate_kbps INTEGER, top_bitrate_kbps INTEGER, buffer_ms INTEGER,
     throughput_kbps INTEGER, last_oca TEXT NOT NULL, first_at INTEGER NOT NULL, last_at INTEGER NOT NULL)`,
  `CREATE INDEX cmcd_sessions_by_last ON cmcd_sessions (last_at)`,
  `ALTER TABLE session_views ADD COLUMN cmcd INTEGER NOT NULL DEFAULT 0`,
];

/**
 * When the site last heard of each session's CMCD, to a minute (`heard_at`), indexed for forgetting
 * old rows; `last_at` (the player's own last time) is no longer indexed. An update that changes an
 * indexed column writes its index entry too, and every row written is billed: a session reporting
 * with each segment rewrote its `last_at` entry every few seconds, now its `heard_at` once a minute.
 */
export const CMCD_HEARD_SCHEMA = [
  `ALTER TABLE cmcd_sessions ADD COLUMN heard_at INTEGER NOT NULL DEFAULT 0`,
  `UPDATE cmcd_sessions SET heard_at = last_at`,
  `CREATE INDEX IF NOT EXISTS cmcd_sessions_by_heard ON cmcd_sessions (heard_at)`,
  `DROP INDEX IF EXISTS cmcd_sessions_by_last`,
];

/** How stale `heard_at` may get before a report moves it (see CMCD_HEARD_SCHEMA). */
export const CMCD_HEARD_EVERY_MS = 60_000;

/** At most this many sessions' CMCD rows; the least recently heard go first. */
export const CMCD_MAX_SESSIONS = 200_000;
/** How often a site counts its CMCD rows against the cap. */
export const CMCD_COUNT_EVERY_MS = 60_000;
/** When each site object (by its storage) last counted. */
const countedAt = new WeakMap<SqlStorage, number>();

/** A session's CMCD as the site holds it. */
export type CmcdSession = Omit<CmcdReport, "sessionId"> & { sessionId: string; countedBytes: number };

const TITLE = /^[A-Za-z0-9_-]{1,64}$/;
const OCA = /^(origin|[A-Za-z0-9_-]{1,64}\/[A-Za-z0-9_-]{1,64})$/;
const count = (n: unknown, max: number) => (typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.min(Math.round(n), max) : 0);
const maybe = (n: unknown, max: number) => (typeof n === "number" && Number.isFinite(n) && n >= 0 ? Math.min(Math.round(n), max) : null);

/** A report as it arrived, checked: ids by pattern, every number bounded, counts never above the requests. Null when unusable. */
export function sanitizeCmcd(r: unknown, now: number): CmcdReport | null {
  if (!r || typeof r !== "object") return null;
  const x = r as Partial<Record<keyof CmcdReport, unknown>>;
  if (!isSessionId(x.sessionId) || typeof x.titleId !== "string" || !TITLE.test(x.titleId)) return null;
  const requests = count(x.requests, 1_000_000);
  if (requests === 0) return null;
  const at = (v: unknown) => Math.min(now, count(v, now));
  return {
    sessionId: x.sessionId,
    titleId: x.titleId,
    sid: isCmcdSid(x.sid) ? x.sid : null,
    requests,
    bytes: count(x.bytes, 1e13),
    stalls: Math.min(requests, count(x.stalls, requests)),
    startups: Math.min(requests, count(x.startups, requests)),
    bitrateKbps: maybe(x.bitrateKbps, 1e8),
    bufferMs: maybe(x.bufferMs, 86_400_000),
    throughputKbps: maybe(x.throughputKbps, 1e8),
    topBitrateKbps: maybe(x.topBitrateKbps, 1e8),
    lastOca: typeof x.lastOca === "string" && OCA.test(x.lastOca) ? x.lastOca : "unknown",
    firstAt: at(x.firstAt) || now,
    lastAt: at(x.lastAt) || now,
  };
}

/**
 * Takes the CMCD part of a batched report: each session's row is added to, and its bytes count in the
 * viewing history (within the session's caps). Call inside the report's transaction.
 */
export function ingestCmcd(sql: SqlStorage, reports: unknown, reportDay: number, now: number): void {
  if (!Array.isArray(reports)) return;
  for (const raw of reports.slice(0, MAX_REPORT_ITEMS)) {
    const r = sanitizeCmcd(raw, now);
    if (!r) continue;
    // The "last" values are the newest sample's: isolates' reports (and one put back after a failed sync)
    // arrive out of order, and an older one must not replace a newer bitrate, buffer or OCA (SET reads the old row).
    run(
      sql,
      `INSERT INTO cmcd_sessions (session_id, title_id, sid, requests, bytes, stalls, startups, bitrate_kbps, top_bitrate_kbps, buffer_ms,
         throughput_kbps, last_oca, first_at, last_at, heard_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (session_id) DO UPDATE SET requests = requests + excluded.requests, bytes = bytes + excluded.bytes,
         stalls = stalls + excluded.stalls, startups = startups + excluded.startups,
         sid = CASE WHEN excluded.last_at >= last_at THEN COALESCE(excluded.sid, sid) ELSE COALESCE(sid, excluded.sid) END,
         bitrate_kbps = CASE WHEN excluded.last_at >= last_at THEN COALESCE(excluded.bitrate_kbps, bitrate_kbps) ELSE COALESCE(bitrate_kbps, excluded.bitrate_kbps) END,
         buffer_ms = CASE WHEN excluded.last_at >= last_at THEN COALESCE(excluded.buffer_ms, buffer_ms) ELSE COALESCE(buffer_ms, excluded.buffer_ms) END,
         throughput_kbps = CASE WHEN excluded.last_at >= last_at THEN COALESCE(excluded.throughput_kbps, throughput_kbps) ELSE COALESCE(throughput_kbps, excluded.throughput_kbps) END,
         top_bitrate_kbps = MAX(COALESCE(top_bitrate_kbps, excluded.top_bitrate_kbps), COALESCE(excluded.top_bitrate_kbps, top_bitrate_kbps)),
         last_oca = CASE WHEN excluded.last_at >= last_at THEN excluded.last_oca ELSE last_oca END,
         first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at)
       WHERE title_id = excluded.title_id`,
      r.sessionId,
      r.titleId,
      r.sid,
      r.requests,
      r.bytes,
      r.stalls,
      r.startups,
      r.bitrateKbps,
      r.topBitrateKbps,
      r.bufferMs,
      r.throughputKbps,
      r.lastOca,
      r.firstAt,
      r.lastAt,
      now,
    );
    // Its index entry moved once a minute, not with every report (0 rows written otherwise).
    run(sql, `UPDATE cmcd_sessions SET heard_at = ? WHERE session_id = ? AND heard_at <= ?`, now, r.sessionId, now - CMCD_HEARD_EVERY_MS);
    if (r.bytes > 0) recordCmcdBytes(sql, { sessionId: r.sessionId, titleId: r.titleId, reportDay, bytes: r.bytes, now });
  }
  run(sql, `DELETE FROM cmcd_sessions WHERE session_id IN (SELECT session_id FROM cmcd_sessions WHERE heard_at < ? LIMIT 1000)`, now - SESSION_MEMORY_MS);
  // A count reads every row: it is taken at most once a CMCD_COUNT_EVERY_MS per site (a soft cap, which a
  // minute's new sessions may pass before the next count trims them), not on every sync.
  if (now - (countedAt.get(sql) ?? Number.NEGATIVE_INFINITY) < CMCD_COUNT_EVERY_MS) return;
  countedAt.set(sql, now);
  const n = first<{ n: number }>(sql, `SELECT COUNT(*) AS n FROM cmcd_sessions`)!.n;
  if (n > CMCD_MAX_SESSIONS)
    run(sql, `DELETE FROM cmcd_sessions WHERE session_id IN (SELECT session_id FROM cmcd_sessions ORDER BY heard_at LIMIT ?)`, n - CMCD_MAX_SESSIONS);
}

/** A session's CMCD at this site, with the bytes its viewing history counted from it; null when none arrived. */
export function cmcdSession(sql: SqlStorage, sessionId: string): CmcdSession | null {
  const r = rows<{
    session_id: string;
    title_id: string;
    sid: string | null;
    requests: number;
    bytes: number;
    stalls: number;
    startups: number;
    bitrate_kbps: number | null;
    top_bitrate_kbps: number | null;
    buffer_ms: number | null;
    throughput_kbps: number | null;
    last_oca: string;
    first_at: number;
    last_at: number;
  }>(sql, `SELECT * FROM cmcd_sessions WHERE session_id = ?`, sessionId)[0];
  if (!r) return null;
  const counted = first<{ cmcd: number }>(sql, `SELECT cmcd FROM session_views WHERE session_id = ?`, sessionId)?.cmcd ?? 0;
  return {
    sessionId: r.session_id,
    titleId: r.title_id,
    sid: r.sid,
    requests: r.requests,
    bytes: r.bytes,
    stalls: r.stalls,
    startups: r.startups,
    bitrateKbps: r.bitrate_kbps,
    topBitrateKbps: r.top_bitrate_kbps,
    bufferMs: r.buffer_ms,
    throughputKbps: r.throughput_kbps,
    lastOca: r.last_oca,
    firstAt: r.first_at,
    lastAt: r.last_at,
    countedBytes: counted,
  };
}
