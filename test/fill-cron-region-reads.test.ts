import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber, localHour } from "../fill/day";
import { runScheduledFill } from "../workers/control/fill-cycle";
import { regionGroup, topology } from "../workers/shared/topology";
import { publishTitle } from "./fixtures";
import { historyWatchEnv } from "./history-watch";

/**
 * What one hourly cron reads of the viewing histories. Every site of a region plans from the whole
 * region's history (and its IXP site from each child's outlook, the same reads), so sites read apart
 * ask each site of the region once per site planned: calls and bytes growing with the square of the
 * region's size, in one cron run. The cron reads a region's histories once for all its sites.
 */

const NEW_YORK = "America/New_York";
const HOUR = 3_600_000;
const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/** `env` whose site objects note whose history is asked for, failing the first read of each site in `failOnce`. */
const countingEnv = (asked: Map<string, number>, failOnce = new Set<string>()): Env =>
  historyWatchEnv((siteId) => {
    asked.set(siteId, (asked.get(siteId) ?? 0) + 1);
    return failOnce.delete(siteId) ? new Error(`injected: ${siteId} history unavailable`) : undefined;
  });

/** 02:00 in New York `days` days from now, on the hour (the New York region's windows open). */
function newYork2am(days: number): number {
  let t = Date.now() + days * 86_400_000;
  t = t - (t % HOUR);
  while (localHour(t, NEW_YORK) !== 2) t += HOUR;
  return t;
}

beforeAll(async () => {
  await publishTitle("cron-reads-hit");
});

describe("the hourly cron's history reads", () => {
  it("read each site of a region once, however many of its sites plan in that run", async () => {
    const at = newYork2am(9);
    // Thick enough that no region reads its country: 30 GB a day for two weeks at each New York site.
    const nyc = topology.sites.filter((s) => s.timeZone === NEW_YORK);
    const today = dayNumber(at, NEW_YORK);
    for (const s of nyc) for (let d = today - 14; d < today; d++) await site(s.id).recordViews(d, "cron-reads-hit", { plays: 10, bytes: 30e9 });

    const asked = new Map<string, number>();
    const reports = await runScheduledFill(countingEnv(asked), at);
    const ran = reports.filter((r) => r.ran).map((r) => r.siteId);
    // The IXP site and its New York child planned in this run (Chicago's window opens an hour later).
    expect(ran).toEqual(expect.arrayContaining(["ixp-nyc", "lumen-nyc"]));
    for (const id of regionGroup(nyc[0]).map((s) => s.id)) expect(asked.get(id), id).toBe(1);
    for (const [id, n] of asked) expect(n, id).toBe(1);
  });

  it("asks again, in a later site's cycle, a history whose read failed", async () => {
    const at = newYork2am(11);
    const today = dayNumber(at, NEW_YORK);
    for (const id of ["ixp-nyc", "lumen-nyc"])
      for (let d = today - 14; d < today; d++) await site(id).recordViews(d, "cron-reads-hit", { plays: 10, bytes: 30e9 });
    // lumen-nyc's history fails once: in its IXP site's cycle. Its own cycle reads it again and plans.
    const asked = new Map<string, number>();
    const reports = await runScheduledFill(countingEnv(asked, new Set(["lumen-nyc"])), at);
    expect(reports.find((r) => r.siteId === "lumen-nyc")).toMatchObject({ ran: true });
    expect(asked.get("lumen-nyc")).toBe(2);
    expect(asked.get("ixp-nyc")).toBe(1);
  });
});
