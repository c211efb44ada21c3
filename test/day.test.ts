import { describe, expect, it } from "vitest";
import { dayNumber, localHourStart } from "../fill/day";
import { localMidnightWithin } from "./fixtures";

/** The local date of an instant, straight from Intl (no cache), as a day number. */
function reference(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(ms);
  return Math.floor(Date.parse(`${parts}T00:00:00Z`) / 86_400_000);
}

describe("a site's day number", () => {
  it("changes exactly at local midnight, every 15 s, in whole-hour, half-hour, quarter-hour and DST zones asked in turn", () => {
    const zones = ["America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Europe/Berlin", "Australia/Adelaide"];
    // Two hours around the UTC instants where each zone's date turns, on a DST change day in New York and Berlin.
    for (const start of [Date.UTC(2026, 2, 8, 3, 0), Date.UTC(2026, 2, 28, 22, 0), Date.UTC(2026, 5, 30, 17, 0), Date.UTC(2026, 9, 31, 12, 0)]) {
      for (let ms = start; ms < start + 4 * 3_600_000; ms += 15_000) {
        for (const zone of zones) expect(dayNumber(ms, zone), `${zone} at ${new Date(ms).toISOString()}`).toBe(reference(ms, zone));
      }
    }
  });

  it("gives the same number to the same minute asked again after another zone", () => {
    const at = Date.UTC(2026, 11, 2, 4, 59, 30);
    const ny = dayNumber(at, "America/New_York");
    expect(dayNumber(at, "Asia/Tokyo")).toBe(ny + 1);
    expect(dayNumber(at, "America/New_York")).toBe(ny);
    expect(dayNumber(at + 30_000, "America/New_York")).toBe(ny + 1);
  });
});

describe("the instant a local hour begins", () => {
  it("is hour:00 on the local clock, off UTC's hours in half- and quarter-hour zones, and after a DST change skips it", () => {
    const day = Math.floor(Date.UTC(2026, 5, 30) / 86_400_000);
    // 14:00 on 30 June 2026: 08:30 UTC in Kolkata (+05:30), 08:15 UTC in Kathmandu (+05:45), 12:00 UTC in Berlin (CEST).
    expect(localHourStart(day, 14, "Asia/Kolkata")).toBe(Date.UTC(2026, 5, 30, 8, 30));
    expect(localHourStart(day, 14, "Asia/Kathmandu")).toBe(Date.UTC(2026, 5, 30, 8, 15));
    expect(localHourStart(day, 14, "Europe/Berlin")).toBe(Date.UTC(2026, 5, 30, 12, 0));
    expect(localHourStart(day, 0, "Asia/Kolkata")).toBe(Date.UTC(2026, 5, 29, 18, 30));
    // 8 March 2026 in New York: 02:00 does not exist; the hour "begins" at 03:00 EDT (07:00 UTC), as 06:00 EDT is 10:00 UTC.
    const dst = Math.floor(Date.UTC(2026, 2, 8) / 86_400_000);
    expect(localHourStart(dst, 2, "America/New_York")).toBe(Date.UTC(2026, 2, 8, 7, 0));
    expect(localHourStart(dst, 6, "America/New_York")).toBe(Date.UTC(2026, 2, 8, 10, 0));
  });
});

describe("the guard of files that seed a site's today", () => {
  it("sees a local midnight coming within the margin, in any of the zones, and nothing otherwise", () => {
    // 2026-03-10 03:59:50 UTC is 23:59:50 on 9 March in New York (EDT since 8 March) and 04:59:50 in Berlin.
    const nearNy = Date.UTC(2026, 2, 10, 3, 59, 50);
    expect(localMidnightWithin(nearNy, 60_000, ["America/New_York"])).toBe(true);
    expect(localMidnightWithin(nearNy, 5_000, ["America/New_York"])).toBe(false);
    expect(localMidnightWithin(nearNy, 60_000, ["Europe/Berlin"])).toBe(false);
    expect(localMidnightWithin(nearNy, 60_000, ["Europe/Berlin", "America/New_York"])).toBe(true);
    expect(localMidnightWithin(Date.UTC(2026, 2, 10, 16, 0, 0), 60_000, ["Europe/Berlin", "America/New_York"])).toBe(false);
  });
});
