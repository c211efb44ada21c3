import { describe, expect, it } from "vitest";
import { mulberry32, normal } from "../fill/rng";
import { shareBefore } from "../fill/peak-shape";
import { forecast, predictSite, shiftsToday } from "../fill/predict";
import { mixShiftStart, shiftCheckHour, shiftedToday } from "../fill/shift";
import type { PredictInput } from "../fill/types";

const DAYS = 14;
const TITLES = 300;
const MONDAY = Date.UTC(2026, 0, 5) / 86_400_000;

/** Zipf(0.9) popularity over `TITLES` titles, in a seeded random order. */
function popularity(seed: number): number[] {
  const rng = mulberry32(seed);
  const order = Array.from({ length: TITLES }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const pop = new Array<number>(TITLES);
  order.forEach((t, rank) => {
    pop[t] = 1 / (rank + 1) ** 0.9;
  });
  return pop;
}

/**
 * Daily bytes per title over the window: 2 TB a day split by popularity, each day's value with
 * multiplicative noise of `noise` (as sampling sessions gives); from day `shiftAt` on, `after`.
 */
function history(before: number[], opts: { noise?: number; shiftAt?: number; after?: number[]; seed?: number } = {}): number[][] {
  const rng = mulberry32(opts.seed ?? 7);
  const sum = (p: number[]) => p.reduce((a, b) => a + b, 0);
  return before.map((_, t) =>
    Array.from({ length: DAYS }, (_, d) => {
      const pop = opts.shiftAt !== undefined && d >= opts.shiftAt ? opts.after! : before;
      return Math.max(0, ((2e12 * pop[t]) / sum(pop)) * Math.exp((opts.noise ?? 0.3) * normal(rng)));
    }),
  );
}

describe("a shift of the whole title mix", () => {
  it("is not found in a stable mix with day-to-day noise, nor when a few titles move", () => {
    const pop = popularity(1);
    expect(mixShiftStart(history(pop), DAYS)).toBe(0);
    expect(mixShiftStart(history(pop, { noise: 0.8, seed: 3 }), DAYS)).toBe(0);
    // Three mid-ranked titles triple: their own smoothing follows them, the mix as a whole stands.
    const moved = pop.map((p, t) => (t % 100 === 50 ? 3 * p : p));
    expect(mixShiftStart(history(pop, { shiftAt: 11, after: moved }), DAYS)).toBe(0);
  });

  it("starts on the first day of a reshuffle, found the day after it or a week later", () => {
    const before = popularity(1);
    const after = popularity(2);
    expect(mixShiftStart(history(before, { shiftAt: 13, after }), DAYS)).toBe(13);
    expect(mixShiftStart(history(before, { shiftAt: 10, after }), DAYS)).toBe(10);
    expect(mixShiftStart(history(before, { shiftAt: 7, after }), DAYS)).toBe(7);
  });

  it("needs a week of reference before it looks", () => {
    expect(
      mixShiftStart(
        history(popularity(1), { shiftAt: 3, after: popularity(2) }).map((x) => x.slice(0, 7)),
        7,
      ),
    ).toBe(0);
    expect(mixShiftStart([], DAYS)).toBe(0);
  });
});

describe("prediction after a shift of the whole mix", () => {
  it("forecasts each title from the days since the shift, not from the two weeks before it", () => {
    const before = popularity(1);
    const after = popularity(2);
    const h = history(before, { shiftAt: 12, after, noise: 0.05 });
    const local = Object.fromEntries(h.map((x, t) => [`t${t}`, x]));
    const out = new Map(
      predictSite({ targetDay: MONDAY, local, regional: local, titleBytes: {}, releases: [], params: { windowDays: DAYS, thinBytes: 1 } }).map((p) => [
        p.titleId,
        p.bytes,
      ]),
    );
    // The title that rose most and the one that fell most: forecast within 15 % of their new level.
    const change = before.map((b, t) => ({ t, ratio: after[t] / b }));
    change.sort((a, b) => b.ratio - a.ratio);
    for (const { t } of [change[0], change[change.length - 1]]) {
      const now = (h[t][12] + h[t][13]) / 2;
      expect(Math.abs(out.get(`t${t}`)! - now) / now).toBeLessThan(0.15);
    }
  });
});

/** A morning's bytes per title: `bytes` in all, split by `pop` with sampling noise. */
function morning(pop: number[], bytes: number, seed: number): number[] {
  const rng = mulberry32(seed);
  const total = pop.reduce((a, b) => a + b, 0);
  return pop.map((p) => Math.max(0, ((bytes * p) / total) * Math.exp(0.3 * normal(rng))));
}

describe("a shift seen in today's first hours", () => {
  const week = history(popularity(1)).map((x) => x.slice(DAYS - 7));

  it("is found when last week's most watched titles lose their share of today, and not in a noisy ordinary morning", () => {
    expect(shiftedToday(week, morning(popularity(1), 4e11, 11), 1e9)).toBe(false);
    expect(shiftedToday(week, morning(popularity(1), 4e11, 12), 1e9)).toBe(false);
    expect(shiftedToday(week, morning(popularity(2), 4e11, 13), 1e9)).toBe(true);
  });

  it("is not judged on a morning too small to tell", () => {
    expect(shiftedToday(week, morning(popularity(2), 5e8, 13), 1e9)).toBe(false);
    expect(shiftedToday([], [], 0)).toBe(false);
  });

  it("turns the forecast to today's mix, scaled to a whole day, only when the mix has shifted", () => {
    const before = popularity(1);
    const h = history(before, { noise: 0.05 });
    const local = Object.fromEntries(h.map((x, t) => [`t${t}`, x]));
    const base: PredictInput = {
      targetDay: MONDAY,
      lastDay: MONDAY - 2,
      local,
      regional: local,
      titleBytes: {},
      releases: [],
      params: { windowDays: DAYS, thinBytes: 1 },
    };
    const byTitle = (input: PredictInput) => new Map(predictSite(input).map((p) => [p.titleId, p.bytes]));
    const record = (xs: number[]) => Object.fromEntries(xs.map((v, t) => [`t${t}`, v]));

    // An ordinary morning (a fifth of a day so far): ignored, the forecast is the history's.
    const same = record(morning(before, 0.2 * 2e12, 21));
    expect(shiftsToday({ ...base, today: { local: same, regional: same, share: 0.2 } })).toBe(false);
    expect(byTitle({ ...base, today: { local: same, regional: same, share: 0.2 } })).toEqual(byTitle(base));

    // A reshuffled morning: every title is forecast at its morning's bytes over the share.
    const after = morning(popularity(2), 0.2 * 2e12, 22);
    const shifted = record(after);
    const input = { ...base, today: { local: shifted, regional: shifted, share: 0.2 } };
    expect(shiftsToday(input)).toBe(true);
    expect(forecast(input).shiftedToday).toBe(true);
    expect(forecast({ ...base, today: { local: same, regional: same, share: 0.2 } }).shiftedToday).toBe(false);
    const out = byTitle(input);
    const top = after.indexOf(Math.max(...after));
    // (within the weekday factors' rounding between today and tomorrow)
    expect(Math.abs(out.get(`t${top}`)! / (after[top] / 0.2) - 1)).toBeLessThan(0.02);
  });

  it("leaves a launch out: a morning taken by one new title is not a shift", () => {
    const pop = popularity(1);
    const h = history(pop, { noise: 0.05 });
    const local = Object.fromEntries(h.map((x, t) => [`t${t}`, x]));
    const today = Object.fromEntries(morning(pop, 2e11, 23).map((v, t) => [`t${t}`, v]));
    today.premiere = 3e11; // more than the rest of the morning together
    const input: PredictInput = {
      targetDay: MONDAY,
      lastDay: MONDAY - 2,
      local,
      regional: local,
      titleBytes: {},
      releases: [{ titleId: "premiere", launchDay: MONDAY - 1 }],
      today: { local: today, regional: today, share: 0.2 },
      params: { windowDays: DAYS, thinBytes: 1 },
    };
    expect(shiftsToday(input)).toBe(false);
    expect(shiftsToday({ ...input, releases: [] })).toBe(true);
  });
});

describe("the hour of the same-day check", () => {
  it("is four hours before the fill window closes, across midnight too", () => {
    expect(shiftCheckHour({ endHour: 14 })).toBe(10);
    expect(shiftCheckHour({ endHour: 2 })).toBe(22);
  });
});

describe("the share of a day before an hour", () => {
  it("sums the days' hours before it over all their bytes, and is 0 with no history", () => {
    const day = Array.from({ length: 24 }, (_, h) => (h < 10 ? 1 : 3));
    expect(shareBefore([day, day], 10)).toBeCloseTo(10 / (10 + 14 * 3), 12);
    expect(shareBefore([], 10)).toBe(0);
    expect(shareBefore([new Array(24).fill(0)], 10)).toBe(0);
  });
});
