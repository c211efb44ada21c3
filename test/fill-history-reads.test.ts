import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber } from "../fill/day";
import { predictionsFor } from "../workers/control/fill-cycle";
import { findSite, regionGroup, topology } from "../workers/shared/topology";
import { CLEAR_OF_MIDNIGHT_MS, clearOfLocalMidnight, publishTitle } from "./fixtures";
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
});
