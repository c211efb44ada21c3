import { describe, expect, it } from "vitest";
import { circuitOpenMs } from "../workers/shared/site-link";

/**
 * How long an isolate leaves a site alone after failed calls (pure): a blip that fails a call and its
 * retry costs seconds, a site that stays down is called every 30 s at most, and isolates that failed
 * together do not all come back together.
 */

describe("a site link's circuit", () => {
  it("stays closed after one failed call and opens for 2 s after two", () => {
    expect(circuitOpenMs(0, 0)).toBe(0);
    expect(circuitOpenMs(1, 0)).toBe(0);
    expect(circuitOpenMs(2, 0)).toBe(2_000);
  });

  it("doubles its wait with each failed call after, up to 30 s however long the site stays down", () => {
    expect([3, 4, 5, 6, 7, 50, 5_000].map((n) => circuitOpenMs(n, 0))).toEqual([4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]);
  });

  it("shortens each wait by up to a quarter at random, never below it nor past it", () => {
    expect(circuitOpenMs(2, 0.999_999)).toBeGreaterThanOrEqual(1_500);
    expect(circuitOpenMs(2, 0.5)).toBe(1_750);
    expect(circuitOpenMs(6, 1)).toBe(22_500);
    expect(circuitOpenMs(6, -3)).toBe(30_000);
    expect(circuitOpenMs(6, Number.NaN)).toBe(30_000);
  });
});
