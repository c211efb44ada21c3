import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { countedUpTo, forgetQuietSenders, SENDER_MEMORY_MS } from "../durable-objects/site/counted-up-to";
import type { EdgeReport } from "../workers/shared/site-view";
import { countSiteRows } from "./site-rows";

/**
 * A site keeps the highest report number it counted from each isolate syncing with it (and each event
 * shard's forwards), and forgets a sender once it has been quiet for a while. Every sync that counts a
 * report does that forgetting, so it must read the quiet senders alone, not every isolate the site
 * remembers: a busy site hears from thousands.
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/** Marks of `n` isolates heard just now. */
function seedIsolates(sql: SqlStorage, n: number, now: number): void {
  sql.exec(
    `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${n})
     INSERT OR IGNORE INTO counted_up_to (sender, up_to, at) SELECT 'isolate:seed-' || i, 7, ? FROM s`,
    now,
  );
}

/** A numbered report of a second of traffic on one OCA. */
const report = (ocaId: string, seq: number): EdgeReport =>
  ({
    seq,
    windowMs: 1000,
    ocas: { [ocaId]: { bytes: 1e6, requests: 2, errors: 0, latencyMsSum: 10, bytesFrom: { embedded: 1e6 }, sessions: [], misses: [] } },
  }) as never;

/** Rows read per sync that counts a numbered report (median), with `n` other isolates remembered. */
async function rowsPerSync(siteId: string, n: number): Promise<number> {
  const stub = site(siteId);
  const ocaId = (await stub.describe()).ocas[0].ocaId;
  await runInDurableObject(stub, async (_o, state) => seedIsolates(state.storage.sql, n, Date.now()));
  const counter = await countSiteRows(stub);
  await stub.edgeSync(report(ocaId, 1), "warm-isolate");
  const perSync: number[] = [];
  for (let k = 0; k < 7; k++) {
    counter.rows = 0;
    await stub.edgeSync(report(ocaId, k + 1), "measured-isolate");
    await new Promise((r) => setTimeout(r, 0));
    perSync.push(counter.rows);
  }
  return perSync.sort((a, b) => a - b)[3];
}

describe("forgetting a site's quiet senders", () => {
  it("reads about as many rows per sync at a site that remembers 10,000 isolates as at one that remembers 100", async () => {
    const small = await rowsPerSync("ixp-ams", 100);
    const large = await rowsPerSync("lumen-lax", 10_000);
    expect(small).toBeGreaterThan(0);
    expect(large).toBeLessThan(small * 1.5 + 50);
  }, 60_000);

  it("forgets isolates quiet past their memory and shards quiet past theirs, and keeps every other sender", async () => {
    await runInDurableObject(site("rheinnet-muc"), async (_o, state) => {
      const sql = state.storage.sql;
      const now = Date.now();
      const mark = (sender: string, at: number) => sql.exec(`INSERT OR REPLACE INTO counted_up_to (sender, up_to, at) VALUES (?, 3, ?)`, sender, at);
      mark("isolate:quiet", now - SENDER_MEMORY_MS.isolate - 1);
      mark("isolate:heard", now - SENDER_MEMORY_MS.isolate + 60_000);
      mark("shard:quiet-for-an-hour", now - 3_600_000);
      mark("shard:quiet", now - SENDER_MEMORY_MS.shard - 1);
      forgetQuietSenders(sql, "isolate", now);
      expect([countedUpTo(sql, "isolate", "quiet"), countedUpTo(sql, "isolate", "heard")]).toEqual([0, 3]);
      expect([countedUpTo(sql, "shard", "quiet-for-an-hour"), countedUpTo(sql, "shard", "quiet")]).toEqual([3, 3]);
      forgetQuietSenders(sql, "shard", now);
      expect([countedUpTo(sql, "shard", "quiet-for-an-hour"), countedUpTo(sql, "shard", "quiet")]).toEqual([3, 0]);
      expect(countedUpTo(sql, "isolate", "heard")).toBe(3);
    });
  });
});
