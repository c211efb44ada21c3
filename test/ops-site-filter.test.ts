/**
 * The operator dashboard's site filter (client/ops/site-filter.ts): which sites need attention, which
 * match the text filter, and the words of the summary line and of an empty result.
 */
import { describe, expect, it } from "vitest";
import {
  FILTER_MAX_CHARS,
  type FilterableSite,
  filterSites,
  HOT_LOAD,
  matchesQuery,
  needsAttention,
  nothingShownText,
  summaryText,
} from "../client/ops/site-filter";

type Oca = NonNullable<FilterableSite["ocas"]>[number];
const oca = (ocaId: string, over: Partial<Oca> = {}): Oca => ({ ocaId, health: "healthy", load: 0.1, ...over });

/** A reachable site, all healthy, no fill trouble, unless `over` says otherwise. */
const site = (siteId: string, over: Partial<FilterableSite> = {}): FilterableSite => ({
  siteId,
  name: `${siteId} name`,
  region: "na",
  isp: null,
  reachable: true,
  ocas: [oca(`${siteId}-1`), oca(`${siteId}-2`)],
  fill: { lastError: null, parked: 0 },
  ...over,
});

describe("a site needs attention", () => {
  it("not when reachable, every OCA healthy and under the hot load, and its fill clean", () => {
    expect(needsAttention(site("calm"))).toBe(false);
    // Just under the hot load is not yet hot.
    expect(needsAttention(site("warm", { ocas: [oca("warm-1", { load: HOT_LOAD - 0.001 })] }))).toBe(false);
  });

  it("when unreachable (it has no OCAs or fill figures then)", () => {
    expect(needsAttention({ siteId: "gone", name: "Gone", region: "eu", isp: null, reachable: false, fill: {} })).toBe(true);
  });

  it.each(["drained", "failed", "degraded"])("when an OCA is %s", (health) => {
    expect(needsAttention(site("s", { ocas: [oca("s-1"), oca("s-2", { health })] }))).toBe(true);
  });

  it("when an OCA's load is at or past 0.85", () => {
    expect(HOT_LOAD).toBe(0.85);
    expect(needsAttention(site("s", { ocas: [oca("s-1", { load: 0.85 })] }))).toBe(true);
    expect(needsAttention(site("s", { ocas: [oca("s-1", { load: 1.4 })] }))).toBe(true);
  });

  it("when its fill has a last error, or parked files", () => {
    expect(needsAttention(site("s", { fill: { lastError: "s-1 t1/a.m4s from origin (parked): 503" } }))).toBe(true);
    expect(needsAttention(site("s", { fill: { parked: 2 } }))).toBe(true);
    expect(needsAttention(site("s", { fill: { lastError: "", parked: 0 } }))).toBe(false);
  });
});

describe("the text filter", () => {
  const lumen = site("lumen-nyc", { name: "Lumen Fiber New York", isp: "lumen-fiber", region: "na", ocas: [oca("lumen-nyc-1"), oca("lumen-nyc-2")] });
  const ixp = site("ixp-fra", { name: "Frankfurt IXP", isp: null, region: "eu", ocas: [oca("ixp-fra-1")] });

  it("matches a site's id, name, ISP, region or any OCA id, case aside", () => {
    expect(matchesQuery(lumen, "LUMEN-nyc")).toBe(true);
    expect(matchesQuery(lumen, "fiber new")).toBe(true);
    expect(matchesQuery(lumen, "lumen-fiber")).toBe(true);
    expect(matchesQuery(ixp, "EU")).toBe(true);
    expect(matchesQuery(lumen, "lumen-nyc-2")).toBe(true);
    expect(matchesQuery(ixp, "lumen")).toBe(false);
    // An ISP of null is not the text "null".
    expect(matchesQuery(ixp, "null")).toBe(false);
  });

  it("needs every word to match somewhere, and an empty or blank filter matches every site", () => {
    expect(matchesQuery(lumen, "  lumen   york ")).toBe(true);
    expect(matchesQuery(lumen, "lumen frankfurt")).toBe(false);
    expect(matchesQuery(ixp, "")).toBe(true);
    expect(matchesQuery(ixp, " \t ")).toBe(true);
  });

  it("reads at most FILTER_MAX_CHARS of the filter", () => {
    expect(matchesQuery(lumen, `${" ".repeat(FILTER_MAX_CHARS)}zzz`)).toBe(true);
  });

  it("an unreachable site matches by id, name and region (it lists no OCAs)", () => {
    const gone = { siteId: "polder-ams", name: "Polder Glas Amsterdam", region: "eu", isp: "polder-glas", reachable: false, fill: {} };
    expect(matchesQuery(gone, "amsterdam")).toBe(true);
    expect(matchesQuery(gone, "polder-ams-1")).toBe(false);
  });
});

describe("filtering the overview's sites", () => {
  const sites = [
    site("ixp-nyc", { name: "New York IXP" }),
    site("lumen-nyc", { isp: "lumen-fiber", ocas: [oca("lumen-nyc-1", { health: "drained" })] }),
    site("rheinnet-ber", { region: "eu", isp: "rheinnet", fill: { parked: 1 } }),
    site("rheinnet-muc", { region: "eu", isp: "rheinnet" }),
  ];

  it("keeps the overview's order and counts every site that needs attention, shown or not", () => {
    expect(filterSites(sites, { query: "", attentionOnly: false })).toMatchObject({ total: 4, attention: 2 });
    expect(filterSites(sites, { query: "", attentionOnly: false }).shown.map((s) => s.siteId)).toEqual([
      "ixp-nyc",
      "lumen-nyc",
      "rheinnet-ber",
      "rheinnet-muc",
    ]);
    const eu = filterSites(sites, { query: "rheinnet", attentionOnly: false });
    expect({ shown: eu.shown.map((s) => s.siteId), attention: eu.attention }).toEqual({ shown: ["rheinnet-ber", "rheinnet-muc"], attention: 2 });
  });

  it("shows only the sites that need attention when asked, with the text filter on top", () => {
    expect(filterSites(sites, { query: "", attentionOnly: true }).shown.map((s) => s.siteId)).toEqual(["lumen-nyc", "rheinnet-ber"]);
    expect(filterSites(sites, { query: "EU", attentionOnly: true }).shown.map((s) => s.siteId)).toEqual(["rheinnet-ber"]);
    expect(filterSites(sites, { query: "muc", attentionOnly: true }).shown).toEqual([]);
  });
});

describe("the summary line and the empty result, in words", () => {
  it("counts with the right plurals", () => {
    expect(summaryText(70, 3, 3)).toBe("70 sites · 3 need attention · showing 3");
    expect(summaryText(70, 1, 12)).toBe("70 sites · 1 needs attention · showing 12");
    expect(summaryText(70, 0, 70)).toBe("70 sites · none needs attention · showing all");
    expect(summaryText(1, 1, 1)).toBe("1 site · 1 needs attention · showing all");
    expect(summaryText(10, 2, 0)).toBe("10 sites · 2 need attention · showing 0");
    expect(summaryText(0, 0, 0)).toBe("No sites in the topology");
  });

  it("says why nothing is shown, quoting the filter as typed", () => {
    expect(nothingShownText({ query: " xyz ", attentionOnly: false })).toBe("No site matches “xyz”.");
    expect(nothingShownText({ query: "", attentionOnly: true })).toBe("No site needs attention.");
    expect(nothingShownText({ query: "muc", attentionOnly: true })).toBe("No site that needs attention matches “muc”.");
  });
});
