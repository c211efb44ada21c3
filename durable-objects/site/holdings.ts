import type { TitleFile } from "./copy-file";
import { first, rows, run } from "./sql";

/**
 * What each OCA of the site holds, file by file. A file is a path with one content (its SHA-256),
 * so an OCA can hold two versions of a title side by side. A row is 'filling' while its copy is being
 * made (it reserves the space), 'ready' once the copy is verified, 'evicting' while it is removed;
 * only ready rows count as held.
 */

export type FillSource = "peer" | "parent" | "origin";

/** A ready copy of a file somewhere: which OCA, with which checksum. */
export interface HeldFile {
  ocaId: string;
  sha256: string;
}

/** One file of one OCA: the row's key. */
export interface FileRef {
  ocaId: string;
  titleId: string;
  path: string;
  sha256: string;
}

/** The identity of a file's content within a title, as a string (path and checksum). */
export const fileId = (f: { path: string; sha256: string }): string => `${f.sha256}:${f.path}`;

/**
 * Indexes for the lookups by title (a peer or a child site asking who holds a file) and a running
 * total of each OCA's bytes, kept by the database itself (triggers on every insert, delete and change
 * of a row), so the fill's "is there room" is one row read, not a sum over every file an OCA holds.
 */
export const HOLDINGS_SCALE_SCHEMA = [
  `CREATE INDEX IF NOT EXISTS holdings_by_title ON holdings (title_id, path, sha256)`,
  `CREATE TABLE IF NOT EXISTS oca_used (oca_id TEXT PRIMARY KEY, bytes INTEGER NOT NULL) WITHOUT ROWID`,
  `INSERT INTO oca_used (oca_id, bytes) SELECT oca_id, SUM(bytes) FROM holdings GROUP BY oca_id`,
  `CREATE TRIGGER holdings_used_insert AFTER INSERT ON holdings BEGIN
     INSERT INTO oca_used (oca_id, bytes) VALUES (NEW.oca_id, NEW.bytes) ON CONFLICT (oca_id) DO UPDATE SET bytes = bytes + excluded.bytes;
   END`,
  `CREATE TRIGGER holdings_used_delete AFTER DELETE ON holdings BEGIN
     UPDATE oca_used SET bytes = bytes - OLD.bytes WHERE oca_id = OLD.oca_id;
   END`,
  `CREATE TRIGGER holdings_used_update AFTER UPDATE OF oca_id, bytes ON holdings BEGIN
     UPDATE oca_used SET bytes = bytes - OLD.bytes WHERE oca_id = OLD.oca_id;
     INSERT INTO oca_used (oca_id, bytes) VALUES (NEW.oca_id, NEW.bytes) ON CONFLICT (oca_id) DO UPDATE SET bytes = bytes + excluded.bytes;
   END`,
];

/**
 * Each (OCA, title)'s rows summed (files, bytes, ready files), kept by triggers as `oca_used` is: what
 * the operators' view, the planner's holdings and the reconcile's title list read, one row per title
 * rather than every file an OCA holds. A pair with no rows left has no summary row.
 */
export const TITLE_SUMMARY_SCHEMA = [
  // complete_version: the version last found complete here (set by whoever checks against the catalogue),
  // forgotten by the triggers as soon as a ready row goes or stops being ready.
  `CREATE TABLE IF NOT EXISTS held_titles (
     oca_id TEXT NOT NULL, title_id TEXT NOT NULL, files INTEGER NOT NULL, bytes INTEGER NOT NULL, ready INTEGER NOT NULL,
     complete_version INTEGER, PRIMARY KEY (oca_id, title_id)) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS held_titles_by_title ON held_titles (title_id)`,
  `DELETE FROM held_titles`,
  `INSERT INTO held_titles (oca_id, title_id, files, bytes, ready)
     SELECT oca_id, title_id, COUNT(*), SUM(bytes), SUM(state = 'ready') FROM holdings GROUP BY oca_id, title_id`,
  `CREATE TRIGGER IF NOT EXISTS holdings_title_insert AFTER INSERT ON holdings BEGIN
     INSERT INTO held_titles (oca_id, title_id, files, bytes, ready) VALUES (NEW.oca_id, NEW.title_id, 1, NEW.bytes, NEW.state = 'ready')
       ON CONFLICT (oca_id, title_id) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes, ready = ready + excluded.ready;
   END`,
  `CREATE TRIGGER IF NOT EXISTS holdings_title_delete AFTER DELETE ON holdings BEGIN
     UPDATE held_titles SET files = files - 1, bytes = bytes - OLD.bytes, ready = ready - (OLD.state = 'ready'),
       complete_version = CASE WHEN OLD.state = 'ready' THEN NULL ELSE complete_version END
       WHERE oca_id = OLD.oca_id AND title_id = OLD.title_id;
     DELETE FROM held_titles WHERE oca_id = OLD.oca_id AND title_id = OLD.title_id AND files <= 0;
   END`,
  `CREATE TRIGGER IF NOT EXISTS holdings_title_update AFTER UPDATE OF oca_id, title_id, bytes, state ON holdings BEGIN
     UPDATE held_titles SET files = files - 1, bytes = bytes - OLD.bytes, ready = ready - (OLD.state = 'ready'),
       complete_version = CASE
         WHEN OLD.state = 'ready' AND NOT (NEW.state = 'ready' AND NEW.oca_id = OLD.oca_id AND NEW.title_id = OLD.title_id AND NEW.bytes = OLD.bytes)
         THEN NULL ELSE complete_version END
       WHERE oca_id = OLD.oca_id AND title_id = OLD.title_id;
     INSERT INTO held_titles (oca_id, title_id, files, bytes, ready) VALUES (NEW.oca_id, NEW.title_id, 1, NEW.bytes, NEW.state = 'ready')
       ON CONFLICT (oca_id, title_id) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes, ready = ready + excluded.ready;
     DELETE FROM held_titles WHERE oca_id = OLD.oca_id AND title_id = OLD.title_id AND files <= 0;
   END`,
  // Ready copies by the source they came from (the operators' "fills"), kept the same way.
  `CREATE TABLE IF NOT EXISTS ready_by_source (source TEXT PRIMARY KEY, files INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID`,
  `DELETE FROM ready_by_source`,
  `INSERT INTO ready_by_source (source, files, bytes) SELECT source, COUNT(*), SUM(bytes) FROM holdings WHERE state = 'ready' AND source IS NOT NULL GROUP BY source`,
  `CREATE TRIGGER IF NOT EXISTS holdings_source_insert AFTER INSERT ON holdings WHEN NEW.state = 'ready' AND NEW.source IS NOT NULL BEGIN
     INSERT INTO ready_by_source (source, files, bytes) VALUES (NEW.source, 1, NEW.bytes)
       ON CONFLICT (source) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
   END`,
  `CREATE TRIGGER IF NOT EXISTS holdings_source_delete AFTER DELETE ON holdings WHEN OLD.state = 'ready' AND OLD.source IS NOT NULL BEGIN
     UPDATE ready_by_source SET files = files - 1, bytes = bytes - OLD.bytes WHERE source = OLD.source;
   END`,
  `CREATE TRIGGER IF NOT EXISTS holdings_source_update AFTER UPDATE OF state, source, bytes ON holdings BEGIN
     UPDATE ready_by_source SET files = files - 1, bytes = bytes - OLD.bytes WHERE source = OLD.source AND OLD.state = 'ready';
     INSERT INTO ready_by_source (source, files, bytes) SELECT NEW.source, 1, NEW.bytes WHERE NEW.state = 'ready' AND NEW.source IS NOT NULL
       ON CONFLICT (source) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
   END`,
];

/** Rows a cut-off copy or eviction left (see `stranded`), found without reading every ready row: every alarm run asks. */
export const UNSETTLED_ROWS_SCHEMA = [`CREATE INDEX IF NOT EXISTS holdings_unsettled ON holdings (state) WHERE state IN ('filling', 'evicting')`];

/** An OCA's titles with any row: files, bytes and ready files of each, and the version last found complete (from the summary). */
export function titlesOn(
  sql: SqlStorage,
  ocaId: string,
): Array<{ titleId: string; files: number; bytes: number; ready: number; completeVersion: number | null }> {
  return rows<{ title_id: string; files: number; bytes: number; ready: number; complete_version: number | null }>(
    sql,
    `SELECT title_id, files, bytes, ready, complete_version FROM held_titles WHERE oca_id = ? ORDER BY title_id`,
    ocaId,
  ).map((r) => ({ titleId: r.title_id, files: r.files, bytes: r.bytes, ready: r.ready, completeVersion: r.complete_version }));
}

/** One (OCA, title)'s sums, if it has any row. */
export function heldSummary(sql: SqlStorage, ocaId: string, titleId: string): { files: number; ready: number; completeVersion: number | null } | undefined {
  const r = first<{ files: number; ready: number; complete_version: number | null }>(
    sql,
    `SELECT files, ready, complete_version FROM held_titles WHERE oca_id = ? AND title_id = ?`,
    ocaId,
    titleId,
  );
  return r ? { files: r.files, ready: r.ready, completeVersion: r.complete_version } : undefined;
}

/**
 * Records that an OCA holds every file of a title's version, as just checked against the catalogue with
 * no await since: kept until a ready row of the title goes (the triggers forget it).
 */
export function noteComplete(sql: SqlStorage, ocaId: string, titleId: string, version: number): void {
  run(sql, `UPDATE held_titles SET complete_version = ? WHERE oca_id = ? AND title_id = ?`, version, ocaId, titleId);
}

/** Bytes an OCA holds or has reserved (including copies from before content addressing, until they are deleted). */
export function usedBytes(sql: SqlStorage, ocaId: string): number {
  return (
    first<{ b: number | null }>(
      sql,
      `SELECT COALESCE((SELECT bytes FROM oca_used WHERE oca_id = ?1), 0) + COALESCE((SELECT SUM(bytes) FROM legacy_objects WHERE oca_id = ?1), 0) AS b`,
      ocaId,
    )?.b ?? 0
  );
}

/** True when the OCA holds this content ready (a copy made meanwhile by another path needs no second one). */
export function isReady(sql: SqlStorage, f: FileRef): boolean {
  return (
    rows(
      sql,
      `SELECT 1 AS x FROM holdings WHERE oca_id = ? AND title_id = ? AND path = ? AND sha256 = ? AND state = 'ready'`,
      f.ocaId,
      f.titleId,
      f.path,
      f.sha256,
    ).length > 0
  );
}

/** The ready files of a title on an OCA, as `fileId`s. */
export function readyFiles(sql: SqlStorage, ocaId: string, titleId: string): Set<string> {
  return new Set(
    rows<{ path: string; sha256: string }>(sql, `SELECT path, sha256 FROM holdings WHERE oca_id = ? AND title_id = ? AND state = 'ready'`, ocaId, titleId).map(
      fileId,
    ),
  );
}

/** True when every file of a version is ready on the OCA with the catalogue's checksum. */
export function isComplete(ready: ReadonlySet<string>, files: readonly TitleFile[]): boolean {
  return files.length > 0 && files.every((f) => ready.has(fileId(f)));
}

/** (OCA, title) pairs with at least one row, of these titles, with their sums. */
export function heldPairsOf(
  sql: SqlStorage,
  titleIds: readonly string[],
): Array<{ ocaId: string; titleId: string; files: number; ready: number; completeVersion: number | null }> {
  return rows<{ oca_id: string; title_id: string; files: number; ready: number; complete_version: number | null }>(
    sql,
    `SELECT oca_id, title_id, files, ready, complete_version FROM held_titles WHERE title_id IN (SELECT value FROM json_each(?)) ORDER BY oca_id, title_id`,
    JSON.stringify(titleIds),
  ).map((r) => ({ ocaId: r.oca_id, titleId: r.title_id, files: r.files, ready: r.ready, completeVersion: r.complete_version }));
}

/** Every ready file of a title on an OCA (path, checksum, bytes). */
export function readyRows(sql: SqlStorage, ocaId: string, titleId: string): Array<{ path: string; sha256: string; bytes: number }> {
  return rows<{ path: string; sha256: string; bytes: number }>(
    sql,
    `SELECT path, sha256, bytes FROM holdings WHERE oca_id = ? AND title_id = ? AND state = 'ready' ORDER BY path, sha256`,
    ocaId,
    titleId,
  );
}

/** Which OCA holds a ready copy of each file of a title (keyed by `fileId`), among OCAs `usable` allows. */
export function holdersOf(sql: SqlStorage, titleId: string, usable: (ocaId: string) => boolean): Map<string, HeldFile> {
  const out = new Map<string, HeldFile>();
  for (const r of rows<{ path: string; oca_id: string; sha256: string }>(
    sql,
    `SELECT path, oca_id, sha256 FROM holdings WHERE title_id = ? AND state = 'ready' ORDER BY oca_id`,
    titleId,
  )) {
    const id = fileId(r);
    if (usable(r.oca_id) && !out.has(id)) out.set(id, { ocaId: r.oca_id, sha256: r.sha256 });
  }
  return out;
}

/** Peer OCAs (not `exceptOca`) holding a ready copy of this content. */
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

/**
 * Reserves a file's space if the OCA has room for it (a row it already has is room already taken):
 * the check and the reservation with no await between, so two fills (an admin's, the alarm's) cannot
 * both take the last of an OCA's room. False when there is none.
 */
export function reserveWithin(sql: SqlStorage, ocaId: string, titleId: string, file: TitleFile, capacity: number, now: number): boolean {
  const held = rows(sql, `SELECT 1 AS x FROM holdings WHERE oca_id = ? AND title_id = ? AND path = ? AND sha256 = ?`, ocaId, titleId, file.path, file.sha256);
  if (held.length === 0 && usedBytes(sql, ocaId) + file.bytes > capacity) return false;
  reserve(sql, ocaId, titleId, file, now);
  return true;
}

/** Reserves a file's space before its copy starts (an upsert, not a REPLACE: a REPLACE's delete would not reach the used-bytes trigger). */
export function reserve(sql: SqlStorage, ocaId: string, titleId: string, file: TitleFile, now: number): void {
  run(
    sql,
    `INSERT INTO holdings (oca_id, title_id, path, sha256, bytes, state, source, updated_at) VALUES (?, ?, ?, ?, ?, 'filling', NULL, ?)
     ON CONFLICT (oca_id, title_id, path, sha256) DO UPDATE SET bytes = excluded.bytes, state = 'filling', source = NULL, updated_at = excluded.updated_at`,
    ocaId,
    titleId,
    file.path,
    file.sha256,
    file.bytes,
    now,
  );
}

/** Marks a reserved file ready; false when its row is gone (evicted meanwhile), so the caller removes the bytes. */
export function markReady(sql: SqlStorage, f: FileRef, source: FillSource, now: number): boolean {
  return (
    run(
      sql,
      `UPDATE holdings SET state = 'ready', source = ?, updated_at = ? WHERE oca_id = ? AND title_id = ? AND path = ? AND sha256 = ? AND state = 'filling'`,
      source,
      now,
      f.ocaId,
      f.titleId,
      f.path,
      f.sha256,
    ) > 0
  );
}

/** Gives back a reservation no copy filled (only a 'filling' row: a ready or evicting one stays). */
export function releaseReserved(sql: SqlStorage, f: FileRef): void {
  run(sql, `DELETE FROM holdings WHERE oca_id = ? AND title_id = ? AND path = ? AND sha256 = ? AND state = 'filling'`, f.ocaId, f.titleId, f.path, f.sha256);
}

export function dropFile(sql: SqlStorage, f: FileRef): void {
  run(sql, `DELETE FROM holdings WHERE oca_id = ? AND title_id = ? AND path = ? AND sha256 = ?`, f.ocaId, f.titleId, f.path, f.sha256);
}

export function dropTitle(sql: SqlStorage, ocaId: string, titleId: string): { files: number; bytes: number } {
  const r = first<{ files: number; bytes: number | null }>(
    sql,
    `SELECT COUNT(*) AS files, SUM(bytes) AS bytes FROM holdings WHERE oca_id = ? AND title_id = ?`,
    ocaId,
    titleId,
  )!;
  run(sql, `DELETE FROM holdings WHERE oca_id = ? AND title_id = ?`, ocaId, titleId);
  run(sql, `DELETE FROM legacy_objects WHERE oca_id = ? AND title_id = ?`, ocaId, titleId);
  return { files: r.files, bytes: r.bytes ?? 0 };
}

/** Marks a title's rows on an OCA as being evicted: they stop counting as held, but still as used space. */
export function markEvicting(sql: SqlStorage, ocaId: string, titleId: string): void {
  run(sql, `UPDATE holdings SET state = 'evicting' WHERE oca_id = ? AND title_id = ?`, ocaId, titleId);
}

/** Marks one file as being removed (a stale version's file): no longer held, still used space until its bytes go. */
export function markFileEvicting(sql: SqlStorage, f: FileRef): void {
  run(sql, `UPDATE holdings SET state = 'evicting' WHERE oca_id = ? AND title_id = ? AND path = ? AND sha256 = ?`, f.ocaId, f.titleId, f.path, f.sha256);
}

/** Rows left 'filling' by a copy that never finished, or 'evicting' by an eviction that was cut off. */
export function stranded(sql: SqlStorage, limit = 1_000): FileRef[] {
  return rows<{ oca_id: string; title_id: string; path: string; sha256: string }>(
    sql,
    `SELECT oca_id, title_id, path, sha256 FROM holdings WHERE state IN ('filling', 'evicting') LIMIT ?`,
    limit,
  ).map((r) => ({ ocaId: r.oca_id, titleId: r.title_id, path: r.path, sha256: r.sha256 }));
}

/** Whether a file's row is still half-made or half-evicted (a copy may have taken it up since it was listed). */
export function isStranded(sql: SqlStorage, f: FileRef): boolean {
  return (
    rows<{ n: number }>(
      sql,
      `SELECT COUNT(*) AS n FROM holdings WHERE oca_id = ? AND title_id = ? AND path = ? AND sha256 = ? AND state IN ('filling', 'evicting')`,
      f.ocaId,
      f.titleId,
      f.path,
      f.sha256,
    )[0].n > 0
  );
}

/** Copies made before content addressing, still to delete (key without a content tag). */
export function legacyObjects(sql: SqlStorage): Array<{ ocaId: string; titleId: string; path: string }> {
  return rows<{ oca_id: string; title_id: string; path: string }>(sql, `SELECT oca_id, title_id, path FROM legacy_objects LIMIT 500`).map((r) => ({
    ocaId: r.oca_id,
    titleId: r.title_id,
    path: r.path,
  }));
}

export function dropLegacy(sql: SqlStorage, o: { ocaId: string; titleId: string; path: string }): void {
  run(sql, `DELETE FROM legacy_objects WHERE oca_id = ? AND title_id = ? AND path = ?`, o.ocaId, o.titleId, o.path);
}

/**
 * Titles per OCA held, by the rows alone (no catalogue check): the planner's `current`, which weighs
 * where copies already are, never where viewers are sent (steering lists only copies checked complete
 * against the catalogue: see OcaSite.publishIfComplete). A title counts while any of its files is ready
 * there: one only partly copied (its fill cut short, or under way) keeps its place and is finished
 * where its bytes are, and a complete one keeps it while a stale file of an older version is being
 * removed (the other rows being filled or removed do not hide it). A title being evicted has no ready
 * row left. A title re-published since counts as held; the plan then queues its changed files.
 */
export function heldByOca(sql: SqlStorage, ocaIds: string[]): Record<string, string[]> {
  const out = new Map<string, string[]>(ocaIds.map((id) => [id, []]));
  for (const r of rows<{ oca_id: string; title_id: string }>(sql, `SELECT oca_id, title_id FROM held_titles WHERE ready > 0 ORDER BY oca_id, title_id`)) {
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
    `SELECT source, files, bytes FROM ready_by_source WHERE source IN ('peer', 'parent', 'origin')`,
  )) {
    out[r.source as FillSource] = { files: r.files, bytes: r.bytes };
  }
  return out;
}
