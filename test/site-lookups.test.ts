import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as fillQueue from "../durable-objects/site/fill-queue";
import * as planTable from "../durable-objects/site/plan";
import * as holdings from "../durable-objects/site/holdings";
import { ActiveSessions, SESSIONS_COUNT_EVERY_MS } from "../durable-objects/site/load";
import { pruneViews, recordPlays, VIEWS_KEEP_DAYS } from "../durable-objects/site/viewing-history";

/**
 * A site's lookups stay cheap as it grows: an OCA's used bytes are one row kept by triggers (not a sum
 * over every file it holds, asked for each file the fill copies), lookups by title and by time use
 * indexes, and the views table stops growing. Run on the storage of fresh site objects.
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));
const withSql = <T>(name: string, fn: (sql: SqlStorage) => T) => runInDurableObject(site(name), async (_o, state) => fn(state.storage.sql));
const file = (path: string, bytes: number) => ({ path, bytes, sha256: `${path}`.padEnd(64, "0") });
const sum = (sql: SqlStorage, ocaId: string) => sql.exec<{ b: number | null }>(`SELECT SUM(bytes) AS b FROM holdings WHERE oca_id = ?`, ocaId).one().b ?? 0;
const plan = (sql: SqlStorage, q: string, ...args: unknown[]) =>
  sql
    .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${q}`, ...args)
    .toArray()
    .map((r) => r.detail)
    .join(" | ");

describe("a site's lookups as it grows", () => {
  it("keeps each OCA's used bytes equal to the sum of its rows through every kind of change, reading one row", async () => {
    await withSql("lumen-sea", (sql) => {
      const ref = (ocaId: string, f: { path: string; sha256: string }) => ({ ocaId, titleId: "t", path: f.path, sha256: f.sha256 });
      const a = file("a", 100);
      const b = file("b", 200);
      holdings.reserve(sql, "o1", "t", a, 1);
      holdings.reserve(sql, "o1", "t", b, 1);
      holdings.reserve(sql, "o2", "t", a, 1);
      expect(holdings.markReady(sql, ref("o1", a), "origin", 2)).toBe(true);
      // A reservation made again (a stranded copy retried) with another size replaces, never adds.
      holdings.reserve(sql, "o1", "t", { ...a, bytes: 150 }, 3);
      expect(holdings.usedBytes(sql, "o1")).toBe(350);
      holdings.dropFile(sql, ref("o1", b));
      expect(holdings.usedBytes(sql, "o1")).toBe(150);
      holdings.markEvicting(sql, "o2", "t");
      expect(holdings.usedBytes(sql, "o2")).toBe(100);
      expect(holdings.dropTitle(sql, "o2", "t")).toEqual({ files: 1, bytes: 100 });
      for (const o of ["o1", "o2", "o3"]) expect(holdings.usedBytes(sql, o)).toBe(sum(sql, o));
      // One row, whatever the OCA holds.
      for (let i = 0; i < 2_000; i++) holdings.reserve(sql, "o1", "bulk", file(`f${i}`, 10), 4);
      expect(holdings.usedBytes(sql, "o1")).toBe(150 + 20_000);
      expect(holdings.usedBytes(sql, "o1")).toBe(sum(sql, "o1"));
      expect(plan(sql, `SELECT bytes FROM oca_used WHERE oca_id = ?`, "o1")).toMatch(/USING PRIMARY KEY/);
    });
  });

  it("finds a file's holders by title through an index, and the least watched unplanned titles without scanning the views", async () => {
    await withSql("lumen-den", (sql) => {
      expect(
        plan(sql, `SELECT oca_id FROM holdings WHERE title_id = ? AND path = ? AND state = 'ready' AND sha256 = ? AND oca_id != ?`, "t", "p", "s", "o"),
      ).toMatch(/holdings_by_title/);
      expect(plan(sql, `SELECT path, oca_id, sha256 FROM holdings WHERE title_id = ? AND state = 'ready' ORDER BY oca_id`, "t")).toMatch(/holdings_by_title/);
      expect(plan(sql, `SELECT COALESCE(SUM(v.bytes + v.est_bytes), 0) FROM views v WHERE v.title_id = ?`, "t")).toMatch(/views_by_title/);
      expect(plan(sql, `DELETE FROM oca_sessions WHERE seen_bucket < ?`, 0)).toMatch(/oca_sessions_by_bucket/);
    });
  });

  it("counts an OCA's active sessions at most once a second, however many syncs ask", async () => {
    await withSql("lakeshore-chi", (sql) => {
      const now = 1_800_000_000_000;
      const seen = (n: number, at: number) => {
        for (let i = 0; i < n; i++) sql.exec(`INSERT INTO oca_sessions (oca_id, session_id, last_seen) VALUES ('o1', ?, ?)`, crypto.randomUUID(), at);
      };
      const active = new ActiveSessions();
      seen(3, now);
      expect(active.count(sql, "o1", now)).toBe(3);
      seen(2, now + 10);
      expect(active.count(sql, "o1", now + SESSIONS_COUNT_EVERY_MS - 1)).toBe(3);
      expect(active.count(sql, "o1", now + SESSIONS_COUNT_EVERY_MS)).toBe(5);
      // A clock that went back counts afresh rather than trusting a count from the future.
      expect(active.count(sql, "o1", now)).toBe(5);
    });
  });

  it("keeps VIEWS_KEEP_DAYS of views and forgets older days", async () => {
    await withSql("ixp-sjc", (sql) => {
      const today = 20_000;
      for (const day of [today - VIEWS_KEEP_DAYS - 1, today - VIEWS_KEEP_DAYS, today])
        sql.exec(`INSERT INTO views (day, title_id, plays) VALUES (?, 't', 1)`, day);
      pruneViews(sql, today);
      expect(
        sql
          .exec<{ day: number }>(`SELECT day FROM views ORDER BY day`)
          .toArray()
          .map((r) => r.day),
      ).toEqual([today - VIEWS_KEEP_DAYS, today]);
    });
  });

  it("counts a play sent twice (a sync that timed out after the site counted it) once", async () => {
    await withSql("ixp-fra", (sql) => {
      const p = { sessionId: "twice", titleId: "t", day: 20_000, estBytes: 10, topBps: 8, startedAt: 1_800_000_000_000 };
      expect([...recordPlays(sql, [p])]).toEqual(["twice"]);
      expect([...recordPlays(sql, [p])]).toEqual([]);
    });
  });

  it("lets the OCA that ranks a shared file's title highest fetch it upstream, its peers waiting for its copy", async () => {
    await withSql("lookups-peer-rank", (sql) => {
      const f = file("video/avc-240p/seg-00001.m4s", 10);
      // Title t is rank 5 on OCA a (lower id), rank 0 on OCA b: b copies it first, so b fetches.
      planTable.replacePlan(sql, [
        { ocaId: "a", titleId: "t", rank: 5 },
        { ocaId: "b", titleId: "t", rank: 0 },
      ]);
      planTable.markQueued(sql, "a", "t");
      planTable.markQueued(sql, "b", "t");
      fillQueue.enqueue(sql, "a", "t", f, 1_000, 5);
      fillQueue.enqueue(sql, "b", "t", f, 1_000, 0);
      expect(fillQueue.earlierPeerQueued(sql, "t", f, "b", 0)).toBe(false);
      expect(fillQueue.earlierPeerQueued(sql, "t", f, "a", 5)).toBe(true);
      // Ranked alike, the lower OCA id fetches.
      fillQueue.enqueue(sql, "b", "t", f, 1_000, 5);
      expect(fillQueue.earlierPeerQueued(sql, "t", f, "a", 5)).toBe(false);
      expect(fillQueue.earlierPeerQueued(sql, "t", f, "b", 5)).toBe(true);
      // A's task left from an earlier plan (its title not queued under this one yet) is not waited for.
      sql.exec(`UPDATE plan SET queued = 0 WHERE oca_id = 'a'`);
      expect(fillQueue.earlierPeerQueued(sql, "t", f, "b", 5)).toBe(false);
      // Asked for every task the fill looks at: an index search by the file, not a scan of the queue.
      expect(plan(sql, `SELECT 1 FROM fill_tasks WHERE title_id = ?1 AND path = ?2 AND sha256 = ?3 AND oca_id != ?4`, "t", f.path, f.sha256, "a")).toMatch(
        /SEARCH fill_tasks USING (COVERING )?INDEX fill_tasks_by_file/,
      );
    });
  });

  it("reads the due fill tasks a page at a time, in the plan's order, through an index", async () => {
    await withSql("rheinnet-ham", (sql) => {
      sql.exec(`DELETE FROM fill_tasks`);
      // 11 tasks over two plans and two OCAs; one backing off, one parked. The first plan ranks t first
      // on each OCA; the second ranks s first, and t, still queued, after it (keeping its age).
      for (let i = 0; i < 6; i++) fillQueue.enqueue(sql, `o${i % 2}`, "t", file(`p${i}`, 10), 1_000, 0);
      for (let i = 0; i < 5; i++) fillQueue.enqueue(sql, "o0", "s", file(`q${i}`, 10), 2_000, 0);
      for (let i = 0; i < 6; i++) fillQueue.enqueue(sql, `o${i % 2}`, "t", file(`p${i}`, 10), 2_000, 1);
      sql.exec(`UPDATE fill_tasks SET next_at = 9999 WHERE path = 'p3'`);
      sql.exec(`UPDATE fill_tasks SET parked_at = 1 WHERE path = 'q1'`);
      // Every read the queue makes, with the rows it returned.
      const reads: Array<{ query: string; args: unknown[]; rows: number }> = [];
      const counted = {
        exec: (query: string, ...args: SqlStorageValue[]) => {
          const cursor = sql.exec(query, ...args);
          return {
            toArray: () => {
              const all = cursor.toArray();
              reads.push({ query, args, rows: all.length });
              return all;
            },
          };
        },
      } as unknown as SqlStorage;
      const seen = [...fillQueue.dueTasks(counted, 5_000, 4)].map((t) => `${t.createdAt}:${t.ocaId}:${t.path}`);
      expect(seen).toEqual(["2000:o0:q0", "2000:o0:q2", "2000:o0:q3", "2000:o0:q4", "1000:o0:p0", "1000:o0:p2", "1000:o0:p4", "1000:o1:p1", "1000:o1:p5"]);
      expect(Math.max(...reads.map((r) => r.rows))).toBeLessThanOrEqual(4);
      // Each page starts where the last ended, in the index's order: no scan, no sort of the whole queue.
      expect(plan(sql, reads[0].query, ...reads[0].args)).toMatch(/SEARCH fill_tasks USING INDEX fill_tasks_by_rank/);
      expect(plan(sql, reads[0].query, ...reads[0].args)).not.toMatch(/TEMP B-TREE/);
    });
  });
});
