import { describe, expect, it } from "vitest";
import { rendezvousOrder } from "../fill/hash";
import { planSite, replicasFor } from "../fill/plan";
import type { PlanInput, PlanOca, PlanTitle, SitePlan } from "../fill/types";
import { mulberry32 as prng } from "../fill/rng";

const GBPS = 1e9;

const oca = (id: string, capacityBytes: number, throughputBps = 10 * GBPS): PlanOca => ({ id, capacityBytes, throughputBps });
const title = (titleId: string, bytes: number, predictedBytes: number, peakBps = 0): PlanTitle => ({ titleId, bytes, predictedBytes, peakBps });

const held = (plan: SitePlan): string[] => [...new Set(Object.values(plan.byOca).flat())].sort();

function expectWithinCapacity(input: PlanInput, plan: SitePlan) {
  const size = new Map(input.titles.map((t) => [t.titleId, t.bytes]));
  for (const o of input.ocas) {
    const used = (plan.byOca[o.id] ?? []).reduce((s, id) => s + size.get(id)!, 0);
    expect(used).toBe(plan.usedBytes[o.id]);
    expect(used).toBeLessThanOrEqual(o.capacityBytes);
  }
}

function expectConsistentWithCurrent(input: PlanInput, plan: SitePlan) {
  const ocaIds = new Set([...input.ocas.map((o) => o.id), ...Object.keys(input.current)]);
  for (const id of ocaIds) {
    const after = new Set(input.current[id] ?? []);
    for (const r of plan.removes.filter((x) => x.ocaId === id)) {
      expect(after.has(r.titleId)).toBe(true);
      after.delete(r.titleId);
    }
    for (const a of plan.adds.filter((x) => x.ocaId === id)) {
      expect(after.has(a.titleId)).toBe(false);
      after.add(a.titleId);
    }
    expect([...after].sort()).toEqual([...(plan.byOca[id] ?? [])].sort());
  }
}

describe("planSite", () => {
  it("holds the most valuable titles per stored byte and never exceeds capacity", () => {
    // Value per byte: a 10, d 7.5, c 5, b 2.5, e 1. 100 bytes of room take a, d and c.
    const input: PlanInput = {
      ocas: [oca("o1", 100)],
      titles: [title("a", 40, 400), title("b", 40, 100), title("c", 40, 200), title("d", 20, 150), title("e", 20, 20)],
      current: {},
    };
    const plan = planSite(input);
    expect(plan.byOca.o1).toEqual(["a", "c", "d"]);
    expect(plan.usedBytes.o1).toBe(100);
    expect(plan.coveredBytes).toBe(750);
    expectWithinCapacity(input, plan);
  });

  it("ranks each OCA's titles most valuable per stored byte first, the order its fill copies them", () => {
    const input: PlanInput = {
      ocas: [oca("o1", 100), oca("o2", 0)],
      titles: [title("a", 40, 400), title("b", 40, 100), title("c", 40, 200), title("d", 20, 150), title("e", 20, 20)],
      current: {},
    };
    const plan = planSite(input);
    expect(plan.ranked).toEqual({ o1: ["a", "d", "c"], o2: [] });
    for (const [id, ids] of Object.entries(plan.ranked)) expect([...ids].sort()).toEqual(plan.byOca[id]);
  });

  it("never exceeds any OCA's capacity on random sites (seeded property check)", () => {
    const rand = prng(20261121);
    for (let round = 0; round < 200; round++) {
      const ocas = Array.from({ length: 1 + Math.floor(rand() * 5) }, (_, i) => oca(`o${i}`, Math.floor(rand() * 500), Math.floor(1 + rand() * 20) * GBPS));
      const titles = Array.from({ length: Math.floor(rand() * 80) }, (_, i) =>
        title(`t${i}`, 1 + Math.floor(rand() * 60), rand() < 0.1 ? 0 : rand() * 1000, rand() * 60 * GBPS),
      );
      // Today's holdings may be anything, even over capacity (an OCA that just shrank).
      const current: Record<string, string[]> = {};
      for (const o of [...ocas, oca("gone", 100)]) current[o.id] = titles.filter(() => rand() < 0.3).map((t) => t.titleId);
      const input: PlanInput = { ocas, titles, current, params: { keepFactor: 1 + rand(), throughputHeadroom: 0.5 + rand() / 2 } };
      const plan = planSite(input);
      expectWithinCapacity(input, plan);
      expectConsistentWithCurrent(input, plan);
      for (const [id, n] of Object.entries(plan.replicas)) {
        expect(Object.values(plan.byOca).filter((ids) => ids.includes(id)).length).toBe(n);
      }
    }
  });

  it("gives popular titles more replicas in proportion to peak egress against OCA throughput", () => {
    // Four OCAs of 10 Gbps at 80% headroom: 8 Gbps of peak per copy.
    expect(
      replicasFor(
        5 * GBPS,
        [8, 8, 8, 8].map((g) => g * GBPS),
      ),
    ).toBe(1);
    expect(
      replicasFor(
        20 * GBPS,
        [8, 8, 8, 8].map((g) => g * GBPS),
      ),
    ).toBe(3);
    expect(
      replicasFor(
        90 * GBPS,
        [8, 8, 8, 8].map((g) => g * GBPS),
      ),
    ).toBe(4);

    const ocas = ["o1", "o2", "o3", "o4"].map((id) => oca(id, 1000));
    const plan = planSite({
      ocas,
      titles: [title("blockbuster", 10, 5000, 20 * GBPS), title("hit", 10, 2000, 12 * GBPS), title("niche", 10, 50, 1 * GBPS)],
      current: {},
      params: { throughputHeadroom: 0.8 },
    });
    expect(plan.replicas).toEqual({ blockbuster: 3, hit: 2, niche: 1 });
    // Copies go to the first OCAs of each title's rendezvous order.
    const order = rendezvousOrder("blockbuster", ["o1", "o2", "o3", "o4"]);
    for (const id of order.slice(0, 3)) expect(plan.byOca[id]).toContain("blockbuster");
  });

  it("keeps a held title against a marginally better newcomer but swaps it for a clearly better one", () => {
    const base = { ocas: [oca("o1", 50)], current: { o1: ["old"] }, params: { keepFactor: 1.25 } };
    // old: 10 per byte; newcomer 11 per byte is within the 1.25 margin: keep.
    const kept = planSite({ ...base, titles: [title("old", 50, 500), title("new", 50, 550)] });
    expect(kept.byOca.o1).toEqual(["old"]);
    expect(kept.adds).toEqual([]);
    expect(kept.removes).toEqual([]);
    // newcomer 14 per byte clears 12.5: swap.
    const swapped = planSite({ ...base, titles: [title("old", 50, 500), title("new", 50, 700)] });
    expect(swapped.byOca.o1).toEqual(["new"]);
    expect(swapped.adds).toEqual([{ ocaId: "o1", titleId: "new" }]);
    expect(swapped.removes).toEqual([{ ocaId: "o1", titleId: "old" }]);
  });

  it("moves few titles when an OCA is added", () => {
    const titles = Array.from({ length: 400 }, (_, i) => title(`t${i}`, 1, 100 + i));
    const three = ["o1", "o2", "o3"].map((id) => oca(id, 1000));
    const four = [...three, oca("o4", 1000)];
    const where = (plan: SitePlan) => new Map(Object.entries(plan.byOca).flatMap(([o, ids]) => ids.map((id) => [id, o] as const)));

    // From scratch, rendezvous hashing moves only the titles that now rank the new OCA first (~1/4).
    const before = where(planSite({ ocas: three, titles, current: {} }));
    const after = where(planSite({ ocas: four, titles, current: {} }));
    const moved = titles.filter((t) => before.get(t.titleId) !== after.get(t.titleId));
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.length / titles.length).toBeLessThan(0.35);
    for (const t of moved) expect(after.get(t.titleId)).toBe("o4");

    // With today's holdings as `current`, nothing held moves at all.
    const today = planSite({ ocas: three, titles, current: {} });
    const tomorrow = planSite({ ocas: four, titles, current: today.byOca });
    expect(tomorrow.removes).toEqual([]);
    expect(tomorrow.adds).toEqual([]);
  });

  it("passes a title to the next OCA in its rendezvous order when the first is full", () => {
    const order = rendezvousOrder("late", ["o1", "o2"]);
    const plan = planSite({
      ocas: [oca("o1", 10), oca("o2", 10)],
      titles: [title("filler", 10, 100), title("late", 10, 1)],
      current: { [order[0]]: ["filler"] },
    });
    expect(plan.byOca[order[0]]).toEqual(["filler"]);
    expect(plan.byOca[order[1]]).toEqual(["late"]);
  });

  it("drops held titles whose size it is not told", () => {
    const plan = planSite({ ocas: [oca("o1", 10)], titles: [], current: { o1: ["unknown"] } });
    expect(plan.byOca.o1).toEqual([]);
    expect(plan.removes).toEqual([{ ocaId: "o1", titleId: "unknown" }]);
  });

  it("reports adds and removes consistent with current, and is deterministic", () => {
    const input: PlanInput = {
      ocas: [oca("o1", 100), oca("o2", 60)],
      titles: [title("a", 30, 300), title("b", 30, 250), title("c", 30, 10), title("d", 30, 200), title("e", 30, 0)],
      current: { o1: ["c", "e"], o2: ["a"], retired: ["b"] },
    };
    const plan = planSite(input);
    expectConsistentWithCurrent(input, plan);
    expectWithinCapacity(input, plan);
    // 150 bytes of titles in 160 bytes of room, but whole titles: the four watched ones all fit.
    expect(held(plan)).toEqual(expect.arrayContaining(["a", "b", "c", "d"]));
    expect(plan.removes).toContainEqual({ ocaId: "retired", titleId: "b" });
    expect(plan.byOca.o2).toContain("a"); // the most valuable copy stays where it is
    const shuffled = planSite({ ...input, ocas: [...input.ocas].reverse(), titles: [...input.titles].reverse() });
    expect(shuffled).toEqual(plan);
  });

  it("adds no title predicted at zero, but keeps one that is held while room is left", () => {
    const plan = planSite({
      ocas: [oca("o1", 100)],
      titles: [title("idle", 10, 0), title("heldIdle", 10, 0), title("busy", 10, 5)],
      current: { o1: ["heldIdle"] },
    });
    expect(plan.byOca.o1).toEqual(["busy", "heldIdle"]);
    expect(plan.coveredBytes).toBe(5);
  });
});
