import { env } from "cloudflare:test";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { catalogueCache } from "../workers/control/catalogue-cache";
import { shareLook } from "../workers/control/colo-look";
import { catalogueDb } from "../workers/shared/catalogue-db";
import { newestBookmark } from "../workers/shared/replica-reads";
import { topologyVersion } from "../workers/shared/topology";
import { forgetTopologyLooks } from "../workers/shared/topology-live";
import { ADMIN, callWithEnv, GEO, memberToken, publishTitle } from "./fixtures";
import { coloNamespace } from "../workers/shared/colo-namespace";

/**
 * What the isolates of a colo share of the catalogue view (colo-look.ts, colo-loads.ts) against the
 * cases where sharing must not make a view older than it would be alone: an answer taken from the
 * colo reached through a replica behind it, a change made through this isolate, a look that overlaps
 * that change, and a Cache API that is slow to take a put. One test isolate stands for several, as in
 * test/catalogue-colo-look.test.ts; D1 and the Cache API are wrapped only where the local runtime
 * cannot be slow or behind.
 */

/** The namespace the Worker under test keys its colo entries by (its version). */
const NS = coloNamespace(env);
const TTL_S = "60";
const TTL_MS = 60_000;
const FLOOR = "colo-review-floor";
const BROWSED = "colo-review-browsed";
const RACED = "colo-review-raced";
const SLOW_PUT = "colo-review-slow-put";
const BEHIND = "colo-review-behind";
const TTL = { ...env, CATALOGUE_TTL_S: TTL_S } as Env;
const withDb = (db: D1Database) => ({ ...env, CATALOGUE_TTL_S: TTL_S, DB: db }) as Env;

/** Keeps a case inside one window of the shared look (half the TTL; the browse list's TTL windows end on its ends too): waits out its last two seconds. */
async function inOneWindow(): Promise<void> {
  const left = TTL_MS / 2 - (Date.now() % (TTL_MS / 2));
  if (left < 2_000) await new Promise((r) => setTimeout(r, left + 10));
}

/** The binding, recording what each session it opens starts from (a bookmark, or a constraint such as "first-unconstrained"). */
function sessionsRecorded(opened: string[]): D1Database {
  return new Proxy(env.DB, {
    get(t, key) {
      const v = Reflect.get(t, key) as unknown;
      if (key === "withSession")
        return (from: string) => {
          opened.push(from);
          return t.withSession(from);
        };
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/** The binding, with the change look's answer held after D1 gave it until `gate` opens (`reached` once D1 answered). */
function lookHeldAfterD1(gate: Promise<void>, reached: () => void): D1Database {
  const wrap = <T extends object>(target: T, look: boolean): T =>
    new Proxy(target, {
      get(t, key) {
        const value = Reflect.get(t, key) as unknown;
        if (typeof value !== "function") return value;
        const fn = value as (...a: unknown[]) => unknown;
        if (key === "withSession") return (...a: unknown[]) => wrap(fn.apply(t, a) as object, false);
        if (key === "prepare") return (...a: unknown[]) => wrap(fn.apply(t, a) as object, String(a[0]).includes("topology_version"));
        if (key === "bind") return (...a: unknown[]) => wrap(fn.apply(t, a) as object, look);
        if (key === "all" && look)
          return async (...a: unknown[]) => {
            const r = await fn.apply(t, a);
            reached();
            await gate;
            return r;
          };
        return fn.bind(t);
      },
    });
  return wrap(env.DB, false);
}

const request = (path: string, init: RequestInit & { geo?: string } = {}) => callWithEnv(TTL as Env, path, init);

const play = async (titleId: string) =>
  request("/v1/play", {
    method: "POST",
    headers: { Authorization: `Bearer ${await memberToken("premium")}`, "Content-Type": "application/json" },
    body: JSON.stringify({ titleId, device: { codecs: ["avc1", "mp4a"], maxHeight: 1080 } }),
    geo: GEO.lumenNyc,
  });
const listed = async () => {
  const res = await request("/v1/titles?limit=200", { headers: { Authorization: `Bearer ${await memberToken("premium")}` }, geo: GEO.lumenNyc });
  expect(res.status).toBe(200);
  return ((await res.json()) as { titles: Array<{ id: string }> }).titles.map((t) => t.id);
};
const takeDown = async (titleId: string) => expect((await request(`/admin/titles/${titleId}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);

beforeAll(async () => {
  for (const t of [FLOOR, BROWSED, RACED, SLOW_PUT, BEHIND]) await publishTitle(t);
});

beforeEach(() => {
  catalogueCache.clear();
  forgetTopologyLooks();
});

const cache = caches.default;
const realPut = cache.put;
afterEach(() => {
  cache.put = realPut;
});

describe("the colo's shared catalogue view", () => {
  it("reads no older than the colo's answer it took: its sessions start from the bookmark of the read that answered", async () => {
    await inOneWindow();
    // The primary moves past anything this isolate has read (a change made through another isolate).
    await env.DB.prepare("UPDATE titles SET description = ? WHERE id = ?").bind(`moved ${Date.now()}`, FLOOR).run();
    const primary = env.DB.withSession("first-primary");
    await primary.prepare("SELECT 1").run();
    const bookmark = primary.getBookmark() ?? "";
    expect(bookmark > (newestBookmark() ?? "")).toBe(true);
    // Another isolate of the colo looked in D1 at that bookmark and shared its answer (a first look's).
    const { latest, mark } = await catalogueDb.changedSince(env.DB, Number.MAX_SAFE_INTEGER, null);
    await shareLook(NS, TTL_MS, Date.now(), null, { latest, mark, topologyVersion: topologyVersion(), changed: [] }, bookmark);

    const opened: string[] = [];
    const shared = catalogueCache.sharedLooks;
    expect((await catalogueCache.title(withDb(sessionsRecorded(opened)), FLOOR))?.title.id).toBe(FLOOR);
    expect(catalogueCache.sharedLooks).toBe(shared + 1);
    // The title's load (what it then puts for the colo under that state) reads a replica at least as new as
    // that answer: one behind it would give the title as it was before the state the entry is keyed by.
    expect(opened.length).toBeGreaterThan(0);
    for (const from of opened) {
      expect(from.startsWith("first-")).toBe(false);
      expect(from >= bookmark).toBe(true);
    }
  });

  it("lists a takedown made through this isolate in its next browse list, not the colo's list from before it", async () => {
    await inOneWindow();
    catalogueCache.changedHere();
    // The isolate has looked (a play), and its browse list is loaded and shared for the colo at that state.
    expect((await play(BROWSED)).status).toBe(200);
    expect(await listed()).toContain(BROWSED);
    await takeDown(BROWSED);
    // No play in between: the browse list loads again on its own.
    expect(await listed()).not.toContain(BROWSED);
  });

  it("looks again after a change made through this isolate while a look that began before it was answering", async () => {
    catalogueCache.changedHere();
    expect((await catalogueCache.title(TTL, RACED))?.title.taken_down_at).toBeNull();
    let reached!: () => void;
    const answered = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A look begins (D1 answers it from before the takedown; the answer is on its way back)...
    catalogueCache.staleNow();
    const looking = catalogueCache.title(withDb(lookHeldAfterD1(gate, reached)), RACED);
    await answered;
    // ...an operator takes the title down through this isolate, and then the look's answer arrives.
    await takeDown(RACED);
    release();
    await looking;
    // The isolate's next read still looks for the change it made: the title is down.
    expect((await catalogueCache.title(TTL, RACED))?.title.taken_down_at).not.toBeNull();
    expect((await play(RACED)).status).toBe(410);
  });

  it("keeps the newer state when a look that began earlier ends after it, so the colo's entries from before a takedown are not taken", async () => {
    catalogueCache.changedHere();
    const version = (await catalogueCache.title(TTL, BEHIND))?.title.version ?? 0;
    const session = { country: "US", grantedAt: Date.now() };
    // The version's view is loaded, and shared for the colo, at this state: the title is up.
    expect((await catalogueCache.version(TTL, BEHIND, version, session)).standing).toBe("up");
    let reached!: () => void;
    const answered = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A look begins; D1 answers it from before the takedown, and the answer is on its way back...
    catalogueCache.staleNow();
    const looking = catalogueCache.title(withDb(lookHeldAfterD1(gate, reached)), BEHIND);
    await answered;
    // ...the title is taken down through this isolate, whose next read looks and sees it...
    await takeDown(BEHIND);
    expect((await catalogueCache.title(TTL, BEHIND))?.title.taken_down_at).not.toBeNull();
    // ...and then the older look's answer arrives.
    release();
    await looking;
    // A steering poll of the version (its view dropped by the takedown's look) is answered as D1 has it now.
    expect((await catalogueCache.version(TTL, BEHIND, version, session)).standing).toBe("taken_down");
  });

  it("answers a cold isolate's play without waiting for the colo cache to take the look's answer", async () => {
    // A put that never completes (a Cache API slow to take it): the look's answer must not wait for it.
    cache.put = (() => new Promise<void>(() => {})) as typeof cache.put;
    catalogueCache.changedHere();
    const started = Date.now();
    const later: Promise<unknown>[] = [];
    const ctx = await catalogueCache.title(TTL, SLOW_PUT, (p) => later.push(p));
    expect(ctx?.title.id).toBe(SLOW_PUT);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("plays and lists from D1 when the Cache API refuses every read and put", async () => {
    cache.put = (async () => {
      throw new Error("injected: cache put refused");
    }) as typeof cache.put;
    const realMatch = cache.match;
    cache.match = (async () => {
      throw new Error("injected: cache read refused");
    }) as typeof cache.match;
    try {
      catalogueCache.changedHere();
      expect((await play(FLOOR)).status).toBe(200);
      expect(await listed()).toContain(FLOOR);
    } finally {
      cache.match = realMatch;
    }
  });
});
