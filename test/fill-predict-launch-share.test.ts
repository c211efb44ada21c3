import { describe, expect, it } from "vitest";
import { predictSite } from "../fill/predict";
import type { PredictInput, Prediction } from "../fill/types";

// A launch's expected demand at a site is the region's, scaled by the site's share of the region
// exactly once (fill/launch.ts learns the region's popularity; fill/predict.ts scales it).
// 2026-01-05 is a Monday; the window is the 14 days before it.
const MONDAY = Date.UTC(2026, 0, 5) / 86_400_000;
const WINDOW = 14;
const GB = 1e9;

/**
 * A region of 10 steady titles of 1 GB at 100 GB a day each and two launches of 1 GB inside the
 * window (400 GB on launch day, halving daily), the site serving `share` of every one of them.
 */
function region(share: number): Omit<PredictInput, "targetDay" | "releases"> {
  const regional: Record<string, number[]> = {};
  const titleBytes: Record<string, number> = { premiere: 2 * GB, yesterday: GB };
  for (let i = 0; i < 10; i++) regional[`t${i}`] = new Array<number>(WINDOW).fill(100 * GB);
  for (const [id, at] of [
    ["l1", 2],
    ["l2", 5],
  ] as const) {
    regional[id] = Array.from({ length: WINDOW }, (_, d) => (d >= at ? 400 * GB * 0.5 ** (d - at) : 0));
  }
  regional.yesterday = Array.from({ length: WINDOW }, (_, d) => (d === WINDOW - 1 ? 300 * GB : 0));
  for (const id of Object.keys(regional)) titleBytes[id] ??= GB;
  const local = Object.fromEntries(Object.entries(regional).map(([id, s]) => [id, s.map((v) => v * share)]));
  return { local, regional, titleBytes };
}

const releases: PredictInput["releases"] = [
  { titleId: "l1", launchDay: MONDAY - WINDOW + 2 },
  { titleId: "l2", launchDay: MONDAY - WINDOW + 5 },
  { titleId: "yesterday", launchDay: MONDAY - 1 },
  { titleId: "premiere", launchDay: MONDAY },
];

const predict = (share: number, thinBytes: number): Map<string, Prediction> =>
  new Map(predictSite({ targetDay: MONDAY, releases, params: { thinBytes }, ...region(share) }).map((p) => [p.titleId, p]));

describe("a launch at a site that serves part of its region", () => {
  it("is predicted the region's demand times the site's share, once, whether its history is thin or not", () => {
    for (const thinBytes of [1, 1e15]) {
      const whole = predict(1, thinBytes);
      const tenth = predict(0.1, thinBytes);
      for (const id of ["premiere", "yesterday"]) {
        expect(tenth.get(id)!.basis).toBe("release");
        expect(whole.get(id)!.bytes).toBeGreaterThan(0);
        // Scaled twice, a tenth's site would get a hundredth of the region's launch.
        expect(tenth.get(id)!.bytes / whole.get(id)!.bytes, `${id}, thinBytes ${thinBytes}`).toBeCloseTo(0.1, 6);
      }
    }
  });
});
