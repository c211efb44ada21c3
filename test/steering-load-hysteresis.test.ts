import { describe, expect, it } from "vitest";
import { OVERLOADED, PLAYING_OVERLOADED, rankOcas, type Candidate } from "../workers/control/steering";
import { topology } from "../workers/shared/topology";
import { GEO } from "./fixtures";

/**
 * Load hysteresis between new and running sessions: new sessions go elsewhere from OVERLOADED, while a
 * running session stays on the OCA it plays from until that OCA reaches its full throughput. Had both
 * left at OVERLOADED, every session leading with an OCA would leave together when it crossed 85 % and
 * come back together when its load fell: whole crowds swinging between two OCAs poll after poll.
 */

const g = Object.fromEntries(GEO.lumenNyc.split(";").map((kv) => kv.split("=")));
const client = { asn: Number(g.asn), lat: Number(g.lat), lon: Number(g.lon) };
const site = topology.sites.find((s) => s.id === "lumen-nyc")!;
const ixp = topology.sites.find((s) => s.id === "ixp-nyc")!;
const title = "hysteresis-title";
/** The site's OCAs in the title's own order (unloaded), the first leading. */
const [lead, peer] = rankOcas(
  topology,
  client,
  title,
  site.ocas.map((o) => ({ siteId: site.id, ocaId: o.id, load: 0 })),
).map((o) => o.ocaId);
const cands = (leadLoad: number, peerLoad = 0.2, leadDegraded = false): Candidate[] => [
  { siteId: site.id, ocaId: lead, load: leadLoad, degraded: leadDegraded },
  { siteId: site.id, ocaId: peer, load: peerLoad },
  { siteId: ixp.id, ocaId: ixp.ocas[0].id, load: 0 },
];
const first = (c: Candidate[], playingFrom?: string) => rankOcas(topology, client, title, c, undefined, { playingFrom })[0].ocaId;

describe("load hysteresis", () => {
  it("sends new sessions elsewhere from OVERLOADED but keeps a running session on its OCA below its full throughput", () => {
    const busy = (OVERLOADED + PLAYING_OVERLOADED) / 2;
    expect(first(cands(busy))).toBe(peer);
    expect(first(cands(busy), lead)).toBe(lead);
    // A session playing from the peer is not drawn back to the busy one.
    expect(first(cands(busy), peer)).toBe(peer);
  });

  it("moves a running session off its OCA at full throughput, or when it is degraded", () => {
    expect(first(cands(PLAYING_OVERLOADED), lead)).toBe(peer);
    expect(first(cands(0.5, 0.2, true), lead)).toBe(peer);
  });

  it("does not spill a running session to the next tier while its own OCA is under its full throughput", () => {
    const busy = (OVERLOADED + PLAYING_OVERLOADED) / 2;
    expect(first(cands(busy, busy))).toBe(ixp.ocas[0].id);
    expect(first(cands(busy, busy), lead)).toBe(lead);
  });
});
