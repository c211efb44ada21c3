import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ingestEdgeReport } from "../durable-objects/site/load";
import { SEEN_BUCKET_MS } from "../shared/session-activity";
import { setMeta } from "../durable-objects/site/sql";
import type { EdgeReport } from "../workers/shared/site-view";
import type { OcaSpec } from "../workers/shared/topology";
import { countSiteRows } from "./site-rows";

/**
 * A site's object answers every isolate's sync (hundreds a second at a busy site), so what one sync
 * reads from its SQLite must not grow with the site: its active sessions, its holdings, its history,
 * its CMCD rows, or the reports of the last seconds from other isolates. Measured as the rows SQLite
 * reads during a sync (`countSiteRows`), at a small and
 * a large state of the same site. Rows, not time: workerd's clock does not move during computation.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fills a site's tables as a site this size would hold them (`n` scales every table). */
function seed(sql: SqlStorage, ocas: string[], n: number, now: number): void {
  const series = (count: number) => `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${count})`;
  for (const oca of ocas) {
    // Active sessions, and what each OCA holds.
    sql.exec(
      `${series(n)} INSERT OR IGNORE INTO oca_sessions (oca_id, session_id, last_seen, seen_bucket) SELECT ?, 'seed-' || i, ?, ? FROM s`,
      oca,
      now,
      Math.floor(now / SEEN_BUCKET_MS),
    );
    sql.exec(
      `${series(n)} INSERT OR IGNORE INTO holdings (oca_id, title_id, path, sha256, bytes, state, source, updated_at)
       SELECT ?, 'seed-title-' || (i % 100), 'seg-' || i, 'h', 1000, 'ready', 'origin', 0 FROM s`,
      oca,
    );
    // The last seconds of other isolates' reports.
    for (let i = 0; i < n / 10; i++)
      sql.exec(`INSERT OR IGNORE INTO oca_traffic (oca_id, bucket, requests, errors, latency_ms_sum) VALUES (?, ?, 1, 0, 5)`, oca, now - (i % 20) * 250);
  }
  sql.exec(
    `${series(n)} INSERT OR IGNORE INTO views (day, title_id, plays, bytes, est_bytes) SELECT 20000 + (i % 120), 'seed-title-' || (i / 120), 1, 1, 0 FROM s`,
  );
  sql.exec(
    `${series(n)} INSERT OR IGNORE INTO cmcd_sessions (session_id, title_id, requests, bytes, stalls, startups, last_oca, first_at, last_at, heard_at)
     SELECT 'seed-' || i, 't', 1, 1, 0, 0, 'o', ?, ?, ? FROM s`,
    now,
    now,
    now,
  );
  sql.exec(
    `${series(n)} INSERT OR IGNORE INTO session_views (session_id, title_id, play_day, started_at, est_bytes, top_bps, est_counted, served)
     SELECT 'seed-' || i, 't', 20000, ?, 1000, 8000, 0, 1 FROM s`,
    now,
  );
}

/** One isolate's report: a second of traffic on each OCA, its sessions' bytes, a few plays and CMCD. */
function report(ocas: string[], k: number, now: number): EdgeReport {
  return {
    windowMs: 1000,
    ocas: Object.fromEntries(
      ocas.map((o) => [
        o,
        {
          bytes: 5e6,
          requests: 20,
          errors: 0,
          latencyMsSum: 100,
          bytesFrom: { embedded: 5e6 },
          sessions: Array.from({ length: 20 }, (_, i) => ({ id: `sync-${k}-${i}`, bytes: 250_000 })),
          misses: [],
        },
      ]),
    ),
    plays: Array.from({ length: 3 }, (_, i) => ({
      sessionId: `play-${k}-${i}`,
      titleId: "seed-title-1",
      day: 20000,
      estBytes: 1e9,
      topBps: 5e6,
      startedAt: now,
      endsAt: now + 3_600_000,
    })),
    cmcd: Array.from({ length: 5 }, (_, i) => ({
      sessionId: `seed-${i + 1}`,
      titleId: "t",
      sid: null,
      requests: 2,
      bytes: 100_000,
      stalls: 0,
      startups: 0,
      bitrateKbps: 3000,
      topBitrateKbps: 3000,
      bufferMs: 10_000,
      throughputKbps: 20_000,
      lastOca: `x/${ocas[0]}`,
      firstAt: now,
      lastAt: now,
    })),
  } as unknown as EdgeReport;
}

/** Rows read per sync (median of `syncs`), with the site's tables seeded at size `n`. */
async function rowsPerSync(siteId: string, n: number, syncs = 9): Promise<number> {
  const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName(siteId));
  const ocas = (await stub.describe()).ocas.map((o) => o.ocaId);
  const now = Date.now();
  await runInDurableObject(stub, async (_o, state) => seed(state.storage.sql, ocas, n, now));
  const counter = await countSiteRows(stub);
  // Warm: the first sync after a start reads what later ones skip (counts a second old, and so on).
  await stub.edgeSync(report(ocas, -1, now), "warm");
  // The seeded sessions are still there after a sync: the site measured is the size claimed.
  const seeded = await runInDurableObject(stub, async (_o, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM oca_sessions`).one().n);
  expect(seeded).toBeGreaterThanOrEqual(n * ocas.length);
  const perSync: number[] = [];
  for (let k = 0; k < syncs; k++) {
    counter.rows = 0;
    await stub.edgeSync(report(ocas, k, Date.now()), `isolate-${k}`);
    await sleep(0);
    perSync.push(counter.rows);
  }
  return perSync.sort((a, b) => a - b)[Math.floor(perSync.length / 2)];
}

describe("what a site's object reads to answer a sync", () => {
  it("does not grow with the site's sessions, holdings, history, CMCD or the other isolates' recent reports", async () => {
    const small = await rowsPerSync("ixp-sjc", 200);
    const large = await rowsPerSync("rheinnet-ber", 20_000);
    console.log(`SITE_SYNC_ROWS ${JSON.stringify({ small: { n: 200, rowsPerSync: small }, large: { n: 20_000, rowsPerSync: large } })}`);
    expect(small).toBeGreaterThan(0);
    expect(large).toBeLessThan(small * 1.5 + 50);
  }, 120_000);
});

describe("what a site's object writes on every sync", () => {
  it("writes an OCA's load, a meta value and a session's activity as one row each (an upsert; a replace deletes and inserts, two; an indexed time two more)", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("ixp-sjc"));
    await runInDurableObject(stub, async (_o, state) => {
      const written: Record<string, number> = {};
      const real = state.storage.sql;
      const sql = {
        databaseSize: real.databaseSize,
        exec: (q: string, ...args: SqlStorageValue[]) => {
          const cursor = real.exec(q, ...args);
          const table = /^\s*(?:INSERT INTO|UPDATE) (\w+)/.exec(q)?.[1] ?? "other";
          written[table] = (written[table] ?? 0) + cursor.rowsWritten;
          return cursor;
        },
      } as SqlStorage;
      const oca = { id: "ixp-sjc-1" } as OcaSpec;
      const session = { id: crypto.randomUUID(), bytes: 1000 };
      const load = { windowMs: 1000, ocas: { [oca.id]: { bytes: 1e6, requests: 1, errors: 0, latencyMsSum: 1, sessions: [session], misses: [] } } } as never;
      // The second of each is the steady state: the row is there. (Both at the start of a bucket of sightings.)
      const at = Math.ceil(Date.now() / SEEN_BUCKET_MS) * SEEN_BUCKET_MS;
      for (let k = 0; k < 2; k++) {
        for (const key of Object.keys(written)) delete written[key];
        ingestEdgeReport(sql, [oca], load, at + k * 4_000);
        setMeta(sql, "sync-cost-test", k);
      }
      expect(written.oca_load).toBe(1);
      expect(written.meta).toBe(1);
      expect(written.oca_sessions).toBe(1);
      // Into the next bucket, its index entry moves too.
      for (const key of Object.keys(written)) delete written[key];
      ingestEdgeReport(sql, [oca], load, at + SEEN_BUCKET_MS);
      expect(written.oca_sessions).toBe(3);
    });
  });
});
