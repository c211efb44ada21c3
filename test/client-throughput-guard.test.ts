import { describe, expect, it } from "vitest";
import { ThroughputEstimator } from "../client/abr";

// A player or a clock can hand the estimator a sample that is no measurement at all: a missing
// timing turned into NaN, a negative duration from a clock that went back, an infinite byte count.
// One such sample must not poison the estimate (the ABR, CMCD `mtp` and `_HLS_throughput` read it).

const GOOD = { bytes: 1_000_000, ms: 1000 }; // 8 Mbit/s

describe("the throughput estimator's guard against samples that are not numbers", () => {
  it("ignores a sample whose duration is NaN, infinite or negative, and keeps the estimate it had", () => {
    for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, -5000]) {
      const e = new ThroughputEstimator();
      e.sample(GOOD.bytes, GOOD.ms);
      e.sample(GOOD.bytes, ms);
      expect(e.sampleCount, `duration ${ms}`).toBe(1);
      expect(e.estimate(), `duration ${ms}`).toBeCloseTo(8e6, -3);
    }
  });

  it("ignores a sample whose byte count is NaN, infinite or negative, and keeps the estimate it had", () => {
    for (const bytes of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1]) {
      const e = new ThroughputEstimator();
      e.sample(GOOD.bytes, GOOD.ms);
      e.sample(bytes, GOOD.ms);
      expect(e.sampleCount, `bytes ${bytes}`).toBe(1);
      expect(e.estimate(), `bytes ${bytes}`).toBeCloseTo(8e6, -3);
    }
  });

  it("has no estimate when every sample it was given was invalid", () => {
    const e = new ThroughputEstimator();
    e.sample(GOOD.bytes, Number.NaN);
    e.sample(Number.POSITIVE_INFINITY, GOOD.ms);
    expect(e.estimate()).toBeNull();
  });

  it("keeps a finite estimate over the valid samples on either side of an invalid one", () => {
    const e = new ThroughputEstimator(4);
    e.sample(GOOD.bytes, GOOD.ms);
    e.sample(GOOD.bytes, Number.NaN);
    e.sample(GOOD.bytes, GOOD.ms);
    expect(e.sampleCount).toBe(2);
    expect(e.estimate()).toBeCloseTo(8e6, -3);
  });

  it("is not seeded by a prior that is not a finite positive rate", () => {
    const e = new ThroughputEstimator();
    e.reset(Number.POSITIVE_INFINITY);
    expect(e.estimate()).toBeNull();
    e.reset(Number.NaN);
    expect(e.estimate()).toBeNull();
  });
});
