import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dayNumber, localDayStart, localHour } from "../fill/day";
import { FORCED_FILL_MIN_MS, runFillCycle } from "../workers/control/fill-cycle";
import { ADMIN, call, publishTitle } from "./fixtures";

/**
 * An operator's "run fill cycle now" (POST /admin/sites/:id/fill-cycle): it copies until the window's
 * end, and for at least an hour, whenever it is pressed.
 */
const NEW_YORK = "America/New_York";
const HOUR = 3_600_000;

/** `hour`:00 local in New York, `days` days from today (found on the local clock: a clock change moves it). */
function localTime(days: number, hour: number): number {
  let t = localDayStart(dayNumber(Date.now(), NEW_YORK) + days, NEW_YORK);
  while (localHour(t, NEW_YORK) !== hour) t += HOUR;
  return t;
}

describe("an operator's fill cycle run now", () => {
  it("copies until the window's end when pressed early in the window", async () => {
    await publishTitle("run-now-title");
    const at = localTime(3, 10);
    const report = await runFillCycle(env, "lumen-nyc", at, { force: true });
    if (!report.ran) throw new Error(report.reason);
    // The demo window closes at 14:00 local.
    expect(Date.parse(report.fillUntil)).toBe(localTime(3, 14));
  });

  it("copies for at least an hour when pressed in the window's last minute", async () => {
    const at = localTime(5, 13) + 59 * 60_000 + 30_000;
    const report = await runFillCycle(env, "lumen-nyc", at, { force: true });
    if (!report.ran) throw new Error(report.reason);
    expect(Date.parse(report.fillUntil)).toBe(at + FORCED_FILL_MIN_MS);
  });

  it("copies for 12 hours when pressed outside the window", async () => {
    const at = localTime(7, 20);
    const report = await runFillCycle(env, "lumen-nyc", at, { force: true });
    if (!report.ran) throw new Error(report.reason);
    expect(Date.parse(report.fillUntil)).toBe(at + 12 * HOUR);
  });
});

describe("the hourly cycle's fill window in a zone offset by half an hour", () => {
  it("copies until the window's end hour on the local clock, not half an hour past it", async () => {
    const KOLKATA = "Asia/Kolkata";
    // An IXP site in Mumbai (UTC+05:30: its hours begin at UTC's half hours), added to the live topology.
    const res = await call("/admin/topology/sites", {
      method: "POST",
      headers: { ...ADMIN, "Content-Type": "application/json" },
      body: JSON.stringify({
        id: "ixp-bom",
        name: "Mumbai IXP",
        tier: "ixp",
        region: "eu",
        country: "IN",
        lat: 19.08,
        lon: 72.88,
        timeZone: KOLKATA,
        ocas: [{ id: "ixp-bom-1", capacityBytes: 400_000_000, throughputBps: 10_000_000_000 }],
      }),
    });
    expect(res.status).toBe(201);
    // The cron runs on UTC's hour: 02:30 local, two days out, is the first run in the demo window (02:00-14:00).
    const day = dayNumber(Date.now(), KOLKATA) + 2;
    const at = localDayStart(day, KOLKATA) + 2.5 * HOUR;
    expect(at % HOUR).toBe(0);
    const report = await runFillCycle(env, "ixp-bom", at);
    if (!report.ran) throw new Error(report.reason);
    // 14:00 in Kolkata (no DST) is 08:30 UTC.
    const end = localDayStart(day, KOLKATA) + 14 * HOUR;
    expect(localHour(end, KOLKATA)).toBe(14);
    expect(localHour(end - 1, KOLKATA)).toBe(13);
    expect(Date.parse(report.fillUntil)).toBe(end);
  });
});
