import type { ValidTitleRegistration } from "../../shared/catalogue";
import { steeringTable, type CandidateRow } from "./steering-table";

/**
 * D1's catalogue tables (titles, renditions, files, licences, plans): every statement against them
 * lives here. The control plane reads them on play, browse and planning and writes them on
 * registration; site objects read a title's files.
 */

export interface TitleRow {
  id: string;
  name: string;
  description: string;
  release_year: number | null;
  duration_s: number;
  available_from: number;
  live_min_copies: number | null;
}

export interface RenditionRow {
  id: string;
  kind: "video" | "audio" | "subtitle";
  codec: string;
  width: number | null;
  height: number | null;
  bandwidth: number;
  language: string | null;
  label: string | null;
}

export interface LicenceRow {
  country: string;
  available_from: number;
  available_until: number | null;
}

/** A file of a title as the catalogue lists it. */
export interface CatalogueFile {
  path: string;
  bytes: number;
  sha256: string;
}

export const catalogueDb = {
  /** Everything the play request needs, in one D1 round trip. */
  async playContext(db: D1Database, titleId: string, country: string | null, planId: string) {
    const [title, licence, plan, renditions, holders] = await db.batch([
      db.prepare(`SELECT id, name, description, release_year, duration_s, available_from, live_min_copies FROM titles WHERE id = ?`).bind(titleId),
      db.prepare(`SELECT country, available_from, available_until FROM licences WHERE title_id = ? AND country = ?`).bind(titleId, country ?? ""),
      db.prepare(`SELECT id, max_height, max_streams FROM plans WHERE id = ?`).bind(planId),
      db
        .prepare(`SELECT id, kind, codec, width, height, bandwidth, language, label FROM renditions WHERE title_id = ? ORDER BY kind, height, id`)
        .bind(titleId),
      steeringTable.candidates(db, titleId),
    ]);
    return {
      title: (title.results[0] as TitleRow | undefined) ?? null,
      licence: (licence.results[0] as LicenceRow | undefined) ?? null,
      plan: (plan.results[0] as { id: string; max_height: number; max_streams: number } | undefined) ?? null,
      renditions: renditions.results as unknown as RenditionRow[],
      candidates: holders.results as unknown as CandidateRow[],
    };
  },

  /** Titles playable now in a country, with their languages and top height (the browse list). */
  async browse(db: D1Database, country: string, now: number) {
    const { results } = await db
      .prepare(
        `SELECT t.id, t.name, t.description, t.release_year, t.duration_s, MAX(t.available_from, l.available_from) AS available_from,
            (SELECT json_group_array(json_object('language', language, 'label', label)) FROM renditions r WHERE r.title_id = t.id AND r.kind = 'audio') AS audio,
            (SELECT json_group_array(json_object('language', language, 'label', label)) FROM renditions r WHERE r.title_id = t.id AND r.kind = 'subtitle') AS subtitles,
            (SELECT MAX(height) FROM renditions r WHERE r.title_id = t.id AND r.kind = 'video') AS max_height
     FROM titles t JOIN licences l ON l.title_id = t.id AND l.country = ?1
     WHERE t.available_from <= ?2 AND l.available_from <= ?2 AND (l.available_until IS NULL OR l.available_until > ?2)
     ORDER BY t.name`,
      )
      .bind(country, now)
      .all<
        Omit<TitleRow, "live_min_copies"> & {
          audio: string;
          subtitles: string;
          max_height: number | null;
        }
      >();
    return results;
  },

  /** Which of these title ids the catalogue knows. */
  async knownTitles(db: D1Database, titleIds: string[]): Promise<Set<string>> {
    const { results } = await db
      .prepare(`SELECT id FROM titles WHERE id IN (SELECT value FROM json_each(?))`)
      .bind(JSON.stringify(titleIds))
      .all<{ id: string }>();
    return new Set(results.map((r) => r.id));
  },

  /** The lowest video bandwidth of a title (the steering server's "too slow" threshold). */
  async lowestVideoBandwidth(db: D1Database, titleId: string): Promise<number | null> {
    const row = await db
      .prepare(`SELECT MIN(bandwidth) AS b FROM renditions WHERE title_id = ? AND kind = 'video'`)
      .bind(titleId)
      .first<{ b: number | null }>();
    return row?.b ?? null;
  },

  /** The files of titles (path, bytes, sha256), per title. */
  async files(db: D1Database, titleIds: string[]): Promise<Map<string, CatalogueFile[]>> {
    const files = new Map<string, CatalogueFile[]>();
    if (titleIds.length === 0) return files;
    const { results } = await db
      .prepare(`SELECT title_id, path, bytes, sha256 FROM files WHERE title_id IN (SELECT value FROM json_each(?)) ORDER BY title_id, path`)
      .bind(JSON.stringify(titleIds))
      .all<CatalogueFile & { title_id: string }>();
    for (const f of results) {
      let list = files.get(f.title_id);
      if (!list) files.set(f.title_id, (list = []));
      list.push({ path: f.path, bytes: f.bytes, sha256: f.sha256 });
    }
    return files;
  },

  /** Titles a site may hold tomorrow: licensed in its country then, launched by then; with sizes and launch times. */
  async eligible(db: D1Database, country: string, tomorrowStart: number, tomorrowEnd: number) {
    const { results } = await db
      .prepare(
        `SELECT t.id, t.available_from, (SELECT SUM(bytes) FROM files f WHERE f.title_id = t.id) AS bytes
     FROM titles t JOIN licences l ON l.title_id = t.id AND l.country = ?1
     WHERE t.available_from < ?3 AND l.available_from < ?3 AND (l.available_until IS NULL OR l.available_until > ?2)`,
      )
      .bind(country, tomorrowStart, tomorrowEnd)
      .all<{ id: string; available_from: number; bytes: number | null }>();
    return results.filter((r) => (r.bytes ?? 0) > 0);
  },

  /** Registers (or replaces) a title: metadata, renditions, files and licences, in one transaction. */
  async register(db: D1Database, titleId: string, t: ValidTitleRegistration): Promise<void> {
    const now = Date.now();
    const stmts = [
      db
        .prepare(
          `INSERT INTO titles (id, name, description, release_year, duration_s, available_from, live_min_copies, encoding_json, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, release_year = excluded.release_year,
           duration_s = excluded.duration_s, available_from = excluded.available_from, live_min_copies = excluded.live_min_copies, encoding_json = excluded.encoding_json,
           updated_at = excluded.updated_at`,
        )
        .bind(
          titleId,
          t.name,
          t.description,
          t.releaseYear ?? null,
          t.durationS,
          t.availableFrom ? Date.parse(t.availableFrom) : 0,
          t.liveMinCopies ?? null,
          t.encoding ? JSON.stringify(t.encoding) : null,
          now,
        ),
      db.prepare(`DELETE FROM renditions WHERE title_id = ?`).bind(titleId),
      db.prepare(`DELETE FROM files WHERE title_id = ?`).bind(titleId),
      db.prepare(`DELETE FROM licences WHERE title_id = ?`).bind(titleId),
      ...t.renditions.map((r) =>
        db
          .prepare(`INSERT INTO renditions (title_id, id, kind, codec, width, height, bandwidth, language, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
          .bind(titleId, r.id, r.kind, r.codec, r.width ?? null, r.height ?? null, r.bandwidth, r.language ?? null, r.label ?? null),
      ),
      ...t.files.map((f) => db.prepare(`INSERT INTO files (title_id, path, bytes, sha256) VALUES (?, ?, ?, ?)`).bind(titleId, f.path, f.bytes, f.sha256)),
      ...t.licences.map((l) =>
        db
          .prepare(`INSERT INTO licences (title_id, country, available_from, available_until) VALUES (?, ?, ?, ?)`)
          .bind(titleId, l.country, Date.parse(l.availableFrom), l.availableUntil ? Date.parse(l.availableUntil) : null),
      ),
    ];
    await db.batch(stmts);
  },

  /** A title as registered, for operators; null when unknown. */
  async describe(db: D1Database, titleId: string) {
    const [title, renditions, files, licences] = await db.batch([
      db.prepare(`SELECT * FROM titles WHERE id = ?`).bind(titleId),
      db.prepare(`SELECT * FROM renditions WHERE title_id = ? ORDER BY kind, height, id`).bind(titleId),
      db.prepare(`SELECT COUNT(*) AS files, SUM(bytes) AS bytes FROM files WHERE title_id = ?`).bind(titleId),
      db.prepare(`SELECT country, available_from, available_until FROM licences WHERE title_id = ? ORDER BY country`).bind(titleId),
    ]);
    const row = title.results[0] as Record<string, unknown> | undefined;
    if (!row) return null;
    return { row, renditions: renditions.results, files: files.results[0], licences: licences.results };
  },
};
