import { env, runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { steeringTable } from "../workers/shared/steering-table";
import { ADMIN, addSite, call, fill, patternBytes, publishTitle, siteBody, type FixtureTitle } from "./fixtures";

/**
 * The operators' topology reads each OCA's holding figures (distinct titles listed, any version; the sum
 * of its listings' bytes) from oca_holdings, a row per OCA kept by triggers on oca_titles
 * (migrations/0010_oca_holdings.sql), instead of scanning every listing. Through the real writers (fills,
 * a re-published title, evictions, a takedown, a retire) the counters equal the old scan, run here as
 * the oracle; the summary reads a few rows per OCA where the scan reads every listing.
 */

const S = "hc-den";
const OCAS = [1, 2, 3].map((i) => `${S}-${i}`);
/** A site the topology does not have: listings written straight through the view's writer, reconciled by no object. */
const BULK = "hc-bulk";
const BULK_OCAS = [1, 2, 3].map((i) => `${BULK}-${i}`);
const SEG = "video/avc-480p/seg-00001.m4s";
const json = { ...ADMIN, "Content-Type": "application/json" };
const stub = (siteId: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(siteId));

type Holding = { oca_id: string; titles: number; bytes: number };
/** What GET /admin/topology showed before the counters: the scan of every listing. */
const SCAN = `SELECT oca_id, COUNT(DISTINCT title_id) AS titles, SUM(bytes) AS bytes FROM oca_titles GROUP BY oca_id ORDER BY oca_id`;

/** The scan and the counters, read in one batch (one transaction: the same moment of the view). */
async function scanAndCounters(): Promise<{ scan: Holding[]; counters: Holding[] }> {
  const [scan, counters] = await env.DB.batch<Holding>([
    env.DB.prepare(SCAN),
    env.DB.prepare(`SELECT oca_id, titles, bytes FROM oca_holdings ORDER BY oca_id`),
  ]);
  return { scan: scan.results, counters: counters.results };
}

/** The counters equal the scan, row for row (an OCA with no listing has no row in either); the scan, for further checks. */
async function expectExact(step: string): Promise<Map<string, Holding>> {
  const { scan, counters } = await scanAndCounters();
  expect(counters, step).toEqual(scan);
  return new Map(scan.map((r) => [r.oca_id, r]));
}

/** Each of this site's OCAs as GET /admin/topology answers it. */
async function topologyOf(siteId: string): Promise<Map<string, { titles: number; bytes: number }>> {
  const res = await call("/admin/topology", { headers: ADMIN });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { sites: Array<{ id: string; ocas: Array<{ id: string; titles: number; bytes: number }> }> };
  const site = body.sites.find((s) => s.id === siteId);
  return new Map((site?.ocas ?? []).map((o) => [o.id, { titles: o.titles, bytes: o.bytes }]));
}

/** The topology's figures for the site equal the scan's (0 and 0 for an OCA the view lists nothing for). */
async function expectTopologyMatches(step: string): Promise<void> {
  const scan = await expectExact(step);
  const shown = await topologyOf(S);
  for (const [ocaId, figures] of shown) {
    const s = scan.get(ocaId);
    expect(figures, `${step}: ${ocaId}`).toEqual({ titles: s?.titles ?? 0, bytes: s?.bytes ?? 0 });
  }
}

const listedRows = async (ocaId: string) =>
  (await env.DB.prepare(`SELECT COUNT(*) AS n FROM oca_titles WHERE oca_id = ?`).bind(ocaId).first<{ n: number }>())?.n ?? 0;

/**
 * A D1 binding that keeps each statement's `meta` of its batches, in order: what the real code's
 * statements read and wrote, as D1 bills them.
 */
function metered(): { db: D1Database; metas: D1Meta[][] } {
  const metas: D1Meta[][] = [];
  const db = new Proxy(env.DB, {
    get(t, key) {
      const v = Reflect.get(t, key) as unknown;
      if (key === "batch")
        return async (list: D1PreparedStatement[]) => {
          const results = await t.batch(list);
          metas.push(results.map((r) => r.meta));
          return results;
        };
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return { db, metas };
}

let a: FixtureTitle;
let b: FixtureTitle;
let c: FixtureTitle;

beforeAll(async () => {
  expect(
    (
      await addSite(
        siteBody(S, {
          lat: 39.74,
          lon: -104.99,
          timeZone: "America/Denver",
          ocas: OCAS.map((id) => ({ id, capacityBytes: 100_000_000, throughputBps: 1_000_000_000 })),
        }),
      )
    ).status,
  ).toBe(201);
  a = await publishTitle("hc-a");
  b = await publishTitle("hc-b", { segmentBytes: 32 * 1024 });
  c = await publishTitle("hc-c", { segmentBytes: 16 * 1024 });
});

describe("per-OCA holdings from the counter table", () => {
  it("equal the scan of every listing through fills, a new version, evictions, a takedown and a retire", async () => {
    const [o1, o2, o3] = OCAS;
    expect(
      (
        await fill([
          { siteId: S, ocaId: o1, titleIds: [a.titleId, b.titleId] },
          { siteId: S, ocaId: o2, titleIds: [a.titleId] },
          { siteId: S, ocaId: o3, titleIds: [b.titleId, c.titleId] },
        ])
      ).status,
    ).toBe(200);
    await expectTopologyMatches("filled");
    expect((await topologyOf(S)).get(o1)?.titles).toBe(2);

    // Filled again: every copy is listed again as it was (a replace of the row would count its bytes twice).
    expect((await fill([{ siteId: S, ocaId: o1, titleIds: [a.titleId, b.titleId] }])).status).toBe(200);
    expect(await stub(S).reconcile()).toMatchObject({ unpublished: 0 });
    await expectTopologyMatches("filled again");

    // A new version of a: o1 lists both versions, counted as one title, their bytes both.
    const a2 = await publishTitle(a.titleId, { change: { [SEG]: patternBytes(64 * 1024, 4242) } });
    expect(a2.version).toBe(a.version + 1);
    expect((await fill([{ siteId: S, ocaId: o1, titleIds: [a.titleId] }])).status).toBe(200);
    const versions = await env.DB.prepare(`SELECT version FROM oca_titles WHERE oca_id = ? AND title_id = ? ORDER BY version`)
      .bind(o1, a.titleId)
      .all<{ version: number }>();
    expect(versions.results.map((r) => r.version)).toEqual([a.version, a2.version]);
    await expectTopologyMatches("two versions listed");
    expect((await topologyOf(S)).get(o1)?.titles).toBe(2);

    // The old version's last session has expired: the reconcile takes its listing out, the title stays.
    await env.DB.prepare(`UPDATE title_versions SET retain_until = ? WHERE title_id = ? AND version = ?`)
      .bind(Date.now() - 1, a.titleId, a.version)
      .run();
    expect(await stub(S).reconcile()).toMatchObject({ unpublished: 2 });
    await expectTopologyMatches("old version gone");
    expect((await topologyOf(S)).get(o1)?.titles).toBe(2);

    // An eviction takes a title's last version off o1.
    const evicted = await call(`/admin/sites/${S}/ocas/${o1}/titles/${a.titleId}`, { method: "DELETE", headers: ADMIN });
    expect(evicted.status).toBe(200);
    await expectTopologyMatches("evicted");
    expect((await topologyOf(S)).get(o1)?.titles).toBe(1);

    // A takedown leaves the view everywhere at once.
    expect((await call(`/admin/titles/${c.titleId}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    await expectTopologyMatches("taken down");
    expect((await topologyOf(S)).get(o3)?.titles).toBe(1);

    // A retired OCA's listings leave the view with its rows at the site: its counter row goes too.
    expect(await listedRows(o3)).toBeGreaterThan(0);
    expect((await call(`/admin/topology/sites/${S}/ocas/${o3}/retire`, { method: "POST", headers: json })).status).toBe(200);
    for (let i = 0; i < 20 && (await listedRows(o3)) > 0; i++) await runDurableObjectAlarm(stub(S));
    expect(await listedRows(o3)).toBe(0);
    const scan = await expectExact("retired");
    expect(scan.has(o3)).toBe(false);
    expect((await env.DB.prepare(`SELECT COUNT(*) AS n FROM oca_holdings WHERE oca_id = ?`).bind(o3).first<{ n: number }>())?.n).toBe(0);
    await expectTopologyMatches("retired");
  });

  it("stay exact under the view's writers called directly: bytes changed, a version added and removed, a whole site's rows deleted", async () => {
    const copy = (ocaId: string, titleId: string, version: number, bytes: number) => ({ ocaId, titleId, version, files: 3, bytes, health: "healthy" as const });
    await steeringTable.publish(env.DB, BULK, [copy(BULK_OCAS[0], "hc-x", 1, 1000), copy(BULK_OCAS[0], "hc-x", 2, 1100), copy(BULK_OCAS[1], "hc-x", 1, 1000)]);
    await expectExact("listed");
    // The same copy listed again with other bytes: only the bytes move.
    await steeringTable.publish(env.DB, BULK, [copy(BULK_OCAS[0], "hc-x", 1, 1500)]);
    await expectExact("bytes changed by a listing");
    await env.DB.prepare(`UPDATE oca_titles SET bytes = bytes + 7 WHERE site_id = ?`).bind(BULK).run();
    await expectExact("bytes changed by an update of many rows");
    await steeringTable.unpublish(env.DB, [{ ocaId: BULK_OCAS[0], titleId: "hc-x", version: 1 }]);
    await expectExact("one of two versions removed");
    await steeringTable.unpublish(env.DB, [{ ocaId: BULK_OCAS[0], titleId: "hc-x" }]);
    await expectExact("last version removed");
    await env.DB.prepare(`DELETE FROM oca_titles WHERE site_id = ?`).bind(BULK).run();
    const scan = await expectExact("the site's rows deleted");
    for (const o of BULK_OCAS) expect(scan.has(o)).toBe(false);
  });

  it("reads a few rows per OCA for the summary, where the scan reads every listing", async () => {
    // 600 listings on three OCAs, in two versions for a third of the titles.
    const copies = Array.from({ length: 400 }, (_, i) => ({
      ocaId: BULK_OCAS[i % 3],
      titleId: `hc-bulk-${String(i).padStart(4, "0")}`,
      version: 1,
      files: 10,
      bytes: 1000 + i,
      health: "healthy" as const,
    }));
    const second = copies.filter((_, i) => i % 2 === 0).map((c) => ({ ...c, version: 2, bytes: c.bytes + 1 }));
    const all = [...copies, ...second];
    for (let i = 0; i < all.length; i += 100) await steeringTable.publish(env.DB, BULK, all.slice(i, i + 100));
    const exact = await expectExact("bulk listed");
    expect(exact.get(BULK_OCAS[0])?.titles).toBe(134);

    const { db, metas } = metered();
    const summary = await steeringTable.summary(db);
    for (const o of BULK_OCAS) expect(summary.holding.get(o)).toEqual({ titles: exact.get(o)?.titles, bytes: exact.get(o)?.bytes });
    const held = metas[0][1];
    const scanRead = (await env.DB.prepare(SCAN).all()).meta.rows_read;
    const listings = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM oca_titles`).first<{ n: number }>())?.n ?? 0;
    const ocas = exact.size;
    console.log(`HOLDINGS_ROWS_READ ${JSON.stringify({ summary: held.rows_read, scan: scanRead, listings, ocas })}`);
    expect(scanRead).toBeGreaterThanOrEqual(listings);
    expect(held.rows_read).toBeLessThanOrEqual(3 * ocas);
    expect(held.rows_read * 20).toBeLessThan(scanRead);
  });

  it("are backfilled from the listings already there by the migration's own statement", async () => {
    const migrations = (env as unknown as { TEST_MIGRATIONS: Array<{ name: string; queries: string[] }> }).TEST_MIGRATIONS;
    const migration = migrations.find((m) => m.name.startsWith("0010_"));
    const backfill = migration?.queries.find((q) => /INSERT INTO oca_holdings[\s\S]*FROM oca_titles GROUP BY oca_id/.test(q));
    expect(backfill).toBeDefined();
    const before = await scanAndCounters();
    expect(before.scan.length).toBeGreaterThan(1);
    // As the migration ran on a database with listings and no counters.
    await env.DB.batch([env.DB.prepare(`DELETE FROM oca_holdings`), env.DB.prepare(backfill!)]);
    await expectExact("backfilled");
    expect((await scanAndCounters()).counters).toEqual(before.counters);
  });

  it("adds a bounded number of rows written to each listing write", async () => {
    // On a real title (the catalogue stamps of migrations/0005 write its row too), at an OCA of the bulk site.
    const o = BULK_OCAS[2];
    const t = "hc-a";
    const { db, metas } = metered();
    const listing = (version: number, bytes: number) => ({ ocaId: o, titleId: t, version, files: 5, bytes, health: "healthy" as const });
    const writes: Record<string, number> = {};
    const last = () => metas[metas.length - 1][0].rows_written;
    await steeringTable.publish(db, BULK, [listing(7, 100)]);
    writes.newTitle = last();
    await steeringTable.publish(db, BULK, [listing(7, 100)]);
    writes.listedAgain = last();
    await steeringTable.publish(db, BULK, [listing(8, 200)]);
    writes.secondVersion = last();
    await steeringTable.publish(db, BULK, [listing(8, 250)]);
    writes.bytesChanged = last();
    await steeringTable.unpublish(db, [{ ocaId: o, titleId: t, version: 7 }]);
    writes.versionRemoved = last();
    await steeringTable.unpublish(db, [{ ocaId: o, titleId: t, version: 8 }]);
    writes.lastVersionRemoved = last();
    console.log(`HOLDINGS_ROWS_WRITTEN ${JSON.stringify(writes)}`);
    await expectExact("after the writes measured");
    for (const [k, n] of Object.entries(writes)) expect(n, k).toBeGreaterThan(0);
    // A copy listed again as it was moves no counter; with other bytes, the counter's one row more.
    expect(writes.bytesChanged - writes.listedAgain).toBe(1);
  });
});
