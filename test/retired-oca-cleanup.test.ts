import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { ocaKey } from "../shared/file-keys";
import { storedTopology, storeTopology } from "../workers/shared/topology-live";
import { ADMIN, addSite, call, fill, memberToken, pressPlay, publishTitle, siteBody, tierKey, type FixtureTitle, type PlayResponse } from "./fixtures";

/**
 * A retired OCA's copies and rows are deleted, not kept for ever. The site's object deletes its rows
 * at once (a batch an alarm run) and its copies in the tier bucket once no session granted before the
 * retire can ask for them (the retire, plus SESSION_TTL_S, plus the topology's lag), a batch of keys an
 * alarm run. SESSION_TTL_S is 6 h under test too: the tests move that time to now in the object's
 * storage rather than wait for it. The data plane stops serving the retired OCA's URLs as soon as its
 * isolate sees the change (404), so a session granted before plays on from its other OCAs meanwhile.
 */

const json = { ...ADMIN, "Content-Type": "application/json" };
const post = (path: string, body?: unknown) => call(path, { method: "POST", headers: json, body: body === undefined ? undefined : JSON.stringify(body) });
const stub = (siteId: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(siteId));

/** An embedded site of lumen-fiber (under ixp-nyc) at its own place, with two OCAs. */
const siteAt = (id: string, lat: number, lon: number) =>
  siteBody(id, {
    tier: "embedded",
    isp: "lumen-fiber",
    parent: "ixp-nyc",
    lat,
    lon,
    ocas: [1, 2].map((i) => ({ id: `${id}-${i}`, capacityBytes: 100_000_000, throughputBps: 1_000_000_000 })),
  });

interface Retiring {
  ocaId: string;
  retiredAt: number;
  deleteCopiesFrom: number;
  stage: string;
  filesLeft: number;
  bytesLeft: number;
}
interface Site {
  ocas: Array<{ ocaId: string; usedBytes: number; titles: Array<{ titleId: string; files: number; complete: boolean }> }>;
  retiring: Retiring[];
}
const describeSite = async (siteId: string) => (await (await call(`/admin/sites/${siteId}`, { headers: ADMIN })).json()) as Site;

/** Every key under a prefix of the tier bucket, sorted. */
async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.TIER_NA.list({ prefix, cursor });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys.sort();
}

/** The copies under a prefix: its keys but the site's probe object, which the site's syncs may write at any time. */
const copiesUnder = async (prefix: string) => (await keysUnder(prefix)).filter((k) => !k.endsWith("/.probe"));

/** Rows an OCA has in the site's object: per table with an `oca_id` column (but the clean-up's own record), and its fill budget. */
async function rowsOf(siteId: string, ocaId: string): Promise<Record<string, number>> {
  return runInDurableObject(stub(siteId), (_o, state) => {
    const sql = state.storage.sql;
    const out: Record<string, number> = {};
    const tables = sql.exec<{ name: string }>(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE '\\_%' ESCAPE '\\'`,
    );
    for (const { name } of tables.toArray()) {
      if (name === "retired_ocas") continue;
      const cols = sql.exec<{ name: string }>(`PRAGMA table_info("${name}")`).toArray();
      if (!cols.some((c) => c.name === "oca_id")) continue;
      const n = sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM "${name}" WHERE oca_id = ?`, ocaId).one().n;
      if (n > 0) out[name] = n;
    }
    const budget = sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM meta WHERE key = ?`, `tokens:${ocaId}`).one().n;
    if (budget > 0) out.meta = budget;
    return out;
  });
}

/** Brings the time a retired OCA's copies are kept until to now (SESSION_TTL_S is hours): the wait, passed. */
async function passTheWait(siteId: string, ocaId: string): Promise<void> {
  await runInDurableObject(stub(siteId), (_o, state) => {
    state.storage.sql.exec(`UPDATE retired_ocas SET keep_until = ? WHERE oca_id = ?`, Date.now() - 1, ocaId);
  });
}

/** Runs the site's alarm until no clean-up is under way (at most `max` runs); the runs it took. */
async function cleanUp(siteId: string, max = 20): Promise<number> {
  for (let runs = 1; runs <= max; runs++) {
    expect(await runDurableObjectAlarm(stub(siteId))).toBe(true);
    if ((await describeSite(siteId)).retiring.length === 0) return runs;
  }
  throw new Error(`${siteId}: clean-up not done after ${max} alarm runs`);
}

/** Writes `n` copies of a synthetic title straight into an OCA (its rows and its keys), as a long fill would have. */
async function bulkCopies(siteId: string, ocaId: string, n: number, withObjects: boolean): Promise<{ files: number; bytes: number }> {
  const sha = (i: number) => i.toString(16).padStart(64, "0");
  await runInDurableObject(stub(siteId), (_o, state) => {
    state.storage.sql.exec(
      `WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ?)
       INSERT INTO holdings (oca_id, title_id, path, sha256, bytes, state, source, updated_at)
       SELECT ?, 'bulk', 'seg-' || n || '.m4s', printf('%064x', n), 10, 'ready', 'origin', 0 FROM i`,
      n,
      ocaId,
    );
  });
  if (withObjects) {
    for (let from = 1; from <= n; from += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, n - from + 1) }, (_, k) =>
          env.TIER_NA.put(ocaKey(siteId, ocaId, "bulk", `seg-${from + k}.m4s`, sha(from + k)), "0123456789"),
        ),
      );
    }
  }
  return { files: n, bytes: 10 * n };
}

let title: FixtureTitle;
let other: FixtureTitle;
const fileCount = (t: FixtureTitle) => Object.keys(t.files).length;
const bytesOf = (t: FixtureTitle) => Object.values(t.files).reduce((s, b) => s + b.byteLength, 0);
const keysOf = (siteId: string, ocaId: string, t: FixtureTitle) => Object.keys(t.files).map((p) => tierKey(siteId, ocaId, t, p));

beforeAll(async () => {
  title = await publishTitle("retire-title");
  other = await publishTitle("retire-other");
});

describe("a retired OCA's clean-up", () => {
  it("deletes its copies and rows once no session granted before the retire can ask for them, leaving its peer's; such a session gets its bytes meanwhile", async () => {
    const S = "ret-bos";
    expect((await addSite(siteAt(S, 42.36, -71.06))).status).toBe(201);
    expect((await fill([{ siteId: S, ocaId: `${S}-1`, titleIds: [title.titleId] }])).status).toBe(200);
    expect((await fill([{ siteId: S, ocaId: `${S}-2`, titleIds: [title.titleId] }])).status).toBe(200);
    const peerCopies = await copiesUnder(`${S}/${S}-1/`);
    const retiringCopies = await copiesUnder(`${S}/${S}-2/`);
    expect(retiringCopies).toEqual(keysOf(S, `${S}-2`, title).sort());
    // A session granted before the retire, with both OCAs in its list.
    const p = (await (
      await pressPlay(await memberToken("premium"), { titleId: title.titleId }, "asn=64500;country=US;lat=42.36;lon=-71.06")
    ).json()) as PlayResponse;
    const urlOf = (ocaId: string) => p.ocas.find((o) => o.ocaId === ocaId)?.url;
    expect(urlOf(`${S}-1`)).toBeDefined();
    expect(urlOf(`${S}-2`)).toBeDefined();
    const segment = "video/avc-240p/seg-00001.m4s";

    expect((await post(`/admin/topology/sites/${S}/ocas/${S}-2/retire`)).status).toBe(200);

    // The wait: its rows are gone, its copies kept, and the site shows what is left to delete and from when.
    const waiting = await describeSite(S);
    expect(waiting.ocas.map((o) => o.ocaId)).toEqual([`${S}-1`]);
    expect(waiting.retiring).toEqual([expect.objectContaining({ ocaId: `${S}-2`, stage: "waiting", filesLeft: fileCount(title), bytesLeft: bytesOf(title) })]);
    expect(waiting.retiring[0].deleteCopiesFrom - waiting.retiring[0].retiredAt).toBeGreaterThanOrEqual(Number(env.SESSION_TTL_S) * 1000);
    expect(await rowsOf(S, `${S}-2`)).toEqual({});
    expect(await runDurableObjectAlarm(stub(S))).toBe(true);
    expect(await copiesUnder(`${S}/${S}-2/`)).toEqual(retiringCopies);
    // Its alarm's reconcile took its listings out of the steering view.
    const listed = await env.DB.prepare(`SELECT COUNT(*) AS n FROM oca_titles WHERE oca_id = ?`).bind(`${S}-2`).first<{ n: number }>();
    expect(listed?.n).toBe(0);
    // And its status row: nothing of it is left in the view.
    const status = await env.DB.prepare(`SELECT COUNT(*) AS n FROM oca_status WHERE oca_id = ?`).bind(`${S}-2`).first<{ n: number }>();
    expect(status?.n).toBe(0);
    // The session plays on: the retired OCA's URL answers 404 (the data plane knows it left), its peer serves the bytes.
    expect((await call(`${urlOf(`${S}-2`)}${segment}`)).status).toBe(404);
    const during = await call(`${urlOf(`${S}-1`)}${segment}`);
    expect(during.status).toBe(200);
    expect(new Uint8Array(await during.arrayBuffer())).toEqual(title.files[segment]);

    await passTheWait(S, `${S}-2`);
    await cleanUp(S);
    expect(await keysUnder(`${S}/${S}-2/`)).toEqual([]);
    expect(await copiesUnder(`${S}/${S}-1/`)).toEqual(peerCopies);
    expect(await rowsOf(S, `${S}-2`)).toEqual({});
    const after = await call(`${urlOf(`${S}-1`)}${segment}`);
    expect(after.status).toBe(200);
    expect(new Uint8Array(await after.arrayBuffer())).toEqual(title.files[segment]);
  });

  it("starts an OCA re-added with the same id empty, and then deletes only the old copies it has not made again", async () => {
    const S = "readd-bos";
    expect((await addSite(siteAt(S, 42.3, -71.2))).status).toBe(201);
    expect((await fill([{ siteId: S, ocaId: `${S}-2`, titleIds: [title.titleId, other.titleId] }])).status).toBe(200);
    expect((await post(`/admin/topology/sites/${S}/ocas/${S}-2/retire`)).status).toBe(200);
    expect((await post(`/admin/topology/sites/${S}/ocas`, { id: `${S}-2`, capacityBytes: 100_000_000, throughputBps: 1_000_000_000 })).status).toBe(201);

    const back = await describeSite(S);
    expect(back.ocas.find((o) => o.ocaId === `${S}-2`)).toMatchObject({ usedBytes: 0, titles: [] });
    expect((await stub(S).holdingsByOca())[`${S}-2`]).toEqual([]);
    // Its old copies still wait for their time.
    expect(back.retiring).toEqual([expect.objectContaining({ ocaId: `${S}-2`, stage: "waiting" })]);

    // It holds one of the two titles again: the same keys as the old copies of it.
    expect((await fill([{ siteId: S, ocaId: `${S}-2`, titleIds: [other.titleId] }])).status).toBe(200);
    await passTheWait(S, `${S}-2`);
    await cleanUp(S);
    expect(await copiesUnder(`${S}/${S}-2/`)).toEqual(keysOf(S, `${S}-2`, other).sort());
    const done = await describeSite(S);
    expect(done.ocas.find((o) => o.ocaId === `${S}-2`)?.titles).toEqual([expect.objectContaining({ titleId: other.titleId, complete: true })]);
  });

  it("goes on over several alarm runs when larger than a batch, and after a restart of the site's object", async () => {
    const S = "bulk-bos";
    expect((await addSite(siteAt(S, 42.5, -71.0))).status).toBe(201);
    expect((await fill([{ siteId: S, ocaId: `${S}-1`, titleIds: [title.titleId] }])).status).toBe(200);
    const peerCopies = await copiesUnder(`${S}/${S}-1/`);
    const bulk = await bulkCopies(S, `${S}-2`, 1_500, true);
    expect((await post(`/admin/topology/sites/${S}/ocas/${S}-2/retire`)).status).toBe(200);

    // The retire deleted a first batch of its 1,500 rows; the rest go in the alarm, after a restart.
    const first = await describeSite(S);
    expect(first.retiring).toEqual([expect.objectContaining({ ocaId: `${S}-2`, stage: "rows", filesLeft: bulk.files, bytesLeft: bulk.bytes })]);
    expect(await rowsOf(S, `${S}-2`)).toMatchObject({ holdings: 500 });
    await evictDurableObject(stub(S));
    expect(await runDurableObjectAlarm(stub(S))).toBe(true);
    expect(await rowsOf(S, `${S}-2`)).toEqual({});

    await passTheWait(S, `${S}-2`);
    expect(await runDurableObjectAlarm(stub(S))).toBe(true);
    // One run deletes a batch of 1,000 keys.
    expect(await keysUnder(`${S}/${S}-2/`)).toHaveLength(500);
    expect((await describeSite(S)).retiring).toEqual([expect.objectContaining({ stage: "copies", filesLeft: 500, bytesLeft: 5_000 })]);
    await evictDurableObject(stub(S));
    expect(await cleanUp(S)).toBeGreaterThanOrEqual(1);
    expect(await keysUnder(`${S}/${S}-2/`)).toEqual([]);
    expect(await copiesUnder(`${S}/${S}-1/`)).toEqual(peerCopies);
    expect(await rowsOf(S, `${S}-2`)).toEqual({});
  });

  it("has a re-add wait (409 oca_retiring) while the rows the OCA left are being deleted, then brings it back empty", async () => {
    const S = "wait-bos";
    expect((await addSite(siteAt(S, 42.1, -71.4))).status).toBe(201);
    await bulkCopies(S, `${S}-2`, 2_500, false);
    expect((await post(`/admin/topology/sites/${S}/ocas/${S}-2/retire`)).status).toBe(200);
    const readd = () => post(`/admin/topology/sites/${S}/ocas`, { id: `${S}-2`, capacityBytes: 100_000_000, throughputBps: 1_000_000_000 });
    // The retire deleted a batch, this call another: 500 rows are left.
    const refused = await readd();
    expect(refused.status).toBe(409);
    expect(refused.headers.get("Retry-After")).toBe("2");
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("oca_retiring");
    expect((await describeSite(S)).ocas.map((o) => o.ocaId)).toEqual([`${S}-1`]);
    expect((await readd()).status).toBe(201);
    expect((await describeSite(S)).ocas.find((o) => o.ocaId === `${S}-2`)).toMatchObject({ usedBytes: 0, titles: [] });
    expect(await rowsOf(S, `${S}-2`)).toEqual({});
  });

  it("is found by the site's object by itself when it was not told of the retire, and keeps the copies for the longest a session may live", async () => {
    const S = "untold-bos";
    expect((await addSite(siteAt(S, 42.7, -71.1))).status).toBe(201);
    expect((await fill([{ siteId: S, ocaId: `${S}-2`, titleIds: [title.titleId] }])).status).toBe(200);
    // The OCA leaves the topology as a retire makes it leave, with no call to the site's object (as when that call is lost).
    const { version, doc } = await storedTopology(env.DB);
    const at = new Date().toISOString();
    const site = doc.sites.find((s) => s.id === S)!;
    site.ocas = site.ocas.filter((o) => o.id !== `${S}-2`);
    doc.retired = [...(doc.retired ?? []), { siteId: S, ocaId: `${S}-2`, at }];
    expect(await storeTopology(env.DB, doc, version)).toBe(true);

    const found = await describeSite(S);
    expect(found.retiring).toEqual([expect.objectContaining({ ocaId: `${S}-2`, retiredAt: Date.parse(at) })]);
    expect(found.retiring[0].deleteCopiesFrom - Date.parse(at)).toBeGreaterThanOrEqual(7 * 86_400_000);
    await runDurableObjectAlarm(stub(S));
    expect(await rowsOf(S, `${S}-2`)).toEqual({});
    expect(await keysUnder(`${S}/${S}-2/`)).toEqual(expect.arrayContaining(keysOf(S, `${S}-2`, title)));
    await passTheWait(S, `${S}-2`);
    await cleanUp(S);
    expect(await keysUnder(`${S}/${S}-2/`)).toEqual([]);
  });
});
