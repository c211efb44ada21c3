/**
 * The operator dashboard's bytes-served chart across sites (client/ops/offload-series.ts): it sums only
 * the days every site it counts answered for (sites in other time zones are on other local days), and
 * it says which sites it could not read rather than counting their bytes as none.
 */
import { describe, expect, it } from "vitest";
import { coverageText, offloadSeries, type ServedSite } from "../client/ops/offload-series";

/** A reachable site whose local day now is `today`, with `bytes` served from `source` on each of `days`. */
const site = (siteId: string, today: number, days: number[], source: "embedded" | "ixp" | "origin", bytes: number): ServedSite => ({
  siteId,
  reachable: true,
  today,
  served: days.map((day) => ({ day, source, bytes })),
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("the dashboard's bytes-served chart across sites", () => {
  it("shows only the days every site answered: a European site on tomorrow does not make tomorrow all its own bytes", () => {
    // 23:30 UTC: Berlin is on day 101, Los Angeles still on day 100. Each answers its own last 15 days.
    const berlin = site("rheinnet-ber", 101, range(87, 101), "embedded", 900);
    const la = site("lumen-lax", 100, range(86, 100), "origin", 100);
    const s = offloadSeries([berlin, la], 15, 14);
    // Days 87-100: both sites in each; 86 (LA's alone) and 101 (Berlin's alone) left out.
    expect(s.days).toEqual(range(87, 100));
    expect(s.days.length).toBe(14);
    for (const [i] of s.days.entries()) {
      expect(s.totals[i]).toBe(1000);
      expect(s.shares.embedded[i]).toBeCloseTo(90);
      expect(s.shares.origin[i]).toBeCloseTo(10);
    }
    expect(s.counted).toBe(2);
    expect(s.unreachable).toEqual([]);
  });

  it("shows the last days asked when every site is on the same day, at most the days it shows", () => {
    const a = site("a", 200, range(186, 200), "embedded", 5);
    const b = site("b", 200, range(186, 200), "ixp", 5);
    const s = offloadSeries([a, b], 15, 14);
    expect(s.days).toEqual(range(187, 200));
    expect(s.totals.every((t) => t === 10)).toBe(true);
  });

  it("leaves an unreachable site out and says so, naming it, rather than counting it as no bytes", () => {
    const up = site("polder-ams", 50, range(36, 50), "embedded", 10);
    const down: ServedSite = { siteId: "lumen-nyc", reachable: false };
    const s = offloadSeries([up, down], 15, 14);
    expect(s.counted).toBe(1);
    expect(s.unreachable).toEqual(["lumen-nyc"]);
    expect(coverageText(s)).toBe("1 of 2 sites could not be read (lumen-nyc): their bytes are not in the chart or the table, which show the other 1.");
  });

  it("says nothing when every site is in, and names at most five unreachable sites", () => {
    expect(coverageText({ counted: 3, unreachable: [] })).toBe("");
    const text = coverageText({ counted: 1, unreachable: ["a", "b", "c", "d", "e", "f", "g"] });
    expect(text).toMatch(/^7 of 8 sites could not be read \(a, b, c, d, e and 2 more\)/);
  });

  it("shows nothing when no site could be read", () => {
    const s = offloadSeries([{ siteId: "x", reachable: false }], 15, 14);
    expect(s.days).toEqual([]);
    expect(s.unreachable).toEqual(["x"]);
  });
});
