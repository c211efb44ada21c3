import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { IsolatesHeard } from "../durable-objects/site/isolates-heard";
import { siteStub, siteView } from "../workers/shared/site-link";
import { MAX_SYNC_EVERY_MS, paceFromView, SYNC_MS, SYNCS_PER_S_TARGET, syncEveryMs } from "../workers/shared/sync-pace";
import { ADMIN, call } from "./fixtures";

/**
 * A site's object asks for longer sync intervals when more isolates sync with it than it should take
 * (thousands of isolates at a national peak, each syncing every second, would pass one object's rate),
 * and an isolate syncs at the interval its site asked.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the interval a site asks", () => {
  it("is one second up to the target of isolates, then grows so the site takes about the target a second", () => {
    expect(syncEveryMs(0)).toBe(SYNC_MS);
    expect(syncEveryMs(SYNCS_PER_S_TARGET)).toBe(SYNC_MS);
    expect(syncEveryMs(SYNCS_PER_S_TARGET + 1)).toBe(2 * SYNC_MS);
    // The Open Connect-sized scenario of bench:scale: 5,000 isolates, 500 syncs a second.
    expect(syncEveryMs(5_000)).toBe(10_000);
    expect(5_000 / (syncEveryMs(5_000) / 1000)).toBeLessThanOrEqual(SYNCS_PER_S_TARGET);
    expect(syncEveryMs(1e9)).toBe(MAX_SYNC_EVERY_MS);
  });

  it("is read by an isolate within its bounds, whatever a site answers", () => {
    expect(paceFromView(3_000)).toBe(3_000);
    for (const bad of [undefined, null, "3000", Number.NaN, Number.POSITIVE_INFINITY]) expect(paceFromView(bad)).toBe(SYNC_MS);
    expect(paceFromView(-5)).toBe(SYNC_MS);
    expect(paceFromView(1e9)).toBe(MAX_SYNC_EVERY_MS);
  });

  it("counts the isolates heard lately, and falls back to one second once they go quiet", () => {
    const heard = new IsolatesHeard();
    const t0 = 1_000_000;
    let asked = 0;
    for (let i = 0; i < 1_200; i++) asked = heard.note(`isolate-${i}`, t0 + i);
    expect(asked).toBe(3 * SYNC_MS);
    // The same isolates again count once each.
    for (let i = 0; i < 1_200; i++) asked = heard.note(`isolate-${i}`, t0 + 2_000 + i);
    expect(heard.pace(t0 + 3_200)).toEqual({ isolates: 1_200, everyMs: 3 * SYNC_MS });
    // Only one keeps syncing: the others leave the window (twice the interval) and the interval falls.
    heard.note("isolate-0", t0 + 20_000);
    expect(heard.pace(t0 + 20_000)).toEqual({ isolates: 1, everyMs: SYNC_MS });
  });

  it("ignores a sync that names no usable isolate", () => {
    const heard = new IsolatesHeard();
    for (const bad of [undefined, null, 42, "", "x".repeat(65), { id: "a" }]) heard.note(bad, 1_000);
    expect(heard.pace(1_000).isolates).toBe(0);
  });

  it("bounds what it remembers", () => {
    const heard = new IsolatesHeard(100);
    for (let i = 0; i < 1_000; i++) heard.note(`isolate-${i}`, 1_000);
    expect(heard.pace(1_000).isolates).toBe(100);
  });
});

describe("a site's object under many isolates", () => {
  it("asks every isolate for a longer interval, and says so to operators", async () => {
    const site = siteStub(env, "rheinnet-muc");
    let view: { syncEveryMs?: number } = {};
    for (let i = 0; i < 1_200; i += 100)
      for (const v of await Promise.all(Array.from({ length: 100 }, (_, k) => site.edgeSync(null, `peak-isolate-${i + k}`)))) view = v;
    expect(view.syncEveryMs).toBe(3 * SYNC_MS);
    const state = (await (await call("/admin/sites/rheinnet-muc", { headers: ADMIN })).json()) as { syncs: { isolates: number; everyMs: number } };
    expect(state.syncs).toEqual({ isolates: 1_200, everyMs: 3 * SYNC_MS });
  });

  it("is synced by an isolate at the interval it asked, not every second", async () => {
    // 1,200 other isolates sync with the site, as at a peak; this isolate's link then asks it only every 3 s.
    const siteId = "rheinnet-ber";
    await Promise.all(Array.from({ length: 1_200 }, (_, i) => siteStub(env, siteId).edgeSync(null, `other-isolate-${i}`)));
    // The one thing wrapped: the site binding, to count this isolate's syncs (the runtime does not count them).
    let syncs = 0;
    const counting = new Proxy(env.OCA_SITE, {
      get(t, key) {
        const v = Reflect.get(t, key) as unknown;
        if (key !== "get") return typeof v === "function" ? v.bind(t) : v;
        return (id: DurableObjectId) => {
          const stub = t.get(id);
          return new Proxy(stub, {
            get(s, k) {
              const v = Reflect.get(s, k) as unknown;
              if (k !== "edgeSync" || typeof v !== "function") return v;
              return (...args: unknown[]) => {
                syncs++;
                return Reflect.apply(v as (...a: unknown[]) => unknown, s, args);
              };
            },
          });
        };
      },
    });
    const countingEnv = { ...env, OCA_SITE: counting } as Env;
    const pending: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void pending.push(p);

    const first = await siteView(countingEnv, siteId, waitUntil, { awaitRefresh: true });
    expect(syncs).toBe(1);
    expect(first.view?.syncEveryMs).toBe(3 * SYNC_MS);
    const syncedAt = Date.now();
    // Past one second: before, this read started a sync; now the view is young for this site.
    await sleep(1_300);
    await siteView(countingEnv, siteId, waitUntil, { awaitRefresh: true });
    await Promise.all(pending);
    expect(syncs).toBe(1);
    // Past the asked interval the next read syncs again.
    await sleep(3 * SYNC_MS + 100 - (Date.now() - syncedAt));
    await siteView(countingEnv, siteId, waitUntil);
    await Promise.all(pending);
    expect(syncs).toBe(2);
  });
});
