import { describe, expect, it } from "vitest";
import { rendezvousOrder } from "../fill/hash";
import { planSite } from "../fill/plan";
import type { PlanOca, PlanTitle } from "../fill/types";

/**
 * The site's fill plan, as an operator would judge it: a held copy no OCA has room for is given up
 * when too little can move (moving fills to keep held copies was tried and overloaded other OCAs' evenings
 * in the simulator: see fill/plan.ts), and a title's id is never read as a property of the plan's records.
 */

const oca = (id: string, capacityBytes: number): PlanOca => ({ id, capacityBytes, throughputBps: 1e12 });
const title = (titleId: string, bytes: number, predictedBytes: number, peakBps = 0): PlanTitle => ({ titleId, bytes, predictedBytes, peakBps });

describe("a held copy no other OCA has room for", () => {
  it("is still given up when moving the copies placed there frees too little", () => {
    const [first, second] = rendezvousOrder("newcomer", ["o1", "o2"]);
    const plan = planSite({
      ocas: [oca(first, 10), oca(second, 4)],
      titles: [title("kept", 10, 10), title("newcomer", 5, 100)],
      current: { [first]: ["kept"] },
    });
    expect(plan.byOca[first]).toEqual(["newcomer"]);
    expect(plan.byOca[second]).toEqual([]);
    expect(plan.removes).toEqual([{ ocaId: first, titleId: "kept" }]);
  });
});

describe("a title whose id names an inherited property", () => {
  it("is counted in the plan's copies and covered bytes like any other", () => {
    const plan = planSite({
      ocas: [oca("o1", 100)],
      titles: [title("constructor", 10, 30), title("__proto__", 10, 20), title("toString", 10, 10)],
      current: {},
    });
    expect(plan.byOca.o1).toEqual(["__proto__", "constructor", "toString"]);
    expect(Object.entries(plan.replicas)).toEqual([
      ["__proto__", 1],
      ["constructor", 1],
      ["toString", 1],
    ]);
    expect(plan.coveredBytes).toBe(60);
  });
});
