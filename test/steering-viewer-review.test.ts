import { beforeAll, describe, expect, it } from "vitest";
import { homeSite, OVERLOADED, rankOcas, usableCandidates, type Candidate, type SteeringClient } from "../workers/control/steering";
import { overlayLiveView, type SiteViews } from "../workers/control/steering-view";
import { topology } from "../workers/shared/topology";
import { call, memberToken, pressPlay, publishHeldAt, type PlayResponse } from "./fixtures";

/**
 * Steering as a viewer meets it: a client whose location is partly unknown, a client near another ISP's
 * servers, a near site at its limit or out of reach, ties between equally good OCAs, and the first
 * segment of the rank-1 URL.
 */

const LUMEN = 64500;
const LAKESHORE = 64510;
const RHEINNET = 64520;
const NO_ISP = 65000;
const NYC = { lat: 40.71, lon: -74.0 };

const at = (asn: number | null, where: { lat: number; lon: number } | null, country: string | null = null): SteeringClient => ({
  asn,
  lat: where?.lat ?? null,
  lon: where?.lon ?? null,
  country,
});

/** One candidate per OCA of each named site (every OCA holds the title, healthy, idle). */
const held = (...siteIds: string[]): Candidate[] =>
  siteIds.flatMap((id) => topology.sites.find((s) => s.id === id)!.ocas.map((o) => ({ siteId: id, ocaId: o.id, load: 0 })));
const EVERYWHERE = held(...topology.sites.map((s) => s.id));
const sitesOf = (ranked: Array<{ siteId: string }>) => [...new Set(ranked.map((o) => o.siteId))];

describe("a client whose location is missing or partial", () => {
  it("without coordinates, sends a US viewer of no known ISP to US IXP sites first, not abroad by alphabetical order", () => {
    const ranked = rankOcas(topology, at(NO_ISP, null, "US"), "t", EVERYWHERE);
    expect(sitesOf(ranked).slice(0, 2).sort()).toEqual(["ixp-nyc", "ixp-sjc"]);
    expect(sitesOf(ranked).slice(2, 4).sort()).toEqual(["ixp-ams", "ixp-fra"]);
    expect(ranked.at(-1)).toMatchObject({ tier: "origin" });
    // Without coordinates no distance is claimed.
    expect(ranked.every((o) => o.distanceKm === null)).toBe(true);
  });

  it("without coordinates, still puts the viewer's own ISP's embedded OCAs first, then its country's IXPs, origin last", () => {
    const lumen = sitesOf(rankOcas(topology, at(LUMEN, null, "US"), "t", EVERYWHERE));
    expect(lumen.slice(0, 2).sort()).toEqual(["lumen-lax", "lumen-nyc"]);
    expect(lumen.slice(2, 4).sort()).toEqual(["ixp-nyc", "ixp-sjc"]);
    expect(lumen.at(-1)).toBe("origin");
    const rhein = sitesOf(rankOcas(topology, at(RHEINNET, null, "DE"), "t", EVERYWHERE));
    expect(rhein.slice(0, 2).sort()).toEqual(["rheinnet-ber", "rheinnet-muc"]);
    // Frankfurt is the IXP of Germany (its own country and its embedded children's).
    expect(rhein[2]).toBe("ixp-fra");
  });

  it("without coordinates or country, ranks by tier alone and still ends at origin", () => {
    const ranked = rankOcas(topology, at(null, null), "t", EVERYWHERE);
    expect(ranked.every((o) => o.tier !== "embedded")).toBe(true);
    expect(ranked.at(-1)).toMatchObject({ tier: "origin", rank: ranked.length });
    expect(topology.sites.some((s) => s.id === homeSite(topology, at(null, null)))).toBe(true);
  });

  it("counts a viewer without coordinates at a home site of its own country", () => {
    const us = topology.sites.find((s) => s.id === homeSite(topology, at(NO_ISP, null, "US")))!;
    expect(us).toMatchObject({ tier: "ixp", country: "US" });
    expect(homeSite(topology, at(LUMEN, null, "US"))).toMatch(/^lumen-/);
    expect(homeSite(topology, at(RHEINNET, null, "DE"))).toMatch(/^rheinnet-/);
  });

  it("with coordinates, distance wins over country (a Paris viewer goes to Amsterdam, a Tokyo one to San Jose)", () => {
    expect(sitesOf(rankOcas(topology, at(NO_ISP, { lat: 48.86, lon: 2.35 }, "FR"), "t", EVERYWHERE))[0]).toBe("ixp-ams");
    expect(sitesOf(rankOcas(topology, at(NO_ISP, { lat: 35.68, lon: 139.69 }, "JP"), "t", EVERYWHERE))[0]).toBe("ixp-sjc");
    expect(homeSite(topology, at(NO_ISP, { lat: 35.68, lon: 139.69 }, "JP"))).toBe("ixp-sjc");
  });
});

describe("a client on one ISP near another ISP's embedded site", () => {
  it("is never steered to the other ISP's embedded OCAs, however near", () => {
    // A Lakeshore customer standing next to Lumen's New York site.
    const client = at(LAKESHORE, { lat: 40.7306, lon: -73.9352 }, "US");
    const ranked = rankOcas(topology, client, "t", EVERYWHERE);
    expect(ranked.filter((o) => o.tier === "embedded").every((o) => o.siteId === "lakeshore-chi")).toBe(true);
    expect(sitesOf(ranked)[0]).toBe("lakeshore-chi");
    expect(usableCandidates(topology, client, EVERYWHERE).some((c) => c.siteId.startsWith("lumen-"))).toBe(false);
    // Nor is its home the other ISP's site.
    expect(homeSite(topology, client)).toBe("lakeshore-chi");
  });
});

describe("load, drain and a site out of reach", () => {
  const lumenNyc = topology.sites.find((s) => s.id === "lumen-nyc")!;

  it("sends new sessions to the next nearest site of the same tier when the nearest's OCAs are all at their limit, not to origin", () => {
    const cands = held("lumen-nyc", "lumen-lax", "ixp-nyc").map((c) => (c.siteId === "lumen-nyc" ? { ...c, load: OVERLOADED + 0.2 } : c));
    const ranked = rankOcas(topology, at(LUMEN, NYC, "US"), "t", cands);
    expect(sitesOf(ranked)).toEqual(["lumen-lax", "lumen-nyc", "ixp-nyc", "origin"]);
  });

  it("spills to the IXP tier when every embedded OCA is at its limit, and keeps origin last even when everything is", () => {
    const hot = held("lumen-nyc", "lumen-lax", "ixp-nyc").map((c) => (c.siteId.startsWith("lumen-") ? { ...c, load: 1.5 } : c));
    expect(sitesOf(rankOcas(topology, at(LUMEN, NYC, "US"), "t", hot))[0]).toBe("ixp-nyc");
    const allHot = hot.map((c) => ({ ...c, load: 1.5 }));
    const ranked = rankOcas(topology, at(LUMEN, NYC, "US"), "t", allHot);
    expect(ranked[0].tier).not.toBe("origin");
    expect(ranked.at(-1)!.tier).toBe("origin");
  });

  it("drops a drained site's OCAs and ranks the next nearest", () => {
    const cands = held("lumen-nyc", "lumen-lax", "ixp-nyc");
    const views: SiteViews = new Map([
      [
        "lumen-nyc",
        { view: { siteId: "lumen-nyc", at: Date.now(), ocas: lumenNyc.ocas.map((o) => ({ ocaId: o.id, health: "drained", load: 0 })) }, stale: false },
      ],
    ] as never);
    const ranked = rankOcas(topology, at(LUMEN, NYC, "US"), "t", overlayLiveView(cands, views));
    expect(sitesOf(ranked)).toEqual(["lumen-lax", "ixp-nyc", "origin"]);
  });

  it("keeps a site it cannot reach on its last-known state, says so (stale), and ranks it behind fresh sites of its tier", () => {
    const cands = held("lumen-nyc", "lumen-lax", "ixp-nyc");
    const [a, b] = lumenNyc.ocas.map((o) => o.id);
    // Last known: one OCA failed, the other healthy; the site has not answered since.
    const views: SiteViews = new Map([
      [
        "lumen-nyc",
        {
          view: {
            siteId: "lumen-nyc",
            at: Date.now(),
            ocas: [
              { ocaId: a, health: "failed", load: 0 },
              { ocaId: b, health: "healthy", load: 0.2 },
            ],
          },
          stale: true,
        },
      ],
    ] as never);
    const ranked = rankOcas(topology, at(LUMEN, NYC, "US"), "t", overlayLiveView(cands, views));
    expect(ranked.map((o) => o.ocaId)).not.toContain(a);
    expect(ranked.find((o) => o.ocaId === b)).toMatchObject({ stale: true, load: 0.2 });
    expect(sitesOf(ranked)).toEqual(["lumen-lax", "lumen-nyc", "ixp-nyc", "origin"]);
  });
});

describe("ties between equally good OCAs", () => {
  it("give the same order on every poll and whatever order the view lists them in", () => {
    const cands = held("ixp-nyc");
    const client = at(NO_ISP, NYC, "US");
    const first = rankOcas(topology, client, "tie-title", cands).map((o) => o.ocaId);
    for (let i = 0; i < 20; i++) {
      const shuffled = [...cands].sort(() => Math.random() - 0.5);
      expect(rankOcas(topology, client, "tie-title", shuffled).map((o) => o.ocaId)).toEqual(first);
    }
  });
});

describe("the play answer for a viewer without coordinates (the Worker)", () => {
  const TITLE = "viewer-review-no-coords";

  beforeAll(async () => {
    await publishHeldAt(TITLE, ["ixp-ams/ixp-ams-1", "ixp-nyc/ixp-nyc-1", "lumen-nyc/lumen-nyc-1"]);
  });

  const play = async (geo: string): Promise<PlayResponse> => {
    const res = await pressPlay(await memberToken("standard"), { titleId: TITLE }, geo);
    expect(res.status).toBe(200);
    return (await res.json()) as PlayResponse;
  };

  it("steers a US viewer of an unknown network with only a country to the US IXP, counts it there, and the steering poll agrees", async () => {
    const p = await play("asn=65000;country=US");
    expect(p.ocas.map((o) => o.siteId)).toEqual(["ixp-nyc", "ixp-ams", "origin"]);
    // The URL token names the home site: a US one.
    expect(p.ocas[0].url).toMatch(/\.US\./);
    expect(p.ocas[0].url.split("/")[6].split(".")[7]).toBe("ixp-nyc");
    const poll = (await (await call(p.steering.server)).json()) as { "PATHWAY-PRIORITY": string[] };
    expect(poll["PATHWAY-PRIORITY"]).toEqual(p.ocas.map((o) => o.ocaId));
  });

  it("steers a viewer whose ASN is its ISP's but whose coordinates are missing to its ISP's embedded OCA, whose first segment is there", async () => {
    const p = await play("asn=64500;country=US");
    expect(p.ocas.map((o) => o.siteId)).toEqual(["lumen-nyc", "ixp-nyc", "ixp-ams", "origin"]);
    const seg = await call(`${p.ocas[0].url}video/avc-240p/seg-00001.m4s`);
    expect(seg.status).toBe(200);
    expect(seg.headers.get("X-OCA-Source")).toBe("local");
    await seg.arrayBuffer();
  });

  it("answers a viewer with a country and nothing else, and one in a country with no site, without a 5xx", async () => {
    const fr = await play("country=FR");
    expect(fr.ocas.at(-1)!.tier).toBe("origin");
    expect(fr.ocas.every((o) => o.tier !== "embedded")).toBe(true);
    // A viewer with no country at all cannot be licence-checked: a clear 451, not a 5xx.
    const none = await pressPlay(await memberToken("standard"), { titleId: TITLE }, "asn=64500;lat=40.7;lon=-74.0");
    expect(none.status).toBe(451);
  });
});
