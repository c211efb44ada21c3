import { env } from "cloudflare:test";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { catalogueCache } from "../workers/control/catalogue-cache";
import { sharedLoads, titleContextShare, versionRowsShare } from "../workers/control/colo-loads";
import { forgetTopologyLooks } from "../workers/shared/topology-live";
import { fault, faultyDb } from "./faulty-d1";
import { publishTitle } from "./fixtures";

/**
 * Catalogue entries shared by a colo's isolates through the Cache API (the real one of this workerd):
 * a title's context (play) and a title version's rows (steering), keyed by the catalogue state the
 * loader had seen. One test isolate stands for several: `catalogueCache.clear()` then a look of its own
 * in D1 (`changedHere`) is another isolate that has seen the current state. D1 is wrapped only to record
 * and refuse statements (the local runtime cannot).
 */

const TITLE = "colo-loads-title";
const OTHER = "colo-loads-other";
const GRANTED = { country: "US", grantedAt: Date.now() };
let edits = 0;

const withDb = (db: D1Database) => ({ ...env, CATALOGUE_TTL_S: "60", DB: db }) as Env;
const readsTitle = (sql: string) => sql.includes("FROM titles WHERE id = ?");
const readsVersion = (sql: string) => sql.includes("FROM oca_titles t LEFT JOIN oca_status");

/** Another isolate of the colo, which has just seen the catalogue's current state (its own look in D1). */
async function anotherIsolate(db: Env): Promise<void> {
  catalogueCache.clear();
  catalogueCache.changedHere();
  await catalogueCache.title(db, "colo-loads-no-such-title");
}

/** Keeps the case inside one window of `ms` (a browse list's TTL, the plans' 12 TTLs): waits out its last two seconds. */
async function inOneWindow(ms: number): Promise<void> {
  const left = ms - (Date.now() % ms);
  if (left < 2_000) await new Promise((r) => setTimeout(r, left + 10));
}

beforeAll(async () => {
  await publishTitle(TITLE);
  await publishTitle(OTHER);
});

beforeEach(() => {
  catalogueCache.clear();
  forgetTopologyLooks();
});

describe("catalogue entries shared by a colo's isolates", () => {
  it("reads a title another isolate loaded at the same state from the colo, not D1", async () => {
    const f = fault();
    const db = withDb(faultyDb(f));
    await anotherIsolate(db);
    const loaded = await catalogueCache.title(db, TITLE);
    await anotherIsolate(db);
    f.sql.length = 0;
    const hits = sharedLoads.hits;
    const shared = await catalogueCache.title(db, TITLE);
    expect(f.sql.filter(readsTitle)).toEqual([]);
    expect(sharedLoads.hits).toBe(hits + 1);
    expect(shared?.title).toEqual(loaded?.title);
    expect(shared?.renditions).toEqual(loaded?.renditions);
    expect([...(shared?.licences.keys() ?? [])]).toEqual([...(loaded?.licences.keys() ?? [])]);
    expect(shared?.licences.get("US")).toEqual(loaded?.licences.get("US"));
  });

  it("reads a title from D1 again once a change has moved the state, and gets the change", async () => {
    const f = fault();
    const db = withDb(faultyDb(f));
    await anotherIsolate(db);
    await catalogueCache.title(db, TITLE);
    const description = `edited ${++edits}`;
    await env.DB.prepare("UPDATE titles SET description = ? WHERE id = ?").bind(description, TITLE).run();
    await anotherIsolate(db);
    f.sql.length = 0;
    expect((await catalogueCache.title(db, TITLE))?.title.description).toBe(description);
    expect(f.sql.filter(readsTitle)).toHaveLength(1);
  });

  it("reads a version's view another isolate loaded at the same state from the colo, not D1", async () => {
    const f = fault();
    const db = withDb(faultyDb(f));
    await anotherIsolate(db);
    const version = (await catalogueCache.title(db, OTHER))?.title.version ?? 0;
    const loaded = await catalogueCache.version(db, OTHER, version, GRANTED);
    expect(f.sql.filter(readsVersion).length).toBeGreaterThan(0);
    await anotherIsolate(db);
    f.sql.length = 0;
    const shared = await catalogueCache.version(db, OTHER, version, GRANTED);
    expect(f.sql.filter(readsVersion)).toEqual([]);
    expect(shared).toEqual(loaded);
    expect(shared.standing).toBe("up");
  });

  it("reads a country's browse list another isolate loaded at the same state in this half TTL's window from the colo", async () => {
    await inOneWindow(30_000);
    const f = fault();
    const db = withDb(faultyDb(f));
    await anotherIsolate(db);
    const loaded = await catalogueCache.browse(db, "US");
    expect(loaded.map((t) => t.id)).toContain(TITLE);
    await anotherIsolate(db);
    f.sql.length = 0;
    expect(await catalogueCache.browse(db, "US")).toEqual(loaded);
    expect(f.sql.filter((s) => s.includes("json_group_array"))).toEqual([]);
  });

  it("reads the plans another isolate loaded at the same state in their window from the colo", async () => {
    await inOneWindow(12 * 60_000);
    const f = fault();
    const db = withDb(faultyDb(f));
    await anotherIsolate(db);
    const loaded = await catalogueCache.plan(db, "premium");
    expect(loaded?.max_streams).toBeGreaterThan(0);
    await anotherIsolate(db);
    f.sql.length = 0;
    expect(await catalogueCache.plan(db, "premium")).toEqual(loaded);
    expect(f.sql.filter((s) => s.includes("FROM plans"))).toEqual([]);
  });

  it("serves a title the colo holds at the isolate's state while D1 refuses every read", async () => {
    const up = withDb(faultyDb(fault()));
    await anotherIsolate(up);
    await catalogueCache.title(up, OTHER);
    await anotherIsolate(up);
    const down = fault("down");
    expect((await catalogueCache.title(withDb(faultyDb(down)), OTHER))?.title.id).toBe(OTHER);
    expect(down.calls).toBe(0);
  });

  it("does not share what names no title, so made-up ids cannot fill the colo's cache", async () => {
    const f = fault();
    const db = withDb(faultyDb(f));
    await anotherIsolate(db);
    expect(await catalogueCache.title(db, "colo-loads-made-up")).toBeNull();
    await anotherIsolate(db);
    f.sql.length = 0;
    expect(await catalogueCache.title(db, "colo-loads-made-up")).toBeNull();
    expect(f.sql.filter(readsTitle)).toHaveLength(1);
  });

  it("refuses an entry it would not have written", () => {
    const share = titleContextShare(TITLE);
    const good = { title: { id: TITLE }, renditions: [], licences: [{ country: "US" }], candidates: [] };
    expect(share.decode(good)?.licences.get("US")).toEqual({ country: "US" });
    for (const bad of [null, "x", [], { ...good, title: { id: "another" } }, { ...good, renditions: "x" }, { ...good, licences: [1] }])
      expect(share.decode(bad)).toBeNull();
    const rows = versionRowsShare(TITLE, 1);
    expect(rows.decode([[], [], [], []])).toEqual([[], [], [], []]);
    for (const bad of [{}, [[], [], []], [[], [], [], "x"], [[1], [], [], []]]) expect(rows.decode(bad)).toBeNull();
  });
});
