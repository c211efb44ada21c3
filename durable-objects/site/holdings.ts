import type { TitleFile } from "./copy-file";
import { first, rows, run } from "./sql";

/**
 * What each OCA of the site holds, file by file. A row is 'filling' while its copy is being made
 * (it reserves the space) and 'ready' once the copy is verified; only ready rows count as held.
 */

export type FillSource = "peer" | "parent" | "origin";

/** A ready copy of a file somewhere: which OCA, with which checksum. */
export interface HeldFile {
  ocaId: string;
  sha256: string;
}

/** Bytes an OCA holds or has reserved. */
export function usedBytes(sql: SqlStorage, ocaId: string): number {
  return first<{ b: number | null }>(sql, `SELECT SUM(bytes) AS b FROM holdings WHERE oca_id = ?`, ocaId)?.b ?? 0;
}

/** The ready files of a title on an OCA: path -> sha256. */
export function readyFiles(sql: SqlStorage, ocaId: string, titleId: string): Map<string, string> {
  return new Map(
    rows<{ path: string; sha256: string }>(sql, `SELECT path, sha256 FROM holdings WHERE oca_id = ? AND title_id = ? AND state = 'ready'`, ocaId, titleId).map(
      (r) => [r.path, r.sha256],
    ),
  );
}

/** True when every file of the catalogue's current version is ready on the OCA with the catalogue's checksum. */
export function isComplete(ready: Map<string, string>, files: readonly TitleFile[]): boolean {
  return files.length > 0 && files.every((f) => ready.get(f.path) === f.sha256);
}

/** Titles with at least one row on any OCA of the site. */
export function heldTitles(sql: SqlStorage): string[] {
  return rows<{ title_id: string }>(sql, `SELECT DISTINCT title_id FROM holdings ORDER BY title_id`).map((r) => r.title_id);
}

/** (OCA, title) pairs with at least one row. */
export function heldPairs(sql: SqlStorage): Array<{ ocaId: string; titleId: string }> {
  return rows<{ oca_id: string; title_id: string }>(sql, `SELECT DISTINCT oca_id, title_id FROM holdings ORDER BY oca_id, title_id`).map((r) => ({
    ocaId: r.oca_id,
    titleId: r.title_id,
  }));
}

/** Which OCA holds a ready copy of each file of a title, with its checksum, among OCAs `usable` allows. */
export function holdersOf(sql: SqlStorage, titleId: string, usable: (ocaId: string) => boolean): Map<string, HeldFile> {
  const out = new Map<string, HeldFile>();
  for (const r of rows<{ path: string; oca_id: string; sha256: string }>(
    sql,
    `SELECT path, oca_id, sha256 FROM holdings WHERE title_id = ? AND state = 'ready' ORDER BY oca_id`,
    titleId,
  )) {
    if (usable(r.oca_id) && !out.has(r.path)) out.set(r.path, { ocaId: r.oca_id, sha256: r.sha256 });
  }
  return out;
}

/** A peer OCA (not `exceptOca`) holding a ready copy with this checksum. */
export function peersWithFile(sql: SqlStorage, titleId: string, file: TitleFile, exceptOca: string): string[] {
  return rows<{ oca_id: string }>(
    sql,
    `SELECT oca_id FROM holdings WHERE title_id = ? AND path = ? AND state = 'ready' AND sha256 = ? AND oca_id != ? ORDER BY oca_id`,
    titleId,
    file.path,
    file.sha256,
    exceptOca,
  ).map((r) => r.oca_id);
}

/** Reserves a file's space before its copy starts (replacing any older row for the path). */
export function reserve(sql: SqlStorage, ocaId: string, titleId: string, file: TitleFile, now: number): void {
  run(
    sql,
    `INSERT OR REPLACE INTO holdings (oca_id, title_id, path, bytes, sha256, state, source, updated_at) VALUES (?, ?, ?, ?, ?, 'filling', NULL, ?)`,
    ocaId,
    titleId,
    file.path,
    file.bytes,
    file.sha256,
    now,
  );
}

/** Marks a reserved file ready; false when its row is gone (evicted meanwhile), so the caller removes the bytes. */
export function markReady(sql: SqlStorage, ocaId: string, titleId: string, path: string, source: FillSource, now: number): boolean {
  return (
    run(
      sql,
      `UPDATE holdings SET state = 'ready', source = ?, updated_at = ? WHERE oca_id = ? AND title_id = ? AND path = ? AND state = 'filling'`,
      source,
      now,
      ocaId,
      titleId,
      path,
    ) > 0
  );
}

export function dropFile(sql: SqlStorage, ocaId: string, titleId: string, path: string): void {
  run(sql, `DELETE FROM holdings WHERE oca_id = ? AND title_id = ? AND path = ?`, ocaId, titleId, path);
}

export function dropTitle(sql: SqlStorage, ocaId: string, titleId: string): { files: number; bytes: number } {
  const r = first<{ files: number; bytes: number | null }>(
    sql,
    `SELECT COUNT(*) AS files, SUM(bytes) AS bytes FROM holdings WHERE oca_id = ? AND title_id = ?`,
    ocaId,
    titleId,
  )!;
  run(sql, `DELETE FROM holdings WHERE oca_id = ? AND title_id = ?`, ocaId, titleId);
  return { files: r.files, bytes: r.bytes ?? 0 };
}

/** Marks a title's rows on an OCA as being evicted: they stop counting as held, but still as used space. */
export function markEvicting(sql: SqlStorage, ocaId: string, titleId: string): void {
  run(sql, `UPDATE holdings SET state = 'evicting' WHERE oca_id = ? AND title_id = ?`, ocaId, titleId);
}

/** Rows left 'filling' by a copy that never finished, or 'evicting' by an eviction that was cut off. */
export function stranded(sql: SqlStorage): Array<{ ocaId: string; titleId: string; path: string }> {
  return rows<{ oca_id: string; title_id: string; path: string }>(
    sql,
    `SELECT oca_id, title_id, path FROM holdings WHERE state IN ('filling', 'evicting')`,
  ).map((r) => ({
    ocaId: r.oca_id,
    titleId: r.title_id,
    path: r.path,
  }));
}

/** Complete titles per OCA by the rows alone (no catalogue check): the planner's `current`. */
export function fullyReadyByOca(sql: SqlStorage, ocaIds: string[]): Record<string, string[]> {
  const out = new Map<string, string[]>(ocaIds.map((id) => [id, []]));
  for (const r of rows<{ oca_id: string; title_id: string }>(
    sql,
    `SELECT oca_id, title_id FROM holdings GROUP BY oca_id, title_id HAVING SUM(state != 'ready') = 0 ORDER BY oca_id, title_id`,
  )) {
    out.get(r.oca_id)?.push(r.title_id);
  }
  return Object.fromEntries(out);
}

/** Ready bytes copied, by source (every ready copy ever made here). */
export function bySource(sql: SqlStorage): Record<FillSource, { files: number; bytes: number }> {
  const out: Record<FillSource, { files: number; bytes: number }> = {
    peer: { files: 0, bytes: 0 },
    parent: { files: 0, bytes: 0 },
    origin: { files: 0, bytes: 0 },
  };
  for (const r of rows<{ source: string; files: number; bytes: number }>(
    sql,
    `SELECT source, COUNT(*) AS files, SUM(bytes) AS bytes FROM holdings WHERE state = 'ready' AND source IN ('peer', 'parent', 'origin') GROUP BY source`,
  )) {
    out[r.source as FillSource] = { files: r.files, bytes: r.bytes };
  }
  return out;
}
