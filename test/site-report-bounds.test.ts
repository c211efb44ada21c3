import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { EGRESS_TAU_MS, liveView, MAX_REPORT_BYTES } from "../durable-objects/site/load";
import { findSite } from "../workers/shared/topology";

/**
 * A site takes its isolates' batched reports over RPC: checked, not trusted. A figure no isolate could
 * honestly report (a byte count past any report's window of serving, from a bug or an isolate on other
 * code) counts as at most MAX_REPORT_BYTES, so an OCA's load stays a finite figure that fades as
 * reports stop, and the site's load still reaches the steering view.
 */

const SITE = "polder-ams";
const OCA = "polder-ams-1";
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HUGE = 1e308;

describe("a report claiming more bytes than an isolate could serve", () => {
  it("leaves the OCA's load finite and fading, and its figures still published", async () => {
    const view = await site().edgeSync(
      {
        seq: 1,
        windowMs: 1_000,
        ocas: {
          [OCA]: {
            bytes: HUGE,
            requests: 1,
            errors: 0,
            latencyMsSum: 5,
            bytesFrom: { embedded: HUGE },
            sessions: [{ id: "bounds-session-1", bytes: HUGE, home: true }],
            misses: [{ titleId: "bounds-title", kind: "content", count: HUGE, bytes: HUGE }],
          },
        },
        servedAway: [{ id: "bounds-session-2", bytes: HUGE }],
      },
      "report-bounds-isolate",
    );
    const o = view.ocas.find((x) => x.ocaId === OCA)!;
    expect(Number.isFinite(o.egressBps)).toBe(true);
    expect(o.egressBps).toBeLessThanOrEqual(8 * MAX_REPORT_BYTES);
    // The load write reaches D1 (a non-finite load fails the whole site's write).
    let row: { load: number | null } | null = null;
    for (let i = 0; i < 50 && row?.load == null; i++) {
      await sleep(20);
      row = await env.DB.prepare(`SELECT load FROM oca_status WHERE oca_id = ?`).bind(OCA).first<{ load: number | null }>();
    }
    expect(row?.load).toBeGreaterThan(1);
    await runInDurableObject(site(), async (_i, state) => {
      const sql = state.storage.sql;
      // Once reports stop, it fades below the OCA's whole throughput within a minute.
      const spec = findSite(SITE)!.ocas.find((x) => x.id === OCA)!;
      const [later] = liveView(sql, [{ ...spec, health: "healthy", throughputBps: spec.throughputBps }], Date.now() + 12 * EGRESS_TAU_MS);
      expect(later.load).toBeLessThan(1);
      for (const figure of [
        sql.exec(`SELECT SUM(bytes) AS n FROM served_daily`).one().n,
        sql.exec(`SELECT SUM(bytes) AS n FROM served_hourly`).one().n,
        sql.exec(`SELECT bytes AS n FROM served_early WHERE session_id = 'bounds-session-1'`).one().n,
        sql.exec(`SELECT bytes AS n FROM served_early WHERE session_id = 'bounds-session-2'`).one().n,
        sql.exec(`SELECT count AS n FROM misses WHERE title_id = 'bounds-title'`).one().n,
        sql.exec(`SELECT bytes AS n FROM misses WHERE title_id = 'bounds-title'`).one().n,
      ]) {
        expect(Number.isFinite(figure)).toBe(true);
        expect(figure as number).toBeLessThanOrEqual(MAX_REPORT_BYTES);
      }
    });
  });
});
