import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber, localDayStart, localHour } from "../fill/day";
import { CLEAR_OF_MIDNIGHT_MS, clearOfLocalMidnight, cron, publishTitle } from "./fixtures";

/**
 * A title whose licence in a site's country ends in the first hours of the day a plan is made for (a
 * licence ending at midnight UTC ends at 01:00 or 02:00 in Europe) can be played there for those hours
 * only: the plan predicts it the demand of those hours, not a whole day's, so it is not planned (nor
 * copied onto more OCAs for an evening peak) as if it played all day. Driven through the real cron.
 */

beforeAll(() => clearOfLocalMidnight(), CLEAR_OF_MIDNIGHT_MS + 10_000);

const BERLIN = "Europe/Berlin";
const SITE = "rheinnet-ber";
const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/** The next instant (on the hour, after `from`) when `timeZone`'s local hour is `hour`. */
function nextLocalHour(timeZone: string, hour: number, from: number): number {
  let t = from - (from % 3_600_000) + 3_600_000;
  while (localHour(t, timeZone) !== hour) t += 3_600_000;
  return t;
}

describe("a licence that ends early on the day the plan is for", () => {
  it("predicts the title only the demand of the hours before its licence ends there", async () => {
    // Three days out, so no other cron of this file planned that day.
    const at = nextLocalHour(BERLIN, 2, Date.now() + 3 * 86_400_000);
    const targetDay = dayNumber(at, BERLIN) + 1;
    const ends = localDayStart(targetDay, BERLIN) + 3_600_000; // 01:00 local on the target day
    const year = "2020-01-01T00:00:00.000Z";
    await publishTitle("le-ending", {
      licences: [
        { country: "DE", availableFrom: year, availableUntil: new Date(ends).toISOString() },
        { country: "US", availableFrom: year },
      ],
    });
    await publishTitle("le-steady", { licences: [{ country: "DE", availableFrom: year }] });
    // The same history for both: the same demand but for the licence.
    const today = dayNumber(at, BERLIN);
    for (let d = today - 14; d < today; d++) {
      for (const titleId of ["le-ending", "le-steady"]) await site(SITE).recordViews(d, titleId, { plays: 10, bytes: 5e9 });
    }

    await cron(at);
    const { cycle } = await site(SITE).lastCycle();
    expect(cycle?.targetDay).toBe(targetDay);
    const predicted = (id: string) => cycle?.predictions.find((p) => p.titleId === id)?.bytes ?? Number.NaN;
    expect(predicted("le-steady")).toBeGreaterThan(0);
    // One hour of a day with no hourly history of its own: about a 24th of it (a day of 23 or 25 hours aside).
    expect(predicted("le-ending") / predicted("le-steady")).toBeGreaterThan(0.9 / 24);
    expect(predicted("le-ending") / predicted("le-steady")).toBeLessThan(1.1 / 24);
    const order = cycle?.predictions.map((p) => p.titleId) ?? [];
    expect(order.indexOf("le-ending")).toBeGreaterThan(order.indexOf("le-steady"));
  });
});
