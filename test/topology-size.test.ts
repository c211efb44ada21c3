import { describe, expect, it } from "vitest";
import { MAX_TOPOLOGY_BYTES, validate } from "../workers/control/admin/topology";
import { topology, type Topology } from "../workers/shared/topology";
import topologyJson from "../config/topology.json";

/**
 * A topology is one D1 value, which holds at most 2,000,000 bytes: one past it failed to store with a
 * bare 500 (every change after the one that crossed it). It is refused as a 400 naming its size.
 */

/** The demo topology with IXP sites added until it holds `sites` sites of 32 OCAs with ids of `idLength`. */
function grown(sites: number, idLength: number): Topology {
  const t = structuredClone(topologyJson) as unknown as Topology;
  const ixp = t.sites.find((s) => s.tier === "ixp")!;
  for (let i = t.sites.length; i < sites; i++) {
    const id = `s${i}-`.padEnd(idLength, "x");
    t.sites.push({
      ...ixp,
      id,
      name: id,
      ocas: Array.from({ length: 32 }, (_, k) => ({ ...ixp.ocas[0], id: `${id.slice(0, idLength - 4)}-${String(k).padStart(3, "0")}` })),
    });
  }
  return t;
}

describe("a topology's size", () => {
  it("is refused past what one stored value may take, with a 400 naming its bytes", () => {
    const big = grown(500, 64);
    expect(new TextEncoder().encode(JSON.stringify(big)).length).toBeGreaterThan(MAX_TOPOLOGY_BYTES);
    expect(() => validate(big)).toThrow(/the topology would take \d+ bytes, over the 1900000/);
    try {
      validate(big);
    } catch (err) {
      expect((err as { status: number }).status).toBe(400);
    }
  });

  it("takes the largest site count with ids of a usual length, and the demo topology", () => {
    expect(() => validate(grown(500, 16))).not.toThrow();
    expect(() => validate(structuredClone(topology) as Topology)).not.toThrow();
  });
});
