import { isSafeId, isSessionId } from "../../shared/ids";
import type { PlayReport } from "../../workers/shared/site-view";
/**
 * A site's viewing history: what its clients watched per local day, the input of tomorrow's
 * prediction. Plays arrive from the play request with an estimate (a full watch at the top rung
 * the session may fetch); clients then report the bytes they received.
 *
 * The figures are built so that no client can move them further than its own sessions could
 * honestly weigh:
 * - a session counts either as its play estimate (while it has never reported) or as what it
 *   reported, never both; a report replaces that one session's estimate, not the day's figure;
 * - a session's reported bytes are capped by its estimate (a full watch at its top allowed rung),
 *   by elapsed time since the play times that bitrate (plus a prebuffer allowance), and, once the
 *   data plane served the session, by what it served it (plus reporting lag): this site's OCAs,
 *   other sites' and the origin pathway all send a session's served bytes to its home site. That figure
 *   lags (an isolate holds a session's entry up to 12 s, then syncs), so what a report claims past it
 *   waits (`claimed`) and counts when the figure catches up, rather than being dropped;
 * - an estimate is a stand-in while the session may still be watching, so it does not outlive the
 *   session (settleSessions): a stop takes it out (the stop's batch counts as a report); a session
 *   with no figure at all (no report, no CMCD, nothing served anywhere) UNSEEN_SETTLE_MS after its
 *   play never played and counts nothing; any other still on its estimate when its token ends counts
 *   what it was served. Else a member who pressed play and dropped the session, again and again,
 *   would add a full watch of a title of their choosing each time to the demand the fill plans from.
 * Idempotency of retried batches is the caller's (the events route keys each batch).
 */

/** Seconds of media a player may legitimately hold beyond real time (prebuffer, seeks). */
export const PREBUFFER_ALLOWANCE_S = 120;
/** Seconds of media the data plane's batched served-bytes report may lag behind a client's report. */
export const SERVED_LAG_ALLOWANCE_S = 10;
/** Sessions are remembered this long after their play (one still on its estimate until it settles); older reports count nothing. */
export const SESSION_MEMORY_MS = 2 * 86_400_000;
/** A session with no figure at all this long after its play counts nothing (its estimate goes). */
export const UNSEEN_SETTLE_MS = 10 * 60_000;
/** Schema v15: the last report id each event shard's forward carried (moved into counted_up_to by v16). */
export const FORWARDS_SCHEMA = [`CREATE TABLE IF NOT EXISTS forwarded (shard TEXT PRIMARY KEY, up_to INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID`];

/** Days of views a site keeps: more than any reader asks for (the plan 14, operators at most 90). */
export const VIEWS_KEEP_DAYS = 120;

/** Forgets views older than VIEWS_KEEP_DAYS before `day` (the daily plan calls it: the table stops growing). */
export function pruneViews(sql: SqlStorage, day: number): void {
  sql.exec(`DELETE FROM views WHERE day < ?`, day - VIEWS_KEEP_DAYS);
}

/**
 * What a session's client has claimed (its reports' running total within the estimate and elapsed-time
 * caps) and the local day of its last claim: bytes past the served cap wait there, and count when the
 * data plane's figure of what it served catches up (it lags by a held entry and a sync), on that day.
 */
export const CLAIMED_SCHEMA = [
  `ALTER TABLE session_views ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE session_views ADD COLUMN claimed_day INTEGER`,
];

/** Sessions settled per call at most (each call is one batch's or one plan's work). */
export const SETTLE_PER_CALL = 1_000;

/**
 * When each session ends (its token's expiry plus its last batch's grace, ms; NULL for sessions
 * recorded before), and the two partial indexes settleSessions walks: sessions still on their
 * estimate, by end, and those of them nothing was served yet, by start.
 */
export const SESSION_SETTLE_SCHEMA = [
  `ALTER TABLE session_views ADD COLUMN ends_at INTEGER`,
  `CREATE INDEX session_views_estimated_by_end ON session_views (ends_at) WHERE est_counted = 1`,
  `CREATE INDEX session_views_unseen_by_start ON session_views (started_at) WHERE est_counted = 1 AND served = 0`,
];

export const VIEWING_SCHEMA = [
  // Per local day and title: plays, bytes clients reported, and the estimate of sessions that never reported.
  `CREATE TABLE IF NOT EXISTS views (
     day INTEGER NOT NULL, title_id TEXT NOT NULL, plays INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
     est_bytes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, title_id))`,
  // Per session: what it may count, what it reported and what the data plane served it (any site's OCAs, or origin).
  `CREATE TABLE IF NOT EXISTS session_views (
     session_id TEXT PRIMARY KEY, title_id TEXT NOT NULL, play_day INTEGER NOT NULL, started_at INTEGER NOT NULL,
     est_bytes INTEGER NOT NULL, top_bps INTEGER NOT NULL, est_counted INTEGER NOT NULL, reported INTEGER NOT NULL DEFAULT 0,
     served INTEGER NOT NULL DEFAULT 0)`,
  `CREATE INDEX IF NOT EXISTS session_views_by_start ON session_views (started_at)`,
];

/** A play, as the play request records it in its home site (the batched report's play, without its miss). */
export type PlayRecord = Omit<PlayReport, "miss">;

/** A client's report of bytes received, with the session as the control plane knows it (signed at play). */
export interface ReportRecord extends PlayRecord {
  /** Local day the report arrives. */
  reportDay: number;
  bytes: number;
  /** When the report was made (an event shard's: when the shard took its batch); its caps are judged at it. */
  now: number;
  /**
   * The site's own clock as it takes the report, when the caller has it (the forward of an event shard
   * may come days after `now`): a session unknown here is forgotten if the later of the two is past
   * SESSION_MEMORY_MS since its play, as its row was, not made afresh to count its figures again.
   */
  siteNow?: number;
}

const nonNegative = (n: number) => (Number.isFinite(n) && n > 0 ? Math.round(n) : 0);

/** A finite number, not below zero (a figure that crossed an RPC boundary, checked). */
export const finiteNonNegative = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n) && n >= 0;

/** A batched play as the play request builds it (the report crosses an RPC boundary: checked, not trusted). */
export function isPlayReport(p: PlayReport | null | undefined): p is PlayReport {
  return (
    !!p &&
    isSessionId(p.sessionId) &&
    typeof p.titleId === "string" &&
    isSafeId(p.titleId) &&
    [p.day, p.estBytes, p.topBps, p.startedAt].every(finiteNonNegative) &&
    (p.endsAt === undefined || finiteNonNegative(p.endsAt))
  );
}

/**
 * Additions to the views gathered while one batch of reports is counted (see `batchingViews`), per
 * (day, title); null outside one. Module state is safe here: a batch is counted synchronously, so no
 * other call of any object in the isolate can run in between.
 */
let pendingViews: Map<string, { day: number; titleId: string; plays: number; bytes: number; estBytes: number }> | null = null;
/**
 * Bytes served per session gathered the same way: a session's entry in a sync brings its served bytes
 * and, most often, its CMCD, whose recount updates the same row; the two go in one update (a row
 * written, not two). What no recount took is written at the batch's end.
 */
let pendingServed: Map<string, { bytes: number; home: boolean; now: number }> | null = null;

/**
 * Runs `count` (synchronous: a sync's report, a shard's forward) with its additions to the views
 * written once per (day, title) at its end rather than once per session: a report carries many
 * sessions of the same few titles, and every row written is billed. An estimate's floor at zero then
 * applies to the batch's sum rather than to each step of it.
 */
export function batchingViews<T>(sql: SqlStorage, count: () => T): T {
  // A batch inside another (a savepoint inside a transaction) keeps its own additions: they join the
  // outer batch only if it succeeds, so a savepoint rolled back leaves nothing behind in the outer one.
  const outer = pendingViews;
  const outerServed = pendingServed;
  const mine: NonNullable<typeof pendingViews> = new Map();
  const myServed: NonNullable<typeof pendingServed> = new Map();
  pendingViews = mine;
  pendingServed = myServed;
  try {
    const out = count();
    pendingViews = outer;
    pendingServed = outerServed;
    for (const [sessionId, v] of myServed) recordServed(sql, sessionId, v.bytes, v.home, v.now);
    for (const v of mine.values()) addToDay(sql, v.day, v.titleId, v);
    return out;
  } finally {
    pendingViews = outer;
    pendingServed = outerServed;
  }
}

/** Takes the served bytes the current batch holds for a session (0 when none), to be written by the caller's update. */
function takeServed(sessionId: string): number {
  const v = pendingServed?.get(sessionId);
  if (!v) return 0;
  pendingServed!.delete(sessionId);
  return v.bytes;
}

/** Adds to one day of one title (trusted callers: plays, reports, and history imported by operators or tests). */
export function addToDay(sql: SqlStorage, day: number, titleId: string, v: { plays?: number; bytes?: number; estBytes?: number }): void {
  if (pendingViews) {
    const key = `${day}|${titleId}`;
    const p = pendingViews.get(key) ?? { day, titleId, plays: 0, bytes: 0, estBytes: 0 };
    p.plays += v.plays ?? 0;
    p.bytes += v.bytes ?? 0;
    p.estBytes += v.estBytes ?? 0;
    pendingViews.set(key, p);
    return;
  }
  writeDay(sql, day, titleId, v);
}

function writeDay(sql: SqlStorage, day: number, titleId: string, v: { plays?: number; bytes?: number; estBytes?: number }): void {
  sql.exec(
    `INSERT INTO views (day, title_id, plays, bytes, est_bytes) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (day, title_id) DO UPDATE SET plays = plays + excluded.plays, bytes = bytes + excluded.bytes,
       est_bytes = MAX(0, est_bytes + excluded.est_bytes)`,
    day,
    titleId,
    v.plays ?? 0,
    v.bytes ?? 0,
    v.estBytes ?? 0,
  );
}

/**
 * Counts a batch of plays: each play and its estimate on its day, and each session so its reports can
 * be checked. A batch carries a second of an isolate's plays, mostly of a few titles: each session is one
 * row, each day and title one write, and sessions past SESSION_MEMORY_MS are forgotten once per batch.
 * Returns the sessions whose play counted now (a play sent again, after a sync that timed out, counts once).
 */
export function recordPlays(sql: SqlStorage, plays: readonly PlayRecord[], now = Date.now()): Set<string> {
  const countedNow = new Set<string>();
  const made: PlayRecord[] = [];
  const days = new Map<string, { day: number; titleId: string; plays: number; estBytes: number }>();
  let newest = Number.NEGATIVE_INFINITY;
  for (const p of plays) {
    const est = nonNegative(p.estBytes);
    const inserted = sql.exec(
      `INSERT INTO session_views (session_id, title_id, play_day, started_at, est_bytes, top_bps, est_counted, ends_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)
         ON CONFLICT (session_id) DO NOTHING`,
      p.sessionId,
      p.titleId,
      p.day,
      p.startedAt,
      est,
      nonNegative(p.topBps),
      Number.isFinite(p.endsAt) ? p.endsAt : null,
    ).rowsWritten;
    let counted = inserted > 0 ? est : null;
    if (inserted > 0) {
      made.push(p);
      // Bytes served before this record arrived (another isolate's sync came first).
      const early = takeEarlyServed(sql, p.sessionId);
      if (early > 0) sql.exec(`UPDATE session_views SET served = served + ? WHERE session_id = ?`, early, p.sessionId);
    }
    // Plays ride a batched sync, so a session's first report can arrive first: the play still counts
    // as a play, but with no estimate (the session already counts as what it reported).
    if (counted === null && sql.exec(`UPDATE session_views SET play_counted = 1 WHERE session_id = ? AND play_counted = 0`, p.sessionId).rowsWritten > 0) {
      counted = 0;
    }
    if (counted !== null) {
      countedNow.add(p.sessionId);
      const key = `${p.day}/${p.titleId}`;
      const d = days.get(key) ?? { day: p.day, titleId: p.titleId, plays: 0, estBytes: 0 };
      d.plays++;
      d.estBytes += counted;
      days.set(key, d);
    }
    if (Number.isFinite(p.startedAt)) newest = Math.max(newest, p.startedAt);
  }
  for (const d of days.values()) addToDay(sql, d.day, d.titleId, { plays: d.plays, estBytes: d.estBytes });
  // CMCD that came before the record (its isolate's sync first) counts now, once the estimate is in.
  for (const p of made) countEarlyCmcd(sql, p.sessionId, p.titleId, p.day, now);
  // Never past now: one play stamped in the future would otherwise forget every session before it.
  // A session still on its estimate is kept until settleSessions settles it at its end (a token may live
  // longer than SESSION_MEMORY_MS, up to a week): forgotten before, its estimate would stay in its day for good.
  if (newest > Number.NEGATIVE_INFINITY) {
    sql.exec(`DELETE FROM session_views WHERE started_at < ? AND (est_counted = 0 OR ends_at IS NULL)`, Math.min(newest, now) - SESSION_MEMORY_MS);
  }
  return countedNow;
}

/**
 * Bytes served to a session whose play arrived before them: plays and bytes ride different isolates'
 * syncs, so a session's first bytes can come first. Kept EARLY_SERVED_MS for its play's record, which
 * takes them (recordPlays).
 */
export const EARLY_SERVED_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS served_early (session_id TEXT PRIMARY KEY, bytes INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS served_early_by_at ON served_early (at)`,
];
export const EARLY_SERVED_MS = 10 * 60_000;

/**
 * Adds bytes the data plane served to a session (any site's OCA, or origin) at this site, known for
 * sessions that played here. `home`: the sender knows this is the session's home, so bytes that come
 * before its play are kept for it.
 */
export function recordServed(sql: SqlStorage, sessionId: string, bytes: number, home = false, now = Date.now()): void {
  const n = nonNegative(bytes);
  if (pendingServed) {
    const p = pendingServed.get(sessionId);
    pendingServed.set(sessionId, { bytes: (p?.bytes ?? 0) + n, home: home || (p?.home ?? false), now: Math.max(now, p?.now ?? now) });
    return;
  }
  const row = sql
    .exec<SessionRow & { claimed_day: number | null }>(
      `UPDATE session_views SET served = served + ? WHERE session_id = ?
     RETURNING est_bytes, top_bps, started_at, est_counted, reported, cmcd, served, play_day, claimed, title_id, claimed_day`,
      n,
      sessionId,
    )
    .toArray()[0];
  if (row) {
    // Bytes its client claimed past what had been served wait for this: counted now, on their claim's day.
    if (row.claimed > row.reported) recount(sql, sessionId, row.title_id, row.claimed_day ?? row.play_day, row, { reported: row.reported, cmcd: row.cmcd });
    return;
  }
  if (!home || n === 0) return;
  sql.exec(
    `INSERT INTO served_early (session_id, bytes, at) VALUES (?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET bytes = bytes + excluded.bytes, at = excluded.at`,
    sessionId,
    n,
    now,
  );
}

/** Takes the bytes kept for a session whose row is being made (0 when none). */
function takeEarlyServed(sql: SqlStorage, sessionId: string): number {
  return sql.exec<{ bytes: number }>(`DELETE FROM served_early WHERE session_id = ? RETURNING bytes`, sessionId).toArray()[0]?.bytes ?? 0;
}

/**
 * Counts the CMCD bytes a session's players sent before its row existed (they are kept per session in
 * cmcd_sessions whatever; only their count in the viewing history waited for the row).
 */
function countEarlyCmcd(sql: SqlStorage, sessionId: string, titleId: string, day: number, now: number): void {
  const bytes =
    sql.exec<{ bytes: number }>(`SELECT bytes FROM cmcd_sessions WHERE session_id = ? AND title_id = ?`, sessionId, titleId).toArray()[0]?.bytes ?? 0;
  if (bytes > 0) recordCmcdBytes(sql, { sessionId, titleId, reportDay: day, bytes, now });
}

/** Forgets early bytes whose play never came (an index seek that usually finds nothing). */
export function forgetEarlyServed(sql: SqlStorage, now: number): void {
  sql.exec(`DELETE FROM served_early WHERE at < ?`, now - EARLY_SERVED_MS);
}

/** The most a session may have reported so far, by the caps above. */
export function reportCap(s: { estBytes: number; topBps: number; startedAt: number; served: number }, now: number): number {
  const elapsedS = Math.max(0, now - s.startedAt) / 1000;
  let cap = Math.min(s.estBytes, ((elapsedS + PREBUFFER_ALLOWANCE_S) * s.topBps) / 8);
  if (s.served > 0) cap = Math.min(cap, s.served + (SERVED_LAG_ALLOWANCE_S * s.topBps) / 8);
  return Math.max(0, Math.floor(cap));
}

/** What a claim may count once `served` bytes were served (all of it while nothing is known served). */
const servedAllows = (claimed: number, served: number, topBps: number): number =>
  served > 0 ? Math.min(claimed, Math.floor(served + (SERVED_LAG_ALLOWANCE_S * topBps) / 8)) : claimed;

type SessionRow = {
  title_id: string;
  est_bytes: number;
  top_bps: number;
  started_at: number;
  est_counted: number;
  reported: number;
  cmcd: number;
  served: number;
  play_day: number;
  claimed: number;
};

const sessionRow = (sql: SqlStorage, sessionId: string): SessionRow | undefined =>
  sql
    .exec<SessionRow>(
      `SELECT title_id, est_bytes, top_bps, started_at, est_counted, reported, cmcd, served, play_day, claimed FROM session_views WHERE session_id = ?`,
      sessionId,
    )
    .toArray()[0];

/**
 * Moves a session to new figures. It counts as the larger of what its client reported and what the
 * data plane served it with CMCD attached: two views of the same bytes, so a player that does both
 * (the SDK sends CMCD too) is not counted twice. Its first figure takes its play estimate out of the
 * play's day. Returns the bytes added to the report's day.
 */
function recount(
  sql: SqlStorage,
  sessionId: string,
  titleId: string,
  reportDay: number,
  row: SessionRow,
  next: { reported: number; cmcd: number; claimed?: number },
): number {
  // The session's served bytes of the same batch, if any, go in the same update, and release what its
  // client claimed beyond the served figure before them.
  const servedNow = takeServed(sessionId);
  const claimed = Math.max(row.claimed, next.claimed ?? 0);
  const reported = Math.max(next.reported, Math.min(claimed, servedAllows(claimed, row.served + servedNow, row.top_bps)));
  const added = Math.max(reported, next.cmcd) - Math.max(row.reported, row.cmcd);
  if (row.est_counted) addToDay(sql, row.play_day, titleId, { estBytes: -row.est_bytes });
  sql.exec(
    `UPDATE session_views SET reported = ?, cmcd = ?, est_counted = 0, served = served + ?, claimed = ?,
       claimed_day = CASE WHEN ? THEN ? ELSE claimed_day END WHERE session_id = ?`,
    reported,
    next.cmcd,
    servedNow,
    claimed,
    next.claimed !== undefined ? 1 : 0,
    reportDay,
    sessionId,
  );
  if (added > 0 || row.est_counted) addToDay(sql, reportDay, titleId, { bytes: added });
  return added;
}

/**
 * Counts a client's report within its session's caps. The first report of a session takes its play
 * estimate out of the play's day (the session now counts as what it reports). Returns the bytes counted.
 */
export function recordReport(sql: SqlStorage, r: ReportRecord): { counted: number; cap: number } {
  if (r.now - r.startedAt > SESSION_MEMORY_MS) return { counted: 0, cap: 0 };
  let row = sessionRow(sql, r.sessionId);
  // A session counts for its own title only (the play's), whatever a report names.
  if (row && row.title_id !== r.titleId) return { counted: 0, cap: 0 };
  const made = !row;
  if (!row) {
    // A row forgotten (recordPlays forgets by the site's clock) is not made again by a report that
    // waited days in its shard: its bytes, and the CMCD kept for it, would count a second time.
    if (finiteNonNegative(r.siteNow) && r.siteNow - r.startedAt > SESSION_MEMORY_MS) return { counted: 0, cap: 0 };
    // The play's record never arrived here (lost call, or a play from before this site kept sessions):
    // trust the signed session, but take no estimate out that was never put in.
    row = {
      title_id: r.titleId,
      est_bytes: nonNegative(r.estBytes),
      top_bps: nonNegative(r.topBps),
      started_at: r.startedAt,
      est_counted: 0,
      reported: 0,
      cmcd: 0,
      served: takeEarlyServed(sql, r.sessionId),
      play_day: r.day,
      claimed: 0,
    };
    sql.exec(
      `INSERT INTO session_views (session_id, title_id, play_day, started_at, est_bytes, top_bps, est_counted, play_counted, served) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?)`,
      r.sessionId,
      r.titleId,
      r.day,
      r.startedAt,
      row.est_bytes,
      row.top_bps,
      row.served,
    );
  }
  const cap = reportCap({ estBytes: row.est_bytes, topBps: row.top_bps, startedAt: row.started_at, served: row.served }, r.now);
  // What the client has claimed within the estimate and elapsed time; what the served figure allows of
  // it counts now, the rest when that figure catches up (recount), never twice.
  const unserved = reportCap({ estBytes: row.est_bytes, topBps: row.top_bps, startedAt: row.started_at, served: 0 }, r.now);
  const before = Math.max(row.claimed, row.reported);
  const claimed = before + Math.max(0, Math.min(nonNegative(r.bytes), unserved - before));
  const reported = Math.max(row.reported, Math.min(claimed, cap));
  const counted = recount(sql, r.sessionId, r.titleId, r.reportDay, row, { reported, cmcd: row.cmcd, claimed });
  // A row made here (the play's record not in yet) also takes CMCD that came before it.
  if (made) countEarlyCmcd(sql, r.sessionId, r.titleId, r.reportDay, r.now);
  return { counted, cap };
}

/**
 * Counts bytes the data plane served a session with CMCD attached (a stock player's only report).
 * Only a session whose play this site recorded counts (its estimate and start bound it); the bytes
 * are the data plane's own count, so no served-bytes cross-check applies. Returns the bytes counted.
 */
export function recordCmcdBytes(sql: SqlStorage, r: { sessionId: string; titleId: string; reportDay: number; bytes: number; now: number }): number {
  const row = sessionRow(sql, r.sessionId);
  // Bytes of another title than the session's play count nowhere: neither in that title's day nor in the play's.
  if (!row || row.title_id !== r.titleId || r.now - row.started_at > SESSION_MEMORY_MS) return 0;
  const cap = reportCap({ estBytes: row.est_bytes, topBps: row.top_bps, startedAt: row.started_at, served: 0 }, r.now);
  const cmcd = row.cmcd + Math.max(0, Math.min(nonNegative(r.bytes), cap - row.cmcd));
  return recount(sql, r.sessionId, r.titleId, r.reportDay, row, { reported: row.reported, cmcd });
}

/**
 * Takes the estimate out of sessions that can no longer be watching (see the module comment): those
 * with no figure UNSEEN_SETTLE_MS after their play count nothing; those whose token has ended count
 * what the data plane served them (never more than their estimate), which then stands as their report.
 * At most `limit` sessions a call; returns how many it settled.
 */
export function settleSessions(sql: SqlStorage, now: number, limit = SETTLE_PER_CALL): number {
  type Due = { session_id: string; title_id: string; play_day: number; est_bytes: number; served: number };
  const unseen = sql
    .exec<Due>(
      `SELECT session_id, title_id, play_day, est_bytes, served FROM session_views
       WHERE est_counted = 1 AND served = 0 AND started_at <= ? LIMIT ?`,
      now - UNSEEN_SETTLE_MS,
      limit,
    )
    .toArray();
  const ended = sql
    .exec<Due>(
      `SELECT session_id, title_id, play_day, est_bytes, served FROM session_views
       WHERE est_counted = 1 AND ends_at <= ? LIMIT ?`,
      now,
      Math.max(0, limit - unseen.length),
    )
    .toArray();
  const settled = new Set<string>();
  for (const s of [...unseen, ...ended]) {
    if (settled.has(s.session_id)) continue;
    settled.add(s.session_id);
    const bytes = Math.min(nonNegative(s.served), nonNegative(s.est_bytes));
    addToDay(sql, s.play_day, s.title_id, { estBytes: -s.est_bytes, bytes });
    sql.exec(`UPDATE session_views SET est_counted = 0, reported = MAX(reported, ?) WHERE session_id = ?`, bytes, s.session_id);
  }
  return settled.size;
}

/**
 * Demand per title per day for days [fromDay, toDay], oldest first: the estimate of sessions that
 * never reported plus the bytes of those that did. From `openDay` on (the site's today: a day still
 * being watched) a session still on its estimate counts what it was served so far, at most its
 * estimate: a session started minutes ago is not yet a whole watch, and the same-day check scales
 * today so far up to a day by the share of a day's bytes its hours carry (a title with many fresh
 * starts read several times its demand, and could look like a shift of the whole mix). Built in a Map,
 * so a title id is never looked up among an object's inherited names.
 */
export function history(sql: SqlStorage, fromDay: number, toDay: number, openDay = Number.POSITIVE_INFINITY): Record<string, number[]> {
  const out = new Map<string, number[]>();
  const n = toDay - fromDay + 1;
  const add = (day: number, titleId: string, bytes: number) => {
    let days = out.get(titleId);
    if (!days) out.set(titleId, (days = new Array<number>(n).fill(0)));
    days[day - fromDay] += bytes;
  };
  for (const r of sql
    .exec<{ day: number; title_id: string; bytes: number; est_bytes: number }>(
      `SELECT day, title_id, bytes, est_bytes FROM views WHERE day BETWEEN ? AND ?`,
      fromDay,
      toDay,
    )
    .toArray()) {
    add(r.day, r.title_id, r.day >= openDay ? r.bytes : r.bytes + r.est_bytes);
  }
  if (toDay >= openDay) {
    for (const r of sql
      .exec<{ day: number; title_id: string; bytes: number }>(
        `SELECT play_day AS day, title_id, SUM(MIN(est_bytes, served)) AS bytes FROM session_views
         WHERE est_counted = 1 AND play_day BETWEEN ? AND ? GROUP BY play_day, title_id`,
        Math.max(fromDay, openDay),
        toDay,
      )
      .toArray()) {
      if (r.bytes > 0) add(r.day, r.title_id, r.bytes);
    }
  }
  return Object.fromEntries(out);
}
