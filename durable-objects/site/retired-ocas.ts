import { ocaKey } from "../../shared/file-keys";
import { MAX_SESSION_TTL_S } from "../../shared/session-life";
import { usedBytes } from "./holdings";
import { first, rows, run } from "./sql";

/**
 * OCAs that left the site (retired), and the clean-up of what each left: its rows here first, a batch
 * an alarm run (the object hides the OCA while any is left, even from a topology that still lists it or
 * lists it again, so an OCA re-added with the same id starts empty); then, once no session granted
 * before the retire can still ask for them (`keep_until`), its copies in the tier bucket, a batch of keys
 * an alarm run, found by listing its prefix (every key under it: copies, the probe object, anything a
 * cut-off copy left). A record stays, `done`, while the topology's list of retired OCAs names its retire,
 * so the same retire is not cleaned up twice.
 */

/** rows: its rows are being deleted; waiting: for its copies' time; copies: its copies are being deleted; done. */
export type RetiredStage = "rows" | "waiting" | "copies" | "done";

export const RETIRED_OCAS_SCHEMA = [
  // after_key: the last key of the OCA's prefix the copies' deletion has passed (the listing resumes after it).
  `CREATE TABLE IF NOT EXISTS retired_ocas (
     oca_id TEXT PRIMARY KEY, retired_at INTEGER NOT NULL, left_at_version INTEGER NOT NULL, keep_until INTEGER NOT NULL,
     stage TEXT NOT NULL, after_key TEXT NOT NULL DEFAULT '', files_left INTEGER NOT NULL, bytes_left INTEGER NOT NULL,
     done_at INTEGER) WITHOUT ROWID`,
];

/** Rows one alarm run deletes of retired OCAs; and keys of one OCA's copies (R2 deletes at most 1,000 a call). */
export const CLEANUP_BATCH = 1_000;

/**
 * How long copies are kept after a retire the object found by itself (its call from the admin API was
 * lost): the longest a session may live whatever SESSION_TTL_S says, as the object does not know the
 * configured lifetime.
 */
export const LONGEST_SESSION_MS = MAX_SESSION_TTL_S * 1000;

/**
 * Every table with rows per OCA, and the column that picks a batch of them (the rowid, or in a table
 * without one the rest of its primary key). Holdings first: their triggers keep `held_titles`,
 * `oca_used` and `ready_by_source`.
 */
export const OCA_TABLES: ReadonlyArray<{ table: string; key: string }> = [
  { table: "holdings", key: "rowid" },
  { table: "legacy_objects", key: "rowid" },
  { table: "fill_tasks", key: "rowid" },
  { table: "plan", key: "rowid" },
  { table: "misses", key: "rowid" },
  { table: "held_titles", key: "title_id" },
  { table: "oca_used", key: "oca_id" },
  { table: "oca_sessions", key: "rowid" },
  { table: "oca_traffic", key: "bucket" },
  { table: "oca_signals", key: "rowid" },
  { table: "oca_client_reporters", key: "reporter" },
  { table: "oca_reporter_sessions", key: "session_id" },
  { table: "health_transitions", key: "rowid" },
  { table: "oca_auto_health", key: "rowid" },
  { table: "oca_faults", key: "rowid" },
  { table: "oca_health", key: "rowid" },
  { table: "oca_capacity", key: "rowid" },
  { table: "oca_throughput", key: "rowid" },
  { table: "oca_load", key: "rowid" },
];

/** Tables with at most one row per OCA that every OCA the site has run has a row in soon: where OCAs with rows are looked for. */
const ONE_ROW_TABLES = ["oca_used", "oca_auto_health", "oca_health", "oca_capacity", "oca_throughput", "oca_load", "oca_faults"];

/** One retired OCA's clean-up. */
export interface RetiredOca {
  ocaId: string;
  retiredAt: number;
  /** The first topology version without the OCA: an older one that lists it is stale, and the OCA stays hidden. */
  leftAtVersion: number;
  /** Until when its copies are kept: sessions granted before the retire may ask for them until then. */
  keepUntil: number;
  stage: RetiredStage;
  afterKey: string;
  /** Copies it held by the site's rows when its clean-up began, less those deleted since. */
  filesLeft: number;
  bytesLeft: number;
}

type Row = {
  oca_id: string;
  retired_at: number;
  left_at_version: number;
  keep_until: number;
  stage: string;
  after_key: string;
  files_left: number;
  bytes_left: number;
};

const fromRow = (r: Row): RetiredOca => ({
  ocaId: r.oca_id,
  retiredAt: r.retired_at,
  leftAtVersion: r.left_at_version,
  keepUntil: r.keep_until,
  stage: r.stage as RetiredStage,
  afterKey: r.after_key,
  filesLeft: r.files_left,
  bytesLeft: r.bytes_left,
});

/** The record of an OCA's last retire, if any. */
export function retiredOf(sql: SqlStorage, ocaId: string): RetiredOca | undefined {
  const r = first<Row>(sql, `SELECT * FROM retired_ocas WHERE oca_id = ?`, ocaId);
  return r ? fromRow(r) : undefined;
}

/** Clean-ups not done yet, by OCA id (at most `limit`). */
export function pendingRetired(sql: SqlStorage, limit = 100): RetiredOca[] {
  return rows<Row>(sql, `SELECT * FROM retired_ocas WHERE stage != 'done' ORDER BY oca_id LIMIT ?`, limit).map(fromRow);
}

/**
 * Records a retire of an OCA (in the caller's transaction); true when its clean-up starts (or starts
 * again: a later retire of the same id). The same retire again only takes `keepUntil` when `exact` (the
 * admin API, which knows how long sessions live, says so), never from a guess; an older one is ignored.
 */
export function noteRetired(sql: SqlStorage, n: { ocaId: string; retiredAt: number; leftAtVersion: number; keepUntil: number; exact: boolean }): boolean {
  const r = retiredOf(sql, n.ocaId);
  if (r && n.retiredAt < r.retiredAt) return false;
  if (r && n.retiredAt === r.retiredAt) {
    if (n.exact && r.stage !== "done") {
      run(sql, `UPDATE retired_ocas SET keep_until = ?, left_at_version = MAX(left_at_version, ?) WHERE oca_id = ?`, n.keepUntil, n.leftAtVersion, n.ocaId);
    }
    return false;
  }
  // A clean-up under way (of an earlier retire of this id) goes on within this one: its copies are under the same prefix.
  const earlier = r && r.stage !== "done" ? r : undefined;
  const files =
    first<{ n: number }>(
      sql,
      `SELECT COALESCE((SELECT SUM(files) FROM held_titles WHERE oca_id = ?1), 0) + (SELECT COUNT(*) FROM legacy_objects WHERE oca_id = ?1) AS n`,
      n.ocaId,
    )?.n ?? 0;
  run(
    sql,
    `INSERT INTO retired_ocas (oca_id, retired_at, left_at_version, keep_until, stage, after_key, files_left, bytes_left, done_at)
     VALUES (?1, ?2, ?3, ?4, 'rows', '', ?5, ?6, NULL)
     ON CONFLICT (oca_id) DO UPDATE SET retired_at = ?2, left_at_version = ?3, keep_until = ?4, stage = 'rows', after_key = '',
       files_left = ?5, bytes_left = ?6, done_at = NULL`,
    n.ocaId,
    n.retiredAt,
    n.leftAtVersion,
    Math.max(n.keepUntil, earlier?.keepUntil ?? 0),
    files + (earlier?.filesLeft ?? 0),
    usedBytes(sql, n.ocaId) + (earlier?.bytesLeft ?? 0),
  );
  return true;
}

/**
 * Deletes up to `limit` of an OCA's rows across every per-OCA table (in the caller's transaction);
 * `more` when the limit was reached (the next batch finds whether any is left).
 */
export function dropRows(sql: SqlStorage, ocaId: string, limit = CLEANUP_BATCH): { deleted: number; more: boolean } {
  let deleted = 0;
  for (const { table, key } of OCA_TABLES) {
    if (deleted >= limit) return { deleted, more: true };
    run(sql, `DELETE FROM ${table} WHERE oca_id = ?1 AND ${key} IN (SELECT ${key} FROM ${table} WHERE oca_id = ?1 LIMIT ?2)`, ocaId, limit - deleted);
    // Rows the statement deleted itself, not its triggers' writes.
    deleted += first<{ n: number }>(sql, `SELECT changes() AS n`)?.n ?? 0;
  }
  // Its fill-rate budget (see fill-queue.ts).
  run(sql, `DELETE FROM meta WHERE key = ?`, `tokens:${ocaId}`);
  return { deleted, more: deleted >= limit };
}

/** Moves a clean-up to `stage`, if it is still the one of the retire at `retiredAt` (a later retire may have restarted it meanwhile). */
export function setStage(sql: SqlStorage, ocaId: string, retiredAt: number, stage: RetiredStage, now = Date.now()): void {
  run(
    sql,
    `UPDATE retired_ocas SET stage = ?, done_at = CASE WHEN ? = 'done' THEN ? ELSE NULL END,
       files_left = CASE WHEN ? = 'done' THEN 0 ELSE files_left END, bytes_left = CASE WHEN ? = 'done' THEN 0 ELSE bytes_left END,
       after_key = CASE WHEN ? = 'rows' THEN '' ELSE after_key END
     WHERE oca_id = ? AND retired_at = ?`,
    stage,
    stage,
    now,
    stage,
    stage,
    stage,
    ocaId,
    retiredAt,
  );
}

/** Notes a batch of copies deleted: the listing goes on after `afterKey`. */
export function noteDeleted(sql: SqlStorage, ocaId: string, retiredAt: number, afterKey: string, files: number, bytes: number): void {
  run(
    sql,
    `UPDATE retired_ocas SET after_key = ?, files_left = MAX(0, files_left - ?), bytes_left = MAX(0, bytes_left - ?)
     WHERE oca_id = ? AND retired_at = ? AND stage = 'copies'`,
    afterKey,
    files,
    bytes,
    ocaId,
    retiredAt,
  );
}

/** Forgets finished clean-ups whose retire the topology no longer lists (only those keep a retire from being cleaned up twice). */
export function forgetDone(sql: SqlStorage, listed: ReadonlySet<string>): void {
  run(sql, `DELETE FROM retired_ocas WHERE stage = 'done' AND oca_id NOT IN (SELECT value FROM json_each(?))`, JSON.stringify([...listed]));
}

/** OCAs with a row in the site's one-row-per-OCA tables. */
export function ocasWithRows(sql: SqlStorage): string[] {
  // One query a table: the platform's SQLite takes only a few terms in a compound SELECT.
  return [...new Set(ONE_ROW_TABLES.flatMap((t) => rows<{ oca_id: string }>(sql, `SELECT oca_id FROM ${t}`).map((r) => r.oca_id)))];
}

/** The keys of an OCA's copies of a title that its rows name (any state: a copy being made has its key reserved). */
export function keysHeld(sql: SqlStorage, siteId: string, ocaId: string, titleId: string): Set<string> {
  const keys = new Set(
    rows<{ path: string; sha256: string }>(sql, `SELECT path, sha256 FROM holdings WHERE oca_id = ? AND title_id = ?`, ocaId, titleId).map((f) =>
      ocaKey(siteId, ocaId, titleId, f.path, f.sha256),
    ),
  );
  for (const o of rows<{ path: string }>(sql, `SELECT path FROM legacy_objects WHERE oca_id = ? AND title_id = ?`, ocaId, titleId)) {
    keys.add(`${siteId}/${ocaId}/${titleId}/${o.path}`);
  }
  return keys;
}

/** Listed keys under an OCA's prefix grouped by the title segment that follows it (the probe object's `.probe` is a group of its own). */
export function byTitle<T extends { key: string }>(prefix: string, objects: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const o of objects) {
    const title = o.key.slice(prefix.length).split("/")[0];
    const group = out.get(title);
    if (group) group.push(o);
    else out.set(title, [o]);
  }
  return out;
}

/** What operators see of a clean-up: its stage now (`waiting` until its copies' time, then `copies`). */
export function stageAt(r: RetiredOca, now: number): RetiredStage {
  return r.stage === "waiting" && now >= r.keepUntil ? "copies" : r.stage;
}
