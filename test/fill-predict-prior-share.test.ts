import { describe, expect, it } from "vitest";
import { predictSite } from "../fill/predict";
import type { PredictInput } from "../fill/types";
import { throughputShare } from "../workers/control/fill-cycle";
import { topology, type SiteSpec } from "../workers/shared/topology";

/**
 * A site that has recorded no viewing yet (new to its region) is predicted its expected share of the
 * region's demand, not the whole of it: copy counts follow predicted bytes, and the region's whole
 * demand put a new site's hits on every OCA. The cron's prior is the site's share of the region's
 * throughput.
 */

const MONDAY = Date.UTC(2026, 0, 5) / 86_400_000;
const GB = 1e9;
const regional: Record<string, number[]> = { hit: new Array<number>(14).fill(400 * GB), tail: new Array<number>(14).fill(20 * GB) };
const input = (over: Partial<PredictInput>): PredictInput => ({
  targetDay: MONDAY,
  local: {},
  regional,
  titleBytes: { hit: GB, tail: GB },
  releases: [],
  ...over,
});
const bytesOf = (i: PredictInput) => new Map(predictSite(i).map((p) => [p.titleId, p.bytes]));

describe("a site with no viewing of its own yet", () => {
  it("is predicted its prior share of the region's demand, in the region's order", () => {
    const p = bytesOf(input({ priorShare: 0.25 }));
    expect(p.get("hit")! / GB).toBeCloseTo(100, 6);
    expect(p.get("tail")! / GB).toBeCloseTo(5, 6);
  });

  it("is predicted the region's whole demand without a prior, or with one that is not a share", () => {
    for (const priorShare of [undefined, 0, -1, 2, Number.NaN]) {
      expect(bytesOf(input({ priorShare })).get("hit")! / GB, String(priorShare)).toBeCloseTo(400, 6);
    }
  });

  it("reads its own share once it has history, whatever the prior", () => {
    const local = { hit: new Array<number>(14).fill(40 * GB), tail: new Array<number>(14).fill(2 * GB) };
    expect(bytesOf(input({ local, priorShare: 0.9 })).get("hit")! / GB).toBeCloseTo(40, 6);
  });
});

describe("the cron's prior", () => {
  const site = (id: string, tier: SiteSpec["tier"], bps: number[]): SiteSpec =>
    ({ ...topology.sites[0], id, tier, ocas: bps.map((throughputBps, i) => ({ id: `${id}-${i}`, capacityBytes: 1e12, throughputBps })) }) as SiteSpec;

  it("is an embedded site's share of its region's throughput, and 1 for the IXP site that backs the region", () => {
    const ixp = site("x", "ixp", [40e9]);
    const a = site("a", "embedded", [10e9, 10e9]);
    const b = site("b", "embedded", [20e9]);
    expect(throughputShare(a, [ixp, a, b])).toBeCloseTo(0.25, 9);
    expect(throughputShare(b, [ixp, a, b])).toBeCloseTo(0.25, 9);
    expect(throughputShare(ixp, [ixp, a, b])).toBe(1);
    expect(throughputShare(a, [a])).toBe(1);
  });
});
