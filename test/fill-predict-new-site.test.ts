import { describe, expect, it } from "vitest";
import { predictSite } from "../fill/predict";
import type { PredictInput, Prediction } from "../fill/types";

// A site that joined its region (or started counting) inside the window: its days before that are
// unknown, not days nobody watched. 2026-01-05 is a Monday; the window is the 14 days before it.
const MONDAY = Date.UTC(2026, 0, 5) / 86_400_000;
const WINDOW = 14;
const GB = 1e9;

/**
 * A region of 20 titles (t0 200 GB a day down to t19 at 10 GB), every day alike; the site serves a
 * tenth of each, recorded on the last `online` days only, and never watched "regionalOnly".
 */
function newSite(online: number): Pick<PredictInput, "local" | "regional" | "titleBytes"> {
  const local: Record<string, number[]> = {};
  const regional: Record<string, number[]> = { regionalOnly: new Array<number>(WINDOW).fill(50 * GB) };
  const titleBytes: Record<string, number> = { regionalOnly: GB };
  for (let i = 0; i < 20; i++) {
    const perDay = (20 - i) * 10 * GB;
    regional[`t${i}`] = new Array<number>(WINDOW).fill(perDay);
    local[`t${i}`] = Array.from({ length: WINDOW }, (_, d) => (d >= WINDOW - online ? perDay / 10 : 0));
    titleBytes[`t${i}`] = GB;
  }
  return { local, regional, titleBytes };
}

/** The site's share of the region: 210 GB of its 2 150 GB a day. */
const SHARE = 210 / 2150;

// Local history counts in full from 1 GB over the window (one recorded day is not "thin").
const predict = (online: number, targetDay = MONDAY): Map<string, Prediction> =>
  new Map(predictSite({ targetDay, releases: [], params: { thinBytes: GB }, ...newSite(online) }).map((p) => [p.titleId, p]));

describe("a site with fewer recorded days than the window", () => {
  it("predicts its titles at the demand it has served since it started, on every weekday", () => {
    // Read as zero demand, the days before the site existed put t0 far below the 20 GB a day it
    // serves: its level fell with them (and, for thin titles, its share of the region was diluted).
    for (const online of [1, 3, 5, 6]) {
      for (let d = 0; d < 7; d++) {
        const p = predict(online, MONDAY + d);
        expect(p.get("t0")!.bytes / (20 * GB), `${online} days online, target +${d}`).toBeCloseTo(1, 2);
        expect(p.get("t19")!.bytes / GB, `${online} days online, target +${d}`).toBeCloseTo(1, 2);
      }
    }
  });

  it("scales a title it never served by its share of the region since it started", () => {
    // Read over the whole window, three days of 210 GB made the site's share 0.02, not 0.1.
    const p = predict(3).get("regionalOnly")!;
    expect(p.basis).toBe("regional");
    expect(p.bytes / GB).toBeCloseTo(50 * SHARE, 2);
  });

  it("still predicts a site that recorded every day of the window as before", () => {
    const p = predict(WINDOW);
    expect(p.get("t0")!.bytes / GB).toBeCloseTo(20, 6);
    expect(p.get("regionalOnly")!.bytes / GB).toBeCloseTo(50 * SHARE, 6);
  });
});
