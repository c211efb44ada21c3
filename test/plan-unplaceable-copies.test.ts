import { describe, expect, it } from "vitest";
import { planSite } from "../fill/plan";
import type { PlanOca, PlanTitle } from "../fill/types";

// Copies are counted against OCAs' throughput; an OCA that cannot store a title cannot carry a copy of it.
const GBPS = 1e9;
const oca = (id: string, capacityBytes: number): PlanOca => ({ id, capacityBytes, throughputBps: 10 * GBPS });
const title = (titleId: string, bytes: number, predictedBytes: number, peakBps: number): PlanTitle => ({ titleId, bytes, predictedBytes, peakBps });

describe("a site with an OCA that cannot hold the title", () => {
  // The hit's 12 Gbps peak needs two OCAs' committed 8 Gbps, but only one OCA can store anything.
  const titles = [title("hit", 10, 100, 12 * GBPS), title("lesser", 10, 60, 1 * GBPS)];

  it("holds the site's biggest title on the OCA that can, when the other is drained to capacity 0", () => {
    const plan = planSite({ ocas: [oca("big", 10), oca("drained", 0)], titles, current: {} });
    // Before: valued as one of two copies (half its demand), the hit lost its only possible copy to a title worth less.
    expect(plan.byOca).toEqual({ big: ["hit"], drained: [] });
    expect(plan.coveredBytes).toBe(100);
  });

  it("does the same when the other OCA is smaller than the title", () => {
    const plan = planSite({ ocas: [oca("big", 10), oca("small", 5)], titles, current: {} });
    expect(plan.byOca.big).toEqual(["hit"]);
    expect(plan.replicas).toEqual({ hit: 1 });
  });

  it("still plans two copies where two OCAs can hold it", () => {
    const plan = planSite({ ocas: [oca("a", 20), oca("b", 20)], titles, current: {} });
    expect(plan.replicas.hit).toBe(2);
  });
});
