import { env } from "cloudflare:test";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { catalogueCache } from "../workers/control/catalogue-cache";
import { lookEntryUrl, lookWindowMs, type SeenState, shareLook, sharedLook } from "../workers/control/colo-look";
import { catalogueDb } from "../workers/shared/catalogue-db";
import { forgetTopologyLooks } from "../workers/shared/topology-live";
import { fault, faultyDb } from "./faulty-d1";
import { publishTitle } from "./fixtures";
import { coloNamespace } from "../workers/shared/colo-namespace";

/**
 * The catalogue's change look shared by a colo's isolates through the Cache API (the real one of this
 * workerd). One test isolate stands for many: `catalogueCache.clear()` is a new isolate that has seen no
 * state, and an answer put with `shareLook` is what another isolate of the colo got from D1. The D1
 * binding is wrapped only to record the statements the look sends (the local runtime cannot count them).
 */

/** The namespace the Worker under test keys its colo entries by (its version). */
const NS = coloNamespace(env);
const TITLE = "colo-look-title";
const TTL_S = "60";
const TTL_MS = 60_000;
let edits = 0;

const isLook = (sql: string) => sql.includes("topology_version") && sql.includes("view_changed_at >= ?1");
const withDb = (db: D1Database) => ({ ...env, CATALOGUE_TTL_S: TTL_S, DB: db }) as Env;

/** The state a look sees now: D1's newest change and its mark, as every isolate that looked now saw it. */
async function stateNow(): Promise<NonNullable<SeenState>> {
  const { latest, mark } = await catalogueDb.changedSince(env.DB, Number.MAX_SAFE_INTEGER, null);
  return { latest, mark };
}

/** Changes the title in D1 (its triggers stamp the change), as an operator's edit through another isolate would. */
async function editTitle(): Promise<string> {
  const description = `edited ${++edits}`;
  await env.DB.prepare("UPDATE titles SET description = ? WHERE id = ?").bind(description, TITLE).run();
  return description;
}

/** Keeps the test inside one window of the shared answer: waits out the last second of the current one. */
async function inOneWindow(): Promise<void> {
  const w = lookWindowMs(TTL_MS);
  const left = w - (Date.now() % w);
  if (left < 2_000) await new Promise((r) => setTimeout(r, left + 10));
}

beforeAll(async () => {
  await publishTitle(TITLE);
});

beforeEach(() => {
  catalogueCache.clear();
  forgetTopologyLooks();
});

describe("the catalogue's change look shared by a colo", () => {
  it("asks D1 once per window for the isolates of a colo that saw the same state", async () => {
    await inOneWindow();
    const f = fault();
    const shared = catalogueCache.sharedLooks;
    for (let isolate = 0; isolate < 5; isolate++) {
      catalogueCache.clear();
      expect((await catalogueCache.title(withDb(faultyDb(f)), TITLE))?.title.id).toBe(TITLE);
    }
    // Five first looks, one D1 question (or none: an earlier test of this window asked it).
    expect(f.sql.filter(isLook).length).toBeLessThanOrEqual(1);
    expect(catalogueCache.sharedLooks - shared).toBeGreaterThanOrEqual(4);
  });

  it("takes another isolate's answer for its state, and reloads the title it names as changed", async () => {
    await inOneWindow();
    const f = fault();
    const db = withDb(faultyDb(f));
    const before = await stateNow();
    // Its first look asks D1 (not an earlier test's answer), so it has seen `before`.
    catalogueCache.changedHere();
    expect((await catalogueCache.title(db, TITLE))?.title.description).not.toMatch(/^edited/);
    const description = await editTitle();
    // Another isolate of the colo, which had seen the same state, asks D1 and shares what it heard.
    const answer = await catalogueDb.changedSince(env.DB, before.latest - 2_000, before);
    expect(answer.changed.map((c) => c.id)).toContain(TITLE);
    await shareLook(NS, TTL_MS, Date.now(), before, answer);

    f.sql.length = 0;
    const shared = catalogueCache.sharedLooks;
    catalogueCache.staleNow();
    expect((await catalogueCache.title(db, TITLE))?.title.description).toBe(description);
    expect(f.sql.filter(isLook)).toEqual([]);
    expect(catalogueCache.sharedLooks).toBe(shared + 1);
    // The title was read again: the shared answer named it.
    expect(f.sql.some((s) => s.includes("FROM titles WHERE id = ?"))).toBe(true);
  });

  it("looks in D1 itself after a change made through the isolate, and shares that answer", async () => {
    await inOneWindow();
    const f = fault();
    const db = withDb(faultyDb(f));
    const before = await stateNow();
    catalogueCache.changedHere();
    await catalogueCache.title(db, TITLE);
    // An answer for this state from before the change: what the colo would serve the change's own isolate.
    await shareLook(NS, TTL_MS, Date.now(), before, { ...before, topologyVersion: 0, changed: [] });
    const description = await editTitle();

    f.sql.length = 0;
    catalogueCache.changedHere();
    expect((await catalogueCache.title(db, TITLE))?.title.description).toBe(description);
    expect(f.sql.filter(isLook)).toHaveLength(1);
    // Its answer replaced the stale one: the colo's other isolates learn the change from it.
    const now = await sharedLook(NS, TTL_MS, Date.now(), before);
    expect(now?.changed.map((c) => c.id)).toContain(TITLE);
    expect(now?.latest).toBeGreaterThan(before.latest);
  });

  it("ignores an entry under its key that it did not write, and asks D1", async () => {
    await inOneWindow();
    const f = fault();
    const db = withDb(faultyDb(f));
    catalogueCache.changedHere();
    await catalogueCache.title(db, TITLE);
    const state = await stateNow();
    for (const body of ["not json", JSON.stringify({ latest: state.latest, mark: "x", topologyVersion: 0, changed: [] })]) {
      await caches.default.put(lookEntryUrl(NS, TTL_MS, Date.now(), state), new Response(body, { headers: { "Cache-Control": "max-age=60" } }));
      expect(await sharedLook(NS, TTL_MS, Date.now(), state)).toBeNull();
      f.sql.length = 0;
      catalogueCache.staleNow();
      await catalogueCache.title(db, TITLE);
      expect(f.sql.filter(isLook)).toHaveLength(1);
    }
  });

  it("shares nothing when the TTL is 0 (every read asks D1)", async () => {
    const state = await stateNow();
    await shareLook(NS, 0, Date.now(), state, { ...state, topologyVersion: 0, changed: [] });
    expect(await sharedLook(NS, 0, Date.now(), state)).toBeNull();
  });

  it("keys an answer by the deployment: another Worker of the zone (a staging one, its own D1) never reads it", async () => {
    // A state only the staging Worker has seen (this Worker's looks share answers under their own).
    const state = { latest: 1, mark: 424_242 };
    const now = Date.now();
    await shareLook("staging-version", TTL_MS, now, state, { ...state, topologyVersion: 0, changed: [{ id: "x", view_stamp: 1, view_changed_at: 1 }] });
    expect(await sharedLook("staging-version", TTL_MS, now, state)).not.toBeNull();
    expect(await sharedLook(NS, TTL_MS, now, state)).toBeNull();
    expect(coloNamespace({ CF_VERSION_METADATA: { id: "8d8586c8-b29a-415d-ae35-f795fce20cb1" } })).toBe("8d8586c8-b29a-415d-ae35-f795fce20cb1");
    for (const id of ["", "../x", "a/b", "x".repeat(65)]) expect(coloNamespace({ CF_VERSION_METADATA: { id } })).toBe("unversioned");
    expect(coloNamespace({})).toBe("unversioned");
    // The Worker under test has its version's id.
    expect(NS).not.toBe("unversioned");
  });

  it("keys an answer by the window's length and start and by the state seen", () => {
    const s = { latest: 1_000, mark: 3 };
    expect(lookEntryUrl(NS, 10_000, 12_345, s)).toBe(lookEntryUrl(NS, 10_000, 14_999, s));
    expect(lookEntryUrl(NS, 10_000, 12_345, s)).not.toBe(lookEntryUrl(NS, 10_000, 15_000, s));
    expect(lookEntryUrl(NS, 10_000, 12_345, s)).not.toBe(lookEntryUrl(NS, 20_000, 12_345, s));
    expect(lookEntryUrl(NS, 10_000, 12_345, s)).not.toBe(lookEntryUrl(NS, 10_000, 12_345, { latest: 1_000, mark: 4 }));
    expect(lookEntryUrl(NS, 10_000, 12_345, s)).not.toBe(lookEntryUrl(NS, 10_000, 12_345, null));
  });
});
