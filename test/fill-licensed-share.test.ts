import { describe, expect, it } from "vitest";
import { dayNumber, localClockHours, localDayStart, localHourStart } from "../fill/day";
import { clockHourOn, licensedShare, shareBeforeHour } from "../fill/licensed-share";
import { SHAPE_MIN_BYTES } from "../fill/peak-shape";

/**
 * The share of a day's demand a site may serve of a title licensed there for only part of that day
 * (fill/licensed-share.ts): hours on the site's wall clock, so a day of 23 or 25 hours (a DST change)
 * is read as viewers live it, weighed by the site's hour-of-day shape; premieres as endings.
 */

const BERLIN = "Europe/Berlin";
const NEW_YORK = "America/New_York";
const KOLKATA = "Asia/Kolkata";
// Local days (each zone's calendar) with a DST change: 23 and 25 hours long.
const BERLIN_SPRING = dayNumber(Date.UTC(2026, 2, 29, 12), BERLIN); // 2026-03-29, 02:00 -> 03:00
const BERLIN_AUTUMN = dayNumber(Date.UTC(2026, 9, 25, 12), BERLIN); // 2026-10-25, 03:00 -> 02:00
const NY_SPRING = dayNumber(Date.UTC(2027, 2, 14, 12), NEW_YORK); // 2027-03-14, 02:00 -> 03:00
const YEAR_AGO = Date.UTC(2025, 0, 1);

const day = (byHour: Record<number, number>) => Array.from({ length: 24 }, (_, h) => byHour[h] ?? 0);
/** A thick evening-peaked shape: 20:00-22:00 carries 60% of the day. */
const EVENING = [day({ 8: 1e9, 12: 1e9, 17: 2e9, 20: 3e9, 21: 3e9, 23: 0 })];

/** What the fill cycle computed before: the licensed hour as a share of the day's length times 24, read into the shape. */
function oldEndShare(end: number, dayNo: number, timeZone: string, shape: ReadonlyArray<ArrayLike<number>>): number {
  const start = localDayStart(dayNo, timeZone);
  const next = localDayStart(dayNo + 1, timeZone);
  return shareBeforeHour(shape, ((end - start) / (next - start)) * 24);
}

describe("hours on a site's wall clock", () => {
  it("reads the local hour with its minutes, on days of 23 and 25 hours and in a half-hour zone", () => {
    expect(localDayStart(BERLIN_SPRING + 1, BERLIN) - localDayStart(BERLIN_SPRING, BERLIN)).toBe(23 * 3_600_000);
    expect(localDayStart(BERLIN_AUTUMN + 1, BERLIN) - localDayStart(BERLIN_AUTUMN, BERLIN)).toBe(25 * 3_600_000);
    expect(clockHourOn(localHourStart(BERLIN_SPRING, 20, BERLIN), BERLIN_SPRING, BERLIN)).toBe(20);
    expect(clockHourOn(localHourStart(BERLIN_AUTUMN, 20, BERLIN), BERLIN_AUTUMN, BERLIN)).toBe(20);
    expect(clockHourOn(localHourStart(BERLIN_SPRING, 3, BERLIN) + 30 * 60_000, BERLIN_SPRING, BERLIN)).toBe(3.5);
    // 21:15 in Kolkata (UTC+05:30) is 15:45 UTC.
    const kolkataDay = dayNumber(Date.UTC(2026, 5, 1, 12), KOLKATA);
    expect(clockHourOn(Date.UTC(2026, 5, 1, 15, 45), kolkataDay, KOLKATA)).toBe(21.25);
    expect(localClockHours(Date.UTC(2026, 5, 1, 15, 45, 36), KOLKATA)).toBeCloseTo(21.26, 10);
  });

  it("is 0 before the day and 24 from the next day's start", () => {
    expect(clockHourOn(localDayStart(BERLIN_SPRING, BERLIN) - 1, BERLIN_SPRING, BERLIN)).toBe(0);
    expect(clockHourOn(localDayStart(BERLIN_SPRING, BERLIN), BERLIN_SPRING, BERLIN)).toBe(0);
    expect(clockHourOn(localDayStart(BERLIN_SPRING + 1, BERLIN), BERLIN_SPRING, BERLIN)).toBe(24);
  });
});

describe("the share of a day's demand before an hour", () => {
  it("is the clock's with no hourly history, the shape's once it is thick, interpolated within an hour", () => {
    expect(shareBeforeHour([], 6)).toBe(0.25);
    expect(shareBeforeHour(EVENING, 20)).toBeCloseTo(0.4, 12);
    expect(shareBeforeHour(EVENING, 20.5)).toBeCloseTo(0.55, 12);
    expect(shareBeforeHour(EVENING, 24)).toBeCloseTo(1, 12);
    expect(shareBeforeHour(EVENING, -3)).toBe(0);
  });

  it("blends thin history towards the clock in proportion to its bytes", () => {
    const thin = [day({ 21: SHAPE_MIN_BYTES / 4 })];
    expect(shareBeforeHour(thin, 21)).toBeCloseTo(0.75 * (21 / 24), 12);
  });
});

describe("a licence ending part-way through the day", () => {
  it("keeps the share of the hours before its end on the local clock on a 23-hour day", () => {
    // Ends at 03:00 local, just after the skipped hour: three clock hours of the day, not 2/23 of it.
    const end = localHourStart(BERLIN_SPRING, 3, BERLIN);
    expect(licensedShare({ from: YEAR_AGO, until: end }, BERLIN_SPRING, BERLIN, [])).toBeCloseTo(3 / 24, 12);
    // The old reading: 2 h of 23 times 24, 2.09 hours.
    expect(oldEndShare(end, BERLIN_SPRING, BERLIN, [])).toBeCloseTo(2 / 23, 12);
  });

  it("keeps the evening peak out of a licence ending at 20:00 on a 25-hour day", () => {
    const end = localHourStart(BERLIN_AUTUMN, 20, BERLIN);
    expect(licensedShare({ from: YEAR_AGO, until: end }, BERLIN_AUTUMN, BERLIN, EVENING)).toBeCloseTo(0.4, 12);
    // 21 h of 25 read as 20.16: a sixth of the 20:00 peak hour counted as licensed.
    expect(oldEndShare(end, BERLIN_AUTUMN, BERLIN, EVENING)).toBeGreaterThan(0.42);
  });

  it("is a day's whole demand for a licence ending at the next midnight or later", () => {
    expect(licensedShare({ from: YEAR_AGO, until: localDayStart(NY_SPRING + 1, NEW_YORK) }, NY_SPRING, NEW_YORK, EVENING)).toBe(1);
    expect(licensedShare({ from: YEAR_AGO, until: null }, NY_SPRING, NEW_YORK, EVENING)).toBe(1);
  });
});

describe("a licence starting part-way through the day", () => {
  it("gets the share of the hours after its start, not a whole day", () => {
    const premiere = localHourStart(NY_SPRING, 21, NEW_YORK);
    expect(licensedShare({ from: premiere, until: null }, NY_SPRING, NEW_YORK, [])).toBeCloseTo(3 / 24, 12);
    // By the evening shape: 21:00-24:00 carries 3e9 of 10e9.
    expect(licensedShare({ from: premiere, until: null }, NY_SPRING, NEW_YORK, EVENING)).toBeCloseTo(0.3, 12);
  });

  it("counts the hours between a start and an end on the same day", () => {
    const from = localHourStart(BERLIN_AUTUMN, 12, BERLIN);
    const until = localHourStart(BERLIN_AUTUMN, 21, BERLIN);
    // 12:00-21:00 of the evening shape: 1e9 + 2e9 + 3e9 of 10e9.
    expect(licensedShare({ from, until }, BERLIN_AUTUMN, BERLIN, EVENING)).toBeCloseTo(0.6, 12);
    expect(licensedShare({ from, until }, BERLIN_AUTUMN, BERLIN, [])).toBeCloseTo(9 / 24, 12);
  });

  it("is nothing for a span that does not reach into the day, and the whole day for one starting at its midnight", () => {
    const next = localDayStart(BERLIN_SPRING + 1, BERLIN);
    expect(licensedShare({ from: next, until: null }, BERLIN_SPRING, BERLIN, EVENING)).toBe(0);
    expect(licensedShare({ from: YEAR_AGO, until: localDayStart(BERLIN_SPRING, BERLIN) }, BERLIN_SPRING, BERLIN, EVENING)).toBe(0);
    expect(licensedShare({ from: localDayStart(BERLIN_SPRING, BERLIN), until: null }, BERLIN_SPRING, BERLIN, EVENING)).toBe(1);
  });
});
