import { describe, expect, it } from "vitest";
import { agoLabel, DAY_INCRS, dayAxisRange, dayLabel, MIN_DAYS_SHOWN, utcDate } from "../client/ops/day-axis";

const DAY = 86_400;
const dec2 = 20_424 * DAY; // 2025-12-02, 00:00 UTC

describe("the dashboard's day axis", () => {
  it("shows a single day of history inside a week ending on that day, not years", () => {
    const [from, to] = dayAxisRange(dec2, dec2);
    expect(to - from).toBe(MIN_DAYS_SHOWN * DAY);
    expect(to).toBe(dec2 + DAY / 2);
    expect(from).toBe(dec2 - (MIN_DAYS_SHOWN - 1) * DAY - DAY / 2);
  });

  it("spans the whole history when it is longer than a week", () => {
    expect(dayAxisRange(dec2 - 30 * DAY, dec2)).toEqual([dec2 - 30 * DAY - DAY / 2, dec2 + DAY / 2]);
  });

  it("ends on today with no history at all", () => {
    const [, to] = dayAxisRange(null, null, dec2 + 3600);
    expect(to).toBe(dec2 + DAY / 2);
  });
});

describe("the dashboard's day axis names days in UTC, as the table under the chart does", () => {
  /** How a browser in `timeZone` names the date of a time (seconds), as uPlot would by default there. */
  const dateIn = (timeZone: string, ts: number) =>
    new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(ts * 1000));
  /** The table's name for a UTC day number. */
  const tableDay = (day: number) => new Date(day * 86_400_000).toISOString().slice(0, 10);

  it("labels a day's point (its midnight UTC) with that UTC date, which west of UTC is still the day before", () => {
    // The case the chart got wrong: in Los Angeles, 2025-12-02 00:00 UTC is the evening of 1 December.
    expect(dateIn("America/Los_Angeles", dec2)).toBe("2025-12-01");
    expect(dayLabel(dec2)).toBe("2025-12-02");
    expect(dayLabel(dec2)).toBe(dateIn("Etc/UTC", dec2));
    // The whole UTC day is that day; the second before it is the day before.
    expect(dayLabel(dec2 + DAY - 1)).toBe("2025-12-02");
    expect(dayLabel(dec2 - 1)).toBe("2025-12-01");
  });

  it("names every day as the table does, through month and year ends and a leap day", () => {
    for (const day of [0, 19_722, 19_782, 19_783, 20_088, 20_423, 20_424, 20_453, 20_454]) expect(dayLabel(day * DAY)).toBe(tableDay(day));
    expect(dayLabel(19_782 * DAY)).toBe("2024-02-29");
    expect(dayLabel(20_453 * DAY)).toBe("2025-12-31");
  });

  it("gives uPlot dates whose local fields are the UTC ones, so its ticks fall on UTC midnights", () => {
    for (const ts of [dec2, dec2 + DAY / 2 + 61, 19_782 * DAY + DAY - 1]) {
      const d = utcDate(ts);
      const utc = new Date(ts * 1000);
      expect([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()]).toEqual([
        utc.getUTCFullYear(),
        utc.getUTCMonth(),
        utc.getUTCDate(),
        utc.getUTCHours(),
        utc.getUTCMinutes(),
        utc.getUTCSeconds(),
      ]);
    }
  });

  it("ticks only on whole days, so no two ticks carry the same date", () => {
    for (const incr of DAY_INCRS) expect(incr % DAY).toBe(0);
    expect(DAY_INCRS[0]).toBe(DAY);
  });
});

describe("the dashboard's time since a health transition", () => {
  const now = Date.UTC(2026, 11, 6, 12);
  it("reads in the unit that fits: seconds, minutes, hours and minutes, days and hours", () => {
    expect(agoLabel(now - 42_000, now)).toBe("42 s ago");
    expect(agoLabel(now - 12 * 60_000, now)).toBe("12 min ago");
    expect(agoLabel(now - (2 * 3600 + 2 * 60 + 2) * 1000, now)).toBe("2 h 2 min ago");
    expect(agoLabel(now - 3 * 3600_000, now)).toBe("3 h ago");
    expect(agoLabel(now - (2 * 86_400 + 4 * 3600) * 1000, now)).toBe("2 d 4 h ago");
    expect(agoLabel(0, now)).toBe("");
    expect(agoLabel(now + 5_000, now)).toBe("0 s ago");
  });
});
