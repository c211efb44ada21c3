import type { OcaHealth, OcaLive } from "./site-view";
import type { D1Reads } from "./replica-reads";

/**
 * The D1 steering view: the contract between each site's Durable Object (its only writer) and the
 * play and steering requests (its readers). `oca_titles` lists an OCA for a title version only while
 * the OCA holds every file of that version, verified, and the version is live (current, or still
 * played by sessions that started on it); `oca_status` carries each OCA's health
 * and last published load. Every statement against these two tables lives here (and oca_holdings,
 * per OCA the titles and bytes listed, which triggers on oca_titles keep).
 */

/** A title's steering candidates: OCAs with a complete copy, with health and load as last published. */
export type CandidateRow = { siteId: string; ocaId: string; health: string; load: number; updatedAt: number };

/** A copy listed in the view. */
export interface ListedCopy {
  ocaId: string;
  titleId: string;
  version: number;
  files: number;
  bytes: number;
}

export const steeringTable = {
  /**
   * Reader: the candidates of one title version, null meaning the title's current version (one
   * statement, so play can batch it with its other reads).
   */
  candidates(db: D1Reads, titleId: string, version: number | null): D1PreparedStatement {
    return db
      .prepare(
        `SELECT t.site_id AS siteId, t.oca_id AS ocaId, COALESCE(s.health, 'healthy') AS health, COALESCE(s.load, 0) AS load, COALESCE(s.updated_at, 0) AS updatedAt
         FROM oca_titles t LEFT JOIN oca_status s ON s.oca_id = t.oca_id
         WHERE t.title_id = ?1 AND t.version = COALESCE(?2, (SELECT version FROM titles WHERE id = ?1))`,
      )
      .bind(titleId, version);
  },

  /**
   * Reader: per OCA, its health and how many titles (any version counted once) and bytes it is listed
   * for (operators' topology). The holdings come from oca_holdings, a row per OCA that triggers on
   * oca_titles keep (migrations/0010_oca_holdings.sql), not from a scan of every listing.
   */
  async summary(db: D1Database): Promise<{ health: Map<string, string>; holding: Map<string, { titles: number; bytes: number }> }> {
    const [status, held] = await db.batch([db.prepare(`SELECT oca_id, health FROM oca_status`), db.prepare(`SELECT oca_id, titles, bytes FROM oca_holdings`)]);
    return {
      health: new Map((status.results as Array<{ oca_id: string; health: string }>).map((r) => [r.oca_id, r.health])),
      holding: new Map((held.results as Array<{ oca_id: string; titles: number; bytes: number }>).map((r) => [r.oca_id, { titles: r.titles, bytes: r.bytes }])),
    };
  },

  /** Reader for the site's reconcile: every copy of these titles the view lists for the site. */
  async listedOf(db: D1Database, siteId: string, titleIds: readonly string[]): Promise<ListedCopy[]> {
    if (titleIds.length === 0) return [];
    const { results } = await db
      .prepare(
        `SELECT oca_id AS ocaId, title_id AS titleId, version, files, bytes FROM oca_titles
         WHERE site_id = ? AND title_id IN (SELECT value FROM json_each(?)) ORDER BY oca_id, title_id, version`,
      )
      .bind(siteId, JSON.stringify(titleIds))
      .all<ListedCopy>();
    return results;
  },

  /** Reader for the site's reconcile: the first `limit` titles after `after` (by id) the view lists for the site. */
  async listedTitlesAfter(db: D1Database, siteId: string, after: string, limit: number): Promise<string[]> {
    const { results } = await db
      .prepare(`SELECT DISTINCT title_id FROM oca_titles WHERE site_id = ? AND title_id > ? ORDER BY title_id LIMIT ?`)
      .bind(siteId, after, limit)
      .all<{ title_id: string }>();
    return results.map((r) => r.title_id);
  },

  /**
   * Writer: lists complete copies (and makes sure each OCA has a status row). A copy listed before is
   * updated in place, not replaced: a REPLACE's delete fires no trigger, and oca_holdings' triggers
   * would count its old bytes on.
   */
  async publish(db: D1Database, siteId: string, copies: Array<ListedCopy & { health: OcaHealth }>, now = Date.now()): Promise<void> {
    if (copies.length === 0) return;
    await db.batch(
      copies.flatMap((c) => [
        db
          .prepare(
            `INSERT INTO oca_titles (site_id, oca_id, title_id, version, files, bytes, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (oca_id, title_id, version) DO UPDATE SET site_id = excluded.site_id, files = excluded.files, bytes = excluded.bytes,
               updated_at = excluded.updated_at`,
          )
          .bind(siteId, c.ocaId, c.titleId, c.version, c.files, c.bytes, now),
        db.prepare(`INSERT OR IGNORE INTO oca_status (oca_id, site_id, health, updated_at) VALUES (?, ?, ?, ?)`).bind(c.ocaId, siteId, c.health, now),
      ]),
    );
  },

  /**
   * Writer: removes copies from the view (before their bytes go, or when they stopped being complete
   * or live); without a version, every version of the title on that OCA.
   */
  async unpublish(db: D1Database, copies: Array<{ ocaId: string; titleId: string; version?: number }>): Promise<void> {
    if (copies.length === 0) return;
    await db.batch(
      copies.map((c) =>
        c.version === undefined
          ? db.prepare(`DELETE FROM oca_titles WHERE oca_id = ? AND title_id = ?`).bind(c.ocaId, c.titleId)
          : db.prepare(`DELETE FROM oca_titles WHERE oca_id = ? AND title_id = ? AND version = ?`).bind(c.ocaId, c.titleId, c.version),
      ),
    );
  },

  /** Writer for a takedown: the title leaves steering everywhere at once (sites stop re-listing it, as it is no longer live). */
  async unpublishTitle(db: D1Database, titleId: string): Promise<void> {
    await db.prepare(`DELETE FROM oca_titles WHERE title_id = ?`).bind(titleId).run();
  },

  /** Writer for a retired OCA: its listings and its status row leave the view (steering already skips an OCA the topology lacks). */
  async dropOca(db: D1Database, siteId: string, ocaId: string): Promise<void> {
    await db.batch([
      db.prepare(`DELETE FROM oca_titles WHERE oca_id = ?`).bind(ocaId),
      db.prepare(`DELETE FROM oca_status WHERE oca_id = ? AND site_id = ?`).bind(ocaId, siteId),
    ]);
  },

  /**
   * Writer: an OCA's health as the site judged it at `now`; its last published load stays as it was. A
   * write of an older moment than the row's changes nothing (writes run behind answers and may land out
   * of order).
   */
  async setHealth(db: D1Database, siteId: string, ocaId: string, health: OcaHealth, now = Date.now()): Promise<void> {
    await db
      .prepare(
        `INSERT INTO oca_status (oca_id, site_id, health, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (oca_id) DO UPDATE SET health = excluded.health, updated_at = excluded.updated_at
         WHERE excluded.updated_at >= oca_status.updated_at`,
      )
      .bind(ocaId, siteId, health, now)
      .run();
  },

  /**
   * Writer: the site's live load and health per OCA at `now`. Health rides along: the row's time is what
   * steering weighs against an isolate's live view, so a load write that left a stale health (a health
   * write lost to a D1 error) would make that health look current. Older moments change nothing.
   */
  async setLoad(db: D1Database, siteId: string, live: OcaLive[], now = Date.now()): Promise<void> {
    if (live.length === 0) return;
    await db.batch(
      live.map((o) =>
        db
          .prepare(
            `INSERT INTO oca_status (oca_id, site_id, health, load, sessions, updated_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (oca_id) DO UPDATE SET health = excluded.health, load = excluded.load, sessions = excluded.sessions,
               updated_at = excluded.updated_at
             WHERE excluded.updated_at >= oca_status.updated_at`,
          )
          .bind(o.ocaId, siteId, o.health, o.load, o.sessions, now),
      ),
    );
  },
};
