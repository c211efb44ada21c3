import { describe, expect, it } from "vitest";
import { DEFAULT_PEAK_SHARE, peakBps, peakHourShare, SHAPE_MIN_BYTES, shareBefore, summedShape } from "../fill/peak-shape";

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

  it("sums days hour by hour, a short day counting only its hours", () => {
    const { shape, total } = summedShape([day({ 20: 3, 21: 1 }), [0, 2, Number.NaN], day({ 20: 5 })]);
    expect(shape[20]).toBe(8);
    expect(shape[21]).toBe(1);
    expect(shape[1]).toBe(2);
    expect(total).toBe(11);
  });

  it("gives the share of the hours before a given hour", () => {
    const days = [day({ 6: 1, 20: 3 })];
    expect(shareBefore(days, 20)).toBeCloseTo(0.25, 10);
    expect(shareBefore(days, 21)).toBeCloseTo(1, 10);
    expect(shareBefore([], 21)).toBe(0);
  });
});
