import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, call, publishTitle } from "./fixtures";
import { watchSiteD1 } from "./site-rows";
import { copiedFiles, countInSite, drainAlarms, planWithoutAlarm } from "./site-fill";

/**
 * A title taken down, or whose last licence ended, after the plan queued its files: the fill copies none
 * of them (each would be deleted by the next reconcile, a night's fill bandwidth wasted on it) and drops
 * its tasks, while the plan's other titles fill as planned. Whether the catalogue still lists a title as
 * live is asked of D1 once for the titles of a run's due tasks, not once per file. Nothing is mocked
 * but a watch on the site object's D1 statements (counted, never failed).
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

describe("a planned title withdrawn after its files were queued", () => {
  it("is not copied once taken down, its tasks dropped, with one read of the catalogue for the run's titles", async () => {
    const SITE = "lumen-nyc";
    const OCA = "lumen-nyc-1";
    const live = await publishTitle("wd-live");
    const down = await publishTitle("wd-down");
    // Ranked first, so the fill would copy it first.
    await planWithoutAlarm(SITE, { [OCA]: ["wd-down", "wd-live"] });
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM fill_tasks WHERE title_id = 'wd-down'`)).toBe(Object.keys(down.files).length);
    const res = await call(`/admin/titles/wd-down`, { method: "DELETE", headers: ADMIN });
    expect(await res.json()).toMatchObject({ titleId: "wd-down", takenDown: true });

    // Statements that ask which titles are live without their files: the run's (catalogueDb.fillable)
    // and the reconcile's for its slice (catalogueDb.liveVersionCounts).
    let fillReads = 0;
    let liveReads = 0;
    const undo = await watchSiteD1(site(SITE), (q) => {
      if (/SELECT t\.id FROM titles t WHERE t\.id IN \(SELECT value FROM json_each/.test(q)) fillReads++;
      if (/SELECT v\.title_id, v\.version, v\.files FROM titles t JOIN title_versions v/.test(q)) liveReads++;
    });
    try {
      await runInDurableObject(site(SITE), (_o, state) => state.storage.setAlarm(Date.now()));
      expect(await runDurableObjectAlarm(site(SITE))).toBe(true);
    } finally {
      await undo();
    }
    // One check for the run and the reconcile's: not one per file of the two titles' 24.
    expect(fillReads).toBe(1);
    expect(liveReads).toBeLessThanOrEqual(1);
    expect(await copiedFiles(SITE)).toBe(Object.keys(live.files).length);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM fill_tasks WHERE title_id = 'wd-down'`)).toBe(0);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE title_id = 'wd-down'`)).toBe(0);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE oca_id = ? AND title_id = 'wd-live' AND state = 'ready'`, OCA)).toBe(
      Object.keys(live.files).length,
    );
    // Later runs do not queue it again under this plan.
    await drainAlarms(SITE);
    expect(await copiedFiles(SITE)).toBe(Object.keys(live.files).length);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM fill_tasks`)).toBe(0);
    const listed = await env.DB.prepare(`SELECT title_id FROM oca_titles WHERE site_id = ? AND title_id LIKE 'wd-%' ORDER BY title_id`)
      .bind(SITE)
      .all<{ title_id: string }>();
    expect(listed.results.map((r) => r.title_id)).toEqual(["wd-live"]);
  });

  it("is not copied once its last licence has ended", async () => {
    const SITE = "lakeshore-chi";
    const OCA = "lakeshore-chi-2";
    const year = "2020-01-01T00:00:00.000Z";
    const t = await publishTitle("wd-ended", { licences: [{ country: "US", availableFrom: year }] });
    await planWithoutAlarm(SITE, { [OCA]: ["wd-ended"] });
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM fill_tasks WHERE title_id = 'wd-ended'`)).toBe(Object.keys(t.files).length);
    // The same contents with the licence ended a moment ago: metadata only, the same version.
    const ended = await publishTitle("wd-ended", {
      licences: [{ country: "US", availableFrom: year, availableUntil: new Date(Date.now() - 1000).toISOString() }],
    });
    expect(ended.version).toBe(t.version);
    await drainAlarms(SITE);
    expect(await copiedFiles(SITE)).toBe(0);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM fill_tasks WHERE title_id = 'wd-ended'`)).toBe(0);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE title_id = 'wd-ended'`)).toBe(0);
  });
});
