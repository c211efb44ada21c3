import { describe, expect, it } from "vitest";
import { planSite } from "../fill/plan";
import type { PlanOca, PlanTitle } from "../fill/types";

// The number of copies a title needs follows its predicted peak, which moves a few per cent night to night.
const GBPS = 1e9;
// 10 Gbps each, 8 Gbps committed (the default headroom): a peak above 8 Gbps needs a second copy.
const ocas: PlanOca[] = ["o1", "o2"].map((id) => ({ id, capacityBytes: 10, throughputBps: 10 * GBPS }));
const title = (titleId: string, bytes: number, predictedBytes: number, peakBps: number): PlanTitle => ({ titleId, bytes, predictedBytes, peakBps });

describe("a hit whose peak wavers about the throughput one copy carries", () => {
  it("is not filled onto a second OCA one night and evicted from it the next", () => {
    // Its peak alternates 5 % either side of one OCA's committed throughput; a modest title wants the room.
    const peaks = [8.4, 7.6, 8.4, 7.6, 8.4, 7.6].map((g) => g * GBPS);
    let current: Record<string, string[]> = {};
    const fills: number[] = [];
    for (const peak of peaks) {
      const plan = planSite({ ocas, titles: [title("hit", 10, 500, peak), title("modest", 10, 50, 0.1 * GBPS)], current });
      fills.push(plan.adds.length);
      current = plan.byOca;
    }
    // The first night fills both copies; after it, nothing more (before: a fill and an eviction every night).
    expect(fills[0]).toBe(2);
    expect(fills.slice(1)).toEqual([0, 0, 0, 0, 0]);
    expect(current).toEqual({ o1: ["hit"], o2: ["hit"] });
  });

  it("still gives the second copy's room away once the peak is clearly below what one copy carries", () => {
    // 6 Gbps: even a quarter more (7.5) fits one OCA's 8 committed.
    const plan = planSite({
      ocas,
      titles: [title("hit", 10, 500, 6 * GBPS), title("modest", 10, 50, 0.1 * GBPS)],
      current: { o1: ["hit"], o2: ["hit"] },
    });
    expect(plan.replicas).toEqual({ hit: 1, modest: 1 });
    expect(plan.adds).toHaveLength(1);
    expect(plan.removes).toHaveLength(1);
  });
});
