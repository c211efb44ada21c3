/**
 * The fill cycle's same-day check, driven through the real hourly cron: a site that planned at the
 * window's opening looks at today so far at 10:00 local (four hours before the window closes) and
 * re-plans only if its region's mix has shifted.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber, localHour } from "../fill/day";
import { ADMIN, call, CLEAR_OF_MIDNIGHT_MS, clearOfLocalMidnight, publishTitle, cron } from "./fixtures";

// Seeds a site's "today" and reads it back: never across a local midnight.
beforeAll(() => clearOfLocalMidnight(), CLEAR_OF_MIDNIGHT_MS + 10_000);

const AMSTERDAM = "Europe/Amsterdam";
const SITE = "polder-ams";
const TITLES = ["sd-a", "sd-b", "sd-c", "sd-d", "sd-e", "sd-f", "sd-g", "sd-h"];
/** Last weeks' daily bytes per title: sd-a and sd-b are the head (a region's day: more than the 200 GB a morning needs to be judged). */
const USUAL = [480e9, 320e9, 96e9, 80e9, 64e9, 48e9, 32e9, 24e9];
/** Served bytes per local hour: 1 GB an hour before 10:00, 2 GB after, so the hours before 10:00 are 10/38 of a day. */
const servedAt = (h: number) => (h < 10 ? 1e9 : 2e9);
const MORNING = 10 / 38;
const HOUR = 3_600_000;

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/**
 * The next 02:00 in Amsterdam at least `daysAhead` days out, so no other test's cron touched that day,
 * on a day whose 10:00 is 8 hours later (not the night the clocks go back, when it is 9 hours).
 */
function opening(daysAhead: number): number {
  let t = Date.now() - (Date.now() % HOUR) + HOUR + daysAhead * 86_400_000;
  while (localHour(t, AMSTERDAM) !== 2 || localHour(t + 8 * HOUR, AMSTERDAM) !== 10) t += HOUR;
  return t;
}

/**
 * Two weeks up to the day before `at` of the usual mix (a little wobble each day, the same days before
 * whatever the date: the forecast then does not depend on the day the test runs) and of served bytes
 * per hour; then today's first hours with `today` per title.
 */
async function seed(at: number, today: number[]): Promise<void> {
  const day = dayNumber(at, AMSTERDAM);
  for (let d = day - 14; d < day; d++) {
    for (let i = 0; i < TITLES.length; i++)
      await site(SITE).recordViews(d, TITLES[i], { plays: 10, bytes: USUAL[i] * (1 + 0.05 * Math.sin((d - day) * 7 + i)) });
    for (let h = 0; h < 24; h++) await site(SITE).recordServedHour(d, h, servedAt(h));
  }
  for (let i = 0; i < TITLES.length; i++) if (today[i] > 0) await site(SITE).recordViews(day, TITLES[i], { plays: 5, bytes: today[i] });
}

interface Cycle {
  cycle: { at: string; targetDay: number; sameDay?: boolean; predictions: Array<{ titleId: string; bytes: number }> } | null;
}
const lastCycle = async (siteId = SITE) => (await (await call(`/admin/sites/${siteId}/plan`, { headers: ADMIN })).json()) as Cycle;

beforeAll(async () => {
  const since = new Date(Date.now() - 90 * 86_400_000).toISOString();
  for (const id of TITLES) await publishTitle(id, { availableFrom: since });
});

describe("the same-day check", () => {
  it("leaves an ordinary day's plan alone: today's first hours in the usual mix", async () => {
    const at = opening(2);
    // The morning's usual share of a day so far, in last weeks' mix.
    await seed(
      at,
      USUAL.map((b) => MORNING * b),
    );
    await cron(at);
    const planned = await lastCycle();
    expect(planned.cycle?.targetDay).toBe(dayNumber(at, AMSTERDAM) + 1);
    await cron(at + 8 * HOUR); // 10:00
    const after = await lastCycle();
    expect(after.cycle?.at).toBe(planned.cycle?.at);
    expect(after.cycle?.sameDay).toBeUndefined();
  });

  it("re-plans at 10:00 when the morning's head is last weeks' tail, from today scaled to a whole day, once", async () => {
    // Three weeks past the first test's day: the two seeded windows share no day (shared days summed
    // both tests' bytes, so the forecast moved with the date: 0.79 on 2026-12-05, under the 0.8 bound; now 0.96 whatever the date).
    const at = opening(20);
    // The morning's bytes go mostly to sd-g and sd-h, last weeks' smallest titles.
    const today = [16e9, 16e9, 16e9, 16e9, 16e9, 16e9, 120e9, 80e9];
    await seed(at, today);
    await cron(at);
    const night = await lastCycle();
    expect(night.cycle?.predictions[0].titleId).toBe("sd-a");
    await cron(at + 7 * HOUR); // 09:00: not the check's hour
    expect((await lastCycle()).cycle?.at).toBe(night.cycle?.at);
    await cron(at + 8 * HOUR); // 10:00
    const replanned = await lastCycle();
    expect(replanned.cycle?.sameDay).toBe(true);
    expect(replanned.cycle?.targetDay).toBe(night.cycle?.targetDay);
    expect(replanned.cycle?.predictions.slice(0, 2).map((p) => p.titleId)).toEqual(["sd-g", "sd-h"]);
    // sd-g's morning over the share of a day those hours usually carry.
    expect(replanned.cycle!.predictions[0].bytes / (120e9 / MORNING)).toBeGreaterThan(0.8);
    expect(replanned.cycle!.predictions[0].bytes / (120e9 / MORNING)).toBeLessThan(1.25);
    // Its parent IXP site re-planned too, on what its child will now miss.
    expect((await lastCycle("ixp-ams")).cycle?.sameDay).toBe(true);
    // Once a day: a second run in the same hour changes nothing.
    await cron(at + 8 * HOUR + 60_000);
    expect((await lastCycle()).cycle?.at).toBe(replanned.cycle?.at);
  });
});
