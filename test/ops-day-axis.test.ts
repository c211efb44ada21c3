import { describe, expect, it } from "vitest";
import { dayAxisRange, MIN_DAYS_SHOWN } from "../client/ops/day-axis";

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
