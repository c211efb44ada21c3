import type { TitleFile } from "./copy-file";
import { fileId, type FillSource } from "./holdings";
import { first, getMeta, rows, run, setMeta } from "./sql";

/**
 * The site's fill queue: files still to copy under the plan. A copy that fails backs off
 * exponentially (capped), the source it failed from is skipped on the next try (so the fill
 * escalates peer -> parent -> origin), and after MAX_ATTEMPTS, the last from origin, the task is parked
 * with its reason for operators. Every byte read, failed or not, is charged to the OCA's fill-rate budget.
 */

export const MAX_ATTEMPTS = 5;
export const BACKOFF_BASE_MS = 2_000;
export const BACKOFF_CAP_MS = 5 * 60_000;

export interface FillTask extends TitleFile {
  ocaId: string;
  titleId: string;
  createdAt: number;
  attempts: number;
  /** Sources that failed for this task ("peer:{oca}", "parent:{site}", "origin"). */
  failedSources: string[];
  /** Its title's rank in its OCA's plan (0 first): the order the fill copies in. */
  priority: number;
}

export interface ParkedTask {
  ocaId: string;
  titleId: string;
  path: string;
  attempts: number;
  lastError: string | null;
  parkedAt: number;
}

/** Delay before attempt `attempts + 1` after `attempts` failures: 2 s, 4 s, 8 s … capped at 5 min. */
export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

type TaskRow = {
  oca_id: string;
  title_id: string;
  path: string;
  bytes: number;
  sha256: string;
  priority: number;
  created_at: number;
  attempts: number;
  failed_sources: string;
};
const toTask = (r: TaskRow): FillTask => ({
  ocaId: r.oca_id,
  titleId: r.title_id,
  path: r.path,
  bytes: r.bytes,
  sha256: r.sha256,
  createdAt: r.created_at,
  attempts: r.attempts,
  failedSources: r.failed_sources ? r.failed_sources.split(",") : [],
  priority: r.priority,
});

/**
 * Queues a file for an OCA at `priority` (its title's rank in the OCA's plan, 0 first). A file already
 * queued keeps its age and attempts and takes the new rank: a re-plan re-orders what is left.
 */
export function enqueue(sql: SqlStorage, ocaId: string, titleId: string, file: TitleFile, now: number, priority = 0): void {
  run(
    sql,
    `INSERT INTO fill_tasks (oca_id, title_id, path, bytes, sha256, created_at, priority) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (oca_id, title_id, path, sha256) DO UPDATE SET priority = excluded.priority`,
    ocaId,
    titleId,
    file.path,
    file.bytes,
    file.sha256,
    now,
    priority,
  );
}

/** Drops queued files of (OCA, title) pairs that left the plan. */
export function dropUnplanned(sql: SqlStorage): void {
  run(sql, `DELETE FROM fill_tasks WHERE NOT EXISTS (SELECT 1 FROM plan WHERE plan.oca_id = fill_tasks.oca_id AND plan.title_id = fill_tasks.title_id)`);
}

/**
 * Due tasks one read holds at most: about what one alarm run copies in its 20 s at each OCA's fill
 * rate, so a run that copies reads one page, whatever the queue's length.
 */
export const DUE_TASKS_PAGE = 500;

/**
 * Tasks whose backoff has passed and that are not parked, in the plan's order (each title's rank on its
 * OCA, then oldest first), read `pageSize` at a time (through `fill_tasks_by_rank`) as the caller goes
 * on: memory stays one page, and tasks behind ones that wait or whose OCA's budget is spent are still
 * reached. A task changed meanwhile may be yielded as it was, or missed until the next run; the caller
 * re-reads it.
 */
export function* dueTasks(sql: SqlStorage, now: number, pageSize = DUE_TASKS_PAGE): Generator<FillTask> {
  // Before every task: a rank is never negative, nor is created_at (a time).
  let after: TaskRow = { priority: -1, created_at: -1, title_id: "", oca_id: "", path: "", sha256: "", bytes: 0, attempts: 0, failed_sources: "" };
  for (;;) {
    const page = rows<TaskRow>(
      sql,
      `SELECT oca_id, title_id, path, bytes, sha256, priority, created_at, attempts, failed_sources FROM fill_tasks
       WHERE (priority, created_at, title_id, oca_id, path, sha256) > (?, ?, ?, ?, ?, ?) AND parked_at IS NULL AND next_at <= ?
       ORDER BY priority, created_at, title_id, oca_id, path, sha256 LIMIT ?`,
      after.priority,
      after.created_at,
      after.title_id,
      after.oca_id,
      after.path,
      after.sha256,
      now,
      pageSize,
    );
    for (const r of page) yield toTask(r);
    if (page.length < pageSize) return;
    after = page[page.length - 1];
  }
}

/**
 * The titles of the due tasks from `from` on (it included), in the fill's order, looking at `pageSize`
 * tasks at most: what one catalogue read checks ahead of the copies (see OcaSite.fillRun).
 */
export function dueTitlesFrom(sql: SqlStorage, from: FillTask, now: number, pageSize = DUE_TASKS_PAGE): string[] {
  return rows<{ title_id: string }>(
    sql,
    `SELECT DISTINCT title_id FROM (
       SELECT title_id FROM fill_tasks
       WHERE (priority, created_at, title_id, oca_id, path, sha256) >= (?, ?, ?, ?, ?, ?) AND parked_at IS NULL AND next_at <= ?
       ORDER BY priority, created_at, title_id, oca_id, path, sha256 LIMIT ?)`,
    from.priority,
    from.createdAt,
    from.titleId,
    from.ocaId,
    from.path,
    from.sha256,
    now,
    pageSize,
  ).map((r) => r.title_id);
}

/** Drops every task of a title, on every OCA, parked ones too (the catalogue no longer lists it as live: nothing of it is to be copied). */
export function dropTitle(sql: SqlStorage, titleId: string): number {
  return run(sql, `DELETE FROM fill_tasks WHERE title_id = ?`, titleId);
}

/** A task's key: one content of one file for one OCA. */
type TaskRef = { ocaId: string; titleId: string; path: string; sha256: string };

/** The task as it is now (another call may have finished, re-queued or dropped it meanwhile). */
export function currentTask(sql: SqlStorage, t: TaskRef): FillTask | undefined {
  const r = first<TaskRow>(
    sql,
    `SELECT oca_id, title_id, path, bytes, sha256, priority, created_at, attempts, failed_sources FROM fill_tasks
     WHERE oca_id = ? AND title_id = ? AND path = ? AND sha256 = ? AND parked_at IS NULL`,
    t.ocaId,
    t.titleId,
    t.path,
    t.sha256,
  );
  return r ? toTask(r) : undefined;
}

/**
 * True while a peer whose task for the file comes first in the fill's order (its title ranked higher in
 * its OCA's plan, or as high with a lower OCA id) still has it queued under the current plan (a task
 * left from an earlier plan waits for its title to be queued again, with its new rank): that one
 * fetches upstream, the rest wait for its copy. Ordered as the fill copies, so the one that fetches is never the one left
 * waiting behind lower-ranked work.
 */
export function earlierPeerQueued(sql: SqlStorage, titleId: string, file: TitleFile, ocaId: string, priority = 0): boolean {
  return !!first(
    sql,
    `SELECT 1 AS x FROM fill_tasks f WHERE title_id = ?1 AND path = ?2 AND sha256 = ?3 AND oca_id != ?4
       AND (priority < ?5 OR (priority = ?5 AND oca_id < ?4)) AND parked_at IS NULL
       AND EXISTS (SELECT 1 FROM plan p WHERE p.oca_id = f.oca_id AND p.title_id = f.title_id AND p.queued = 1) LIMIT 1`,
    titleId,
    file.path,
    file.sha256,
    ocaId,
    priority,
  );
}

/** Drops every task an OCA has of a title (it holds the title complete: nothing is left to copy). */
export function dropTasksOf(sql: SqlStorage, ocaId: string, titleId: string): void {
  run(sql, `DELETE FROM fill_tasks WHERE oca_id = ? AND title_id = ?`, ocaId, titleId);
}

/** True while the OCA has any task of the title queued (parked ones included: their files are still missing). */
export function anyQueued(sql: SqlStorage, ocaId: string, titleId: string): boolean {
  return !!first(sql, `SELECT 1 AS x FROM fill_tasks WHERE oca_id = ? AND title_id = ? LIMIT 1`, ocaId, titleId);
}

export function complete(sql: SqlStorage, t: TaskRef): void {
  run(sql, `DELETE FROM fill_tasks WHERE oca_id = ? AND title_id = ? AND path = ? AND sha256 = ?`, t.ocaId, t.titleId, t.path, t.sha256);
}

/** Drops queued files of a title that are not in `keep` (fileIds of its current version): a re-publish superseded them. */
export function dropSuperseded(sql: SqlStorage, titleId: string, keep: ReadonlySet<string>): void {
  for (const r of rows<{ oca_id: string; path: string; sha256: string }>(sql, `SELECT oca_id, path, sha256 FROM fill_tasks WHERE title_id = ?`, titleId)) {
    if (!keep.has(fileId(r))) complete(sql, { ocaId: r.oca_id, titleId, path: r.path, sha256: r.sha256 });
  }
}

/**
 * Records a failed attempt: back off, skip the source next time, park after MAX_ATTEMPTS once origin has
 * failed too. Returns true when parked. A peer or parent is skipped after it fails once, so they cost a
 * bounded number of attempts; counting them towards parking would park a file that more than
 * MAX_ATTEMPTS peers and parents hold without ever trying origin.
 */
export function fail(sql: SqlStorage, t: FillTask, sourceLabel: string, error: string, now: number): boolean {
  const attempts = t.attempts + 1;
  const failed = [...new Set([...t.failedSources, sourceLabel])].join(",");
  const parked = attempts >= MAX_ATTEMPTS && sourceLabel === "origin";
  run(
    sql,
    `UPDATE fill_tasks SET attempts = ?, last_error = ?, failed_sources = ?, next_at = ?, parked_at = ? WHERE oca_id = ? AND title_id = ? AND path = ? AND sha256 = ?`,
    attempts,
    error.slice(0, 500),
    failed,
    now + backoffMs(attempts),
    parked ? now : null,
    t.ocaId,
    t.titleId,
    t.path,
    t.sha256,
  );
  return parked;
}

/** How long a task waits when its OCA has no room for it: an eviction or the next plan must free it first. */
export const NO_ROOM_RETRY_MS = 60_000;

/**
 * Puts a task off by NO_ROOM_RETRY_MS because its OCA has no room: no byte was read, so neither its
 * attempts, its sources nor the fill-rate budget are charged, and the alarm does not come back for it
 * every second.
 */
export function deferNoRoom(sql: SqlStorage, t: TaskRef, error: string, now: number): void {
  run(
    sql,
    `UPDATE fill_tasks SET last_error = ?, next_at = ? WHERE oca_id = ? AND title_id = ? AND path = ? AND sha256 = ?`,
    error.slice(0, 500),
    now + NO_ROOM_RETRY_MS,
    t.ocaId,
    t.titleId,
    t.path,
    t.sha256,
  );
}

/**
 * Parked tasks the operators' views list at most: a broken origin can park every file of a night's plan
 * (hundreds of thousands at a national site), which no answer should carry; `parkedCount` says how many.
 */
export const PARKED_LISTED_MAX = 100;

/** Parked tasks with their reason, for operators: the first `limit` by OCA, title and path. */
export function parkedTasks(sql: SqlStorage, limit = PARKED_LISTED_MAX): ParkedTask[] {
  return rows<{ oca_id: string; title_id: string; path: string; attempts: number; last_error: string | null; parked_at: number }>(
    sql,
    `SELECT oca_id, title_id, path, attempts, last_error, parked_at FROM fill_tasks WHERE parked_at IS NOT NULL ORDER BY oca_id, title_id, path LIMIT ?`,
    limit,
  ).map((r) => ({ ocaId: r.oca_id, titleId: r.title_id, path: r.path, attempts: r.attempts, lastError: r.last_error, parkedAt: r.parked_at }));
}

/** How many tasks are parked (the dashboard's count). */
export function parkedCount(sql: SqlStorage): number {
  return first<{ n: number }>(sql, `SELECT COUNT(*) AS n FROM fill_tasks WHERE parked_at IS NOT NULL`)?.n ?? 0;
}

/**
 * Files and bytes queued to copy per OCA (parked ones included: they are still missing), and the planned
 * titles whose files are still to be queued (`titlesToQueue`, from the plan).
 */
export function pendingByOca(
  sql: SqlStorage,
  titlesToQueue: ReadonlyMap<string, number> = new Map(),
): Array<{ ocaId: string; files: number; bytes: number; parked: number; titlesToQueue: number }> {
  const out = rows<{ oca_id: string; files: number; bytes: number; parked: number }>(
    sql,
    `SELECT oca_id, COUNT(*) AS files, SUM(bytes) AS bytes, SUM(parked_at IS NOT NULL) AS parked FROM fill_tasks GROUP BY oca_id ORDER BY oca_id`,
  ).map((r) => ({ ocaId: r.oca_id, files: r.files, bytes: r.bytes, parked: r.parked, titlesToQueue: titlesToQueue.get(r.oca_id) ?? 0 }));
  for (const [ocaId, n] of titlesToQueue) if (!out.some((p) => p.ocaId === ocaId)) out.push({ ocaId, files: 0, bytes: 0, parked: 0, titlesToQueue: n });
  return out.sort((a, b) => (a.ocaId < b.ocaId ? -1 : a.ocaId > b.ocaId ? 1 : 0));
}

/** Earliest time a task becomes due, or null when nothing is queued but parked tasks. */
export function nextDue(sql: SqlStorage): number | null {
  return first<{ t: number | null }>(sql, `SELECT MIN(next_at) AS t FROM fill_tasks WHERE parked_at IS NULL`)?.t ?? null;
}

// ---- fill-rate budget: a token bucket per OCA, in bytes, kept in meta ------------------------------

const BURST_S = 5;

/** Refills every OCA's bucket for the time since the last refill; returns nothing, state is in meta. */
export function refillBudget(sql: SqlStorage, ocaIds: string[], rateBytesPerS: number, now: number): void {
  const last = Number(getMeta(sql, "last_tick") ?? now);
  for (const id of ocaIds) {
    const have = Number(getMeta(sql, `tokens:${id}`) ?? rateBytesPerS);
    setMeta(sql, `tokens:${id}`, Math.min(rateBytesPerS * BURST_S, have + (rateBytesPerS * Math.max(0, now - last)) / 1000));
  }
  setMeta(sql, "last_tick", now);
}

export function budgetLeft(sql: SqlStorage, ocaId: string): number {
  return Number(getMeta(sql, `tokens:${ocaId}`) ?? 0);
}

/** Charges bytes read for an OCA's fill (copied or failed) against its bucket. */
export function charge(sql: SqlStorage, ocaId: string, bytes: number): void {
  setMeta(sql, `tokens:${ocaId}`, budgetLeft(sql, ocaId) - bytes);
}

export function resetBudget(sql: SqlStorage, ocaIds: string[], now: number): void {
  for (const id of ocaIds) setMeta(sql, `tokens:${id}`, null);
  setMeta(sql, "last_tick", now);
}

/** Adds one copy to the cycle's counters (read-modify-write with no await between). */
export function countDone(sql: SqlStorage, source: FillSource, bytes: number): void {
  const done = JSON.parse(getMeta(sql, "cycle_done") ?? "null") ?? {
    peer: { files: 0, bytes: 0 },
    parent: { files: 0, bytes: 0 },
    origin: { files: 0, bytes: 0 },
  };
  done[source].files++;
  done[source].bytes += bytes;
  setMeta(sql, "cycle_done", JSON.stringify(done));
}
