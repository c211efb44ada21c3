import { describe, expect, it } from "vitest";
import { busyIsolates, siteTimerRowsPerS, viewLooksPerS } from "../bench/capacity-model";

/**
 * The capacity model's arithmetic (bench/capacity-model.ts, used by `npm run bench:scale`), checked on
 * figures small enough to work by hand: what a counted figure is multiplied by, and how often.
 */
describe("capacity model: D1's background looks", () => {
  const scenario = { isolates: 0, colos: 40, sites: 0, catalogueTtlS: 5, hotTitleChangesPerMin: 0, browseCountriesPerColo: 0 };
  const counts = { titleChangeStatements: 8, siteLookStatements: 1 };

  it("counts each site object's own look at the live topology, once per TTL, beside the colos'", () => {
    const looks = viewLooksPerS({ ...scenario, colos: 1, sites: 1_000 }, counts);
    expect(looks.sites).toBe(200);
    expect(looks.total).toBeCloseTo(200 + looks.colos, 9);
  });

  it("asks D1 per colo, not per isolate: a look per half TTL, plans every 12 TTLs, browse lists per TTL and a reload per change", () => {
    // One isolate a colo: no herd. 40 × (1 / 2.5 + 1 / 60 + 2 / 5) with no change.
    const quiet = viewLooksPerS({ ...scenario, isolates: 40, browseCountriesPerColo: 2 }, counts);
    expect(quiet.herd).toBeCloseTo(1 + 30 / 2500, 9);
    expect(quiet.colos / quiet.herd).toBeCloseTo(40 * (1 / 2.5 + 1 / 60 + 2 / 5), 9);
    // Two changes a minute: a second state for 1.5 TTL after each (7.5 s of 60: 1.25 states), and 8 statements each.
    const busy = viewLooksPerS({ ...scenario, isolates: 40, hotTitleChangesPerMin: 2 }, counts);
    expect(busy.colos / busy.herd).toBeCloseTo(40 * (1.25 / 2.5 + 1 / 60 + (2 * 8) / 60), 9);
  });

  it("grows with a colo's isolates only by those that ask before the first answer is shared", () => {
    const few = viewLooksPerS({ ...scenario, isolates: 40 }, counts);
    const many = viewLooksPerS({ ...scenario, isolates: 40_000 }, counts);
    // 1,000 isolates a colo, 30 ms of a 2.5 s window: 13 ask, not 1,000.
    expect(many.herd).toBeCloseTo(1 + 1_000 * (30 / 2500), 9);
    expect(many.colos / few.colos).toBeCloseTo(many.herd / few.herd, 9);
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
