import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber, localHour, localHourStart } from "../fill/day";
import { CLEAR_OF_MIDNIGHT_MS, clearOfLocalMidnight, cron, publishTitle } from "./fixtures";
import { countInSite, drainAlarms } from "./site-fill";

/**
 * A title playable at a site for only part of the day a plan is for is predicted the demand of its
 * licensed hours on the site's local clock: a licence ending just after a DST change counts the clock's
 * hours (not a share of a 23-hour day times 24), and a licence starting part-way (a 21:00 premiere)
 * counts only the hours after it, weighed by the site's hour-of-day shape. Such a premiere is still
 * planned, and copied before it. Driven through the real cron.
 */

beforeAll(() => clearOfLocalMidnight(), CLEAR_OF_MIDNIGHT_MS + 10_000);

const YEAR = "2020-01-01T00:00:00.000Z";
const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/** The next instant (on the hour, after `from`) when `timeZone`'s local hour is `hour`. */
function nextLocalHour(timeZone: string, hour: number, from: number): number {
  let t = from - (from % 3_600_000) + 3_600_000;
  while (localHour(t, timeZone) !== hour) t += 3_600_000;
  return t;
}

/** The cron's predicted bytes per title for the site's last cycle, which must be for `targetDay`. */
async function predictedFor(siteId: string, targetDay: number): Promise<(titleId: string) => number> {
  const { cycle } = await site(siteId).lastCycle();
  expect(cycle?.targetDay).toBe(targetDay);
  return (id) => cycle?.predictions.find((p) => p.titleId === id)?.bytes ?? Number.NaN;
}

describe("a licence ending on the day of a DST change", () => {
  it("is predicted the demand of the clock hours before its end, not a share of the 23-hour day", async () => {
    const NEW_YORK = "America/New_York";
    const SITE = "lumen-nyc";
    // 2027-03-14 in New York: 02:00 is skipped to 03:00, a day of 23 hours. Planned in the window the night before.
    const at = nextLocalHour(NEW_YORK, 2, Date.UTC(2027, 2, 13, 0));
    const targetDay = dayNumber(at, NEW_YORK) + 1;
    // 03:00 local: three hours of the clock, two hours after midnight.
    const ends = localHourStart(targetDay, 3, NEW_YORK);
    await publishTitle("lp-dst-ending", {
      licences: [
        { country: "US", availableFrom: YEAR, availableUntil: new Date(ends).toISOString() },
        { country: "DE", availableFrom: YEAR },
      ],
    });
    await publishTitle("lp-dst-steady", { licences: [{ country: "US", availableFrom: YEAR }] });
    const today = dayNumber(at, NEW_YORK);
    for (let d = today - 14; d < today; d++) {
      for (const titleId of ["lp-dst-ending", "lp-dst-steady"]) await site(SITE).recordViews(d, titleId, { plays: 10, bytes: 5e9 });
    }

    await cron(at);
    const predicted = await predictedFor(SITE, targetDay);
    expect(predicted("lp-dst-steady")).toBeGreaterThan(0);
    // No hourly history: three of the clock's 24 hours (the share of the day elapsed times 24 gave 2.09).
    expect(predicted("lp-dst-ending") / predicted("lp-dst-steady")).toBeCloseTo(3 / 24, 6);
  });
});

describe("a licence starting part-way through the day the plan is for", () => {
  it("is predicted the demand of the hours after its premiere by the site's shape, and is still planned and copied before it", async () => {
    const BERLIN = "Europe/Berlin";
    const SITE = "rheinnet-ber";
    const at = nextLocalHour(BERLIN, 2, Date.now() + 5 * 86_400_000);
    const today = dayNumber(at, BERLIN);
    const targetDay = today + 1;
    const premiere = localHourStart(targetDay, 21, BERLIN);
    const midnight = localHourStart(targetDay, 0, BERLIN);
    // Neither has history: both get a launch's prior, the same for titles of the same size but for the licence.
    const premiered = await publishTitle("lp-premiere", { licences: [{ country: "DE", availableFrom: new Date(premiere).toISOString() }] });
    await publishTitle("lp-midnight", { licences: [{ country: "DE", availableFrom: new Date(midnight).toISOString() }] });
    // The region's catalogue the prior is drawn from, and the site's evening-peaked hours: 12:00 1,
    // 20:00 2, 21:00 3, 22:00 4 (GB a day), so 21:00 on carries 7 tenths of a day's viewing.
    await publishTitle("lp-catalogue", { licences: [{ country: "DE", availableFrom: YEAR }] });
    for (let d = today - 14; d < today; d++) {
      await site(SITE).recordViews(d, "lp-catalogue", { plays: 10, bytes: 5e9 });
      for (const [hour, gb] of [
        [12, 1],
        [20, 2],
        [21, 3],
        [22, 4],
      ])
        await site(SITE).recordServedHour(d, hour, gb * 1e9);
    }

    await cron(at);
    const predicted = await predictedFor(SITE, targetDay);
    expect(predicted("lp-midnight")).toBeGreaterThan(0);
    expect(predicted("lp-premiere") / predicted("lp-midnight")).toBeCloseTo(0.7, 6);

    // Planned for its evening, and copied now, before its licence starts.
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM plan WHERE title_id = 'lp-premiere'`)).toBeGreaterThan(0);
    // Its IXP site planned it too (the region's demand) and copies first; the site fills from it.
    expect(await countInSite("ixp-fra", `SELECT COUNT(*) AS n FROM plan WHERE title_id = 'lp-premiere'`)).toBeGreaterThan(0);
    await drainAlarms("ixp-fra", 20);
    await drainAlarms(SITE, 20);
    expect(Date.now()).toBeLessThan(premiere);
    expect(await countInSite(SITE, `SELECT COUNT(*) AS n FROM holdings WHERE title_id = 'lp-premiere' AND state = 'ready'`)).toBeGreaterThanOrEqual(
      Object.keys(premiered.files).length,
    );
  });
});
