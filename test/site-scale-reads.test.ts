import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fill, openPlan, publishTitle } from "./fixtures";
import type { OcaSite } from "../durable-objects/oca-site";
import { countSiteRows, READS_FILES, watchSiteD1 } from "./site-rows";

/**
 * A national site holds thousands of titles of thousands of files each. What operators, the planner
 * and each alarm run read must grow with its titles, not its files: the operators' view and the
 * planner's holdings read one summary row per (OCA, title), kept by triggers; the alarm reconciles the
 * steering view a slice of titles per run. Rows are counted as SQLite reads them (`countSiteRows`).
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/** `titles` titles on each of the site's OCAs, `filesPerTitle` ready files each (not in the catalogue: rows only). */
async function seedHoldings(siteId: string, titles: number, filesPerTitle: number): Promise<void> {
  const ocas = (await site(siteId).describe()).ocas.map((o) => o.ocaId);
  await runInDurableObject(site(siteId), async (_o, state) => {
    for (const oca of ocas)
      state.storage.sql.exec(
        `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
         INSERT INTO holdings (oca_id, title_id, path, sha256, bytes, state, source, updated_at)
         SELECT ?, 'scale-title-' || (i % ?), 'seg-' || i, 'h', 1000, 'ready', 'origin', 0 FROM s`,
        titles * filesPerTitle - 1,
        oca,
        titles,
      );
  });
}

/** Rows read by describe() and holdingsByOca(), after a first describe() has checked what it checks once. */
async function rowsToDescribe(siteId: string, titles: number, filesPerTitle: number): Promise<{ describe: number; holdings: number }> {
  await seedHoldings(siteId, titles, filesPerTitle);
  const counter = await countSiteRows(site(siteId));
  await site(siteId).describe();
  counter.rows = 0;
  const state = await site(siteId).describe();
  const describe = counter.rows;
  counter.rows = 0;
  const held = await site(siteId).holdingsByOca();
  // The summary says what the rows say.
  const first = state.ocas[0];
  expect(first.titles).toHaveLength(titles);
  expect(first.titles[0]).toMatchObject({ files: filesPerTitle, bytes: filesPerTitle * 1000, readyFiles: filesPerTitle, complete: false });
  expect(held[first.ocaId]).toHaveLength(titles);
  return { describe, holdings: counter.rows };
}

describe("what a national site's object reads", () => {
  it("to describe the site and give the planner its holdings: a row per title, however many files each holds", async () => {
    const small = await rowsToDescribe("ixp-sjc", 50, 2);
    const large = await rowsToDescribe("rheinnet-ber", 50, 400);
    console.log(`SITE_DESCRIBE_ROWS ${JSON.stringify({ small, large })}`);
    expect(small.describe).toBeGreaterThan(0);
    expect(large.describe).toBeLessThan(small.describe * 1.5 + 50);
    expect(large.holdings).toBeLessThan(small.holdings * 1.5 + 50);
  }, 120_000);

  it("to answer the dashboard: counts of its titles, not their list, whatever it holds", async () => {
    const SITE = "lumen-nyc";
    await seedHoldings(SITE, 300, 2);
    // The operators' view asked for up to 1,000 titles per OCA (100 unless asked); the dashboard's carries a count per OCA.
    const [state, summary] = await Promise.all([site(SITE).describe({ titles: 1000 }), site(SITE).opsSummary()]);
    expect(state.ocas[0].titles.length).toBeGreaterThanOrEqual(300);
    expect(state.ocas[0].titlesTotal).toBe(state.ocas[0].titles.length);
    expect(summary.ocas.map((o) => o.ocaId)).toEqual(state.ocas.map((o) => o.ocaId));
    for (const o of summary.ocas) {
      const full = state.ocas.find((x) => x.ocaId === o.ocaId)!;
      expect(o.completeTitles).toBe(full.titles.filter((t) => t.complete).length);
      expect(o.usedBytes).toBe(full.usedBytes);
    }
    const sizes = { describe: JSON.stringify(state).length, summary: JSON.stringify(summary).length };
    console.log(`SITE_DASHBOARD_BYTES ${JSON.stringify(sizes)}`);
    expect(sizes.summary).toBeLessThan(8_000);
    expect(sizes.describe).toBeGreaterThan(10 * sizes.summary);
  });

  it("to answer the dashboard: the same figures the operators' view and the last cycle give", async () => {
    const SITE = "polder-ams";
    await Promise.all(["sum-a", "sum-b", "sum-c"].map((id) => publishTitle(id)));
    expect((await fill([{ siteId: SITE, ocaId: "polder-ams-1", titleIds: ["sum-a", "sum-b"] }])).status).toBe(200);
    const s = site(SITE);
    await runInDurableObject(s, async (o: OcaSite, state) => {
      await o.applyPlan(openPlan({ "polder-ams-1": ["sum-a", "sum-c"], "polder-ams-2": ["sum-b"] }));
      await state.storage.deleteAlarm();
      const sql = state.storage.sql;
      sql.exec(
        `INSERT INTO misses (oca_id, title_id, kind, count, bytes) VALUES ('polder-ams-1', 'x', 'content', 3, 30), ('polder-ams-2', 'y', 'health', 2, 20), ('polder-ams-2', 'x', 'content', 1, 5)`,
      );
      sql.exec(`UPDATE fill_tasks SET parked_at = 1 WHERE rowid IN (SELECT rowid FROM fill_tasks LIMIT 2)`);
    });
    const [state, cycle, sum] = await Promise.all([s.describe(), s.lastCycle(), s.opsSummary()]);
    expect(sum.ocas.map((o) => o.completeTitles)).toEqual([2, 0]);
    expect(sum.ocas.map((o) => o.completeTitles)).toEqual(state.ocas.map((o) => o.titles.filter((t) => t.complete).length));
    expect(sum.planned).toEqual({ "polder-ams-1": 2, "polder-ams-2": 1 });
    expect(sum.progress.parked).toBe(2);
    expect(sum.progress.parked).toBe(cycle.progress.parked.length);
    expect(sum.misses).toEqual({ content: { count: 4, bytes: 35 }, health: { count: 2, bytes: 20 } });
    expect(sum.day).toBe(cycle.day);
    expect(sum.ocas.map((o) => o.transitions)).toEqual(state.ocas.map((o) => o.transitions.slice(0, 5)));
    expect(cycle.progress.parkedTotal).toBe(2);
    const { parked: _a, ...figures } = sum.progress;
    const { parked: _b, parkedTotal: _c, ...full } = cycle.progress;
    expect(figures).toEqual(full);
  });

  it("to list parked copies: the first hundred and how many there are, however many a broken origin parked", async () => {
    const SITE = "ixp-fra";
    const parkedTasks = 1_500;
    await runInDurableObject(site(SITE), async (_o, state) => {
      const oca = (await site(SITE).describe()).ocas[0].ocaId;
      state.storage.sql.exec(
        `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
         INSERT INTO fill_tasks (oca_id, title_id, path, sha256, bytes, created_at, attempts, last_error, parked_at)
         SELECT ?, 'parked-title', 'seg-' || printf('%05d', i), 'h', 1000, 0, 5, 'origin: 500', 1 FROM s`,
        parkedTasks - 1,
        oca,
      );
    });
    const [state, cycle, sum] = await Promise.all([site(SITE).describe(), site(SITE).lastCycle(), site(SITE).opsSummary()]);
    for (const progress of [state.progress, cycle.progress]) {
      expect(progress.parked).toHaveLength(100);
      expect(progress.parked[0]).toMatchObject({ titleId: "parked-title", path: "seg-00000", lastError: "origin: 500", attempts: 5 });
      expect(progress.parkedTotal).toBe(parkedTasks);
    }
    expect(sum.progress.parked).toBe(parkedTasks);
    expect(JSON.stringify(state.progress).length).toBeLessThan(20_000);
  });

  it("to reconcile the steering view: a slice of titles per alarm run, every title within a pass", async () => {
    const SITE = "lumen-lax";
    const OCA = "lumen-lax-1";
    // 40 listings the site holds nothing of (as after lost evictions): each must leave the view.
    const ids = Array.from({ length: 40 }, (_, i) => `stale-listing-${String(i).padStart(2, "0")}`);
    const listStale = () =>
      env.DB.batch(
        ids.map((id) =>
          env.DB.prepare(`INSERT INTO oca_titles (site_id, oca_id, title_id, version, files, bytes, updated_at) VALUES (?, ?, ?, 1, 1, 1, 0)`).bind(
            SITE,
            OCA,
            id,
          ),
        ),
      );
    await listStale();
    const listed = async () =>
      (await env.DB.prepare(`SELECT COUNT(*) AS n FROM oca_titles WHERE site_id = ? AND title_id LIKE 'stale-listing-%'`).bind(SITE).first<{ n: number }>())?.n;
    const run = async () => {
      await runInDurableObject(site(SITE), (_o, state) => state.storage.setAlarm(Date.now()));
      expect(await runDurableObjectAlarm(site(SITE))).toBe(true);
    };
    await run();
    // The first run reconciled a slice (32 titles), not all 40, and armed the next for the rest of the
    // pass, though the site has no fill work; the next finishes the pass and arms nothing more.
    expect(await listed()).toBe(8);
    const between = await runInDurableObject(site(SITE), async (_o, state) => ({
      after: state.storage.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'reconcile_after'`).toArray()[0]?.value,
      alarm: await state.storage.getAlarm(),
    }));
    expect(between.after).toBe("stale-listing-31");
    expect(between.alarm).not.toBeNull();
    expect(await runDurableObjectAlarm(site(SITE))).toBe(true);
    expect(await listed()).toBe(0);
    expect(await runInDurableObject(site(SITE), (_o, state) => state.storage.getAlarm())).toBeNull();
    // An operator's full pass (the RPC) takes every slice in one call.
    await listStale();
    expect(await site(SITE).reconcile()).toMatchObject({ unpublished: 40 });
    expect(await listed()).toBe(0);
  });

  it("to publish a title it fills and reconcile it after: its files read once it is complete, then not again while it stays so", async () => {
    const SITE = "lakeshore-chi";
    const OCA = "lakeshore-chi-1";
    const t = await publishTitle("scale-publish-once");
    // The object's D1, counted: statements that read the catalogue's files table.
    const reads = { files: 0 };
    const undo = await watchSiteD1(site(SITE), (q) => {
      if (READS_FILES.test(q)) reads.files++;
    });
    await site(SITE).applyPlan(openPlan({ [OCA]: ["scale-publish-once"] }));
    reads.files = 0;
    await runInDurableObject(site(SITE), (_o, state) => state.storage.setAlarm(Date.now()));
    expect(await runDurableObjectAlarm(site(SITE))).toBe(true);
    const listed = await env.DB.prepare(`SELECT oca_id FROM oca_titles WHERE site_id = ? AND title_id = 'scale-publish-once'`).bind(SITE).all();
    expect(listed.results).toEqual([{ oca_id: OCA }]);
    // One read to publish it when complete and one for the run's reconcile, against one per file (14) before.
    expect(Object.keys(t.files).length).toBeGreaterThan(10);
    expect(reads.files).toBeLessThanOrEqual(2);
    // Settled (complete, nothing else held, listed at its one version): a reconcile pass reads none of its files.
    reads.files = 0;
    expect(await site(SITE).reconcile()).toEqual({ published: 0, unpublished: 0, pruned: 0 });
    expect(reads.files).toBe(0);
    // Its listing lost behind the site's back: no longer settled, checked file by file, listed again.
    await env.DB.prepare(`DELETE FROM oca_titles WHERE site_id = ? AND title_id = 'scale-publish-once'`).bind(SITE).run();
    expect(await site(SITE).reconcile()).toEqual({ published: 1, unpublished: 0, pruned: 0 });
    expect(reads.files).toBe(1);
    await undo();
  });
});
