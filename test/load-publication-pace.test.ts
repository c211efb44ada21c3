import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { OVERLOADED } from "../workers/shared/site-view";

/**
 * A site's load in D1's steering view is a write on D1's one primary: every site publishing every 2 s
 * is, at a thousand sites, more statements a second than the primary takes (docs/capacity.md). Isolates
 * read load from their live view of the site; D1's figure is the fallback. So a site publishes at most
 * every 2 s when an OCA's health or overload (what steering ranks by) changed, else every 30 s.
 * Time is moved by dating the site's last publication back, not waited for.
 */

const SITE = "polder-ams";
const OCA = "polder-ams-2";
const THROUGHPUT_BPS = 10e9;
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
let seq = 1;

/** One sync carrying a second of `bps` served by the OCA; then the publication it set off (behind the answer). */
async function syncAt(bps: number): Promise<void> {
  const report = { seq: seq++, windowMs: 1000, ocas: { [OCA]: { bytes: bps / 8, requests: 10, errors: 0, latencyMsSum: 100, sessions: [], misses: [] } } };
  await site().edgeSync(report as never, "pace-isolate");
  await new Promise((r) => setTimeout(r, 150));
}

/** Dates the site's last publication `ms` back. */
const publishedAgo = (ms: number) =>
  runInDurableObject(site(), (_o, state) => {
    state.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('load_published_at', ?)`, String(Date.now() - ms));
  });

const row = () => env.DB.prepare(`SELECT load, updated_at FROM oca_status WHERE oca_id = ?`).bind(OCA).first<{ load: number; updated_at: number }>();

describe("a site's load publication to D1", () => {
  it("writes again within 2 s only when an OCA's overload or health changed, and every 30 s regardless", async () => {
    await syncAt(1e9);
    const first = (await row())!;
    expect(first.load).toBeLessThan(OVERLOADED);

    // 3 s later, the same state: nothing written.
    await publishedAgo(3_000);
    await syncAt(1e9);
    expect((await row())!.updated_at).toBe(first.updated_at);

    // 3 s later, the OCA past its overload mark: written at once.
    await publishedAgo(3_000);
    for (let i = 0; i < 12 && ((await row())!.load ?? 0) < OVERLOADED; i++) await syncAt(2 * THROUGHPUT_BPS);
    const overloaded = (await row())!;
    expect(overloaded.load).toBeGreaterThanOrEqual(OVERLOADED);
    expect(overloaded.updated_at).toBeGreaterThan(first.updated_at);

    // Still overloaded 3 s on: nothing; 31 s on: written, unchanged as it is.
    await publishedAgo(3_000);
    await syncAt(2 * THROUGHPUT_BPS);
    expect((await row())!.updated_at).toBe(overloaded.updated_at);
    await publishedAgo(31_000);
    await syncAt(2 * THROUGHPUT_BPS);
    expect((await row())!.updated_at).toBeGreaterThan(overloaded.updated_at);
  });
});
