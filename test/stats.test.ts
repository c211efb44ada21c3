import { describe, expect, it } from "vitest";
import { median } from "../shared/stats";

describe("the median", () => {
  it("is the middle value of an odd count, whatever the order", () => {
    expect(median([9, 1, 5])).toBe(5);
  });

  it("is the mean of the middle two of an even count, not the upper one (bench:play's ratios over six rounds)", () => {
    expect(median([0.74, 1.02, 0.84, 0.94, 0.83, 1.0])).toBeCloseTo(0.89, 10);
  });

  it("is NaN for no values, and leaves its input unsorted", () => {
    expect(median([])).toBeNaN();
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});
