import { first, rows, run } from "./sql";

/**
 * The site's current fill plan: which titles each OCA should hold, ranked (0 first), and whether each
 * title's missing files are in the fill queue yet. A plan is applied as its titles (a few thousand rows
 * at most); their files (thousands per title) are queued a few titles at a time, in each OCA's order,
 * as the fill works through the queue (`OcaSite.queuePlanned`), so neither applying a plan nor one
 * alarm run reads or writes every file of every planned title.
 */

export const PLAN_QUEUE_SCHEMA = [
  `ALTER TABLE plan ADD COLUMN rank INTEGER NOT NULL DEFAULT 0`,
  // A plan applied before this migration had every file queued at once.
  `ALTER TABLE plan ADD COLUMN queued INTEGER NOT NULL DEFAULT 1`,
  `CREATE INDEX IF NOT EXISTS plan_to_queue ON plan (oca_id, queued, rank, title_id)`,
  `CREATE INDEX IF NOT EXISTS plan_by_title ON plan (title_id)`,
];

/** One title's place in an OCA's plan. */
export interface PlannedTitle {
  ocaId: string;
  titleId: string;
  rank: number;
}

/**
 * How far ahead of the fill the queue is kept: each OCA's queue is topped up to `files` tasks of queued
 * titles, a call looking at about `titles` planned titles (a round takes up to 8 per OCA that needs
 * more, so it may go past by one round) and reading about `catalogueRows` catalogue files (a round always
 * gets through its titles, however long).
 */
export interface QueueAhead {
  files: number;
  titles: number;
  catalogueRows: number;
}

/**
 * About four alarm runs of copying at a fast OCA's fill rate (4 s segments of a few MB, a run's 20 s):
 * the fill never waits for the queue, and a plan of 3,000 titles of 10,000 files each is queued over the
 * night rather than as 30 million rows at once.
 */
export const QUEUE_AHEAD: QueueAhead = { files: 2_000, titles: 32, catalogueRows: 40_000 };

/** Replaces the plan: every title unqueued, at its rank (the first rank wins for a title listed twice). */
export function replacePlan(sql: SqlStorage, titles: readonly PlannedTitle[]): void {
  run(sql, `DELETE FROM plan`);
  for (const t of titles) run(sql, `INSERT OR IGNORE INTO plan (oca_id, title_id, rank, queued) VALUES (?, ?, ?, 0)`, t.ocaId, t.titleId, t.rank);
}

/** The next `limit` titles of an OCA's plan whose files are not queued yet, in the plan's order. */
export function nextToQueue(sql: SqlStorage, ocaId: string, limit: number): PlannedTitle[] {
  return rows<{ title_id: string; rank: number }>(
    sql,
    `SELECT title_id, rank FROM plan WHERE oca_id = ? AND queued = 0 ORDER BY rank, title_id LIMIT ?`,
    ocaId,
    limit,
  ).map((r) => ({ ocaId, titleId: r.title_id, rank: r.rank }));
}

/** The title's rank when it is planned on the OCA and its files are not queued yet (another call may have queued it), else null. */
export function unqueuedRank(sql: SqlStorage, ocaId: string, titleId: string): number | null {
  return first<{ rank: number }>(sql, `SELECT rank FROM plan WHERE oca_id = ? AND title_id = ? AND queued = 0`, ocaId, titleId)?.rank ?? null;
}

export function markQueued(sql: SqlStorage, ocaId: string, titleId: string): void {
  run(sql, `UPDATE plan SET queued = 1 WHERE oca_id = ? AND title_id = ?`, ocaId, titleId);
}

/** Marks a planned title's files to be queued again (read afresh from the catalogue by the next queuing). */
export function requeue(sql: SqlStorage, ocaId: string, titleId: string): void {
  run(sql, `UPDATE plan SET queued = 0 WHERE oca_id = ? AND title_id = ? AND queued = 1`, ocaId, titleId);
}

/** True when the title is planned on the OCA and its files were queued under this plan. */
export function isQueued(sql: SqlStorage, ocaId: string, titleId: string): boolean {
  return !!first(sql, `SELECT 1 AS x FROM plan WHERE oca_id = ? AND title_id = ? AND queued = 1`, ocaId, titleId);
}

/**
 * True when the current plan puts the title on the OCA. What a caller decided about a title's copy
 * before an await (to evict it, to fill it) is checked again with this: a plan applied meanwhile may
 * keep it, or drop it.
 */
export function isPlanned(sql: SqlStorage, ocaId: string, titleId: string): boolean {
  return !!first(sql, `SELECT 1 AS x FROM plan WHERE oca_id = ? AND title_id = ?`, ocaId, titleId);
}

/** True while some planned title's files are still to be queued. */
export function anyUnqueued(sql: SqlStorage): boolean {
  return !!first(sql, `SELECT 1 AS x FROM plan WHERE queued = 0 LIMIT 1`);
}

/** Planned titles whose files are not queued yet, per OCA. */
export function unqueuedByOca(sql: SqlStorage): Map<string, number> {
  return new Map(
    rows<{ oca_id: string; n: number }>(sql, `SELECT oca_id, COUNT(*) AS n FROM plan WHERE queued = 0 GROUP BY oca_id`).map((r) => [r.oca_id, r.n]),
  );
}

/**
 * Tasks an OCA has queued that the fill may copy now: not parked, and of a title queued under the
 * current plan (a task left from an earlier plan waits until its title is queued again, which drops it
 * if a re-publish superseded it).
 */
export function queuedFiles(sql: SqlStorage, ocaId: string): number {
  return (
    first<{ n: number }>(
      sql,
      `SELECT COUNT(*) AS n FROM fill_tasks f JOIN plan p ON p.oca_id = f.oca_id AND p.title_id = f.title_id AND p.queued = 1
       WHERE f.oca_id = ? AND f.parked_at IS NULL`,
      ocaId,
    )?.n ?? 0
  );
}

/** True when a peer OCA plans the title ahead of `ocaId` (rank, then OCA id) and has not queued its files yet. */
export function earlierPeerToQueue(sql: SqlStorage, titleId: string, ocaId: string, rank: number): boolean {
  return !!first(
    sql,
    `SELECT 1 AS x FROM plan WHERE title_id = ?1 AND oca_id != ?2 AND queued = 0 AND (rank < ?3 OR (rank = ?3 AND oca_id < ?2)) LIMIT 1`,
    titleId,
    ocaId,
    rank,
  );
}

/** Planned titles per OCA (the dashboard's counts). */
export function plannedByOca(sql: SqlStorage): Record<string, number> {
  return Object.fromEntries(
    rows<{ oca_id: string; n: number }>(sql, `SELECT oca_id, COUNT(*) AS n FROM plan GROUP BY oca_id ORDER BY oca_id`).map((r) => [r.oca_id, r.n]),
  );
}

/** Where a page of the plan starts: after this (OCA, title), the plan's listing order. */
export interface PlanCursor {
  ocaId: string;
  titleId: string;
}

/**
 * A page of the plan by OCA then title id: at most `limit` rows after `after` (from the start without
 * it), and where the next page starts when more remain. A plan runs to every OCA's few thousand titles:
 * operators read it a page at a time.
 */
export function planPage(sql: SqlStorage, after: PlanCursor | null, limit: number): { rows: PlannedTitle[]; next?: PlanCursor } {
  type Row = { oca_id: string; title_id: string; rank: number };
  // One past the page: whether more remain, without counting them.
  const got = (
    after
      ? rows<Row>(
          sql,
          `SELECT oca_id, title_id, rank FROM plan WHERE oca_id > ?1 OR (oca_id = ?1 AND title_id > ?2) ORDER BY oca_id, title_id LIMIT ?3`,
          after.ocaId,
          after.titleId,
          limit + 1,
        )
      : rows<Row>(sql, `SELECT oca_id, title_id, rank FROM plan ORDER BY oca_id, title_id LIMIT ?`, limit + 1)
  ).map((r) => ({ ocaId: r.oca_id, titleId: r.title_id, rank: r.rank }));
  const page = got.slice(0, limit);
  const last = page.at(-1);
  return got.length > limit && last ? { rows: page, next: { ocaId: last.ocaId, titleId: last.titleId } } : { rows: page };
}
