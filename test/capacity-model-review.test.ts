import { describe, expect, it } from "vitest";
import { busyIsolates, siteTimerRowsPerS, viewLooksPerS } from "../bench/capacity-model";

/**
 * The capacity model's arithmetic (bench/capacity-model.ts, used by `npm run bench:scale`), checked on
 * figures small enough to work by hand: what a counted figure is multiplied by, and how often.
 */
describe("capacity model: D1's background looks", () => {
  it("counts each site object's own look at the live topology, once per TTL, beside the isolates'", () => {
    const looks = viewLooksPerS({ isolates: 0, sites: 1_000, catalogueTtlS: 5, hotTitleChangesPerMin: 2 }, { titleChangeStatements: 8, siteLookStatements: 1 });
    expect(looks.sites).toBe(200);
    expect(looks.total).toBe(200);
  });

  it("keeps the isolates' looks, plans every 12 TTLs and reloads as before", () => {
    const looks = viewLooksPerS({ isolates: 500, sites: 40, catalogueTtlS: 5, hotTitleChangesPerMin: 2 }, { titleChangeStatements: 8, siteLookStatements: 1 });
    // 500 / 5 + 500 / 60 + 500 × 2 × 8 / 60, and 40 / 5.
    expect(looks.isolates).toBeCloseTo(100 + 500 / 60 + 8000 / 60, 9);
    expect(looks.total).toBeCloseTo(looks.isolates + 8, 9);
  });
});

describe("capacity model: a site object's timers", () => {
  it("takes the OCAs' probe every second and the load publication once per publication interval", () => {
    const rows = siteTimerRowsPerS({ read: 20, written: 6 }, { read: 5, written: 1 }, 1.5, 12.5);
    expect(rows.written).toBeCloseTo(1.5 * (6 + 1 / 12.5), 9);
    expect(rows.read).toBeCloseTo(1.5 * (20 + 5 / 12.5), 9);
  });
});

describe("capacity model: isolates the requests' CPU needs", () => {
  it("is the CPU ms a second over one thread's 1,000 ms", () => {
    expect(
      busyIsolates([
        { perS: 1_000_000, cpuMs: 2 },
        { perS: 500_000, cpuMs: 1 },
      ]),
    ).toBe(2_500);
    expect(busyIsolates([])).toBe(0);
  });
});
