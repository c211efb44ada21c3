import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { evaluate, probeLatency, recordProbe } from "../durable-objects/site/auto-health";

/**
 * An OCA's storage probes are judged on their lower median over the window, and on two at least: one probe
 * stalled for half a second (a busy machine, a pause of the isolate) among probes of 20 ms degraded an OCA
 * when the window took their mean, and a lone slow probe did when it was the window's only one.
 */

describe("an OCA's probe latency", () => {
  it("is the lower median of two or more successful probes, and unknown with fewer", () => {
    expect(probeLatency([])).toBeNull();
    expect(probeLatency([900])).toBeNull();
    expect(probeLatency([20, 900])).toBe(20);
    expect(probeLatency([600, 650])).toBe(600);
    expect(probeLatency([20, 22, 1500, 18, 21])).toBe(21);
    expect(probeLatency([620, 20, 600])).toBe(600);
  });

  it("keeps an OCA healthy through one stalled probe, alone or among fast ones, and degrades one whose probes are all slow", async () => {
    const site = env.OCA_SITE.get(env.OCA_SITE.idFromName("one-stalled-probe"));
    await runInDurableObject(site, (_o, state) => {
      const sql = state.storage.sql;
      const now = Date.now();
      // A fast peer, so slowness would be the OCA's own, not the site's.
      for (let k = 0; k < 4; k++) recordProbe(sql, "peer", now - 4000 + k * 1000, true, 15);
      recordProbe(sql, "lone-stall", now - 1000, true, 504);
      expect(evaluate(sql, "lone-stall", now)).toBeNull();
      for (const [k, ms] of [20, 18, 1500, 22].entries()) recordProbe(sql, "one-stall", now - 4000 + k * 1000, true, ms);
      expect(evaluate(sql, "one-stall", now)).toBeNull();
      for (const [k, ms] of [610, 600, 640].entries()) recordProbe(sql, "slow", now - 3000 + k * 1000, true, ms);
      expect(evaluate(sql, "slow", now)).toMatchObject({ to: "degraded", reason: "storage probe 610 ms" });
    });
  });
});
