import { describe, expect, it } from "vitest";
import { rendezvousOrder } from "../fill/hash";
import { planSite } from "../fill/plan";
import type { PlanOca, PlanTitle } from "../fill/types";

/**
 * The site's fill plan, as an operator would judge it: no held copy evicted where moving a fill
 * elsewhere keeps it, and a title's id never read as a property of the plan's records.
 */

const oca = (id: string, capacityBytes: number): PlanOca => ({ id, capacityBytes, throughputBps: 1e12 });
const title = (titleId: string, bytes: number, predictedBytes: number, peakBps = 0): PlanTitle => ({ titleId, bytes, predictedBytes, peakBps });

describe("a held copy no other OCA has room for", () => {
  it("stays where it is when the newcomer that took its room fits elsewhere: one fill, nothing evicted", () => {
    // The newcomer (small, far more valuable) ranks `first` first and takes half of it; `kept` fills
    // `first` alone, and the only other room (`second`'s 5 bytes) is too small for it but not for the newcomer.
    const [first, second] = rendezvousOrder("newcomer", ["o1", "o2"]);
    const plan = planSite({
      ocas: [oca(first, 10), oca(second, 5)],
      titles: [title("kept", 10, 10), title("newcomer", 5, 100)],
      current: { [first]: ["kept"] },
    });
    // Evicting `kept` to fill the newcomer where `kept` was leaves `second` empty and loses a title.
    expect(plan.byOca[first]).toEqual(["kept"]);
    expect(plan.byOca[second]).toEqual(["newcomer"]);
    expect(plan.adds).toEqual([{ ocaId: second, titleId: "newcomer" }]);
    expect(plan.removes).toEqual([]);
    expect(plan.usedBytes).toEqual({ [first]: 10, [second]: 5 });
  });

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
