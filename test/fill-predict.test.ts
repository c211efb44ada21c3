import { describe, expect, it } from "vitest";
import { dayNumber, dayOfWeek, localHour } from "../fill/day";
import { predictSite } from "../fill/predict";
import { trendConfidence } from "../fill/smooth";
import type { PredictInput, Prediction } from "../fill/types";

// 2026-01-05 is a Monday; the window is the 14 days before the target day.
const MONDAY = Date.UTC(2026, 0, 5) / 86_400_000;
const WINDOW = 14;

/** A 14-day series ending the day before `target`, from a function of the day number. */
const series = (target: number, f: (day: number, i: number) => number): number[] => Array.from({ length: WINDOW }, (_, i) => f(target - WINDOW + i, i));

const flat = (v: number) => new Array<number>(WINDOW).fill(v);

function predict(input: Partial<PredictInput> & Pick<PredictInput, "targetDay" | "local">): Map<string, Prediction> {
  const out = predictSite({
    regional: input.local,
    titleBytes: {},
    releases: [],
    params: { thinBytes: 1000, windowDays: WINDOW },
    ...input,
  });
  return new Map(out.map((p) => [p.titleId, p]));
}

describe("local days", () => {
  it("numbers days in the site's own calendar and knows the weekday", () => {
    const ms = Date.UTC(2026, 0, 5, 3); // 03:00 UTC on Monday = 22:00 on Sunday in New York
    expect(dayNumber(ms, "UTC")).toBe(MONDAY);
    expect(dayNumber(ms, "America/New_York")).toBe(MONDAY - 1);
    expect(localHour(ms, "America/New_York")).toBe(22);
    expect(localHour(ms, "Europe/Berlin")).toBe(4);
    expect(dayOfWeek(MONDAY)).toBe(1);
    expect(dayOfWeek(MONDAY - 1)).toBe(0);
    expect(dayOfWeek(0)).toBe(4); // 1970-01-01 was a Thursday
  });
});

describe("predictSite", () => {
  it("predicts the constant from a constant history", () => {
    const p = predict({ targetDay: MONDAY, local: { a: flat(500) } }).get("a")!;
    expect(p.bytes).toBeCloseTo(500, 6);
    expect(p.basis).toBe("local");
  });

  it("reproduces a weekly pattern on the right weekday", () => {
    // Weekends (Saturday, Sunday) twice the weekdays.
    const weekly = (day: number) => (dayOfWeek(day) === 0 || dayOfWeek(day) === 6 ? 200 : 100);
    const saturday = MONDAY + 5;
    const tuesday = MONDAY + 1;
    expect(predict({ targetDay: saturday, local: { a: series(saturday, weekly) } }).get("a")!.bytes).toBeCloseTo(200, 6);
    expect(predict({ targetDay: tuesday, local: { a: series(tuesday, weekly) } }).get("a")!.bytes).toBeCloseTo(100, 6);
  });

  it("predicts above the last value when demand is rising", () => {
    const rising = series(MONDAY, (_, i) => 10 * (i + 1)); // 10, 20, …, 140
    const p = predict({ targetDay: MONDAY, local: { a: rising } }).get("a")!;
    expect(p.bytes).toBeGreaterThan(140);
    expect(p.bytes).toBeCloseTo(150, 6);
  });

  it("forecasts two days out from a history that ends the day before yesterday, trend and weekday included", () => {
    // The cron plans tomorrow while today is being counted: its history ends yesterday.
    const rising = series(MONDAY - 1, (_, i) => 10 * (i + 1)); // 10, 20, …, 140 up to Saturday
    expect(predict({ targetDay: MONDAY, lastDay: MONDAY - 2, local: { a: rising } }).get("a")!.bytes).toBeCloseTo(160, 6);
    const weekly = (day: number) => (dayOfWeek(day) === 0 || dayOfWeek(day) === 6 ? 200 : 100);
    const saturday = MONDAY + 5;
    expect(predict({ targetDay: saturday, lastDay: saturday - 2, local: { a: series(saturday - 1, weekly) } }).get("a")!.bytes).toBeCloseTo(200, 6);
    expect(predict({ targetDay: MONDAY, lastDay: MONDAY - 2, local: { a: series(MONDAY - 1, weekly) } }).get("a")!.bytes).toBeCloseTo(100, 6);
  });

  it("ages a launch by the target day, not by the history's end, when the history ends before yesterday", () => {
    // Titles launched 1..5 days before the target teach the curve; "late" launched on the history's
    // last day (age 2 on the target), "today" after it (no history yet, age 1 on the target).
    const target = MONDAY;
    const curve = [1000, 600, 400, 300, 250, 220];
    const local: Record<string, number[]> = {};
    const releases: PredictInput["releases"] = [];
    for (let t = 0; t < 4; t++) {
      const launch = target - 2 - 5 + t;
      releases.push({ titleId: `l${t}`, launchDay: launch });
      local[`l${t}`] = series(target - 1, (day) => (day >= launch ? curve[day - launch] : 0));
    }
    local.late = series(target - 1, (day) => (day === target - 2 ? 1000 : 0));
    releases.push({ titleId: "late", launchDay: target - 2 }, { titleId: "today", launchDay: target - 1 });
    const p = predict({
      targetDay: target,
      lastDay: target - 2,
      local,
      releases,
      titleBytes: Object.fromEntries([...Object.keys(local), "today"].map((id) => [id, 1])),
    });
    // Day 0 to day 2 of the curve: 1000 -> 400.
    expect(p.get("late")!.bytes).toBeCloseTo(400, 6);
    // No history: the launches' mean at age 1 (600).
    expect(p.get("today")!.bytes).toBeCloseTo(600, 6);
  });

  it("believes a clean trend fully and a trend lost in noise not at all", () => {
    expect(trendConfidence([10, 20, 30, 40, 50, 60, 70])).toBeCloseTo(1, 9);
    expect(trendConfidence([100, 80, 120, 90, 110, 85, 125, 95, 105, 100])).toBe(0);
    // A noisy title next to a big steady one (so the site's weekly factors stay flat): the
    // prediction stays at its level instead of extrapolating the last days' wiggle.
    const noisy = [100, 80, 120, 90, 110, 85, 125, 95, 105, 100, 90, 115, 100, 120];
    const p = predict({ targetDay: MONDAY, local: { noisy, steady: flat(100_000) } }).get("noisy")!;
    expect(p.bytes).toBeGreaterThan(95);
    expect(p.bytes).toBeLessThan(112);
  });

  it("borrows the region's shape, scaled by the site's share, when local history is thin", () => {
    // The region serves 10 000 bytes a day, this site 1 000 of them (share 0.1). "indie" rises
    // regionally (50, 100, …, 700) but has never been watched here.
    const indieRegional = series(MONDAY, (_, i) => 50 * (i + 1));
    const input = {
      targetDay: MONDAY,
      local: { hit: flat(1000) },
      regional: { hit: indieRegional.map((v) => 10_000 - v), indie: indieRegional },
    };
    const indie = predict(input).get("indie")!;
    expect(indie.bytes).toBeCloseTo(75, 6); // the region's 750 tomorrow × 0.1
    expect(indie.basis).toBe("regional");

    // With a little local history (5 a day, under thinBytes) the prediction blends both.
    const blended = predict({ ...input, local: { hit: flat(1000), indie: flat(5) } }).get("indie")!;
    expect(blended.basis).toBe("blend");
    expect(blended.bytes).toBeGreaterThan(5);
    expect(blended.bytes).toBeLessThan(75.5);
  });

  it("gives a release launching tomorrow demand with zero history, from the region's top titles", () => {
    // Three titles of 1 000 bytes, each streamed 2 000 bytes a day: popularity 2.
    const local = { a: flat(2000), b: flat(2000), c: flat(2000) };
    const p = predict({
      targetDay: MONDAY,
      local,
      titleBytes: { a: 1000, b: 1000, c: 1000, premiere: 500 },
      releases: [{ titleId: "premiere", launchDay: MONDAY }],
    }).get("premiere")!;
    expect(p.basis).toBe("release");
    expect(p.bytes).toBeCloseTo(1000, 6); // popularity 2 × 500 bytes
    expect(p.popularity).toBeCloseTo(2, 6);
  });

  it("gives a release launching tomorrow the launch-day popularity of recent launches", () => {
    // Two launches in the window, halving every day: 8 and 4 times their size on launch day.
    // The site's total stays flat, so there is no weekly factor to untangle.
    const l1 = series(MONDAY, (_, i) => (i >= 2 ? 8000 * 0.5 ** (i - 2) : 0));
    const l2 = series(MONDAY, (_, i) => (i >= 5 ? 4000 * 0.5 ** (i - 5) : 0));
    const old = l1.map((v, i) => 20_000 - v - l2[i]);
    const p = predict({
      targetDay: MONDAY,
      local: { old, l1, l2 },
      titleBytes: { old: 1000, l1: 1000, l2: 1000, l3: 2000 },
      releases: [
        { titleId: "l1", launchDay: MONDAY - WINDOW + 2 },
        { titleId: "l2", launchDay: MONDAY - WINDOW + 5 },
        { titleId: "l3", launchDay: MONDAY },
      ],
    }).get("l3")!;
    expect(p.basis).toBe("release");
    expect(p.bytes).toBeCloseTo(12_000, 6); // mean launch-day popularity 6 × 2 000 bytes
  });

  it("projects a title launched yesterday along the launch curve instead of smoothing its spike", () => {
    const l1 = series(MONDAY, (_, i) => (i >= 2 ? 8000 * 0.5 ** (i - 2) : 0));
    const l2 = series(MONDAY, (_, i) => (i >= 5 ? 4000 * 0.5 ** (i - 5) : 0));
    const fresh = series(MONDAY, (_, i) => (i === WINDOW - 1 ? 6000 : 0));
    const old = l1.map((v, i) => 30_000 - v - l2[i] - fresh[i]);
    const p = predict({
      targetDay: MONDAY,
      local: { old, l1, l2, fresh },
      titleBytes: { old: 1000, l1: 1000, l2: 1000, fresh: 1000 },
      releases: [
        { titleId: "l1", launchDay: MONDAY - WINDOW + 2 },
        { titleId: "l2", launchDay: MONDAY - WINDOW + 5 },
        { titleId: "fresh", launchDay: MONDAY - 1 },
      ],
    }).get("fresh")!;
    // Recent launches keep half of their launch-day demand on day two (8 → 4 and 4 → 2), so 6 000
    // yesterday becomes 3 000 tomorrow.
    expect(p.basis).toBe("release");
    expect(p.bytes).toBeCloseTo((6000 * 3) / 6, 6);
  });

  it("returns every title with history or a release, sorted by bytes, with popularity = bytes / size", () => {
    const out = predictSite({
      targetDay: MONDAY,
      local: { small: flat(10), big: flat(300) },
      regional: { small: flat(10), big: flat(300), elsewhere: flat(50) },
      titleBytes: { small: 5, big: 100, elsewhere: 10, soon: 10 },
      releases: [
        { titleId: "soon", launchDay: MONDAY },
        { titleId: "later", launchDay: MONDAY + 3 },
      ],
      params: { thinBytes: 100, windowDays: WINDOW },
    });
    expect(out.map((p) => p.titleId).sort()).toEqual(["big", "elsewhere", "small", "soon"]);
    for (let i = 1; i < out.length; i++) expect(out[i - 1].bytes).toBeGreaterThanOrEqual(out[i].bytes);
    const big = out.find((p) => p.titleId === "big")!;
    expect(big.popularity).toBeCloseTo(3, 6);
  });
});
