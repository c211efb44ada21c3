import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { OcaSite } from "../durable-objects/oca-site";
import type { ApplyPlanInput } from "../durable-objects/site/rpc-types";
import { fill, openPlan, publishTitle } from "./fixtures";
import { READS_FILES, watchSiteD1 } from "./site-rows";

/**
 * A plan is applied as its titles and its files are queued a few titles at a time as the fill works
 * through them (durable-objects/site/plan.ts): at a national OCA's scale (thousands of titles of
 * thousands of files) neither applying the plan nor one alarm run may read or write every file. The
 * queue-ahead is set small here so the site's six-title plan behaves as a plan of thousands would. Each
 * alarm run is started by hand and its re-armed alarm removed, so runs never overlap the checks.
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

async function applyWithoutAlarm(siteId: string, plan: ApplyPlanInput) {
  return runInDurableObject(site(siteId), async (o: OcaSite, state) => {
    const queued = await o.applyPlan(plan);
    await state.storage.deleteAlarm();
    return queued;
  });
}

/** One alarm run, alone: armed now, run, and whatever it re-armed removed. */
async function oneRun(siteId: string): Promise<void> {
  await runInDurableObject(site(siteId), (_o, state) => state.storage.setAlarm(Date.now()));
  expect(await runDurableObjectAlarm(site(siteId))).toBe(true);
  await runInDurableObject(site(siteId), (_o, state) => state.storage.deleteAlarm());
}

const sql = <T extends Record<string, SqlStorageValue>>(siteId: string, q: string, ...args: SqlStorageValue[]) =>
  runInDurableObject(site(siteId), async (_o, state) => state.storage.sql.exec<T>(q, ...args).toArray());

const queuedTitles = async (siteId: string) =>
  (await sql<{ title_id: string }>(siteId, `SELECT DISTINCT title_id FROM fill_tasks ORDER BY title_id`)).map((r) => r.title_id);

const readyTitles = async (siteId: string, ocaId: string, files: number) =>
  (
    await sql<{ title_id: string }>(
      siteId,
      `SELECT title_id FROM holdings WHERE oca_id = ? AND state = 'ready' GROUP BY title_id HAVING COUNT(*) = ? ORDER BY title_id`,
      ocaId,
      files,
    )
  ).map((r) => r.title_id);

describe("a plan of many titles", () => {
  it("is queued a couple of titles at a time in the plan's order, and the fill still copies every title", async () => {
    const SITE = "lumen-nyc";
    const OCA = "lumen-nyc-1";
    const ids = ["qa-f", "qa-e", "qa-d", "qa-c", "qa-b", "qa-a"];
    const titles = await Promise.all(ids.map((id) => publishTitle(id)));
    const files = Object.keys(titles[0].files).length;
    const queued = await applyWithoutAlarm(SITE, { ...openPlan({ [OCA]: ids }), queueAhead: { files: 1, titles: 2 } });
    // Applying it queued the first two titles' files only; four titles wait their turn.
    expect(queued).toEqual({ applied: true, queuedFiles: 2 * files, queuedBytes: expect.any(Number), titlesToQueue: 4 });
    if (!queued.applied) throw new Error("the plan was refused");
    expect(await queuedTitles(SITE)).toEqual(["qa-e", "qa-f"]);
    const progress = (await site(SITE).lastCycle()).progress;
    expect(progress.pending).toContainEqual({ ocaId: OCA, files: 2 * files, bytes: queued.queuedBytes, parked: 0, titlesToQueue: 4 });

    const order: string[][] = [];
    for (let i = 0; i < 12 && (await readyTitles(SITE, OCA, files)).length < ids.length; i++) {
      await oneRun(SITE);
      // Never more than the queue-ahead's two titles queued at once.
      expect((await queuedTitles(SITE)).length).toBeLessThanOrEqual(2);
      order.push(await readyTitles(SITE, OCA, files));
    }
    expect(order.at(-1)).toEqual([...ids].sort());
    // Complete in the plan's order: what is ready after each run is always the plan's first titles.
    for (const ready of order) expect(new Set(ready)).toEqual(new Set(ids.slice(0, ready.length)));
    expect((await site(SITE).lastCycle()).progress.pending).toEqual([]);
    const listed = await env.DB.prepare(`SELECT COUNT(DISTINCT title_id) AS n FROM oca_titles WHERE site_id = ? AND oca_id = ? AND title_id LIKE 'qa-%'`)
      .bind(SITE, OCA)
      .first<{ n: number }>();
    expect(listed?.n).toBe(ids.length);
  });

  it("leaves a task of an earlier plan alone until its title is queued again, which drops what a re-publish superseded", async () => {
    const SITE = "lakeshore-chi";
    const OCA = "lakeshore-chi-1";
    const before = await publishTitle("qa-republished");
    await publishTitle("qa-first");
    // The first plan queued every file of the title, then the window closed before any was copied.
    await applyWithoutAlarm(SITE, openPlan({ [OCA]: ["qa-republished"] }));
    expect(await queuedTitles(SITE)).toEqual(["qa-republished"]);
    // Re-published with a new segment; the next plan ranks another title first and queues one title a call.
    const path = "video/avc-720p/seg-00001.m4s";
    const after = await publishTitle("qa-republished", { change: { [path]: new Uint8Array(4096).fill(7) } });
    expect(after.sha[path]).not.toBe(before.sha[path]);
    await applyWithoutAlarm(SITE, { ...openPlan({ [OCA]: ["qa-first", "qa-republished"] }), queueAhead: { files: 1, titles: 1 } });
    // The first run copies the title queued first and none of the earlier plan's tasks.
    await oneRun(SITE);
    const held = async () =>
      sql<{ title_id: string; path: string; sha256: string }>(SITE, `SELECT title_id, path, sha256 FROM holdings WHERE oca_id = ? AND state = 'ready'`, OCA);
    expect(new Set((await held()).map((h) => h.title_id))).toEqual(new Set(["qa-first"]));
    // The next run queues the re-published title: its superseded file is dropped, never copied.
    await oneRun(SITE);
    const copies = (await held()).filter((h) => h.title_id === "qa-republished");
    expect(copies).toHaveLength(Object.keys(after.files).length);
    expect(copies.find((c) => c.path === path)?.sha256).toBe(after.sha[path]);
    expect(await sql(SITE, `SELECT 1 AS x FROM fill_tasks WHERE title_id = 'qa-republished'`)).toEqual([]);
  });

  it("has an OCA wait for the peer that plans a title ahead of it even before that peer has queued it, so the title comes upstream once", async () => {
    const SITE = "rheinnet-muc";
    const [ONE, TWO] = ["rheinnet-muc-1", "rheinnet-muc-2"];
    const t = await publishTitle("qa-shared");
    await publishTitle("qa-ahead");
    // Both rank the shared title second; the first OCA (the lower id) goes first. Its title ahead has
    // files to copy, the second's has none, so the second queues the shared title a run earlier.
    await applyWithoutAlarm(SITE, {
      ...openPlan({ [ONE]: ["qa-ahead", "qa-shared"], [TWO]: ["qa-no-files", "qa-shared"] }),
      peerWaitMs: 3_600_000,
      queueAhead: { files: 1, titles: 1 },
    });
    const sources = async (ocaId: string) =>
      (await sql<{ source: string }>(SITE, `SELECT source FROM holdings WHERE oca_id = ? AND title_id = 'qa-shared' AND state = 'ready'`, ocaId)).map(
        (r) => r.source,
      );
    await oneRun(SITE);
    expect(await sql(SITE, `SELECT 1 AS x FROM fill_tasks WHERE oca_id = ? AND title_id = 'qa-shared' LIMIT 1`, TWO)).toHaveLength(1);
    expect(await sources(TWO)).toEqual([]);
    for (let i = 0; i < 4; i++) await oneRun(SITE);
    const files = Object.keys(t.files).length;
    expect(await sources(ONE)).toEqual(Array(files).fill("origin"));
    expect(await sources(TWO)).toEqual(Array(files).fill("peer"));
  });

  it("arms the fill when the catalogue cannot be read as the plan is applied, and queues the plan once it can", async () => {
    const SITE = "polder-ams";
    const OCA = "polder-ams-1";
    const t = await publishTitle("qa-d1-down");
    const down = { files: true };
    // D1 fails every read of the catalogue's files (the rest of D1 answers).
    const undo = await watchSiteD1(site(SITE), (q) => {
      if (down.files && READS_FILES.test(q)) throw new Error("injected: D1 unreachable");
    });
    await runInDurableObject(site(SITE), async (o: OcaSite, state) => {
      await state.storage.deleteAlarm();
      expect(await o.applyPlan(openPlan({ [OCA]: ["qa-d1-down"] }))).toMatchObject({ queuedFiles: 0, titlesToQueue: 1 });
      // Recorded and armed: the next cron would find the day planned, so the alarm must carry it.
      expect(await state.storage.getAlarm()).not.toBeNull();
      expect((await o.lastCycle()).progress.lastError).toMatch(/queuing the plan's titles: .*D1 unreachable/);
    });
    down.files = false;
    for (let i = 0; i < 3; i++) await oneRun(SITE);
    expect(await readyTitles(SITE, OCA, Object.keys(t.files).length)).toContain("qa-d1-down");
    await undo();
  });

  it("does not come back every second for titles it has no room to queue, and reads no files of a title it already holds", async () => {
    const SITE = "rheinnet-ber";
    const OCA = "rheinnet-ber-1";
    const ids = ["qa-held", "qa-room-a", "qa-room-b"];
    const [held] = await Promise.all(ids.map((id) => publishTitle(id)));
    // qa-held is complete here already; the OCA has no room for anything more.
    expect((await fill([{ siteId: SITE, ocaId: OCA, titleIds: ["qa-held"] }])).status).toBe(200);
    await site(SITE).setCapacity(
      OCA,
      Object.values(held.files).reduce((a, b) => a + b.byteLength, 0),
    );
    const reads = { files: 0 };
    const undo = await watchSiteD1(site(SITE), (q) => {
      if (READS_FILES.test(q)) reads.files++;
    });
    await applyWithoutAlarm(SITE, { ...openPlan({ [OCA]: ids }), queueAhead: { files: 1, titles: 1 } });
    // Queuing the held title read its version, not its files, and queued nothing for it.
    expect(reads.files).toBe(0);
    expect(await queuedTitles(SITE)).toEqual([]);
    // The next run queues qa-room-a, finds no room for its files and puts them off a minute: with
    // qa-room-b still to queue but the queue full, the alarm waits for them rather than a second.
    await runInDurableObject(site(SITE), (_o, state) => state.storage.setAlarm(Date.now()));
    expect(await runDurableObjectAlarm(site(SITE))).toBe(true);
    expect(await queuedTitles(SITE)).toEqual(["qa-room-a"]);
    const alarm = await runInDurableObject(site(SITE), (_o, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(alarm! - Date.now()).toBeGreaterThan(30_000);
    await undo();
    await runInDurableObject(site(SITE), (_o, state) => state.storage.deleteAlarm());
    await site(SITE).setCapacity(OCA, null);
  });
});
