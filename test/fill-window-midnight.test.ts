/**
 * A fill window that crosses midnight (22:00-06:00 local), driven through the real hourly cron: it plans
 * once, for the day after the window opened, and its hours after midnight neither plan the day after
 * that nor reset the plan.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber, localHour } from "../fill/day";
import { addSite, cron, nightSiteBody, publishTitle } from "./fixtures";

const NEW_YORK = "America/New_York";
const SITE = "lumen-night";
const HOUR = 3_600_000;

const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
const TITLES = ["mn-a", "mn-b", "mn-c", "mn-d", "mn-e", "mn-f", "mn-g", "mn-h"];
/** Last weeks' daily bytes per title: mn-a and mn-b are the head (more than the 200 GB a day needs to be judged). */
const USUAL = [480e9, 320e9, 96e9, 80e9, 64e9, 48e9, 32e9, 24e9];

/** The next 22:00 in New York at least `daysAhead` days out, on a night with no clock change before 06:00. */
function opening(daysAhead: number): number {
  let t = Date.now() - (Date.now() % HOUR) + HOUR + daysAhead * 86_400_000;
  while (localHour(t, NEW_YORK) !== 22 || localHour(t + 2 * HOUR, NEW_YORK) !== 0 || localHour(t + 8 * HOUR, NEW_YORK) !== 6) t += HOUR;
  return t;
}

beforeAll(async () => {
  const since = new Date(Date.now() - 90 * 86_400_000).toISOString();
  for (const id of TITLES) await publishTitle(id, { availableFrom: since });
  // An embedded site whose window wraps midnight, added to the live topology.
  const res = await addSite(nightSiteBody(SITE, "Lumen Fiber night fill"));
  expect(res.status).toBe(201);
});

describe("a fill window that crosses midnight", () => {
  it("plans at 22:00 for the next day and keeps that plan through its hours after midnight", async () => {
    const at = opening(2);
    const day = dayNumber(at, NEW_YORK);
    await cron(at - HOUR); // 21:00: closed
    expect(await site().plannedDay()).toBeNull();
    await cron(at);
    expect(await site().plannedDay()).toBe(day + 1);
    const planned = (await site().lastCycle()).cycle;
    expect(planned?.targetDay).toBe(day + 1);
    // 23:00, 00:00, 01:00, 02:00 (the same-day check's hour) and 05:00: the window's plan stands.
    for (const h of [1, 2, 3, 4, 7]) {
      await cron(at + h * HOUR);
      expect(await site().plannedDay(), `${localHour(at + h * HOUR, NEW_YORK)}:00`).toBe(day + 1);
      expect((await site().lastCycle()).cycle?.at, `${localHour(at + h * HOUR, NEW_YORK)}:00`).toBe(planned?.at);
    }
  });

  it("plans for the day after the window opened when its first run comes after midnight", async () => {
    const at = opening(5);
    const day = dayNumber(at, NEW_YORK);
    await cron(at + 3 * HOUR); // 01:00: the runs at 22:00 and 23:00 were missed
    expect(await site().plannedDay()).toBe(day + 1);
    expect((await site().lastCycle()).cycle?.targetDay).toBe(day + 1);
  });

  it("checks at 02:00 the whole day the window opened on, and re-plans on its shift at face value", async () => {
    const at = opening(9);
    const day = dayNumber(at, NEW_YORK);
    // Two weeks of the usual mix and of served bytes per hour (1 GB an hour before 10:00, 2 GB after);
    // then the day the window opens on, whole by 02:00, mostly mn-g and mn-h, last weeks' tail.
    for (let d = day - 14; d < day; d++) {
      for (let i = 0; i < TITLES.length; i++) await site().recordViews(d, TITLES[i], { plays: 10, bytes: USUAL[i] * (1 + 0.05 * Math.sin((d - day) * 7 + i)) });
      for (let h = 0; h < 24; h++) await site().recordServedHour(d, h, h < 10 ? 1e9 : 2e9);
    }
    const shifted = [60e9, 60e9, 60e9, 60e9, 60e9, 60e9, 456e9, 304e9];
    for (let i = 0; i < TITLES.length; i++) await site().recordViews(day, TITLES[i], { plays: 10, bytes: shifted[i] });
    await cron(at);
    const night = (await site().lastCycle()).cycle;
    expect(night?.predictions[0].titleId).toBe("mn-a");
    await cron(at + 4 * HOUR); // 02:00, the same-day check's hour of a window ending at 06:00
    const replanned = (await site().lastCycle()).cycle;
    expect(replanned?.sameDay).toBe(true);
    expect(replanned?.targetDay).toBe(day + 1);
    expect(replanned?.predictions.slice(0, 2).map((p) => p.titleId)).toEqual(["mn-g", "mn-h"]);
    // The window's day read as the whole day it is, not scaled up as two hours of the next.
    expect(replanned!.predictions[0].bytes / 456e9).toBeGreaterThan(0.8);
    expect(replanned!.predictions[0].bytes / 456e9).toBeLessThan(1.25);
  });
});
