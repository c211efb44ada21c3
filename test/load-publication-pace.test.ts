import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { OVERLOADED, PLAYING_OVERLOADED } from "../workers/shared/site-view";

/**
 * A site's load in D1's steering view is a write on D1's one primary: every site publishing every 2 s
 * is, at a thousand sites, more statements a second than the primary takes (docs/capacity.md). Isolates
 * read load from their live view of the site; D1's figure is the fallback. So a site publishes at most
 * every 2 s when an OCA's health or load class (under OVERLOADED, past it, past PLAYING_OVERLOADED: the
 * marks steering ranks by) changed, else every 30 s.
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

/** The OCA's egress set to `load` of its throughput, then a sync that served nothing: the site publishes about `load`. */
async function syncWithLoad(load: number): Promise<void> {
  await runInDurableObject(site(), (_o, state) => {
    state.storage.sql.exec(
      `INSERT INTO oca_load (oca_id, egress_bps, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (oca_id) DO UPDATE SET egress_bps = excluded.egress_bps, updated_at = excluded.updated_at`,
      OCA,
      load * THROUGHPUT_BPS,
      Date.now(),
    );
  });
  await syncAt(0);
}

/** Dates the site's last publication `ms` back. */
const publishedAgo = (ms: number) =>
  runInDurableObject(site(), (_o, state) => {
    state.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('load_published_at', ?)`, String(Date.now() - ms));
  });

const row = () => env.DB.prepare(`SELECT load, updated_at FROM oca_status WHERE oca_id = ?`).bind(OCA).first<{ load: number; updated_at: number }>();

describe("a site's load publication to D1", () => {
  it("writes again within 2 s only when an OCA's load class or health changed, and every 30 s regardless", async () => {
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

    // Between the marks (31 s on, so written whatever the class before), then 3 s on its load moved
    // within them: nothing written.
    await publishedAgo(31_000);
    await syncWithLoad(0.9);
    const between = (await row())!;
    expect(between.load).toBeGreaterThanOrEqual(OVERLOADED);
    expect(between.load).toBeLessThan(PLAYING_OVERLOADED);
    expect(between.updated_at).toBeGreaterThan(overloaded.updated_at);
    await publishedAgo(3_000);
    await syncWithLoad(0.97);
    expect((await row())!.updated_at).toBe(between.updated_at);

    // 3 s on, past its full throughput (where the sessions playing from it leave too): written at once,
    // or D1, steering's fallback, would keep them on it for up to 30 s.
    await publishedAgo(3_000);
    await syncWithLoad(1.3);
    const full = (await row())!;
    expect(full.load).toBeGreaterThanOrEqual(PLAYING_OVERLOADED);
    expect(full.updated_at).toBeGreaterThan(between.updated_at);

    // Still past it 3 s on: nothing; 31 s on: written, in the same class as it is.
    await publishedAgo(3_000);
    await syncWithLoad(1.4);
    expect((await row())!.updated_at).toBe(full.updated_at);
    await publishedAgo(31_000);
    await syncWithLoad(1.4);
    expect((await row())!.updated_at).toBeGreaterThan(full.updated_at);
  });

  it("publishes a load that decayed once its viewers left, on a sync that brought no report", async () => {
    await publishedAgo(31_000);
    await syncWithLoad(1.3);
    const busy = (await row())!;
    expect(busy.load).toBeGreaterThanOrEqual(PLAYING_OVERLOADED);

    // Its viewers gone, 3 s on: the isolate's sync has nothing to report, and the OCA's load has decayed.
    await runInDurableObject(site(), (_o, state) => {
      state.storage.sql.exec(`UPDATE oca_load SET egress_bps = ?, updated_at = ? WHERE oca_id = ?`, 0.2 * THROUGHPUT_BPS, Date.now(), OCA);
    });
    await publishedAgo(3_000);
    await site().edgeSync(null, "pace-isolate");
    await new Promise((r) => setTimeout(r, 150));
    const idle = (await row())!;
    expect(idle.load).toBeLessThan(OVERLOADED);
    expect(idle.updated_at).toBeGreaterThan(busy.updated_at);
  });

  it("tries a publication D1 refused again at the next sync past 2 s, not 30 s on", async () => {
    await publishedAgo(31_000);
    await syncWithLoad(0.3);
    const quiet = (await row())!;
    expect(quiet.load).toBeLessThan(OVERLOADED);

    // D1 refuses the site's writes to the steering view while the OCA crosses its overload mark.
    await env.DB.exec(`CREATE TRIGGER pace_test_refuse BEFORE UPDATE ON oca_status BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    try {
      await publishedAgo(3_000);
      await syncWithLoad(0.9);
      expect((await row())!.updated_at).toBe(quiet.updated_at);
    } finally {
      await env.DB.exec(`DROP TRIGGER pace_test_refuse`);
    }

    // 3 s on, the same state: the refused publication is written now.
    await publishedAgo(3_000);
    await syncWithLoad(0.9);
    const after = (await row())!;
    expect(after.load).toBeGreaterThanOrEqual(OVERLOADED);
    expect(after.updated_at).toBeGreaterThan(quiet.updated_at);
  });
});
