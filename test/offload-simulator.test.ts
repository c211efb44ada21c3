import { describe, expect, it } from "vitest";
import { cells, pickCells } from "../bench/matrix-cells";
import { verdicts, type Cell, type CellRun } from "../bench/matrix-report";
import { summarise } from "../bench/metrics";
import { simulate } from "../bench/simulate";
import { buildTopology } from "../bench/topology";
import { DEFAULT_TRACE, siteShape, Trace } from "../bench/trace";
import type { SimConfig } from "../bench/world";

const SMALL: SimConfig = {
  seed: 5,
  days: 3,
  warmup: 3,
  titles: 60,
  alpha: 0.9,
  capacityFraction: 0.1,
  ixpFraction: 0.95,
  fillRateBps: 1e9,
  fillWindowHours: 12,
  sessionsPerSite: 150,
  policies: ["prediction", "oracle", "lru", "s3fifo", "wtinylfu"],
};

describe("the offload simulator's trace", () => {
  it("lists a site's sessions by local start hour, with its hourly bytes adding up to the day", () => {
    const trace = new Trace({ ...DEFAULT_TRACE, seed: 3, titles: 80, days: 2, startDay: 20_000 });
    const topo = buildTopology({
      seed: 3,
      catalogueBytes: trace.catalogueBytes,
      embeddedFraction: 0.1,
      ixpFraction: 0.5,
      sessionsPerSite: 300,
      peakBpsPerSession: () => 1e6,
    });
    const day = trace.day(0, topo.embedded).get(topo.embedded[0].id)!;
    for (let s = 1; s < day.hour.length; s++) expect(day.hour[s]).toBeGreaterThanOrEqual(day.hour[s - 1]);
    expect(day.hourly.reduce((a, b) => a + b, 0)).toBeCloseTo(day.total, 0);
    expect(day.perTitle.reduce((a, b) => a + b, 0)).toBeCloseTo(day.total, 0);
    // Evenings are busier than small hours.
    expect(day.hourly[21]).toBeGreaterThan(day.hourly[4]);
  });

  it("gives each site an hour-of-day shape of its own: a share per hour, peaking differently", () => {
    const shapes = ["lumen-nyc", "lumen-bos", "rheinnet-ber", "polder-ams", "alpen-vie"].map((id) => siteShape(1, id));
    for (const s of shapes) expect(s.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    const peaks = new Set(shapes.map((s) => Math.max(...s).toFixed(4)));
    expect(peaks.size).toBeGreaterThan(1);
  });
});

describe("the same-day check for a shift", () => {
  // Half the catalogue reshuffled on day 9, after eight days of history.
  const cfg: SimConfig = { ...SMALL, titles: 300, sessionsPerSite: 1500, warmup: 8, policies: ["prediction"], shift: { day: 9, fraction: 0.5 } };
  const withCheck = simulate(cfg).days.prediction;
  const without = simulate({ ...cfg, sameDayReplan: false }).days.prediction;
  const share = (d: { embeddedBytes: number; totalBytes: number }) => d.embeddedBytes / d.totalBytes;

  it("re-plans every region the morning its mix shifts, and no site on an ordinary day before it", () => {
    expect(withCheck.slice(0, 9).map((d) => d.replannedSites)).toEqual(new Array(9).fill(0));
    expect(withCheck[9].replannedSites).toBe(20);
    expect(without.every((d) => d.replannedSites === 0)).toBe(true);
  });

  it("serves more of the shift's evening from embedded sites, the refill inside what is left of the window", () => {
    expect(share(withCheck[9])).toBeGreaterThan(share(without[9]) + 0.02);
    expect(withCheck[9].sitesOverWindow).toBe(0);
    // Days before it are untouched by the check.
    expect(withCheck[8]).toEqual(without[8]);
  });
});

describe("the offload simulation", () => {
  const run = simulate(SMALL);
  const measured = (name: string) => summarise(run.days[name].slice(SMALL.warmup));

  it("accounts every byte to exactly one tier, for every policy", () => {
    for (const [name, days] of Object.entries(run.days)) {
      for (const d of days) {
        expect(d.embeddedBytes + d.ixpParentBytes + d.originBytes, `${name} day ${d.day}`).toBeCloseTo(d.totalBytes, 0);
        expect(d.missedRequests).toBeLessThanOrEqual(d.requests);
      }
    }
  });

  it("fills planned sites in the night window and reactive caches at request time, evening peak included", () => {
    expect(measured("prediction").peakFillBytesPerDay).toBe(0);
    expect(measured("oracle").peakFillBytesPerDay).toBe(0);
    for (const name of ["lru", "s3fifo", "wtinylfu"]) expect(measured(name).peakFillBytesPerDay, name).toBeGreaterThan(0);
  });

  it("counts each site's busiest hour, and the part of it that came from upstream", () => {
    for (const [name, days] of Object.entries(run.days)) {
      for (const d of days) {
        expect(d.peakHourBytes, name).toBeGreaterThan(0);
        expect(d.peakHourBytes).toBeLessThanOrEqual(d.totalBytes);
        expect(d.peakHourUpstreamBytes).toBeLessThanOrEqual(d.peakHourBytes);
      }
    }
    expect(measured("lru").peakHourUpstreamShare).toBeGreaterThan(measured("oracle").peakHourUpstreamShare);
  });

  it("reports per-OCA peak egress for planned policies and none for one-cache-per-site baselines", () => {
    expect(measured("prediction").maxOcaPeakUse).toBeGreaterThan(0);
    expect(measured("prediction").ocaHoursOver).not.toBeNull();
    expect(measured("lru").maxOcaPeakUse).toBeNull();
  });

  it("sends no miss to origin when the parent IXP holds the whole catalogue's worth of room", () => {
    const all = simulate({ ...SMALL, ixpFraction: 1.5, policies: ["prediction"] });
    const after = all.days.prediction.slice(SMALL.warmup);
    expect(after.reduce((s, d) => s + d.originBytes, 0)).toBe(0);
    expect(after.reduce((s, d) => s + d.ixpParentBytes, 0)).toBeGreaterThan(0);
  });
});

describe("the scenario matrix's cells", () => {
  it("are every cell by default, and the cells named by any of the given parts when asked for a subset", () => {
    expect(pickCells([]).map((c) => c.name)).toEqual(cells().map((c) => c.name));
    expect(cells()).toHaveLength(26);
    expect(pickCells(["c10% t5000", "c20% t5000"]).map((c) => c.name)).toEqual([
      "a0.6 c10% t5000",
      "a0.8 c10% t5000",
      "a1 c10% t5000",
      "a1.2 c10% t5000",
      "a0.6 c20% t5000",
      "a0.8 c20% t5000",
      "a1 c20% t5000",
      "a1.2 c20% t5000",
    ]);
    expect(pickCells(["hit season"]).map((c) => c.scenario)).toEqual(["shift"]);
    expect(pickCells(["no such cell"])).toEqual([]);
  });
});

describe("the scenario matrix's verdict", () => {
  it("judges each cell by its worst seed", () => {
    const cell: Cell = { name: "a1 c10% t1000", alpha: 1, capacity: 0.1, titles: 1000, scenario: "base" };
    const base = summarise([]);
    const at = (seed: number, prediction: number, oracle: number, wtinylfu: number): CellRun => ({
      cell,
      seed,
      summaries: {
        prediction: { ...base, embeddedShare: prediction, nightsInWindow: 1, nights: 1 },
        oracle: { ...base, embeddedShare: oracle },
        wtinylfu: { ...base, embeddedShare: wtinylfu },
      },
      targets: [],
      elapsedMs: 1,
    });
    const [v] = verdicts([at(1, 70, 71, 65), at(2, 66, 70, 66.2), at(3, 72, 73, 60)], [cell]);
    expect(v.gapToOracle.worst).toBeCloseTo(4);
    expect(v.gapToOracle.mean).toBeCloseTo(2);
    expect(v.leadOverReactive.worst).toBeCloseTo(-0.2);
    expect(v.met).toBe(false); // the second seed is 4 points behind the oracle
  });
});
