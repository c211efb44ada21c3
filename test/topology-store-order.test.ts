import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { applyTopology, topologyVersion } from "../workers/shared/topology";
import { storedTopology, storeTopology } from "../workers/shared/topology-live";

/**
 * An isolate's topology only ever moves forward. A change's store applies its version in the isolate
 * that made it once D1 answers; when a later version reached the isolate meanwhile (a look, or another
 * request's change whose answer came first), applying the older one put back what the later change
 * took out (a retired OCA steered to again) until the isolate's next look.
 */
describe("storing a topology change", () => {
  it("does not take the isolate back to its version when a later one was applied meanwhile", async () => {
    const { version, doc } = await storedTopology(env.DB);
    const later = structuredClone(doc);
    later.sites = later.sites.slice(1);
    applyTopology(later, version + 2);
    try {
      expect(await storeTopology(env.DB, doc, version)).toBe(true);
      expect(topologyVersion()).toBe(version + 2);
      expect((await storedTopology(env.DB)).version).toBe(version + 1);
    } finally {
      applyTopology(doc, version + 1);
    }
  });

  it("applies its version in the isolate when none later was", async () => {
    const { version, doc } = await storedTopology(env.DB);
    applyTopology(doc, version);
    expect(await storeTopology(env.DB, doc, version)).toBe(true);
    expect(topologyVersion()).toBe(version + 1);
  });
});
