import { describe, expect, it } from "vitest";
import { bufferShare, chooseRung, DEFAULT_ABR, highestFitting, ThroughputEstimator } from "../client/abr";

// The demo ladder: 240p / 480p / 720p peak bandwidths (video + audio) of sintel-sunrise.
const LADDER = [{ bandwidth: 592_469 }, { bandwidth: 1_663_607 }, { bandwidth: 3_565_943 }];
const mbps = (n: number) => n * 1_000_000;

describe("chooseRung (throughput and buffer)", () => {
  it("stays on the lowest rung at start-up when nothing is measured", () => {
    expect(chooseRung({ rungs: LADDER, throughputBps: null, bufferS: 0, current: null })).toBe(0);
    expect(chooseRung({ rungs: LADDER, throughputBps: null, bufferS: 5, current: 2 })).toBe(2);
  });

  it("starts as high as the buffer-scaled budget allows (empty buffer: half of 80 %)", () => {
    // 0.8 * 0.5 * 10 Mbps = 4 Mbps covers 720p.
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(10), bufferS: 0, current: null })).toBe(2);
    // 0.4 * 5 Mbps = 2 Mbps covers 480p only.
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(5), bufferS: 0, current: null })).toBe(1);
    // 0.4 * 1 Mbps = 0.4 Mbps covers nothing: the lowest rung.
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(1), bufferS: 0, current: null })).toBe(0);
  });

  it("switches up only within the stricter up-switch budget, and may jump several rungs", () => {
    // 0.65 * 5 Mbps = 3.25 Mbps < 3.57 Mbps: from 480p no switch to 720p...
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(5), bufferS: 12, current: 1 })).toBe(1);
    // ...but 0.65 * 6 Mbps = 3.9 Mbps allows it.
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(6), bufferS: 12, current: 1 })).toBe(2);
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(50), bufferS: 12, current: 0 })).toBe(2);
  });

  it("holds the current rung between the up and the hold budget (no oscillation)", () => {
    // 720p needs 3.57 Mbps: hold at 0.8 * 4.6 = 3.68 Mbps, though 0.65 * 4.6 = 2.99 would not switch up.
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(4.6), bufferS: 12, current: 2 })).toBe(2);
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(4.6), bufferS: 12, current: 1 })).toBe(1);
  });

  it("switches down when throughput no longer covers the rung, several rungs when the buffer is low", () => {
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(3), bufferS: 12, current: 2 })).toBe(1);
    // Buffer 1 s: budget 0.8 * (0.5 + 0.5/8) * 3 Mbps = 1.35 Mbps: straight to 240p.
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(3), bufferS: 1, current: 2 })).toBe(0);
  });

  it("with a full buffer, rides out a dip as long as raw throughput still covers the rung", () => {
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(3.8), bufferS: 25, current: 2 })).toBe(2);
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(3.0), bufferS: 25, current: 2 })).toBe(1);
  });

  it("never leaves the ladder", () => {
    expect(chooseRung({ rungs: LADDER, throughputBps: mbps(1e6), bufferS: 30, current: 7 })).toBe(2);
    expect(chooseRung({ rungs: LADDER, throughputBps: 1, bufferS: 0, current: 2 })).toBe(0);
    expect(() => chooseRung({ rungs: [], throughputBps: 1, bufferS: 0, current: null })).toThrow();
  });

  it("buffer share and highest fitting rung", () => {
    expect(bufferShare(0)).toBe(DEFAULT_ABR.minBudgetShare);
    expect(bufferShare(DEFAULT_ABR.lowBufferS / 2)).toBeCloseTo(0.75);
    expect(bufferShare(100)).toBe(1);
    expect(highestFitting(LADDER, 2e6)).toBe(1);
    expect(highestFitting(LADDER, 1)).toBe(0);
  });
});

describe("ThroughputEstimator", () => {
  it("is null until the first sample, then tracks it", () => {
    const e = new ThroughputEstimator();
    expect(e.estimate()).toBeNull();
    e.sample(1_000_000, 1000); // 8 Mbps
    expect(e.estimate()).toBeCloseTo(8e6, -3);
  });

  it("drops at once on a slow download and climbs back only when the window is good again", () => {
    const e = new ThroughputEstimator(4);
    for (let i = 0; i < 4; i++) e.sample(1_000_000, 10); // 800 Mbps (loopback)
    e.sample(250_000, 1000); // 2 Mbps
    // Harmonic mean of [800, 800, 800, 2] Mbps: one slow sample weighs most.
    expect(e.estimate()!).toBeLessThan(8e6);
    e.sample(250_000, 1000);
    expect(e.estimate()!).toBeLessThan(4.1e6);
    for (let i = 0; i < 3; i++) e.sample(1_000_000, 10);
    expect(e.estimate()!).toBeLessThan(8e6); // one slow sample still in the window
    e.sample(1_000_000, 10);
    expect(e.estimate()!).toBeCloseTo(800e6, -6);
  });

  it("counts tiny loopback samples as at least minSampleMs, ignores empty ones, and can be seeded", () => {
    const e = new ThroughputEstimator(4, 5);
    e.sample(0, 10);
    expect(e.estimate()).toBeNull();
    e.sample(10_000, 0);
    expect(e.estimate()).toBeCloseTo((10_000 * 8000) / 5, -2);
    e.reset(3e6);
    expect(e.sampleCount).toBe(1);
    expect(e.estimate()).toBeCloseTo(3e6, -2);
    e.reset();
    expect(e.estimate()).toBeNull();
  });
});
