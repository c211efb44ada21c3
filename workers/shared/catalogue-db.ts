import type { ValidTitleRegistration } from "../../shared/catalogue";
import { steeringTable, type CandidateRow } from "./steering-table";
import type { D1Reads } from "./replica-reads";

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
  /** The current version: what new plays get. */
  version: number;
  taken_down_at: number | null;
  /** Bumped (with the time of the change) by triggers on every write to what the view caches of the title (migration 0005). */
  view_stamp: number;
  view_changed_at: number;
}

/** A version of a title that OCAs may still be asked for: the current one, or an older one sessions still play. */
export interface LiveVersion {
  version: number;
  files: CatalogueFile[];
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

/** SQL: title `t` has a licence somewhere that has not ended at `?2` (its last licence ending takes it down). */
const LICENSED = `EXISTS (SELECT 1 FROM licences l WHERE l.title_id = t.id AND (l.available_until IS NULL OR l.available_until > ?2))`;

export const catalogueDb = {
  /**
   * A title as every play of it needs it, whatever the client's country and plan (so one cached
   * answer serves them all): metadata, renditions, every licence, and the candidates of its current
   * version. One D1 round trip; null when the title is unknown.
   */
  async titleContext(db: D1Reads, titleId: string) {
    const [title, renditions, licences, holders] = await db.batch([
      db
        .prepare(
          `SELECT id, name, description, release_year, duration_s, available_from, live_min_copies, version, taken_down_at, view_stamp, view_changed_at FROM titles WHERE id = ?`,
        )
        .bind(titleId),
      db
        .prepare(`SELECT id, kind, codec, width, height, bandwidth, language, label FROM renditions WHERE title_id = ? ORDER BY kind, height, id`)
        .bind(titleId),
      catalogueDb.licences(db, titleId),
      steeringTable.candidates(db, titleId, null),
    ]);
    const row = (title.results[0] as TitleRow | undefined) ?? null;
    if (!row) return null;
    return {
      title: row,
      renditions: renditions.results as unknown as RenditionRow[],
      licences: new Map((licences.results as unknown as LicenceRow[]).map((l) => [l.country, l])),
      candidates: holders.results as unknown as CandidateRow[],
    };
  },

  /** Every plan (a handful of rows): id -> height cap and concurrent streams. */
  async plans(db: D1Reads): Promise<Map<string, { id: string; max_height: number; max_streams: number }>> {
    const { results } = await db.prepare(`SELECT id, max_height, max_streams FROM plans`).all<{ id: string; max_height: number; max_streams: number }>();
    return new Map(results.map((p) => [p.id, p]));
  },

  /**
   * Titles playable in a country at some moment of [now, until), with their languages, top height and
   * current version's poster (the browse list), and when their licence there ends (`available_until`): what is playable at a
   * later moment of that span is the rows whose `available_from` has come and `available_until` not.
   */
  async browse(db: D1Reads, country: string, now: number, until = now + 1) {
    const { results } = await db
      .prepare(
        `SELECT t.id, t.name, t.description, t.release_year, t.duration_s, MAX(t.available_from, l.available_from) AS available_from, l.available_until,
            (SELECT json_group_array(json_object('language', language, 'label', label)) FROM renditions r WHERE r.title_id = t.id AND r.kind = 'audio') AS audio,
            (SELECT json_group_array(json_object('language', language, 'label', label)) FROM renditions r WHERE r.title_id = t.id AND r.kind = 'subtitle') AS subtitles,
            (SELECT MAX(height) FROM renditions r WHERE r.title_id = t.id AND r.kind = 'video') AS max_height,
            t.version, (SELECT v.poster FROM title_versions v WHERE v.title_id = t.id AND v.version = t.version) AS poster
     FROM titles t JOIN licences l ON l.title_id = t.id AND l.country = ?1
     WHERE t.taken_down_at IS NULL AND t.available_from < ?3 AND l.available_from < ?3 AND (l.available_until IS NULL OR l.available_until > ?2)
     ORDER BY t.name, t.id`,
      )
      .bind(country, now, until)
      .all<
        Omit<TitleRow, "live_min_copies" | "taken_down_at"> & {
          available_until: number | null;
          audio: string;
          subtitles: string;
          max_height: number | null;
          /** the current version's poster path, if it has one */
          poster: string | null;
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

  /** The files of titles' current versions (path, bytes, sha256), per title; none for a title taken down. */
  async files(db: D1Database, titleIds: string[]): Promise<Map<string, CatalogueFile[]>> {
    return new Map([...(await catalogueDb.currentFiles(db, titleIds))].map(([id, v]) => [id, v.files]));
  },

  /** Titles' current versions with their files, per title; none for a title taken down or with no files. */
  async currentFiles(db: D1Database, titleIds: string[]): Promise<Map<string, { version: number; files: CatalogueFile[] }>> {
    const out = new Map<string, { version: number; files: CatalogueFile[] }>();
    if (titleIds.length === 0) return out;
    const { results } = await db
      .prepare(
        `SELECT f.title_id, f.version, f.path, f.bytes, f.sha256 FROM files f JOIN titles t ON t.id = f.title_id AND t.version = f.version AND t.taken_down_at IS NULL
         WHERE f.title_id IN (SELECT value FROM json_each(?)) ORDER BY f.title_id, f.path`,
      )
      .bind(JSON.stringify(titleIds))
      .all<CatalogueFile & { title_id: string; version: number }>();
    for (const f of results) {
      let v = out.get(f.title_id);
      if (!v) out.set(f.title_id, (v = { version: f.version, files: [] }));
      v.files.push({ path: f.path, bytes: f.bytes, sha256: f.sha256 });
    }
    return out;
  },

  /** Titles' current versions, per title; none for a title taken down or unknown. */
  async currentVersions(db: D1Database, titleIds: string[]): Promise<Map<string, number>> {
    if (titleIds.length === 0) return new Map();
    const { results } = await db
      .prepare(`SELECT id, version FROM titles WHERE id IN (SELECT value FROM json_each(?)) AND taken_down_at IS NULL`)
      .bind(JSON.stringify(titleIds))
      .all<{ id: string; version: number }>();
    return new Map(results.map((r) => [r.id, r.version]));
  },

  /**
   * The versions of titles that OCAs may still be asked for at `now`, per title: the current one and
   * older ones whose sessions may still be playing (retained until their last token expires). A
   * title taken down, whose last licence has ended, or unknown, has none. `current` is the version new plays get (null: none).
   */
  async liveVersions(db: D1Database, titleIds: string[], now: number): Promise<Map<string, { current: number | null; versions: LiveVersion[] }>> {
    const out = new Map<string, { current: number | null; versions: LiveVersion[] }>();
    if (titleIds.length === 0) return out;
    const ids = JSON.stringify(titleIds);
    const [titles, files] = await db.batch([
      db.prepare(`SELECT id, version FROM titles t WHERE id IN (SELECT value FROM json_each(?1)) AND taken_down_at IS NULL AND ${LICENSED}`).bind(ids, now),
      db
        .prepare(
          `SELECT f.title_id, f.version, f.path, f.bytes, f.sha256 FROM files f
           JOIN titles t ON t.id = f.title_id AND t.taken_down_at IS NULL AND ${LICENSED}
           LEFT JOIN title_versions v ON v.title_id = f.title_id AND v.version = f.version
           WHERE f.title_id IN (SELECT value FROM json_each(?1)) AND (f.version = t.version OR v.retain_until > ?2)
           ORDER BY f.title_id, f.version, f.path`,
        )
        .bind(ids, now),
    ]);
    for (const t of titles.results as Array<{ id: string; version: number }>) out.set(t.id, { current: t.version, versions: [] });
    for (const f of files.results as Array<CatalogueFile & { title_id: string; version: number }>) {
      const title = out.get(f.title_id);
      if (!title) continue;
      let v = title.versions.find((x) => x.version === f.version);
      if (!v) title.versions.push((v = { version: f.version, files: [] }));
      v.files.push({ path: f.path, bytes: f.bytes, sha256: f.sha256 });
    }
    return out;
  },

  /**
   * The live versions of titles as liveVersions has them, without their files: each version's number
   * and file count (from title_versions), per title. What the site's reconcile asks first, so a title
   * whose copies are already as they should be costs no read of its files.
   */
  async liveVersionCounts(db: D1Database, titleIds: readonly string[], now: number): Promise<Map<string, Array<{ version: number; files: number }>>> {
    const out = new Map<string, Array<{ version: number; files: number }>>();
    if (titleIds.length === 0) return out;
    const { results } = await db
      .prepare(
        `SELECT v.title_id, v.version, v.files FROM titles t JOIN title_versions v ON v.title_id = t.id
         WHERE t.id IN (SELECT value FROM json_each(?1)) AND t.taken_down_at IS NULL AND ${LICENSED} AND (v.version = t.version OR v.retain_until > ?2)
         ORDER BY v.title_id, v.version`,
      )
      .bind(JSON.stringify(titleIds), now)
      .all<{ title_id: string; version: number; files: number }>();
    for (const r of results) {
      let list = out.get(r.title_id);
      if (!list) out.set(r.title_id, (list = []));
      list.push({ version: r.version, files: r.files });
    }
    return out;
  },

  /**
   * Of `titleIds`, those a site serving `countries` may still fill: not taken down, and licensed in one
   * of those countries at some moment of [now, until) (until: the end of the day its plan is for). A
   * title licensed only elsewhere is played by none of its clients. One statement.
   */
  async fillable(db: D1Database, titleIds: readonly string[], countries: readonly string[], now: number, until: number): Promise<Set<string>> {
    if (titleIds.length === 0) return new Set();
    const { results } = await db
      .prepare(
        `SELECT t.id FROM titles t WHERE t.id IN (SELECT value FROM json_each(?1)) AND t.taken_down_at IS NULL
           AND EXISTS (SELECT 1 FROM licences l WHERE l.title_id = t.id AND l.country IN (SELECT value FROM json_each(?2))
             AND l.available_from < ?4 AND (l.available_until IS NULL OR l.available_until > ?3))`,
      )
      .bind(JSON.stringify(titleIds), JSON.stringify(countries), now, until)
      .all<{ id: string }>();
    return new Set(results.map((r) => r.id));
  },

  /** A title's current version, its poster and its files, null when the title is unknown. */
  async currentVersion(
    db: D1Database,
    titleId: string,
  ): Promise<{ version: number; takenDown: boolean; poster: string | null; files: CatalogueFile[] } | null> {
    const [title, files] = await db.batch([
      db
        .prepare(
          `SELECT t.version, t.taken_down_at, v.poster FROM titles t LEFT JOIN title_versions v ON v.title_id = t.id AND v.version = t.version WHERE t.id = ?`,
        )
        .bind(titleId),
      db
        .prepare(`SELECT path, bytes, sha256 FROM files WHERE title_id = ?1 AND version = (SELECT version FROM titles WHERE id = ?1) ORDER BY path`)
        .bind(titleId),
    ]);
    const row = title.results[0] as { version: number; taken_down_at: number | null; poster: string | null } | undefined;
    if (!row) return null;
    return { version: row.version, takenDown: row.taken_down_at !== null, poster: row.poster, files: files.results as unknown as CatalogueFile[] };
  },

  /**
   * The poster of a title version as a file (path, bytes, sha256), null when that version has none or
   * its files are no longer listed (past its retention) or it was never registered. A version's poster
   * never changes: callers may keep the answer.
   */
  async versionPoster(db: D1Reads, titleId: string, version: number): Promise<CatalogueFile | null> {
    return db
      .prepare(
        `SELECT f.path, f.bytes, f.sha256 FROM title_versions v JOIN files f ON f.title_id = v.title_id AND f.version = v.version AND f.path = v.poster
         WHERE v.title_id = ? AND v.version = ?`,
      )
      .bind(titleId, version)
      .first<CatalogueFile>();
  },

  /**
   * Claims the next version number of a title (one past every version ever claimed). Two concurrent
   * publishes cannot claim the same number: the second gets null and must not write that version's index.
   */
  async claimVersion(db: D1Database, titleId: string, files: CatalogueFile[], now = Date.now(), poster: string | null = null): Promise<number | null> {
    const row = await db.prepare(`SELECT COALESCE(MAX(version), 0) + 1 AS next FROM title_versions WHERE title_id = ?`).bind(titleId).first<{ next: number }>();
    const next = row?.next ?? 1;
    try {
      await db
        .prepare(`INSERT INTO title_versions (title_id, version, files, bytes, created_at, poster) VALUES (?, ?, ?, ?, ?, ?)`)
        .bind(
          titleId,
          next,
          files.length,
          files.reduce((s, f) => s + f.bytes, 0),
          now,
          poster,
        )
        .run();
    } catch (err) {
      if (/UNIQUE|constraint/i.test(String(err))) return null;
      throw err;
    }
    return next;
  },

  /** Takes a title down: no new plays, and (with the steering view's rows removed by the caller) no steering. */
  async takeDown(db: D1Database, titleId: string, now = Date.now()): Promise<boolean> {
    const r = await db.prepare(`UPDATE titles SET taken_down_at = ? WHERE id = ? AND taken_down_at IS NULL`).bind(now, titleId).run();
    return (r.meta.changes ?? 0) > 0;
  },

  /**
   * Titles that stop (taken down, or their last licence anywhere ends) between `from` and `to` (ms),
   * with when: what origin's withdrawn list holds. A stop in the future is listed ahead of time.
   */
  async stoppingBetween(db: D1Database, from: number, to: number): Promise<Array<{ id: string; at: number }>> {
    const r = await db
      .prepare(
        `SELECT id, at FROM (
           SELECT t.id, CASE WHEN t.taken_down_at IS NULL THEN e.until WHEN e.until IS NULL THEN t.taken_down_at ELSE MIN(t.taken_down_at, e.until) END AS at
           FROM titles t LEFT JOIN (
             SELECT title_id, CASE WHEN SUM(available_until IS NULL) > 0 THEN NULL ELSE MAX(available_until) END AS until FROM licences GROUP BY title_id
           ) e ON e.title_id = t.id)
         WHERE at > ?1 AND at <= ?2 ORDER BY at DESC`,
      )
      .bind(from, to)
      .all<{ id: string; at: number }>();
    return r.results;
  },

  /**
   * A title's licence in one country stopping between `from` and `to` (ms), with when: its end, or a
   * registration that stopped it (licence_stops), latest first. The part of origin's withdrawn list that
   * stops the sessions that licence granted while the title plays on elsewhere.
   */
  async licenceStopsBetween(db: D1Database, from: number, to: number): Promise<Array<{ id: string; country: string; at: number; grantedBefore: number }>> {
    const r = await db
      .prepare(
        `SELECT title_id AS id, country, available_until AS at, available_until AS grantedBefore FROM licences
           WHERE available_until IS NOT NULL AND available_until > ?1 AND available_until <= ?2
         UNION SELECT title_id, country, at, granted_before FROM licence_stops WHERE at > ?1 AND at <= ?2
         ORDER BY at DESC`,
      )
      .bind(from, to)
      .all<{ id: string; country: string; at: number; grantedBefore: number }>();
    return r.results;
  },

  /** Forgets licence stops at or before `before` (ms): no session they could stop is still valid. */
  async purgeLicenceStops(db: D1Database, before: number): Promise<void> {
    await db.prepare(`DELETE FROM licence_stops WHERE at <= ?`).bind(before).run();
  },

  /** What a title version's cached view needs to tell whether the title is up at any later moment: when it was taken down, and its stamp. */
  titleState(db: D1Reads, titleId: string): D1PreparedStatement {
    return db.prepare(`SELECT taken_down_at, view_stamp, view_changed_at FROM titles t WHERE id = ?1`).bind(titleId);
  },

  /** A title's licences, one per country. */
  licences(db: D1Reads, titleId: string): D1PreparedStatement {
    return db.prepare(`SELECT country, available_from, available_until FROM licences WHERE title_id = ?`).bind(titleId);
  },

  /** What registrations stopped of a title's licences (per country): from `at`, the sessions granted before `granted_before`. */
  licenceStops(db: D1Reads, titleId: string): D1PreparedStatement {
    return db.prepare(`SELECT country, at, granted_before FROM licence_stops WHERE title_id = ?`).bind(titleId);
  },

  /**
   * Titles whose cached view changed at or after `since` (ms, as the primary stamped them), and the
   * read's watermark: the latest stamp it shows and the sum of the stamps of the titles stamped then.
   * The next look starts from that stamp, not from a clock, so a replica that applies a change late
   * still shows it to the next look (writes reach a replica in commit order, and the single writer
   * stamps in commit order). Rows come back only when the watermark moved from `seen`: the titles
   * stamped within the slack of the latest are not sent again on every look. The same statement reads
   * the live topology's version (0: none stored), so one question per isolate per TTL serves both views
   * (see `topologyVersionSeen`). One statement.
   */
  async changedSince(
    db: D1Reads,
    since: number,
    seen: { latest: number; mark: number } | null,
  ): Promise<{ latest: number; mark: number; topologyVersion: number; changed: Array<{ id: string; view_stamp: number; view_changed_at: number }> }> {
    const { results } = await db
      .prepare(
        `SELECT c.latest, c.mark, c.topology_version, t.id, t.view_stamp, t.view_changed_at
         FROM (SELECT m.latest, (SELECT COALESCE(SUM(view_stamp), 0) FROM titles WHERE view_changed_at = m.latest) AS mark,
                      COALESCE((SELECT version FROM topology_doc WHERE id = 1), 0) AS topology_version
               FROM (SELECT COALESCE((SELECT MAX(view_changed_at) FROM titles), 0) AS latest) m) c
         LEFT JOIN titles t ON (c.latest != ?2 OR c.mark != ?3) AND t.view_changed_at >= ?1
         LIMIT 10001`,
      )
      .bind(since, seen?.latest ?? -1, seen?.mark ?? -1)
      .all<{ latest: number; mark: number; topology_version: number; id: string | null; view_stamp: number; view_changed_at: number }>();
    return {
      latest: results[0].latest,
      mark: results[0].mark,
      topologyVersion: results[0].topology_version,
      changed: results.filter((r): r is typeof r & { id: string } => r.id !== null),
    };
  },

  /**
   * Titles a site may hold tomorrow: licensed then in one of the countries it serves (an IXP site's
   * children may sit in other countries than its own), launched by then; with sizes, launch times and
   * when the earliest of those licences starts (a licence starting after the launch is the launch there)
   * and the last ends (null: one does not; one ending tomorrow serves only part of the day).
   * Sizes are the version's own total, written when it was registered: a row per title, not a sum over
   * every file of the catalogue for each site's cycle.
   */
  async eligible(db: D1Database, countries: readonly string[], tomorrowStart: number, tomorrowEnd: number) {
    const { results } = await db
      .prepare(
        `SELECT t.id, t.available_from, MIN(l.available_from) AS licensed_from,
       CASE WHEN COUNT(l.available_until) = COUNT(*) THEN MAX(l.available_until) END AS licensed_until,
       COALESCE((SELECT v.bytes FROM title_versions v WHERE v.title_id = t.id AND v.version = t.version),
                (SELECT SUM(bytes) FROM files f WHERE f.title_id = t.id AND f.version = t.version)) AS bytes
     FROM titles t JOIN licences l ON l.title_id = t.id AND l.country IN (SELECT value FROM json_each(?1))
     WHERE t.taken_down_at IS NULL AND t.available_from < ?3 AND l.available_from < ?3 AND (l.available_until IS NULL OR l.available_until > ?2)
     GROUP BY t.id`,
      )
      .bind(JSON.stringify(countries), tomorrowStart, tomorrowEnd)
      .all<{ id: string; available_from: number; licensed_from: number; licensed_until: number | null; bytes: number | null }>();
    return results.filter((r) => (r.bytes ?? 0) > 0);
  },

  /**
   * Of `titleIds`, those licensed in `country` at `now` whose licence there ends by `until` (the start
   * of the day a plan was made for): that plan left them out for their licence, not their value, and
   * they are still played until it ends.
   */
  async licenceEndingBy(db: D1Database, country: string, titleIds: string[], now: number, until: number): Promise<Set<string>> {
    if (titleIds.length === 0) return new Set();
    const { results } = await db
      .prepare(
        `SELECT l.title_id FROM licences l JOIN titles t ON t.id = l.title_id
         WHERE l.country = ?1 AND l.title_id IN (SELECT value FROM json_each(?2)) AND t.taken_down_at IS NULL
           AND l.available_from <= ?3 AND l.available_until > ?3 AND l.available_until <= ?4`,
      )
      .bind(country, JSON.stringify(titleIds), now, until)
      .all<{ title_id: string }>();
    return new Set(results.map((r) => r.title_id));
  },

  /**
   * Registers a title: metadata, renditions and licences, and the files of `version`, in one
   * transaction. A new version (`previous` given) supersedes the previous one, which stays served
   * until `retainUntil` (when the last session that may ask for it expires); files of versions past
   * their retention are dropped. Registering restores a title that was taken down (not the sessions
   * the takedown stopped: they stay stopped as licence stops). False, with
   * nothing written, when a later version was registered meanwhile (two publishes at once): the
   * catalogue never goes back to an older version.
   */
  async register(
    db: D1Database,
    titleId: string,
    t: ValidTitleRegistration,
    v: { version: number; newVersion: boolean; retainUntil: number; stops: { lagMs: number; since: number } },
    // The moment the caller measured `retainUntil` and `stops` from: a clock read of its own here could
    // tick past it, and the old version's kept window come out a millisecond short of the session TTL.
    now = Date.now(),
  ): Promise<boolean> {
    const licences = t.licences.map((l) => ({
      country: l.country,
      from: Date.parse(l.availableFrom),
      until: l.availableUntil ? Date.parse(l.availableUntil) : null,
    }));
    const stmts = [
      // The guard: when the title already points at a later version, this inserts that version's row
      // again, whose key exists, and the constraint fails the whole batch (D1 runs it as one transaction).
      db
        .prepare(
          `INSERT INTO title_versions (title_id, version, files, bytes, created_at) SELECT id, version, 0, 0, 0 FROM titles WHERE id = ? AND version > ?`,
        )
        .bind(titleId, v.version),
      // Published again after a takedown: the sessions the takedown stopped stay stopped (their tokens
      // would play again until they expire), as a stop of each licence from the takedown of the sessions
      // granted before it and the views' lag, or before now if sooner (this publish's new sessions play).
      // Read before the row below clears taken_down_at.
      db
        .prepare(
          `INSERT OR IGNORE INTO licence_stops (title_id, country, at, granted_before)
           SELECT l.title_id, l.country, t.taken_down_at, MIN(t.taken_down_at + ?3, ?2) FROM titles t JOIN licences l ON l.title_id = t.id
             WHERE t.id = ?1 AND t.taken_down_at IS NOT NULL AND t.taken_down_at <= ?2 AND t.taken_down_at > ?4`,
        )
        .bind(titleId, now, v.stops.lagMs, v.stops.since),
      db
        .prepare(
          `INSERT INTO titles (id, name, description, release_year, duration_s, available_from, live_min_copies, encoding_json, updated_at, version, taken_down_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, release_year = excluded.release_year,
           duration_s = excluded.duration_s, available_from = excluded.available_from, live_min_copies = excluded.live_min_copies, encoding_json = excluded.encoding_json,
           updated_at = excluded.updated_at, version = excluded.version, taken_down_at = NULL`,
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
          v.version,
        ),
      db.prepare(`DELETE FROM renditions WHERE title_id = ?`).bind(titleId),
      // What this registration stops, recorded since the rows that replace the licences no longer say
      // so: an end already past (kept while a session it stopped may live); a licence in effect whose
      // country is dropped, whose end comes to now or before, or whose start moves past now (the
      // sessions granted before now + the views' lag stop); one whose start moves later but stays past
      // (the sessions granted before the new start stop).
      db
        .prepare(
          `INSERT OR IGNORE INTO licence_stops (title_id, country, at, granted_before)
           SELECT l.title_id, l.country, l.available_until, l.available_until FROM licences l
             WHERE l.title_id = ?1 AND l.available_until IS NOT NULL AND l.available_until <= ?2 AND l.available_until > ?4
           UNION ALL
           SELECT l.title_id, l.country, ?2, ?3 FROM licences l
             WHERE l.title_id = ?1 AND l.available_from <= ?2 AND (l.available_until IS NULL OR l.available_until > ?2)
               AND NOT EXISTS (SELECT 1 FROM json_each(?5) j WHERE json_extract(j.value, '$.country') = l.country
                 AND json_extract(j.value, '$.from') <= ?2 AND (json_extract(j.value, '$.until') IS NULL OR json_extract(j.value, '$.until') > ?2))
           UNION ALL
           SELECT l.title_id, l.country, ?2, json_extract(j.value, '$.from') FROM licences l JOIN json_each(?5) j ON json_extract(j.value, '$.country') = l.country
             WHERE l.title_id = ?1 AND l.available_from <= ?2 AND (l.available_until IS NULL OR l.available_until > ?2)
               AND json_extract(j.value, '$.from') > l.available_from AND json_extract(j.value, '$.from') <= ?2
               AND (json_extract(j.value, '$.until') IS NULL OR json_extract(j.value, '$.until') > ?2)`,
        )
        .bind(titleId, now, now + v.stops.lagMs, v.stops.since, JSON.stringify(licences)),
      db.prepare(`DELETE FROM licences WHERE title_id = ?`).bind(titleId),
      ...t.renditions.map((r) =>
        db
          .prepare(`INSERT INTO renditions (title_id, id, kind, codec, width, height, bandwidth, language, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
          .bind(titleId, r.id, r.kind, r.codec, r.width ?? null, r.height ?? null, r.bandwidth, r.language ?? null, r.label ?? null),
      ),
      ...licences.map((l) =>
        db.prepare(`INSERT INTO licences (title_id, country, available_from, available_until) VALUES (?, ?, ?, ?)`).bind(titleId, l.country, l.from, l.until),
      ),
    ];
    if (v.newVersion) {
      stmts.push(
        db
          .prepare(`UPDATE title_versions SET superseded_at = ?1, retain_until = ?2 WHERE title_id = ?3 AND version != ?4 AND superseded_at IS NULL`)
          .bind(now, v.retainUntil, titleId, v.version),
        db
          .prepare(`DELETE FROM files WHERE title_id = ?1 AND version IN (SELECT version FROM title_versions WHERE title_id = ?1 AND retain_until <= ?2)`)
          .bind(titleId, now),
        db.prepare(`DELETE FROM files WHERE title_id = ? AND version = ?`).bind(titleId, v.version),
        ...t.files.map((f) =>
          db.prepare(`INSERT INTO files (title_id, version, path, bytes, sha256) VALUES (?, ?, ?, ?, ?)`).bind(titleId, v.version, f.path, f.bytes, f.sha256),
        ),
      );
    }
    try {
      await db.batch(stmts);
    } catch (err) {
      if (/UNIQUE|constraint/i.test(String(err))) return false;
      throw err;
    }
    return true;
  },

  /** A title as registered, for operators; null when unknown. */
  async describe(db: D1Database, titleId: string) {
    const [title, renditions, files, licences, versions] = await db.batch([
      db.prepare(`SELECT * FROM titles WHERE id = ?`).bind(titleId),
      db.prepare(`SELECT * FROM renditions WHERE title_id = ? ORDER BY kind, height, id`).bind(titleId),
      db
        .prepare(`SELECT COUNT(*) AS files, SUM(bytes) AS bytes FROM files WHERE title_id = ?1 AND version = (SELECT version FROM titles WHERE id = ?1)`)
        .bind(titleId),
      db.prepare(`SELECT country, available_from, available_until FROM licences WHERE title_id = ? ORDER BY country`).bind(titleId),
      db
        .prepare(
          `SELECT version, files, bytes, created_at, superseded_at, retain_until, poster FROM title_versions WHERE title_id = ? ORDER BY version DESC LIMIT 20`,
        )
        .bind(titleId),
    ]);
    const row = title.results[0] as Record<string, unknown> | undefined;
    if (!row) return null;
    return { row, renditions: renditions.results, files: files.results[0], licences: licences.results, versions: versions.results };
  },
};
