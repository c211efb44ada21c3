import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber, localHour } from "../fill/day";
import { predictionsFor, runScheduledFill } from "../workers/control/fill-cycle";
import { findSite, regionGroup, topology } from "../workers/shared/topology";
import { addSite, CLEAR_OF_MIDNIGHT_MS, clearOfLocalMidnight, publishTitle, siteBody } from "./fixtures";
import { historyWatchEnv } from "./history-watch";

/**
 * What one site's prediction reads: its region's histories (the IXP site and its embedded children),
 * and its country's other sites only when the region is too thin to go on. The hourly cron plans every
 * site of a time zone in one run, each reading what its prediction needs: reading the whole country for
 * every site would be a site object call per site of the country per site planned, and every history
 * held in memory at once.
 */

beforeAll(() => clearOfLocalMidnight(), CLEAR_OF_MIDNIGHT_MS + 10_000);

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/** `env` whose site objects note the sites whose history is asked for. */
const countingEnv = (asked: string[]): Env =>
  historyWatchEnv((siteId) => {
    asked.push(siteId);
    return undefined;
  });

describe("the histories a site's prediction reads", () => {
  it("are its region's alone when the region has history enough, and the country's too only when it is thin", async () => {
    await publishTitle("hr-hit");
    const chi = findSite("lakeshore-chi")!;
    const now = Date.now();
    const group = regionGroup(chi).map((s) => s.id);
    const elsewhere = topology.sites.filter((s) => s.country === chi.country && !group.includes(s.id)).map((s) => s.id);
    expect(elsewhere.length).toBeGreaterThan(0);

    // Thin: nothing seen anywhere yet. The country is read to make up for it.
    const thin: string[] = [];
    await predictionsFor(countingEnv(thin), chi, now);
    expect(new Set(thin)).toEqual(new Set([...group, ...elsewhere]));

    // Two weeks of 30 GB a day at a sibling site: 420 GB, more than the 200 GB that makes a region thick.
    const today = dayNumber(now, chi.timeZone);
    for (let d = today - 14; d < today; d++) await site("lumen-nyc").recordViews(d, "hr-hit", { plays: 10, bytes: 30e9 });
    const thick: string[] = [];
    const { predictions } = await predictionsFor(countingEnv(thick), chi, now);
    expect(new Set(thick)).toEqual(new Set(group));
    // Each site of the region asked once.
    expect(thick.length).toBe(group.length);
    expect(predictions.find((p) => p.titleId === "hr-hit")?.bytes).toBeGreaterThan(0);
  });

  it("are read once per cron run for a country whose regions are all thin, not once per region", async () => {
    // Six more regions in the country, each an IXP site with nothing seen yet (a new deployment).
    const added = Array.from({ length: 6 }, (_, i) => `hr-ixp-${i}`);
    for (const id of added) expect((await addSite(siteBody(id))).status).toBe(201);
    // 03:00 in New York two days on: every new region's window is open, as are New York's and Chicago's.
    let t = Date.now() + 2 * 86_400_000;
    t -= t % 3_600_000;
    while (localHour(t, "America/New_York") !== 3) t += 3_600_000;
    const asked: string[] = [];
    const reports = await runScheduledFill(countingEnv(asked), t);
    for (const id of added)
      expect(
        reports.find((r) => r.siteId === id),
        id,
      ).toMatchObject({ ran: true });
    const times = new Map<string, number>();
    for (const id of asked) times.set(id, (times.get(id) ?? 0) + 1);
    // Each US site: by its own region's cycles, and once for the country's sum unless its own region
    // made the sum (read per thin region, a site was asked by each of the seven).
    for (const s of topology.sites.filter((x) => x.country === "US")) expect(times.get(s.id) ?? 0, s.id).toBeLessThanOrEqual(2);
    for (const id of added) expect(times.get(id), id).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
