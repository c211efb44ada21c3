import { describe, expect, it } from "vitest";
import { planSite } from "../fill/plan";
import type { PlanOca, PlanTitle } from "../fill/types";

// Plans a CDN operator would call wasteful, on the pure planner.
const GBPS = 1e9;
const oca = (id: string, capacityBytes: number): PlanOca => ({ id, capacityBytes, throughputBps: 10 * GBPS });
const title = (titleId: string, bytes: number, predictedBytes: number, peakBps = 0): PlanTitle => ({ titleId, bytes, predictedBytes, peakBps });

describe("a title held on more OCAs than tomorrow's peak needs", () => {
  it("keeps its extra copies while the OCAs have room: evicting them frees room nobody wants", () => {
    // Yesterday's peak needed three copies; tomorrow's (a weekday) needs one. The OCAs are nearly empty.
    const ocas = ["o1", "o2", "o3"].map((id) => oca(id, 100));
    const plan = planSite({
      ocas,
      titles: [title("hit", 10, 500, 5 * GBPS), title("other", 10, 50, 0.1 * GBPS)],
      current: { o1: ["hit"], o2: ["hit"], o3: ["hit"] },
    });
    // Dropped, the two copies are two evictions tonight and two fills the next evening peak.
    expect(plan.removes).toEqual([]);
    expect(plan.replicas.hit).toBe(3);
  });

  it("gives an extra copy's room to a title that wants it", () => {
    const ocas = ["o1", "o2"].map((id) => oca(id, 10));
    const plan = planSite({
      ocas,
      titles: [title("hit", 10, 500, 5 * GBPS), title("wanted", 10, 50, 0.1 * GBPS)],
      current: { o1: ["hit"], o2: ["hit"] },
    });
    expect(plan.replicas).toEqual({ hit: 1, wanted: 1 });
    expect(plan.removes).toHaveLength(1);
  });
});
