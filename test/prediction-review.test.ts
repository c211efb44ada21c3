import { describe, expect, it } from "vitest";
import { predictSite } from "../fill/predict";
import type { PredictInput, Prediction } from "../fill/types";

// Cases a CDN operator recognises at a glance, on the pure predictor. 2026-01-05 is a Monday.
const MONDAY = Date.UTC(2026, 0, 5) / 86_400_000;
const WINDOW = 14;
const GB = 1e9;

const flat = (v: number) => new Array<number>(WINDOW).fill(v);

/** A site's catalogue: 30 titles of 1 GB, t0 watched 30 GB a day down to t29 at 1 GB, every day alike. */
function catalogue(): { history: Record<string, number[]>; sizes: Record<string, number> } {
  const history: Record<string, number[]> = {};
  const sizes: Record<string, number> = {};
  for (let i = 0; i < 30; i++) {
    history[`t${i}`] = flat((30 - i) * GB);
    sizes[`t${i}`] = GB;
  }
  return { history, sizes };
}

function predict(input: Omit<PredictInput, "targetDay"> & { targetDay?: number }): Map<string, Prediction> {
  return new Map(predictSite({ targetDay: MONDAY, ...input }).map((p) => [p.titleId, p]));
}

describe("a licence renewed (or started again) on a title already watched here is not a launch", () => {
  it("predicts a steadily watched title from its history when its licence row starts tomorrow", () => {
    // t25 has been watched 5 GB a day all window; its licence here is renewed by a new row from
    // tomorrow, which the catalogue reports as the title's first licensed day.
    const { history, sizes } = catalogue();
    const p = predict({ local: history, regional: history, titleBytes: sizes, releases: [{ titleId: "t25", launchDay: MONDAY }] });
    // Not the launch prior (the mean of the region's top ten titles, 25.5 GB): five times its demand.
    expect(p.get("t25")!.bytes).toBeCloseTo(5 * GB, -6);
    expect(p.get("t25")!.basis).not.toBe("release");
  });

  it("does not project a renewed title along the launch curve of the region's real launches", () => {
    // Two real launches in the window decay to a tenth; t0 (30 GB a day, steady) had its licence
    // renewed four days ago.
    const { history, sizes } = catalogue();
    const curve = [0, 0, 0, 0, 0, 0, 0, 80, 40, 20, 12, 10, 9, 8];
    for (const id of ["new1", "new2"]) {
      history[id] = curve.map((v) => v * GB);
      sizes[id] = GB;
    }
    const releases = [
      { titleId: "new1", launchDay: MONDAY - 7 },
      { titleId: "new2", launchDay: MONDAY - 7 },
      { titleId: "t0", launchDay: MONDAY - 4 },
    ];
    const p = predict({ local: history, regional: history, titleBytes: sizes, releases });
    expect(p.get("t0")!.bytes).toBeGreaterThan(27 * GB);
    expect(p.get("t0")!.basis).toBe("local");
  });

  it("still treats a title first watched on its launch day as a launch", () => {
    const { history, sizes } = catalogue();
    history.fresh = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40].map((v) => v * GB);
    sizes.fresh = GB;
    const p = predict({ local: history, regional: history, titleBytes: sizes, releases: [{ titleId: "fresh", launchDay: MONDAY - 1 }] });
    expect(p.get("fresh")!.basis).toBe("release");
  });
});

describe("a day the site (or region) recorded almost nothing is an outage, not a collapse of demand", () => {
  const withOutage = (history: Record<string, number[]>, day: number) =>
    Object.fromEntries(Object.entries(history).map(([id, s]) => [id, s.map((v, i) => (i === day ? 0 : v))]));

  it("predicts every title as before when yesterday's history is empty", () => {
    const { history, sizes } = catalogue();
    const out = withOutage(history, WINDOW - 1);
    const p = predict({ local: out, regional: out, titleBytes: sizes, releases: [] });
    // Read as zero demand, every title's forecast fell by a third (t0: 19.8 GB) and its replicas with it.
    expect(p.get("t0")!.bytes).toBeCloseTo(30 * GB, -8);
    expect(p.get("t20")!.bytes).toBeCloseTo(10 * GB, -8);
  });

  it("forgets an empty day inside the window (and does not learn its weekday as a quiet one)", () => {
    const { history, sizes } = catalogue();
    // The empty day is a Monday, as is the target: read as data it also drags Monday's factor down.
    const out = withOutage(history, WINDOW - 7);
    const p = predict({ local: out, regional: out, titleBytes: sizes, releases: [] });
    expect(p.get("t0")!.bytes).toBeCloseTo(30 * GB, -8);
  });

  it("forgets the site's own outage when its region went on watching", () => {
    const { history, sizes } = catalogue();
    const regional = Object.fromEntries(Object.entries(history).map(([id, s]) => [id, s.map((v) => 4 * v)]));
    const p = predict({ local: withOutage(history, WINDOW - 1), regional, titleBytes: sizes, releases: [] });
    expect(p.get("t0")!.bytes).toBeCloseTo(30 * GB, -8);
  });

  it("still reads a real, gradual fall in demand", () => {
    const { history, sizes } = catalogue();
    // The whole site halves over the last week (people away on holiday): no day is near empty.
    const fall = Object.fromEntries(Object.entries(history).map(([id, s]) => [id, s.map((v, i) => (i < 7 ? v : v * (1 - (i - 6) / 14)))]));
    const p = predict({ local: fall, regional: fall, titleBytes: sizes, releases: [] });
    expect(p.get("t0")!.bytes).toBeLessThan(25 * GB);
  });
});

describe("a title with a weekly rhythm of its own", () => {
  const SATURDAY = MONDAY + 5;
  /** A catalogue whose window ends the day before `target`, plus `cartoons`: weekends 50 GB, weekdays 5 GB. */
  function withCartoons(target: number) {
    const { history, sizes } = catalogue();
    history.cartoons = Array.from({ length: WINDOW }, (_, i) => {
      const dow = (((target - WINDOW + i + 4) % 7) + 7) % 7;
      return (dow === 0 || dow === 6 ? 50 : 5) * GB;
    });
    sizes.cartoons = GB;
    return { history, sizes };
  }

  it("is predicted high for a Saturday and low for a Monday, not the other way round", () => {
    // Smoothed with the site's flat week, the level chased the last days: Saturday (after five
    // weekdays) 10 GB, Monday (after a weekend) 31 GB.
    const sat = withCartoons(SATURDAY);
    expect(
      predict({ targetDay: SATURDAY, local: sat.history, regional: sat.history, titleBytes: sat.sizes, releases: [] }).get("cartoons")!.bytes,
    ).toBeGreaterThan(40 * GB);
    const mon = withCartoons(MONDAY);
    expect(predict({ targetDay: MONDAY, local: mon.history, regional: mon.history, titleBytes: mon.sizes, releases: [] }).get("cartoons")!.bytes).toBeLessThan(
      10 * GB,
    );
  });

  it("learns no rhythm from a steady decline: its forecast does not depend on the weekday", () => {
    const forecastOn = (target: number) => {
      const { history, sizes } = catalogue();
      history.fading = Array.from({ length: WINDOW }, (_, i) => 40 * 0.9 ** i * GB);
      sizes.fading = GB;
      return predict({ targetDay: target, local: history, regional: history, titleBytes: sizes, releases: [] }).get("fading")!.bytes;
    };
    const monday = forecastOn(MONDAY);
    for (let d = 1; d < 7; d++) expect(forecastOn(MONDAY + d) / monday).toBeCloseTo(1, 2);
  });
});
