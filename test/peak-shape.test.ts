import { describe, expect, it } from "vitest";
import { DEFAULT_PEAK_SHARE, peakBps, peakHourShare, SHAPE_MIN_BYTES } from "../fill/peak-shape";

const day = (byHour: Record<number, number>) => Array.from({ length: 24 }, (_, h) => byHour[h] ?? 0);

describe("a site's peak share (fill/peak-shape.ts)", () => {
  it("is the default with no hourly history", () => {
    expect(peakHourShare([])).toBe(DEFAULT_PEAK_SHARE);
    expect(peakHourShare([day({})])).toBe(DEFAULT_PEAK_SHARE);
  });

  it("is the busiest hour's share of the summed days once history is thick", () => {
    const share = peakHourShare([day({ 20: 3e9, 21: 6e9, 3: 1e9 }), day({ 20: 5e9, 21: 4e9, 3: 1e9 })]);
    // Summed: 20h 8e9, 21h 10e9, 3h 2e9 -> 10/20.
    expect(share).toBeCloseTo(0.5, 10);
  });

  it("blends thin history towards the default in proportion to its bytes", () => {
    const thin = peakHourShare([day({ 21: SHAPE_MIN_BYTES / 4 })]);
    expect(thin).toBeCloseTo(0.25 * 1 + 0.75 * DEFAULT_PEAK_SHARE, 10);
  });

  it("ignores what is not a count of bytes", () => {
    expect(peakHourShare([[Number.NaN, -5, Number.POSITIVE_INFINITY, ...day({ 5: 2e9 }).slice(3)]])).toBeCloseTo(1, 10);
  });

  it("turns a day's bytes into peak bits per second", () => {
    expect(peakBps(3600, 0.5)).toBe(4);
    expect(peakBps(-1, 0.5)).toBe(0);
  });
});
