import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { OcaSite } from "../durable-objects/oca-site";
import { MAX_ATTEMPTS } from "../durable-objects/site/fill-queue";
import { ADMIN, call, fill, MASTER, openPlan, publishTitle, tierKey, type FixtureTitle } from "./fixtures";
import { ocaKey } from "../shared/file-keys";

/**
 * The site Durable Object's invariants under injected faults. The faults are the one thing mocked
 * here: the local runtime cannot make its own D1 or R2 fail on cue, so the site object's bindings
 * are wrapped (inside the real object, in workerd) by proxies that pass every call through to the
 * real local D1 and R2 and throw on the call a test picks.
 */

const SITE = "polder-ams";
const OCA = "polder-ams-1";
const stub = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
const siteStub = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

interface Faults {
  /** Calls seen so far, by kind ("d1:write", "r2:get", …). */
  calls: string[];
  /** Fails the call whose 1-based index (over all counted calls) is in this set. */
  failAt: Set<number>;
  /** Fails every call for which this returns true. */
  failIf?: (kind: string, key: string) => boolean;
}

const WRITE = /^\s*(INSERT|UPDATE|DELETE|REPLACE)/i;

function faulty(kind: string, faults: Faults, key = ""): void {
  faults.calls.push(kind);
  if (faults.failAt.has(faults.calls.length) || faults.failIf?.(kind, key)) throw new Error(`injected fault: ${kind} ${key}`);
}

/** A D1 binding whose writes can fail; reads and unwrapped statements go to the real database. */
function faultyD1(real: D1Database, faults: Faults): D1Database {
  const raw = new WeakMap<object, D1PreparedStatement>();
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const w = {
      bind: (...args: unknown[]) => wrap(stmt.bind(...args), sql),
      run: async () => {
        if (WRITE.test(sql)) faulty("d1:write", faults, sql);
        return stmt.run();
      },
      all: () => stmt.all(),
      first: (col?: string) => (col ? stmt.first(col) : stmt.first()),
      raw: () => stmt.raw(),
    } as unknown as D1PreparedStatement;
    raw.set(w as object, stmt);
    return w;
  };
  return {
    prepare: (sql: string) => wrap(real.prepare(sql), sql),
    batch: async (stmts: D1PreparedStatement[]) => {
      faulty("d1:write", faults, "batch");
      return real.batch(stmts.map((s) => raw.get(s as object) ?? s));
    },
    exec: (q: string) => real.exec(q),
  } as unknown as D1Database;
}

/** An R2 binding whose every call can fail. */
function faultyR2(real: R2Bucket, faults: Faults): R2Bucket {
  return {
    get: async (key: string, opts?: R2GetOptions) => (faulty("r2:get", faults, key), real.get(key, opts)),
    head: async (key: string) => (faulty("r2:head", faults, key), real.head(key)),
    put: async (key: string, value: ReadableStream, opts?: R2PutOptions) => (faulty("r2:put", faults, key), real.put(key, value, opts)),
    delete: async (keys: string | string[]) => (faulty("r2:delete", faults, String(keys)), real.delete(keys)),
    list: async (opts?: R2ListOptions) => (faulty("r2:list", faults, opts?.prefix ?? ""), real.list(opts)),
  } as unknown as R2Bucket;
}

/** Puts fault proxies on a site object's D1 and R2 bindings (null restores the real ones). */
async function inject(siteId: string, faults: Faults | null): Promise<void> {
  await runInDurableObject(siteStub(siteId), async (instance: OcaSite) => {
    const o = instance as unknown as { env: Env };
    o.env = faults
      ? {
          ...env,
          DB: faultyD1(env.DB, faults),
          ORIGIN: faultyR2(env.ORIGIN, faults),
          TIER_EU: faultyR2(env.TIER_EU, faults),
          TIER_NA: faultyR2(env.TIER_NA, faults),
        }
      : env;
  });
}

/** Lets backoff pass (as if time went by) so the next alarm run retries. */
async function skipBackoff(siteId: string): Promise<void> {
  await runInDurableObject(siteStub(siteId), async (_i, state) => {
    state.storage.sql.exec(`UPDATE fill_tasks SET next_at = 0`);
  });
}

async function applyPlan(siteId: string, byOca: Record<string, string[]>): Promise<void> {
  await siteStub(siteId).applyPlan(openPlan(byOca));
}

/** Runs the site's alarm (each run may throw under faults) until nothing is queued or `max` runs. */
async function drain(siteId: string, max = 15, between?: () => Promise<void>): Promise<void> {
  for (let i = 0; i < max; i++) {
    await runDurableObjectAlarm(siteStub(siteId)).catch(() => false);
    await between?.();
    const queued = await runInDurableObject(
      siteStub(siteId),
      async (_i, s) => s.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM fill_tasks WHERE parked_at IS NULL`).one().n,
    );
    if (queued === 0) return;
    await skipBackoff(siteId);
  }
}

/**
 * Invariant 1: the view lists (OCA, title, version) only if the version is live and every catalogue
 * file of that version is in the OCA's tier-bucket copy with the catalogue's size and checksum.
 * Returns the violations.
 */
async function violations(siteId: string): Promise<string[]> {
  const listed = await env.DB.prepare(`SELECT oca_id, title_id, version FROM oca_titles WHERE site_id = ?`)
    .bind(siteId)
    .all<{ oca_id: string; title_id: string; version: number }>();
  const out: string[] = [];
  for (const l of listed.results) {
    const files = await env.DB.prepare(`SELECT path, bytes, sha256 FROM files WHERE title_id = ? AND version = ?`)
      .bind(l.title_id, l.version)
      .all<{ path: string; bytes: number; sha256: string }>();
    if (files.results.length === 0) out.push(`${l.oca_id}/${l.title_id}@${l.version}: listed with no catalogue files`);
    for (const f of files.results) {
      const obj = await env.TIER_EU.head(ocaKey(siteId, l.oca_id, l.title_id, f.path, f.sha256));
      if (!obj || obj.size !== f.bytes || obj.customMetadata?.sha256 !== f.sha256)
        out.push(`${l.oca_id}/${l.title_id}@${l.version}/${f.path}: listed but ${obj ? "stale" : "absent"}`);
    }
  }
  return out;
}

/** OCAs of a site listed for a title's current version (or `version`). */
async function listed(siteId: string, titleId: string, version?: number): Promise<string[]> {
  const r = await env.DB.prepare(
    `SELECT oca_id FROM oca_titles WHERE site_id = ?1 AND title_id = ?2 AND version = COALESCE(?3, (SELECT version FROM titles WHERE id = ?2)) ORDER BY oca_id`,
  )
    .bind(siteId, titleId, version ?? null)
    .all<{ oca_id: string }>();
  return r.results.map((x) => x.oca_id);
}

/** Bytes in the tier bucket under an OCA's title prefix that the site's holdings do not account for. */
async function unaccounted(siteId: string, ocaId: string, titleId: string): Promise<string[]> {
  const prefix = `${siteId}/${ocaId}/${titleId}/`;
  const objects = (await env.TIER_EU.list({ prefix })).objects.map((o) => o.key);
  const rows = await runInDurableObject(siteStub(siteId), async (_i, s) =>
    s.storage.sql
      .exec<{ path: string; sha256: string }>(`SELECT path, sha256 FROM holdings WHERE oca_id = ? AND title_id = ?`, ocaId, titleId)
      .toArray()
      .map((r) => ocaKey(siteId, ocaId, titleId, r.path, r.sha256)),
  );
  return objects.filter((k) => !rows.includes(k));
}

let cleanCalls = 0;
let fileCount = 0;

beforeAll(async () => {
  const t = await publishTitle("inv-clean");
  fileCount = Object.keys(t.files).length;
  // A clean run, to know how many D1 writes and R2 calls one title's fill makes.
  const faults: Faults = { calls: [], failAt: new Set() };
  await inject(SITE, faults);
  await applyPlan(SITE, { [OCA]: ["inv-clean"] });
  await drain(SITE);
  await inject(SITE, null);
  cleanCalls = faults.calls.length;
  expect(cleanCalls).toBeGreaterThan(fileCount * 2);
  expect(await listed(SITE, "inv-clean")).toEqual([OCA]);
});

describe("the steering view under faults (invariants 1 and 2)", () => {
  it("never lists a copy that is not complete and verified, with a failure injected into each D1 write and R2 call in turn, and lists it once the faults pass", async () => {
    for (let k = 1; k <= cleanCalls; k++) {
      const titleId = `inv-k${k}`;
      await publishTitle(titleId);
      const faults: Faults = { calls: [], failAt: new Set([k]) };
      await inject(SITE, faults);
      await applyPlan(SITE, { [OCA]: [titleId] });
      for (let run = 0; run < 12; run++) {
        await runDurableObjectAlarm(stub()).catch(() => false);
        expect(await violations(SITE), `fault at call ${k} (${faults.calls[k - 1]}), after alarm run ${run}`).toEqual([]);
        await skipBackoff(SITE);
      }
      await inject(SITE, null);
      await drain(SITE);
      expect(await listed(SITE, titleId), `fault at call ${k}: listed after the faults pass`).toEqual([OCA]);
      expect(await unaccounted(SITE, OCA, titleId)).toEqual([]);
      // Free the room for the next round.
      await stub().evictTitle(OCA, titleId);
    }
  }, 240_000);

  it("repairs a publish that failed: the next reconcile pass lists the complete copy", async () => {
    await publishTitle("inv-publish");
    // Every write to the view fails during the first alarm run: the copy completes, the publish does not.
    const faults: Faults = { calls: [], failAt: new Set(), failIf: (kind) => kind === "d1:write" };
    await inject(SITE, faults);
    await applyPlan(SITE, { [OCA]: ["inv-publish"] });
    await runDurableObjectAlarm(stub()).catch(() => false);
    expect(await listed(SITE, "inv-publish")).toEqual([]);
    const held = (await stub().describe()).ocas.find((o) => o.ocaId === OCA)!.titles.find((t) => t.titleId === "inv-publish");
    expect(held?.complete).toBe(true);
    // The failed reconcile re-armed the alarm; with D1 back, one pass repairs the view.
    await inject(SITE, null);
    expect(await runDurableObjectAlarm(stub())).toBe(true);
    expect(await listed(SITE, "inv-publish")).toEqual([OCA]);
  });

  it("removes from the view a listed copy that stopped being complete", async () => {
    await publishTitle("inv-unlist");
    await applyPlan(SITE, { [OCA]: ["inv-unlist"] });
    await drain(SITE);
    expect(await listed(SITE, "inv-unlist")).toEqual([OCA]);
    // A file's row disappears behind the site's back (as after a lost eviction): reconcile unlists the copy.
    await runInDurableObject(stub(), async (_i, s) => {
      s.storage.sql.exec(`DELETE FROM holdings WHERE oca_id = ? AND title_id = 'inv-unlist' AND path = 'master.m3u8'`, OCA);
    });
    expect(await stub().reconcile()).toMatchObject({ unpublished: 1 });
    expect(await listed(SITE, "inv-unlist")).toEqual([]);
  });
});

describe("copies that keep failing (invariant 3)", () => {
  it("back off, escalate from a failing peer to the next source, and are parked after the last attempt with their reason", async () => {
    await publishTitle("inv-retry");
    // polder-ams-2 holds the title; reads of its copy of one file always fail.
    expect((await fill([{ siteId: SITE, ocaId: "polder-ams-2", titleIds: ["inv-retry"] }])).status).toBe(200);
    const faults: Faults = {
      calls: [],
      failAt: new Set(),
      failIf: (kind, key) => kind === "r2:get" && /polder-ams-2\/inv-retry\/[0-9a-f]{16}\/master\.m3u8$/.test(key),
    };
    await inject(SITE, faults);
    await applyPlan(SITE, { [OCA]: ["inv-retry"], "polder-ams-2": ["inv-retry"] });
    await runDurableObjectAlarm(stub());
    const task = await runInDurableObject(stub(), async (_i, s) =>
      s.storage.sql
        .exec<{ attempts: number; failed_sources: string; next_at: number }>(
          `SELECT attempts, failed_sources, next_at FROM fill_tasks WHERE title_id = 'inv-retry'`,
        )
        .toArray(),
    );
    expect(task).toEqual([{ attempts: 1, failed_sources: "peer:polder-ams-2", next_at: expect.any(Number) }]);
    expect(task[0].next_at).toBeGreaterThan(Date.now());
    // Not retried before its backoff has passed…
    await runDurableObjectAlarm(stub()).catch(() => false);
    expect(await listed(SITE, "inv-retry")).toEqual(["polder-ams-2"]);
    // …then retried from the next source (origin: ixp-ams holds nothing), and it completes.
    await skipBackoff(SITE);
    await runDurableObjectAlarm(stub());
    await inject(SITE, null);
    expect(await listed(SITE, "inv-retry")).toEqual([OCA, "polder-ams-2"]);
    const source = await runInDurableObject(
      stub(),
      async (_i, s) =>
        s.storage.sql.exec<{ source: string }>(`SELECT source FROM holdings WHERE oca_id = ? AND title_id = 'inv-retry' AND path = 'master.m3u8'`, OCA).one()
          .source,
    );
    expect(source).toBe("origin");
  });

  it("are parked after MAX_ATTEMPTS with the reason visible in the admin API, and never published", async () => {
    await publishTitle("inv-park");
    const faults: Faults = {
      calls: [],
      failAt: new Set(),
      failIf: (kind, key) => kind === "r2:get" && /^inv-park\/[0-9a-f]{16}\/video\/avc-240p\/init\.mp4$/.test(key),
    };
    await inject(SITE, faults);
    await applyPlan(SITE, { [OCA]: ["inv-park"] });
    for (let i = 0; i < MAX_ATTEMPTS + 2; i++) {
      await runDurableObjectAlarm(stub()).catch(() => false);
      await skipBackoff(SITE);
    }
    await inject(SITE, null);
    const state = (await (await call(`/admin/sites/${SITE}`, { headers: ADMIN })).json()) as {
      progress: { parked: Array<{ ocaId: string; titleId: string; path: string; attempts: number; lastError: string }> };
    };
    expect(state.progress.parked).toEqual([
      expect.objectContaining({
        ocaId: OCA,
        titleId: "inv-park",
        path: "video/avc-240p/init.mp4",
        attempts: MAX_ATTEMPTS,
        lastError: expect.stringContaining("injected fault"),
      }),
    ]);
    const getsOfParked = faults.calls.filter((c) => c === "r2:get").length;
    expect(getsOfParked).toBeGreaterThanOrEqual(MAX_ATTEMPTS);
    expect(await listed(SITE, "inv-park")).toEqual([]);
  });
});

describe("sources and checksums (invariant 4)", () => {
  let v1: FixtureTitle;
  it("a parent's copy is used only when its checksum matches the catalogue; a stale one is skipped for origin", async () => {
    v1 = await publishTitle("inv-stale");
    expect((await fill([{ siteId: "ixp-ams", ocaId: "ixp-ams-1", titleIds: ["inv-stale"] }])).status).toBe(200);
    // Re-publish with a changed master playlist (version 2): the parent still holds version 1's bytes.
    const changed = new TextEncoder().encode(`${MASTER}#EXT-X-SESSION-DATA:DATA-ID="v",VALUE="2"\n`);
    const v2 = await publishTitle("inv-stale", { change: { "master.m3u8": changed } });
    expect(v2.version).toBe(v1.version + 1);
    await applyPlan(SITE, { [OCA]: ["inv-stale"] });
    await drain(SITE);
    const sources = await runInDurableObject(stub(), async (_i, s) =>
      s.storage.sql
        .exec<{ path: string; source: string }>(`SELECT path, source FROM holdings WHERE oca_id = ? AND title_id = 'inv-stale' ORDER BY path`, OCA)
        .toArray(),
    );
    expect(sources.find((r) => r.path === "master.m3u8")?.source).toBe("origin");
    expect(sources.filter((r) => r.path !== "master.m3u8").every((r) => r.source === "parent")).toBe(true);
    const got = await env.TIER_EU.get(tierKey(SITE, OCA, v2, "master.m3u8"));
    expect(await got!.text()).toContain('VALUE="2"');
    expect(await listed(SITE, "inv-stale")).toEqual([OCA]);
    // The parent is listed for version 1 only (sessions that started on it may still play it), never for version 2.
    await siteStub("ixp-ams").reconcile();
    expect(await listed("ixp-ams", "inv-stale")).toEqual([]);
    expect(await listed("ixp-ams", "inv-stale", v1.version)).toEqual(["ixp-ams-1"]);
  });
});

describe("concurrent fill, eviction, plan and alarm (invariant 5)", () => {
  it("never leave a listed incomplete copy or unaccounted bytes, however they interleave", async () => {
    await publishTitle("inv-race");
    for (let round = 0; round < 6; round++) {
      const ops = [
        stub().fillTitle(OCA, "inv-race"),
        stub().evictTitle(OCA, "inv-race"),
        applyPlan(SITE, { [OCA]: round % 2 ? ["inv-race"] : [] }),
        runDurableObjectAlarm(stub()),
        stub().evictTitle(OCA, "inv-race"),
        stub().fillTitle(OCA, "inv-race"),
      ];
      // Rotate the order each round so each operation gets to go first.
      const order = ops.map((_, i) => ops[(i + round) % ops.length]);
      await Promise.allSettled(order);
      await drain(SITE);
      expect(await violations(SITE), `round ${round}`).toEqual([]);
      expect(await unaccounted(SITE, OCA, "inv-race"), `round ${round}`).toEqual([]);
    }
  }, 60_000);
});

describe("one site's failure (invariant 6)", () => {
  it("never stops another site's fill cycle: a site whose history throws, or whose state hangs, is skipped", async () => {
    const { runFillCycle, runScheduledFill } = await import("../workers/control/fill-cycle");
    const { localHour } = await import("../fill/day");
    // RPC dispatches prototype methods only, so the fault goes on the prototype, for one site's object.
    const { OcaSite } = await import("../durable-objects/oca-site");
    const proto = OcaSite.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const real = { history: proto.history, ocaSettings: proto.ocaSettings };
    const isBroken = (self: unknown) => (self as { ctx: DurableObjectState }).ctx.id.name === "lumen-nyc";
    proto.history = async function (this: unknown, ...a: unknown[]) {
      if (isBroken(this)) throw new Error("injected: history unavailable");
      return real.history.apply(this, a);
    };
    proto.ocaSettings = function (this: unknown, ...a: unknown[]) {
      if (isBroken(this)) return new Promise(() => {}); // hangs for ever
      return real.ocaSettings.apply(this, a);
    };
    try {
      // The region's IXP plans although one child's history throws.
      const ixp = await runFillCycle(env, "ixp-nyc", Date.now(), { force: true });
      expect(ixp).toMatchObject({ siteId: "ixp-nyc", ran: true });
      // The cron, in New York's fill window: the hanging site times out, the sites after it still plan.
      let t = Date.now() - (Date.now() % 3_600_000) + 3_600_000;
      while (localHour(t, "America/New_York") !== 3) t += 3_600_000;
      const reports = await runScheduledFill(env, t, { siteTimeoutMs: 1_000 });
      expect(reports.find((r) => r.siteId === "lumen-nyc")).toMatchObject({ ran: false, reason: expect.stringMatching(/timed out/) });
      const after = reports.slice(reports.findIndex((r) => r.siteId === "lumen-nyc") + 1);
      expect(after.length).toBeGreaterThan(0);
      expect(after.some((r) => r.ran)).toBe(true);
    } finally {
      proto.history = real.history;
      proto.ocaSettings = real.ocaSettings;
    }
  }, 60_000);
});
