import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber, localDayStart, localHour, localHourStart } from "../fill/day";
import { runFillCycle } from "../workers/control/fill-cycle";
import { addSite, cron, nightSiteBody, publishTitle } from "./fixtures";

/**
 * An operator's "run fill cycle now" outside the window plans the day the next window plans: the hourly
 * cycle then finds that day planned and leaves it to the operator's plan, so that plan must copy through
 * the window, not stop 12 hours after it was pressed (before a window that wraps midnight even opens, or
 * in the last hours of one that opens after it).
 */

const NEW_YORK = "America/New_York";
const HOUR = 3_600_000;
const NIGHT = "lumen-run-night";
const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/** `hour`:00 local in New York, `days` days from today (found on the local clock: a clock change moves it). */
function localTime(days: number, hour: number): number {
  let t = localDayStart(dayNumber(Date.now(), NEW_YORK) + days, NEW_YORK);
  while (localHour(t, NEW_YORK) !== hour) t += HOUR;
  return t;
}

beforeAll(async () => {
  await publishTitle("run-window-title");
  // An embedded site whose window wraps midnight (22:00-06:00), added to the live topology.
  const res = await addSite(nightSiteBody(NIGHT, "Lumen Fiber run-now night fill"));
  expect(res.status).toBe(201);
});

describe("an operator's fill cycle run now, outside the window", () => {
  it("copies through tonight's window when the window wraps midnight, which then keeps that plan", async () => {
    const at = localTime(3, 7); // 07:00: the 22:00-06:00 window closed an hour ago
    const day = dayNumber(at, NEW_YORK);
    const report = await runFillCycle(env, NIGHT, at, { force: true });
    if (!report.ran) throw new Error(report.reason);
    expect(report.targetDay).toBe(day + 1);
    const windowEnd = localHourStart(day + 1, 6, NEW_YORK);
    expect(Date.parse(report.fillUntil)).toBe(windowEnd);
    // Tonight at 22:00 the hourly cron finds tomorrow planned and leaves the operator's plan to fill.
    const tonight = localTime(3, 22);
    await cron(tonight);
    const last = await site(NIGHT).lastCycle();
    expect(last.day).toBe(day + 1);
    expect(last.cycle?.at).toBe(new Date(at).toISOString());
    expect(last.progress.fillUntil).toBe(windowEnd);
  });

  it("copies until the window's end when pressed in the hours before a window that opens after midnight", async () => {
    const at = localTime(5, 1); // 01:00: the demo window opens at 02:00 and plans the same day
    const report = await runFillCycle(env, "lumen-nyc", at, { force: true });
    if (!report.ran) throw new Error(report.reason);
    expect(Date.parse(report.fillUntil)).toBe(localTime(5, 14));
  });
});
