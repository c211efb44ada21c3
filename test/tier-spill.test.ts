import { describe, expect, it } from "vitest";
import { OVERLOADED, rankOcas, type Candidate } from "../workers/control/steering";
import { topology } from "../workers/shared/topology";
import { GEO } from "./fixtures";

/**
 * Load and degraded health in the ranking: an OCA at its limit or degraded goes behind its tier's
 * others; when every OCA of the client's embedded tier is, new sessions spill to the IXP tier.
 */

const [asn, lat, lon] = (() => {
  const g = Object.fromEntries(GEO.lumenNyc.split(";").map((kv) => kv.split("=")));
  return [Number(g.asn), Number(g.lat), Number(g.lon)];
})();
const client = { asn, lat, lon };
const embedded = topology.sites.find((s) => s.id === "lumen-nyc")!;
const ixp = topology.sites.find((s) => s.tier === "ixp" && s.id === "ixp-nyc")!;
const cands = (loads: number[], degraded: boolean[] = []): Candidate[] => [
  ...embedded.ocas.map((o, i) => ({ siteId: embedded.id, ocaId: o.id, load: loads[i] ?? 0, degraded: degraded[i] })),
  { siteId: ixp.id, ocaId: ixp.ocas[0].id, load: 0 },
];
const order = (c: Candidate[]) => rankOcas(topology, client, "spill-title", c).map((o) => o.ocaId);

describe("ranking under load", () => {
  it("puts an overloaded or degraded OCA behind its embedded peer, still ahead of the IXP", () => {
    const [a, b] = embedded.ocas.map((o) => o.id);
    const byLoad = order(cands([OVERLOADED, 0]));
    expect(byLoad.slice(0, 3)).toEqual([b, a, ixp.ocas[0].id]);
    const byHealth = order(cands([0, 0], [true, false]));
    expect(byHealth.slice(0, 3)).toEqual([b, a, ixp.ocas[0].id]);
  });

  it("spills new sessions to the IXP tier when every embedded OCA is at its limit", () => {
    const spilled = order(cands(embedded.ocas.map(() => OVERLOADED + 0.1)));
    expect(spilled[0]).toBe(ixp.ocas[0].id);
    // The embedded OCAs stay in the list, behind it, for players already on them.
    expect(spilled.slice(1, 1 + embedded.ocas.length).sort()).toEqual(embedded.ocas.map((o) => o.id).sort());
  });
});
