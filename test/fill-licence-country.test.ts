import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { addSite, publishTitle, siteBody } from "./fixtures";
import { watchSiteD1 } from "./site-rows";
import { copiedFiles, countInSite, drainAlarms, planWithoutAlarm } from "./site-fill";

/**
 * A planned title whose licence no longer covers the countries a site serves, from now to the end of
 * the day its plan is for, is not copied in the site's fill: a re-publish after the night's plan that
 * drops the site's country, or the licence there ending since, leaves none of the site's clients able
 * to play it, though it stays licensed elsewhere. A site serves its own country, and an IXP site its
 * embedded children's too. Asked of D1 once for a run's due titles. Nothing is mocked but a watch on
 * the site object's D1 statements (counted, never failed).
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));
const YEAR = "2020-01-01T00:00:00.000Z";

const readyFiles = (siteId: string, ocaId: string, titleId: string) =>
  countInSite(siteId, `SELECT COUNT(*) AS n FROM holdings WHERE oca_id = ? AND title_id = ? AND state = 'ready'`, ocaId, titleId);

describe("a planned title no longer licensed where a site's clients are", () => {
  it("is not copied once re-published licensed only in another country, while a title still licensed there is", async () => {
    const SITE = "lumen-nyc"; // US
    const OCA = "lumen-nyc-1";
    const moved = await publishTitle("lc-moved");
    const kept = await publishTitle("lc-kept");
    // Ranked first, so the fill would copy it first.
    await planWithoutAlarm(SITE, { [OCA]: ["lc-moved", "lc-kept"] });
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM fill_tasks WHERE title_id = 'lc-moved'`)).toBe(Object.keys(moved.files).length);
    // Re-published after the plan with its licences in Europe only: the same contents, the same version.
    const europe = await publishTitle("lc-moved", { licences: [{ country: "DE", availableFrom: YEAR }] });
    expect(europe.version).toBe(moved.version);

    // The statements that ask which of the run's due titles the site may fill (catalogueDb.fillable).
    let fillableReads = 0;
    const undo = await watchSiteD1(site(SITE), (q) => {
      if (/SELECT t\.id FROM titles t WHERE t\.id IN .*l\.country IN/s.test(q)) fillableReads++;
    });
    try {
      await runInDurableObject(site(SITE), (_o, state) => state.storage.setAlarm(Date.now()));
      expect(await runDurableObjectAlarm(site(SITE))).toBe(true);
    } finally {
      await undo();
    }
    expect(await copiedFiles(SITE)).toBe(Object.keys(kept.files).length);
    expect(await readyFiles(SITE, OCA, "lc-kept")).toBe(Object.keys(kept.files).length);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE title_id = 'lc-moved'`)).toBe(0);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM fill_tasks WHERE title_id = 'lc-moved'`)).toBe(0);
    // One for the run's page of due titles, not one per title or file.
    expect(fillableReads).toBe(1);

    // Later runs do not queue it again under this plan: its plan entry stays, queued.
    await drainAlarms(SITE);
    expect(await copiedFiles(SITE)).toBe(Object.keys(kept.files).length);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM fill_tasks`)).toBe(0);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM plan WHERE oca_id = ? AND title_id = 'lc-moved' AND queued = 1`, OCA)).toBe(1);
  });

  it("is not copied once its licence in the site's country has ended, though it is licensed elsewhere", async () => {
    const SITE = "lakeshore-chi"; // US
    const OCA = "lakeshore-chi-2";
    const t = await publishTitle("lc-ended-here", {
      licences: [
        { country: "US", availableFrom: YEAR },
        { country: "DE", availableFrom: YEAR },
      ],
    });
    await planWithoutAlarm(SITE, { [OCA]: ["lc-ended-here"] });
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM fill_tasks WHERE title_id = 'lc-ended-here'`)).toBe(Object.keys(t.files).length);
    await publishTitle("lc-ended-here", {
      licences: [
        { country: "US", availableFrom: YEAR, availableUntil: new Date(Date.now() - 1000).toISOString() },
        { country: "DE", availableFrom: YEAR },
      ],
    });
    await drainAlarms(SITE);
    expect(await copiedFiles(SITE)).toBe(0);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM fill_tasks WHERE title_id = 'lc-ended-here'`)).toBe(0);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE title_id = 'lc-ended-here'`)).toBe(0);
  });

  it("is still copied when its licence in the site's country starts before the plan's day ends", async () => {
    const SITE = "rheinnet-ber"; // DE
    const OCA = "rheinnet-ber-1";
    // Licensed in Germany from an hour from now: played there on the day the plan is for.
    const soon = new Date(Date.now() + 3_600_000).toISOString();
    const t = await publishTitle("lc-starting", { licences: [{ country: "DE", availableFrom: soon }] });
    await planWithoutAlarm(SITE, { [OCA]: ["lc-starting"] });
    await drainAlarms(SITE);
    expect(await readyFiles(SITE, OCA, "lc-starting")).toBe(Object.keys(t.files).length);
  });
});

describe("an IXP site with a child in another country", () => {
  it("copies a planned title licensed only in its child's country, and not one licensed in none of its countries", async () => {
    const added = await addSite(
      siteBody("polder-ant", {
        name: "Polder Glas Antwerp",
        tier: "embedded",
        isp: "polder-glas",
        parent: "ixp-ams",
        region: "eu",
        country: "BE",
        lat: 51.22,
        lon: 4.4,
        timeZone: "Europe/Brussels",
      }),
    );
    expect(added.status, await added.clone().text()).toBe(201);
    const SITE = "ixp-ams"; // NL, its children NL and BE
    const OCA = "ixp-ams-1";
    const belgian = await publishTitle("lc-belgian-only", { licences: [{ country: "BE", availableFrom: YEAR }] });
    await publishTitle("lc-french-only", { licences: [{ country: "FR", availableFrom: YEAR }] });
    await planWithoutAlarm(SITE, { [OCA]: ["lc-french-only", "lc-belgian-only"] });
    await drainAlarms(SITE);
    expect(await readyFiles(SITE, OCA, "lc-belgian-only")).toBe(Object.keys(belgian.files).length);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE title_id = 'lc-french-only'`)).toBe(0);
    expect(await copiedFiles(SITE)).toBe(Object.keys(belgian.files).length);
  });
});
