import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ingestEdgeReport, liveView } from "../durable-objects/site/load";
import { OVERLOADED } from "../workers/control/steering";
import type { OcaSpec } from "../workers/shared/topology";

/**
 * An OCA's egress as its site object reads it from the data plane's batched reports: every isolate
 * serving the OCA reports its own bytes each second, so the estimate is a decayed sum whose steady
 * state is the OCA's whole rate, what steering compares with its throughput to spill an overloaded OCA.
 */

const OCA: OcaSpec = { id: "load-oca-1" } as OcaSpec;
const THROUGHPUT = 40e9;

/** The estimate after `isolates` isolates each reported `bpsEach` once a second (staggered) for `seconds`. */
function estimate(sql: SqlStorage, isolates: number, bpsEach: number, seconds: number): { egressBps: number; load: number } {
  sql.exec(`DELETE FROM oca_load`);
  const t0 = 1_000_000;
  for (let s = 0; s < seconds; s++) {
    for (let i = 0; i < isolates; i++) {
      const report = { windowMs: 1000, ocas: { [OCA.id]: { bytes: bpsEach / 8, requests: 1, errors: 0, latencyMsSum: 1, sessions: [], misses: [] } } };
      ingestEdgeReport(sql, [OCA], report as never, t0 + s * 1000 + Math.round((i * 1000) / isolates));
    }
  }
  // Read as the last report lands.
  const [live] = liveView(sql, [{ ...OCA, health: "healthy", throughputBps: THROUGHPUT } as never], t0 + seconds * 1000 - Math.round(1000 / isolates));
  return live;
}

describe("an OCA's egress estimate", () => {
  it("reads one isolate's steady rate as that rate, and ten isolates' as their sum", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("load-site"));
    await runInDurableObject(stub, (_i, state) => {
      const one = estimate(state.storage.sql, 1, 10e9, 30);
      expect(one.egressBps / 10e9).toBeGreaterThan(0.93);
      expect(one.egressBps / 10e9).toBeLessThan(1.05);
      // Read as one report lands, the other nine are on average half a second old (unreported bytes since).
      const ten = estimate(state.storage.sql, 10, 1e9, 30);
      expect(ten.egressBps / 10e9).toBeGreaterThan(0.88);
      expect(ten.egressBps / 10e9).toBeLessThan(1.05);
    });
  });

  it("marks an OCA serving its whole throughput from many isolates as overloaded", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("load-site"));
    await runInDurableObject(stub, (_i, state) => {
      expect(estimate(state.storage.sql, 10, THROUGHPUT / 10, 30).load).toBeGreaterThanOrEqual(OVERLOADED);
      expect(estimate(state.storage.sql, 10, THROUGHPUT / 20, 30).load).toBeLessThan(OVERLOADED);
    });
  });

  it("fades once the reports stop: a fifth of the rate after 8 s of silence", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("load-site"));
    await runInDurableObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      estimate(sql, 1, 10e9, 30);
      const [later] = liveView(sql, [{ ...OCA, health: "healthy", throughputBps: THROUGHPUT } as never], 1_000_000 + 29_000 + 8_000);
      expect(later.egressBps / 10e9).toBeLessThan(0.22);
      expect(later.egressBps / 10e9).toBeGreaterThan(0.18);
    });
  });

  it("counts a report sent again after a failed sync by when it was measured: two minutes late, it is not egress now", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("load-site-resent"));
    await runInDurableObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      const t = 5_000_000;
      const report = { windowMs: 1000, ocas: { [OCA.id]: { bytes: THROUGHPUT / 8, requests: 1, errors: 0, latencyMsSum: 1, sessions: [], misses: [] } } };
      const view = () => liveView(sql, [{ ...OCA, health: "healthy", throughputBps: THROUGHPUT } as never], t)[0];
      ingestEdgeReport(sql, [OCA], report as never, t, t - 120_000);
      expect(view().egressBps).toBeLessThan(1);
      // The same report measured a second ago counts what its bytes are worth after that second.
      ingestEdgeReport(sql, [OCA], report as never, t, t - 1_000);
      const fresh = (1 - Math.exp(-1_000 / 5_000)) * THROUGHPUT;
      expect(view().egressBps / (fresh * Math.exp(-1_000 / 5_000))).toBeCloseTo(1, 6);
    });
  });
});
