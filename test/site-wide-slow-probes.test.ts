import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { evaluate, judge, recordProbe, type WindowSignals } from "../durable-objects/site/auto-health";

/**
 * A slow storage probe degrades an OCA only when another OCA of its site probes fast. When every OCA's
 * probe is slow, the slowness is the site's own (its object's thread busy, its tier bucket slow): degrading
 * them all moved a whole site's new sessions to the next tier for nothing its OCAs did, and a busy
 * machine running the site object did the same to every OCA at once.
 */

const quiet: WindowSignals = {
  requests: 0,
  errors: 0,
  latencyMsSum: 0,
  probes: 1,
  probeFailures: 0,
  probeMs: 700,
  failedProbesInARow: 0,
  clientReports: 0,
  trafficMembers: 0,
};

describe("slow storage probes", () => {
  it("degrade an OCA whose peers probe fast, or that has no peer, but not one whose peers are as slow", () => {
    expect(judge({ ...quiet, othersProbeMs: 20 }).state).toBe("degraded");
    expect(judge({ ...quiet, othersProbeMs: null }).state).toBe("degraded");
    expect(judge(quiet).state).toBe("degraded");
    expect(judge({ ...quiet, othersProbeMs: 650 })).toMatchObject({ state: "healthy" });
  });

  it("leave every OCA of a site healthy when all its probes are slow, and degrade the one slow among fast peers", async () => {
    const site = env.OCA_SITE.get(env.OCA_SITE.idFromName("site-wide-slow-probes"));
    await runInDurableObject(site, (_o, state) => {
      const sql = state.storage.sql;
      const now = Date.now();
      for (const [oca, ms] of [
        ["slow-a", 600],
        ["slow-b", 650],
      ] as const)
        for (let k = 0; k < 3; k++) recordProbe(sql, oca, now - 3000 + k * 1000, true, ms);
      expect(evaluate(sql, "slow-a", now)).toBeNull();
      expect(evaluate(sql, "slow-b", now)).toBeNull();
      for (let k = 0; k < 3; k++) recordProbe(sql, "fast-c", now - 3000 + k * 1000, true, 15);
      expect(evaluate(sql, "slow-a", now)).toMatchObject({ to: "degraded", reason: "storage probe 600 ms" });
    });
  });
});
