import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { EGRESS_TAU_MS, ingestEdgeReport, liveView } from "../durable-objects/site/load";
import type { OcaSpec } from "../workers/shared/topology";

/**
 * An OCA's egress as its site reads it from isolates' reports, when a report covers more than a second:
 * a site that many isolates sync with asks each for a report every 2-20 s (workers/shared/sync-pace.ts),
 * and an isolate that serves a site now and then reports after a quiet spell. Steering compares the
 * figure with the OCA's throughput to spill an overloaded OCA, so it must read the rate, on average,
 * whatever the window, not the fraction of it that a window's bytes spread over the window are worth.
 */

const OCA: OcaSpec = { id: "link-egress-oca-1" } as OcaSpec;
const THROUGHPUT = 40e9;

const read = (sql: SqlStorage, now: number) => liveView(sql, [{ ...OCA, health: "healthy", throughputBps: THROUGHPUT } as never], now)[0].egressBps;
const report = (bytes: number, windowMs: number) => ({
  windowMs,
  ocas: { [OCA.id]: { bytes, requests: 1, errors: 0, latencyMsSum: 1, sessions: [], misses: [] } },
});

/**
 * `isolates` isolates each serving `bpsEach`, each reporting its window's bytes every `everyMs`
 * (staggered) for `seconds`; the estimate read every 100 ms in the second half, averaged, over the rate.
 */
function averageOverRate(sql: SqlStorage, isolates: number, bpsEach: number, everyMs: number, seconds: number): number {
  sql.exec(`DELETE FROM oca_load`);
  const t0 = 5_000_000;
  const offsets = Array.from({ length: isolates }, (_, i) => Math.round((i * everyMs) / isolates));
  let sum = 0;
  let n = 0;
  for (let t = 0; t <= seconds * 1000; t += 100) {
    for (const off of offsets) {
      if (t >= everyMs && (t - off) % everyMs === 0) ingestEdgeReport(sql, [OCA], report((bpsEach * everyMs) / 1000 / 8, everyMs) as never, t0 + t);
    }
    if (t >= (seconds * 1000) / 2) {
      sum += read(sql, t0 + t);
      n++;
    }
  }
  return sum / n / (isolates * bpsEach);
}

describe("an OCA's egress read from reports that each cover more than a second", () => {
  it("reads, on average, the OCA's rate when isolates report every 5 or 20 s (a busy site's interval), not a quarter of it", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("link-egress-site"));
    await runInDurableObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      // As at one second (unchanged), so at 5 and 20 s, one isolate or many.
      for (const [isolates, everyMs] of [
        [1, 1_000],
        [1, 5_000],
        [1, 20_000],
        [10, 20_000],
      ]) {
        const ratio = averageOverRate(sql, isolates, 1e9, everyMs, 120);
        expect(ratio, `${isolates} isolates every ${everyMs} ms`).toBeGreaterThan(0.85);
        expect(ratio, `${isolates} isolates every ${everyMs} ms`).toBeLessThan(1.1);
      }
    });
  });

  it("reads a burst an isolate serves after a minute's quiet as what it is worth now, not spread over the quiet minute", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("link-egress-site"));
    await runInDurableObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      sql.exec(`DELETE FROM oca_load`);
      const now = 9_000_000;
      const bytes = 100e6;
      // The isolate's link last reported a minute ago; since then it served 100 MB, just now.
      ingestEdgeReport(sql, [OCA], report(bytes, 60_000) as never, now);
      const worth = (bytes * 8) / (EGRESS_TAU_MS / 1000);
      expect(read(sql, now) / worth).toBeGreaterThan(0.85);
      expect(read(sql, now) / worth).toBeLessThan(1.05);
    });
  });
});
