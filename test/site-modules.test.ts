import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BACKOFF_CAP_MS, backoffMs, dueTasks, enqueue } from "../durable-objects/site/fill-queue";
import { migrate, SITE_MIGRATIONS, SITE_SCHEMA_VERSION } from "../durable-objects/site/schema";
import { countedUpTo } from "../durable-objects/site/counted-up-to";
import { ingestEdgeReport } from "../durable-objects/site/load";
import { recordReport, recordServed } from "../durable-objects/site/viewing-history";
import { SEEN_BUCKET_MS } from "../shared/session-activity";
import type { OcaSpec } from "../workers/shared/topology";
import { bySource, dropFile, dropTitle, heldByOca, markFileEvicting, markReady, noteComplete, titlesOn } from "../durable-objects/site/holdings";
import { anyUnqueued, isQueued, nextToQueue, queuedFiles, replacePlan } from "../durable-objects/site/plan";
import { chooseSource, type SourceInput } from "../durable-objects/site/sources";

const file = { path: "video/avc-720p/seg-00001.m4s", bytes: 10, sha256: "a".repeat(64) };
const base: SourceInput = { file, peers: [], earlierPeerQueued: false, parents: [], failed: [], age: 0, peerWaitMs: 60_000, parentWaitMs: 60_000 };

describe("the fill's source choice", () => {
  it("prefers a peer, then waits for an earlier peer, then a parent with the catalogue's checksum, then origin", () => {
    expect(chooseSource({ ...base, peers: ["o2"] })).toMatchObject({ kind: "peer", ocaId: "o2" });
    expect(chooseSource({ ...base, earlierPeerQueued: true })).toMatchObject({ kind: "wait" });
    expect(chooseSource({ ...base, earlierPeerQueued: true, age: 60_001 })).toMatchObject({ kind: "origin" });
    const parent = { siteId: "ixp", holder: { ocaId: "ixp-1", sha256: file.sha256 }, plans: true };
    expect(chooseSource({ ...base, parents: [parent] })).toMatchObject({ kind: "parent", siteId: "ixp", ocaId: "ixp-1" });
    // A parent's stale copy (another checksum) is not a source; while it plans the title, wait, then origin.
    const stale = { ...parent, holder: { ocaId: "ixp-1", sha256: "b".repeat(64) } };
    expect(chooseSource({ ...base, parents: [stale] })).toMatchObject({ kind: "wait" });
    expect(chooseSource({ ...base, parents: [{ ...stale, plans: false }] })).toMatchObject({ kind: "origin" });
  });

  it("skips sources that already failed for the file, escalating towards origin without waiting", () => {
    const parent = { siteId: "ixp", holder: { ocaId: "ixp-1", sha256: file.sha256 }, plans: true };
    expect(chooseSource({ ...base, peers: ["o2"], parents: [parent], failed: ["peer:o2"] })).toMatchObject({ kind: "parent" });
    expect(chooseSource({ ...base, peers: ["o2"], parents: [parent], failed: ["peer:o2", "parent:ixp"] })).toMatchObject({ kind: "origin" });
    expect(chooseSource({ ...base, peers: ["o2", "o3"], failed: ["peer:o2"] })).toMatchObject({ kind: "peer", ocaId: "o3" });
    expect(chooseSource({ ...base, earlierPeerQueued: true, failed: ["origin"] })).toMatchObject({ kind: "origin" });
  });

  it("backs off exponentially from 2 s, capped at 5 minutes", () => {
    expect([1, 2, 3, 4].map(backoffMs)).toEqual([2_000, 4_000, 8_000, 16_000]);
    expect(backoffMs(30)).toBe(BACKOFF_CAP_MS);
  });
});

describe("the site's schema migrations", () => {
  it("adopt a site created before versioning and move its tables forward, keeping its data", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("rheinnet-ber"));
    await runInDurableObject(stub, async (_i, state) => {
      const sql = state.storage.sql;
      // Rebuild the pre-versioning layout: version 1's tables, no migrations table, a miss counted.
      for (const t of sql
        .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'`)
        .toArray()) {
        sql.exec(`DROP TABLE IF EXISTS "${t.name}"`);
      }
      for (const stmt of SITE_MIGRATIONS[0].statements) sql.exec(stmt);
      sql.exec(`INSERT INTO misses (oca_id, title_id, count, bytes) VALUES ('rheinnet-ber-1', 'old-title', 3, 300)`);
      expect(migrate(state.storage)).toBe(SITE_SCHEMA_VERSION);
      expect(sql.exec(`SELECT oca_id, title_id, kind, count, bytes FROM misses`).toArray()).toEqual([
        { oca_id: "rheinnet-ber-1", title_id: "old-title", kind: "content", count: 3, bytes: 300 },
      ]);
      expect(
        sql
          .exec(`SELECT version FROM schema_migrations ORDER BY version`)
          .toArray()
          .map((r) => r.version),
      ).toEqual(SITE_MIGRATIONS.map((m) => m.version));
      // Running again changes nothing.
      expect(migrate(state.storage)).toBe(SITE_SCHEMA_VERSION);
      const cols = sql
        .exec<{ name: string }>(`PRAGMA table_info(fill_tasks)`)
        .toArray()
        .map((c) => c.name);
      expect(cols).toEqual(expect.arrayContaining(["next_at", "failed_sources", "parked_at"]));
    });
  });
});

/**
 * Runs `fn` in a site's object taken back to just before schema `version`: its later migrations
 * forgotten and `takeBack` undoing what they made (the beforeV* functions), so `migrate` applies them again.
 */
async function atSchemaBefore(
  siteId: string,
  version: number,
  takeBack: (sql: SqlStorage) => void,
  fn: (sql: SqlStorage, storage: DurableObjectStorage) => void,
): Promise<void> {
  await runInDurableObject(env.OCA_SITE.get(env.OCA_SITE.idFromName(siteId)), async (_i, state) => {
    state.storage.sql.exec(`DELETE FROM schema_migrations WHERE version >= ?`, version);
    takeBack(state.storage.sql);
    fn(state.storage.sql, state.storage);
  });
}

/** The names of a table's `{table}_by_*` indexes. */
const indexesOn = (sql: SqlStorage, table: string): string[] =>
  sql
    .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name LIKE ?`, table, `${table}_by_%`)
    .toArray()
    .map((r) => r.name);

/** Takes a site's automatic health back to before v30 (no worst verdict kept for a recovery's spell). */
function beforeV30(sql: SqlStorage): void {
  sql.exec(`ALTER TABLE oca_auto_health DROP COLUMN better_state`);
}

/** Takes a site's sessions back to before v28 (no claims waiting for the served figure). */
function beforeV28(sql: SqlStorage): void {
  beforeV30(sql);
  for (const c of ["claimed", "claimed_day"]) sql.exec(`ALTER TABLE session_views DROP COLUMN ${c}`);
}

/** Takes a site's sessions' activity back to before v27 (indexed by its exact time). */
function beforeV27(sql: SqlStorage): void {
  beforeV28(sql);
  sql.exec(`DROP INDEX IF EXISTS oca_sessions_by_bucket`);
  sql.exec(`ALTER TABLE oca_sessions DROP COLUMN seen_bucket`);
  sql.exec(`CREATE INDEX IF NOT EXISTS oca_sessions_by_seen ON oca_sessions (last_seen)`);
}

/** Takes a site's CMCD rows back to before v26 (forgotten by the player's last time, indexed). */
function beforeV26(sql: SqlStorage): void {
  beforeV27(sql);
  sql.exec(`DROP INDEX IF EXISTS cmcd_sessions_by_heard`);
  sql.exec(`ALTER TABLE cmcd_sessions DROP COLUMN heard_at`);
  sql.exec(`CREATE INDEX IF NOT EXISTS cmcd_sessions_by_last ON cmcd_sessions (last_at)`);
}

/** Takes a site's holdings back to before v24 (no summaries kept by triggers). */
function beforeV24(sql: SqlStorage): void {
  beforeV26(sql);
  for (const t of ["insert", "delete", "update"]) {
    sql.exec(`DROP TRIGGER IF EXISTS holdings_title_${t}`);
    sql.exec(`DROP TRIGGER IF EXISTS holdings_source_${t}`);
  }
  sql.exec(`DROP TABLE IF EXISTS held_titles`);
  sql.exec(`DROP TABLE IF EXISTS ready_by_source`);
}

/** Takes a site's plan back to before v23 (no rank, every planned title's files queued at once). */
function beforeV23(sql: SqlStorage): void {
  beforeV24(sql);
  sql.exec(`DROP INDEX IF EXISTS plan_to_queue`);
  sql.exec(`DROP INDEX IF EXISTS plan_by_title`);
  sql.exec(`ALTER TABLE plan DROP COLUMN rank`);
  sql.exec(`ALTER TABLE plan DROP COLUMN queued`);
}

/** Takes a site's fill queue back to before v21 (no rank), so a test can migrate it from an older version. */
function beforeV21(sql: SqlStorage): void {
  beforeV23(sql);
  sql.exec(`DROP INDEX IF EXISTS fill_tasks_by_file`);
  sql.exec(`DROP INDEX IF EXISTS fill_tasks_by_rank`);
  sql.exec(`ALTER TABLE fill_tasks DROP COLUMN priority`);
}

describe("the site's schema migration to one table of counted numbers (v16)", () => {
  it("keeps the event shards' marks of v15 under their kind", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("rheinnet-muc"));
    await runInDurableObject(stub, async (_i, state) => {
      const sql = state.storage.sql;
      // A site at v15 with a shard's mark.
      sql.exec(`DELETE FROM schema_migrations WHERE version >= 16`);
      beforeV21(sql);
      sql.exec(`DROP TABLE IF EXISTS counted_up_to`);
      for (const t of ["oca_reporter_sessions", "served_early"]) sql.exec(`DROP TABLE IF EXISTS ${t}`);
      for (const t of ["oca_sessions", "oca_client_reporters"]) sql.exec(`ALTER TABLE ${t} DROP COLUMN streams`);
      for (const stmt of SITE_MIGRATIONS.find((m) => m.version === 15)!.statements) sql.exec(stmt);
      sql.exec(`INSERT INTO forwarded (shard, up_to, at) VALUES ('rheinnet-muc:3/run-1', 42, 1000)`);
      expect(migrate(state.storage)).toBe(SITE_SCHEMA_VERSION);
      expect(countedUpTo(sql, "shard", "rheinnet-muc:3/run-1")).toBe(42);
      expect(countedUpTo(sql, "isolate", "rheinnet-muc:3/run-1")).toBe(0);
      expect(sql.exec(`SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'forwarded'`).one().n).toBe(0);
    });
  });
});

describe("the site's schema migration to healthy traffic weighed per member (v19)", () => {
  it("keeps a v18 site's sessions and reporters, their members unknown until a report names them", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("polder-ams"));
    await runInDurableObject(stub, async (_i, state) => {
      const sql = state.storage.sql;
      sql.exec(`DELETE FROM schema_migrations WHERE version >= 19`);
      beforeV21(sql);
      for (const t of ["oca_sessions", "oca_client_reporters"]) sql.exec(`ALTER TABLE ${t} DROP COLUMN streams`);
      sql.exec(`INSERT INTO oca_sessions (oca_id, session_id, last_seen) VALUES ('polder-ams-1', 'v18-session', 1000)`);
      sql.exec(`INSERT INTO oca_client_reporters (oca_id, reporter, at) VALUES ('polder-ams-1', 'v18-member', 1000)`);
      expect(migrate(state.storage)).toBe(SITE_SCHEMA_VERSION);
      expect(sql.exec(`SELECT session_id, streams FROM oca_sessions WHERE oca_id = 'polder-ams-1'`).toArray()).toEqual([
        { session_id: "v18-session", streams: null },
      ]);
      expect(sql.exec(`SELECT reporter, streams FROM oca_client_reporters WHERE oca_id = 'polder-ams-1'`).toArray()).toEqual([
        { reporter: "v18-member", streams: null },
      ]);
    });
  });
});

describe("the site's schema migration to due fill tasks read a page at a time (v20)", () => {
  it("indexes a v19 site's queued tasks by age, and they stay due", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("ixp-fra"));
    await runInDurableObject(stub, async (_i, state) => {
      const sql = state.storage.sql;
      // A site at v19 with a task queued.
      sql.exec(`DELETE FROM schema_migrations WHERE version >= 20`);
      beforeV21(sql);
      sql.exec(`DROP INDEX IF EXISTS fill_tasks_by_age`);
      sql.exec(`DELETE FROM fill_tasks`);
      sql.exec(
        `INSERT INTO fill_tasks (oca_id, title_id, path, bytes, sha256, created_at) VALUES ('ixp-fra-1', 'v19-title', ?, ?, ?, 1000)`,
        file.path,
        file.bytes,
        file.sha256,
      );
      // Up to v20 only: v21 replaces its index.
      expect(
        migrate(
          state.storage,
          SITE_MIGRATIONS.filter((m) => m.version <= 20),
        ),
      ).toBe(20);
      expect(sql.exec(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND name = 'fill_tasks_by_age'`).one().n).toBe(1);
      expect(migrate(state.storage)).toBe(SITE_SCHEMA_VERSION);
      expect([...dueTasks(sql, 2_000)].map((t) => [t.ocaId, t.titleId, t.path])).toEqual([["ixp-fra-1", "v19-title", file.path]]);
    });
  });
});

describe("the site's schema migration to due fill tasks in the plan's order (v21)", () => {
  it("ranks a v20 site's queued tasks first until the next plan ranks them, read through the new index", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("ixp-ams"));
    await runInDurableObject(stub, async (_i, state) => {
      const sql = state.storage.sql;
      // A site at v20 with a task queued.
      sql.exec(`DELETE FROM schema_migrations WHERE version >= 21`);
      beforeV21(sql);
      sql.exec(`CREATE INDEX IF NOT EXISTS fill_tasks_by_age ON fill_tasks (created_at, title_id, oca_id, path, sha256)`);
      sql.exec(`DELETE FROM fill_tasks`);
      sql.exec(
        `INSERT INTO fill_tasks (oca_id, title_id, path, bytes, sha256, created_at) VALUES ('ixp-ams-1', 'v20-title', ?, ?, ?, 1000)`,
        file.path,
        file.bytes,
        file.sha256,
      );
      expect(migrate(state.storage)).toBe(SITE_SCHEMA_VERSION);
      const indexes = sql
        .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'fill_tasks' AND name LIKE 'fill_tasks_by_%' ORDER BY name`)
        .toArray()
        .map((r) => r.name);
      expect(indexes).toEqual(["fill_tasks_by_file", "fill_tasks_by_rank"]);
      expect(sql.exec(`SELECT priority FROM fill_tasks`).one().priority).toBe(0);
      // A task the new plan ranks first goes ahead of it; a re-plan ranking it first again brings it back, keeping its age.
      enqueue(sql, "ixp-ams-1", "v21-title", file, 2_000, 0);
      enqueue(sql, "ixp-ams-1", "v20-title", file, 2_000, 1);
      expect([...dueTasks(sql, 3_000)].map((t) => [t.titleId, t.createdAt])).toEqual([
        ["v21-title", 2_000],
        ["v20-title", 1_000],
      ]);
    });
  });
});

describe("the site's schema migration to plans queued a few titles at a time (v23)", () => {
  it("counts a v22 site's planned titles as queued, so their tasks stay live and nothing is queued twice", async () => {
    await atSchemaBefore("ixp-sjc", 23, beforeV23, (sql, storage) => {
      // A site at v22 whose plan queued every file of its title when it was applied.
      sql.exec(`DELETE FROM plan`);
      sql.exec(`DELETE FROM fill_tasks`);
      sql.exec(`INSERT INTO plan (oca_id, title_id) VALUES ('ixp-sjc-1', 'v22-title')`);
      enqueue(sql, "ixp-sjc-1", "v22-title", file, 1_000, 0);
      expect(migrate(storage)).toBe(SITE_SCHEMA_VERSION);
      expect(isQueued(sql, "ixp-sjc-1", "v22-title")).toBe(true);
      expect(anyUnqueued(sql)).toBe(false);
      expect(queuedFiles(sql, "ixp-sjc-1")).toBe(1);
      // A new plan takes its titles unqueued, in its order.
      replacePlan(sql, [
        { ocaId: "ixp-sjc-1", titleId: "v23-b", rank: 1 },
        { ocaId: "ixp-sjc-1", titleId: "v23-a", rank: 0 },
      ]);
      expect(nextToQueue(sql, "ixp-sjc-1", 5).map((t) => t.titleId)).toEqual(["v23-a", "v23-b"]);
      expect(queuedFiles(sql, "ixp-sjc-1")).toBe(0);
    });
  });
});

describe("the site's schema migration to titles summed by triggers (v24)", () => {
  it("sums a v23 site's holdings per title and by source, and keeps the sums as rows are filled, made ready and removed", async () => {
    await atSchemaBefore("lumen-lax", 24, beforeV24, (sql, storage) => {
      sql.exec(`DELETE FROM holdings`);
      const add = (path: string, st: string, source: string | null) =>
        sql.exec(
          `INSERT INTO holdings (oca_id, title_id, path, sha256, bytes, state, source, updated_at) VALUES ('lumen-lax-1', 'v23-title', ?, 'h', 100, ?, ?, 0)`,
          path,
          st,
          source,
        );
      add("a", "ready", "origin");
      add("b", "ready", "peer");
      add("c", "filling", null);
      expect(migrate(storage)).toBe(SITE_SCHEMA_VERSION);
      expect(titlesOn(sql, "lumen-lax-1")).toEqual([{ titleId: "v23-title", files: 3, bytes: 300, ready: 2, completeVersion: null }]);
      expect(bySource(sql)).toMatchObject({ origin: { files: 1, bytes: 100 }, peer: { files: 1, bytes: 100 } });
      // The copy under way is made ready: the title is all ready, and the check that finds it complete notes it.
      expect(markReady(sql, { ocaId: "lumen-lax-1", titleId: "v23-title", path: "c", sha256: "h" }, "parent", 1)).toBe(true);
      noteComplete(sql, "lumen-lax-1", "v23-title", 3);
      expect(titlesOn(sql, "lumen-lax-1")).toEqual([{ titleId: "v23-title", files: 3, bytes: 300, ready: 3, completeVersion: 3 }]);
      expect(heldByOca(sql, ["lumen-lax-1"])).toEqual({ "lumen-lax-1": ["v23-title"] });
      // A ready file going (an eviction begun, then its row dropped) forgets the title was complete.
      markFileEvicting(sql, { ocaId: "lumen-lax-1", titleId: "v23-title", path: "a", sha256: "h" });
      expect(titlesOn(sql, "lumen-lax-1")[0]).toMatchObject({ ready: 2, completeVersion: null });
      dropFile(sql, { ocaId: "lumen-lax-1", titleId: "v23-title", path: "a", sha256: "h" });
      expect(titlesOn(sql, "lumen-lax-1")[0]).toMatchObject({ files: 2, bytes: 200, ready: 2 });
      expect(bySource(sql)).toMatchObject({ origin: { files: 0, bytes: 0 }, peer: { files: 1 }, parent: { files: 1 } });
      // The last row gone, the title has no summary left.
      dropTitle(sql, "lumen-lax-1", "v23-title");
      expect(titlesOn(sql, "lumen-lax-1")).toEqual([]);
    });
  });
});

describe("the site's schema migration to an index of unsettled holdings (v25)", () => {
  it("finds the rows a cut-off copy or eviction left through the index, not a scan of every file", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("ixp-nyc"));
    await runInDurableObject(stub, async (_i, state) => {
      const plan = state.storage.sql
        .exec<{ detail: string }>(`EXPLAIN QUERY PLAN SELECT oca_id, title_id, path, sha256 FROM holdings WHERE state IN ('filling', 'evicting') LIMIT 1000`)
        .toArray()
        .map((r) => r.detail)
        .join(" | ");
      expect(plan).toMatch(/holdings_unsettled/);
      expect(plan).not.toMatch(/^SCAN holdings$/);
    });
  });
});

describe("the site's schema migration to CMCD rows forgotten by when they were heard (v26)", () => {
  it("keeps a v25 site's CMCD rows, heard when their player last spoke, and forgets them through the new index", async () => {
    await atSchemaBefore("lumen-nyc", 26, beforeV26, (sql, storage) => {
      sql.exec(`DELETE FROM cmcd_sessions`);
      sql.exec(
        `INSERT INTO cmcd_sessions (session_id, title_id, requests, bytes, stalls, startups, last_oca, first_at, last_at) VALUES ('v25-session', 't', 1, 1, 0, 0, 'o', 1000, 2000)`,
      );
      expect(migrate(storage)).toBe(SITE_SCHEMA_VERSION);
      expect(sql.exec(`SELECT heard_at FROM cmcd_sessions WHERE session_id = 'v25-session'`).one().heard_at).toBe(2000);
      expect(indexesOn(sql, "cmcd_sessions")).toEqual(["cmcd_sessions_by_heard"]);
    });
  });
});

describe("the site's schema migration to sessions' activity cleaned up by a bucket of when it was seen (v27)", () => {
  it("keeps a v26 site's active sessions, each in the bucket of its last sighting, and cleans them up through the new index", async () => {
    await atSchemaBefore("ixp-fra", 27, beforeV27, (sql, storage) => {
      sql.exec(`DELETE FROM oca_sessions`);
      const now = Date.now();
      sql.exec(`INSERT INTO oca_sessions (oca_id, session_id, last_seen) VALUES ('ixp-fra-1', 'fresh', ?), ('ixp-fra-1', 'stale', ?)`, now, now - 120_000);
      expect(migrate(storage)).toBe(SITE_SCHEMA_VERSION);
      const buckets = Object.fromEntries(
        sql
          .exec<{ session_id: string; seen_bucket: number }>(`SELECT session_id, seen_bucket FROM oca_sessions`)
          .toArray()
          .map((r) => [r.session_id, r.seen_bucket]),
      );
      expect(buckets).toEqual({ fresh: Math.floor(now / SEEN_BUCKET_MS), stale: Math.floor((now - 120_000) / SEEN_BUCKET_MS) });
      expect(indexesOn(sql, "oca_sessions")).toEqual(["oca_sessions_by_bucket"]);
      // The next report forgets the stale one and keeps the fresh one.
      ingestEdgeReport(sql, [{ id: "ixp-fra-1" } as OcaSpec], { windowMs: 1000, ocas: {} } as never, now);
      expect(sql.exec<{ session_id: string }>(`SELECT session_id FROM oca_sessions`).toArray()).toEqual([{ session_id: "fresh" }]);
    });
  });
});

describe("the site's schema migration to claims waiting for the served figure (v28)", () => {
  it("keeps a v27 site's sessions as they counted, with nothing claimed waiting, and counts a later claim past the served figure when it catches up", async () => {
    await atSchemaBefore("ixp-ams", 28, beforeV28, (sql, storage) => {
      const now = Date.now();
      sql.exec(`DELETE FROM session_views WHERE session_id = 'v27-session'`);
      sql.exec(
        `INSERT INTO session_views (session_id, title_id, play_day, started_at, est_bytes, top_bps, est_counted, reported, served) VALUES ('v27-session', 'v27-title', 1, ?, 1000000000, 8000000, 0, 5000000, 4000000)`,
        now - 600_000,
      );
      expect(migrate(storage)).toBe(SITE_SCHEMA_VERSION);
      expect(sql.exec(`SELECT reported, served, claimed, claimed_day FROM session_views WHERE session_id = 'v27-session'`).one()).toEqual({
        reported: 5_000_000,
        served: 4_000_000,
        claimed: 0,
        claimed_day: null,
      });
      // A claim past served + 10 s at the top rate (14 MB) waits, then counts as the served figure grows.
      const r = recordReport(sql, {
        sessionId: "v27-session",
        titleId: "v27-title",
        day: 1,
        estBytes: 1_000_000_000,
        topBps: 8_000_000,
        startedAt: now - 600_000,
        reportDay: 2,
        bytes: 20_000_000,
        now,
      });
      expect(r.counted).toBe(9_000_000);
      recordServed(sql, "v27-session", 20_000_000);
      expect(sql.exec(`SELECT reported FROM session_views WHERE session_id = 'v27-session'`).one().reported).toBe(25_000_000);
      expect(sql.exec(`SELECT bytes FROM views WHERE day = 2 AND title_id = 'v27-title'`).one().bytes).toBe(20_000_000);
    });
  });
});
