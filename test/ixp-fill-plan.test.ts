import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber } from "../fill/day";
import { CATALOGUE_WEIGHT, childMisses, ixpPlanTitles } from "../fill/ixp-plan";
import { planSite } from "../fill/plan";
import { ADMIN, call, CLEAR_OF_MIDNIGHT_MS, clearOfLocalMidnight, publishTitle, type FixtureTitle } from "./fixtures";

// Seeds a site's "today" and reads it back: never across a local midnight.
beforeAll(() => clearOfLocalMidnight(), CLEAR_OF_MIDNIGHT_MS + 10_000);

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));
const bytesOf = (t: FixtureTitle) => Object.values(t.files).reduce((s, b) => s + b.byteLength, 0);

async function seedHistory(siteId: string, timeZone: string, perTitle: Record<string, number>, days = 14): Promise<void> {
  const today = dayNumber(Date.now(), timeZone);
  for (let d = today - days; d < today; d++) {
    for (const [titleId, bytes] of Object.entries(perTitle)) await site(siteId).recordViews(d, titleId, { plays: 10, bytes });
  }
}

async function setCapacity(siteId: string, ocaIds: string[], capacityBytes: number): Promise<void> {
  for (const o of ocaIds) {
    const res = await call(`/admin/sites/${siteId}/ocas/${o}/capacity`, {
      method: "POST",
      headers: { ...ADMIN, "Content-Type": "application/json" },
      body: JSON.stringify({ capacityBytes }),
    });
    expect(res.status).toBe(200);
  }
}

async function runCycle(siteId: string): Promise<{ ran: boolean; childMissBytes?: number; peakShare: number; replicas: Record<string, number> }> {
  const res = await call(`/admin/sites/${siteId}/fill-cycle`, { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body: "{}" });
  expect(res.status).toBe(200);
  return res.json();
}

describe("an IXP site's plan (fill/ixp-plan.ts)", () => {
  it("counts as a miss only what a child is predicted to watch and will not hold", () => {
    const misses = childMisses([
      {
        predicted: new Map([
          ["a", 10],
          ["b", 5],
          ["c", 0],
        ]),
        held: new Set(["a"]),
      },
      {
        predicted: new Map([
          ["b", 2],
          ["d", 7],
        ]),
        held: new Set(["d"]),
      },
    ]);
    expect(Object.fromEntries(misses)).toEqual({ b: 7 });
  });

  it("ranks every predicted miss above every catalogue copy, and catalogue copies by the region's demand", () => {
    const titles = ixpPlanTitles({
      catalogue: [
        { titleId: "popular-held-below", bytes: 1e9, regionalBytes: 1e15 },
        { titleId: "missed", bytes: 1e9, regionalBytes: 1e6 },
        { titleId: "unwatched", bytes: 1e9, regionalBytes: 0 },
      ],
      misses: new Map([["missed", 1e6]]),
      peakShare: 0.1,
    });
    const value = Object.fromEntries(titles.map((t) => [t.titleId, t.predictedBytes]));
    expect(value.missed).toBeGreaterThan(value["popular-held-below"]);
    expect(value["popular-held-below"]).toBeGreaterThan(value.unwatched);
    expect(value.unwatched).toBeGreaterThan(0); // still held if room is left: the catalogue stops misses before origin
    expect(value["popular-held-below"]).toBeCloseTo(CATALOGUE_WEIGHT * (1e15 + 1e6), 3);
    // Only the misses' egress counts against the IXP's throughput.
    expect(titles.find((t) => t.titleId === "missed")!.peakBps).toBeCloseTo((1e6 * 8 * 0.1) / 3600);
    expect(titles.find((t) => t.titleId === "popular-held-below")!.peakBps).toBe(0);
    // With room for one title, the planner keeps the miss.
    const plan = planSite({ ocas: [{ id: "x-1", capacityBytes: 1.5e9, throughputBps: 40e9 }], titles, current: {} });
    expect(plan.byOca["x-1"]).toEqual(["missed"]);
  });
});

describe("the fill cycle of an IXP site", () => {
  let a: FixtureTitle;
  beforeAll(async () => {
    a = await publishTitle("ix-a");
    await publishTitle("ix-b");
    await publishTitle("ix-c");
  });

  it("holds what its children will miss after their own fill before what they already hold", async () => {
    // lumen-lax (ixp-sjc's only child) has room for two of three titles; ixp-sjc for two as well.
    await setCapacity("lumen-lax", ["lumen-lax-1", "lumen-lax-2"], Math.round(bytesOf(a) * 1.5));
    await setCapacity("ixp-sjc", ["ixp-sjc-1", "ixp-sjc-2"], Math.round(bytesOf(a) * 1.5));
    await seedHistory("lumen-lax", "America/Los_Angeles", { "ix-a": 9e9, "ix-b": 5e9, "ix-c": 1e9 });

    // Count the site objects' history reads: the IXP's prediction and its child's outlook read the
    // same region, once. (RPC dispatches prototype methods, so the count goes on the prototype.)
    const { OcaSite } = await import("../durable-objects/oca-site");
    const proto = OcaSite.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const realHistory = proto.history;
    const reads: string[] = [];
    proto.history = function (this: unknown, ...a: unknown[]) {
      reads.push((this as { ctx: DurableObjectState }).ctx.id.name ?? "?");
      return realHistory.apply(this, a);
    };
    let ixp: Awaited<ReturnType<typeof runCycle>>;
    try {
      ixp = await runCycle("ixp-sjc");
    } finally {
      proto.history = realHistory;
    }
    expect(ixp.ran).toBe(true);
    expect(reads.length).toBe(new Set(reads).size);
    // The child will hold ix-a and ix-b, so ix-c is what it will ask its parent for.
    expect(ixp.childMissBytes).toBeGreaterThan(0.5e9);
    expect(ixp.childMissBytes).toBeLessThan(2e9);
    const held = Object.values((await site("ixp-sjc").lastCycle()).plan)
      .flat()
      .sort();
    // Planned on the region's demand alone it would hold ix-a and ix-b, the two its child holds.
    expect(held).toEqual(["ix-a", "ix-c"]);

    // The child's own cycle plans what its parent expected of it.
    await runCycle("lumen-lax");
    expect(
      Object.values((await site("lumen-lax").lastCycle()).plan)
        .flat()
        .sort(),
    ).toEqual(["ix-a", "ix-b"]);
  });
});

describe("the peak a site's replicas are sized for", () => {
  it("is learned from the site's hourly history: a sharp evening gets more copies than the default shape", async () => {
    await publishTitle("pk-a");
    const today = dayNumber(Date.now(), "Europe/Berlin");
    // The same 8 TB a day at both sites; rheinnet-muc streamed all of it between 21:00 and 22:00.
    await seedHistory("rheinnet-ber", "Europe/Berlin", { "pk-a": 8e12 });
    await seedHistory("rheinnet-muc", "Europe/Berlin", { "pk-a": 8e12 });
    for (let d = today - 14; d < today; d++) await site("rheinnet-muc").recordServedHour(d, 21, 8e12);

    const flat = await runCycle("rheinnet-ber");
    const sharp = await runCycle("rheinnet-muc");
    expect(flat.peakShare).toBeCloseTo(2.5 / 24, 5); // no hourly history: the default shape
    expect(sharp.peakShare).toBeCloseTo(1, 5);
    // Tomorrow's few TB at 2.5x the mean hour is about 1 Gbit/s, inside one OCA's 8 Gbit/s budget;
    // all in one hour it is over 10 Gbit/s, two OCAs' worth.
    expect(flat.replicas["pk-a"]).toBe(1);
    expect(sharp.replicas["pk-a"]).toBe(2);
  });

  it("counts what the site's OCAs serve by local hour", async () => {
    const s = site("rheinnet-muc");
    const today = dayNumber(Date.now(), "Europe/Berlin");
    await s.recordServedHour(today, 3, 100);
    await s.recordServedHour(today, 3, 50);
    await s.recordServedHour(today, 24, 999); // not an hour: ignored
    const hours = await s.servedByHour(today, today);
    expect(hours).toHaveLength(1);
    expect(hours[0][3]).toBe(150);
    expect(hours[0].reduce((a, b) => a + b, 0)).toBe(150);
  });
});
