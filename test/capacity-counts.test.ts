import { createExecutionContext, env, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { withCmcd } from "../client/cmcd";
import { StreamBook } from "../durable-objects/member/streams";
import type { OcaSite } from "../durable-objects/oca-site";
import { EVENT_RETENTION_MS, expireEvents } from "../durable-objects/site/session-events";
import { probeMarked } from "../client/probe";
import { recordPlays, SESSION_MEMORY_MS } from "../durable-objects/site/viewing-history";
import worker from "../workers/index";
import { runFillCycle } from "../workers/control/fill-cycle";
import { sessionLog } from "../workers/control/session-log";
import { forgetStream } from "../workers/shared/stream-activity";
import { SEEN_BUCKET_MS } from "../shared/session-activity";
import { topology } from "../workers/shared/topology";
import { forgetTopologyLooks } from "../workers/shared/topology-live";
import { fill, GEO, memberToken, openPlan, publishTitle, type PlayResponse } from "./fixtures";

/**
 * The storage operations of each request type, counted on the real code in workerd: every D1 call,
 * Durable Object call (by class and method), R2 call (by bucket) and colo-cache call the Worker makes
 * for one request in the steady state, background work included. The bindings are wrapped by counting
 * proxies and `caches.default` by counting methods: the one thing mocked, because the runtime does not
 * count its own calls. `npm run bench:scale` reads the CAPACITY_COUNTS line this prints.
 *
 * Then the rows each request makes SQLite read and write, as Cloudflare bills them: in each Durable
 * Object (the cursor's `rowsRead` and `rowsWritten`, what the SQLite storage billing counts; a
 * `setAlarm()` is billed as one row written) and in D1 (each result's `meta.rows_read` and
 * `rows_written`). `npm run bench:scale` reads the CAPACITY_ROWS line.
 */

type Counts = Record<string, number>;
/** Rows read and written, as the platform bills them. */
type Rows = { read: number; written: number };
const TITLE = "cap-title";
const SEG = "video/avc-480p/seg-00001.m4s";

/** `d1Rows`, when given, adds up the rows D1 says each statement read and wrote (its result's `meta`). */
function countingEnv(counts: Counts, ttlS = "60", d1Rows?: Rows): Env {
  const add = (k: string) => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  const tally = (meta: { rows_read?: number; rows_written?: number } | undefined) => {
    if (!d1Rows || !meta) return;
    d1Rows.read += meta.rows_read ?? 0;
    d1Rows.written += meta.rows_written ?? 0;
  };
  const wrap = <T extends object>(target: T, label: (key: string, args: unknown[]) => string | null): T =>
    new Proxy(target, {
      get(t, key) {
        const v = Reflect.get(t, key) as unknown;
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          const l = label(String(key), args);
          if (l) add(l);
          // Reflect.apply: on an RPC stub, `.apply` would itself be taken for a remote method.
          return Reflect.apply(v as (...a: unknown[]) => unknown, t, args);
        };
      },
    });
  // D1: every statement run, read or write, whether alone or in a batch.
  const kind = (sqlText: string) => (/^\s*(INSERT|UPDATE|DELETE|REPLACE)/i.test(sqlText) ? "d1.write" : "d1.read");
  const statement = (stmt: D1PreparedStatement, sqlText: string): D1PreparedStatement =>
    new Proxy(stmt, {
      get(t, key) {
        const v = Reflect.get(t, key) as unknown;
        if (typeof v !== "function") return v;
        if (key === "bind") return (...a: unknown[]) => statement(Reflect.apply(v as (...x: unknown[]) => D1PreparedStatement, t, a), sqlText);
        // `first` answers no `meta`: run as `all`, whose first row (or that row's column) it returns.
        if (key === "first" && d1Rows)
          return async (column?: string) => {
            add(kind(sqlText));
            const r = await t.all<Record<string, unknown>>();
            tally(r.meta);
            const row = r.results[0] ?? null;
            return column === undefined || row === null ? row : (row[column] ?? null);
          };
        return (...a: unknown[]) => {
          if (["all", "first", "run", "raw"].includes(String(key))) add(kind(sqlText));
          const result = Reflect.apply(v as (...x: unknown[]) => unknown, t, a);
          if (key === "all" || key === "run") return (result as Promise<D1Result>).then((r) => (tally(r.meta), r));
          return result;
        };
      },
    });
  const statements = new WeakMap<object, string>();
  // The binding and any session made from it (the isolate's views read through sessions): every statement counts.
  const counted = <T extends D1Database | D1DatabaseSession>(db: T): T =>
    new Proxy(db, {
      get(t, key) {
        const v = Reflect.get(t, key) as unknown;
        if (key === "withSession") return (...a: unknown[]) => counted((v as (...x: unknown[]) => D1DatabaseSession).apply(t, a));
        if (key === "prepare")
          return (q: string) => {
            const st = statement(t.prepare(q), q);
            statements.set(st, q);
            return st;
          };
        if (key === "batch")
          return (list: D1PreparedStatement[]) => {
            for (const st of list) add(kind(statements.get(st) ?? ""));
            return t.batch(list).then((results) => {
              for (const r of results) tally(r.meta);
              return results;
            });
          };
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  const d1 = counted(env.DB);
  const r2 = (name: string, b: R2Bucket) => wrap(b, (k) => `r2.${name}.${k}`);
  const ns = (name: string, n: DurableObjectNamespace) =>
    new Proxy(n, {
      get(t, key) {
        const v = Reflect.get(t, key) as unknown;
        if (key !== "get") return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        return (id: DurableObjectId) => wrap(t.get(id) as unknown as object, (k) => (k === "then" || k === "fetch" ? null : `do.${name}.${k}`));
      },
    });
  return {
    ...env,
    CATALOGUE_TTL_S: ttlS,
    DB: d1,
    ORIGIN: r2("origin", env.ORIGIN),
    TIER_NA: r2("tier", env.TIER_NA),
    TIER_EU: r2("tier", env.TIER_EU),
    OCA_SITE: ns("OcaSite", env.OCA_SITE as unknown as DurableObjectNamespace) as unknown as Env["OCA_SITE"],
    MEMBER_STREAMS: ns("MemberStreams", env.MEMBER_STREAMS as unknown as DurableObjectNamespace) as unknown as Env["MEMBER_STREAMS"],
    SESSION_LOG: ns("SessionLog", env.SESSION_LOG as unknown as DurableObjectNamespace) as unknown as Env["SESSION_LOG"],
  };
}

/** The colo cache's calls, counted on the default cache (the runtime's own object). */
const cacheCounts: Counts = {};
for (const m of ["match", "put", "delete"] as const) {
  const cache = caches.default as unknown as Record<string, (...a: unknown[]) => unknown>;
  const real = cache[m].bind(caches.default);
  cache[m] = (...a: unknown[]) => {
    cacheCounts[`cache.${m}`] = (cacheCounts[`cache.${m}`] ?? 0) + 1;
    return real(...a);
  };
}

async function measure(request: () => Request): Promise<Counts> {
  const counts: Counts = {};
  for (const k of Object.keys(cacheCounts)) delete cacheCounts[k];
  const ctx = createExecutionContext();
  const res = await worker.fetch(request(), countingEnv(counts), ctx);
  await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  expect(res.status, request().url).toBeLessThan(300);
  return { ...counts, ...cacheCounts };
}

const out: Record<string, Counts> = {};
/** D1 rows the views' background refresh reads: per statement of a look, and per change of a cached title (its reloads). */
const d1Background = { lookRowsReadPerStatement: 0, reloadRowsRead: 0 };
let member: string;
let p: PlayResponse;
const playRequest = (token: string) =>
  new Request("http://cdn.test/v1/play", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "X-Client-Geo": GEO.lumenNyc },
    body: JSON.stringify({ titleId: TITLE }),
  });

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  // Warm the isolate as a busy one is: catalogue view, site views, version index.
  const warm = countingEnv({});
  const ctx = createExecutionContext();
  member = await memberToken("premium");
  for (let i = 0; i < 2; i++) {
    const res = await worker.fetch(playRequest(member), warm, ctx);
    p = (await res.json()) as PlayResponse;
  }
  await (await worker.fetch(new Request(p.steering.server), warm, ctx)).arrayBuffer();
  // The version index is read once per isolate: a first segment request loads it.
  await (await worker.fetch(new Request(`${p.ocas[0].url}subs/sub-en.vtt`), warm, ctx)).arrayBuffer();
  await waitOnExecutionContext(ctx);
});

describe("storage operations per request (steady state)", () => {
  it("counts play, steering poll, segments (colo hit and miss), QoE batch and a fill cycle", async () => {
    out.play = await measure(() => playRequest(member));
    out.steeringPoll = await measure(() => new Request(p.steering.server));
    out.segmentColoMiss = await measure(() => new Request(`${p.ocas[0].url}${SEG}`));
    out.segmentColoHit = await measure(() => new Request(`${p.ocas[0].url}${SEG}`));
    out.qoeBatch = await measure(
      () =>
        new Request("http://cdn.test/v1/events", {
          method: "POST",
          headers: { Authorization: `Bearer ${member}`, "Content-Type": "application/json" },
          body: JSON.stringify({
            sessionId: p.sessionId,
            sessionToken: p.sessionToken,
            batchId: `cap-${crypto.randomUUID()}`,
            events: [{ type: "progress", bytes: 1000 }],
          }),
        }),
    );
    const cycle: Counts = {};
    await runFillCycle(countingEnv(cycle), "lumen-nyc", Date.now(), { force: true });
    out.fillCycle = cycle;

    // A change of the title: what this isolate's next play and poll of it read again. Both are
    // measured with a TTL so short that every request looks, after the change and then with none; the
    // difference is the reload (the looks themselves the model counts per TTL).
    // D1's rows too: what the views' background looks and reloads read (billed per row read).
    const looks = { statements: 0, rows: { read: 0, written: 0 } };
    const reloadRows: number[] = [];
    let lastRows = 0;
    const readsOf = async (request: () => Request) => {
      const counts: Counts = {};
      const rows: Rows = { read: 0, written: 0 };
      const ctx = createExecutionContext();
      const res = await worker.fetch(request(), countingEnv(counts, "0.001", rows), ctx);
      await res.arrayBuffer();
      await waitOnExecutionContext(ctx);
      expect(res.status).toBeLessThan(300);
      lastRows = rows.read;
      return counts["d1.read"] ?? 0;
    };
    const change = () => env.DB.prepare("UPDATE titles SET description = description || '.' WHERE id = ?").bind(TITLE).run();
    // A background look (the topology's own, every 1.5 TTL) may add a read to any request, or move to
    // the next one: each change's request less the one right after it, the median of three, is the reload.
    const reloads = async (request: () => Promise<() => Request> | (() => Request)) => {
      const after: number[] = [];
      const none: number[] = [];
      const afterRows: number[] = [];
      const noneRows: number[] = [];
      for (let i = 0; i < 3; i++) {
        await change();
        after.push(await readsOf(await request()));
        afterRows.push(lastRows);
        const n = await readsOf(await request());
        none.push(n);
        noneRows.push(lastRows);
        // A request with no change makes only the background looks: their rows per statement.
        looks.statements += n;
        looks.rows.read += lastRows;
      }
      // Rows: each change's request less the one right after it (the tables the looks read grow with
      // every change, so the fewest of each would compare states three changes apart), the median of three.
      const pairs = afterRows.map((a, i) => a - noneRows[i]).sort((a, b) => a - b);
      reloadRows.push(Math.max(0, pairs[1]));
      const reads = after.map((a, i) => a - none[i]).sort((a, b) => a - b);
      return Math.max(0, reads[1]);
    };
    // New members for each play: the stream limit is not the concern here.
    const playReload = await reloads(async () => {
      const r = playRequest(await memberToken("premium"));
      return () => r;
    });
    // The poll's session is of the current version: the change drops its version view too.
    const pollReload = await reloads(() => () => new Request(p.steering.server));
    out.titleChange = { "d1.read": playReload + pollReload };
    d1Background.lookRowsReadPerStatement = looks.rows.read / looks.statements;
    d1Background.reloadRowsRead = reloadRows.reduce((a, b) => a + b, 0);
    expect(looks.statements).toBeGreaterThan(0);
    expect(d1Background.reloadRowsRead).toBeGreaterThan(0);

    // The claims of the design, asserted on the counts.
    const d1 = (c: Counts) =>
      Object.entries(c)
        .filter(([k]) => k.startsWith("d1."))
        .reduce((s, [, v]) => s + v, 0);
    expect(d1(out.play)).toBe(0);
    expect(d1(out.steeringPoll)).toBe(0);
    expect(d1(out.qoeBatch)).toBe(0);
    expect(out.play["do.MemberStreams.acquire"]).toBe(1);
    expect(Object.keys(out.segmentColoHit).filter((k) => k.startsWith("r2."))).toEqual([]);
    expect(out.segmentColoMiss["r2.tier.get"]).toBeGreaterThanOrEqual(1);
    expect(out.qoeBatch["do.SessionLog.recordEvents"]).toBe(1);
    expect(playReload).toBeGreaterThan(0);
    expect(pollReload).toBeGreaterThan(0);
    console.log(`CAPACITY_COUNTS ${JSON.stringify(out)}`);
  });
});

// ---- SQLite rows, counted in the Durable Objects themselves ----

/**
 * The rows each object's SQLite reads and writes, counted on the real code unchanged: the runtime's
 * `SqlStorage.prototype.exec` (and `DurableObjectStorage.prototype.setAlarm`, billed as one row
 * written) is wrapped once, and each cursor's `rowsRead` and `rowsWritten` go to the object whose
 * storage ran it (each object's storage named through `runInDurableObject`). The objects run in this
 * test's isolate, so the wrapper sees every statement of every object. Why here and not an opt-in
 * counter in durable-objects/site/sql.ts: not every statement goes through its helpers (the schema,
 * the member book's table, the event shard's set-up, the viewing history's own `exec`s), and the
 * objects then carry nothing for a test. Why not cursors read around each call from the test: the
 * requests reach the objects through the Worker, by RPC, and some of their work (a site's health
 * evaluation, its probe) runs after the call has answered.
 */
const rowsByObject = new Map<string, Rows>();
const objectNames = new WeakMap<object, string>();
let rowsCounted = false;
/** Set while the test reads an object's tables for itself. */
let uncounted = false;
const HOME = "lumen-nyc";

function addRows(object: string, read: number, written: number): void {
  const r = rowsByObject.get(object) ?? { read: 0, written: 0 };
  r.read += read;
  r.written += written;
  rowsByObject.set(object, r);
}

function countRows(state: DurableObjectState): void {
  if (rowsCounted) return;
  rowsCounted = true;
  type Exec = (this: SqlStorage, ...a: unknown[]) => SqlStorageCursor<Record<string, SqlStorageValue>>;
  const sqlProto = Object.getPrototypeOf(state.storage.sql) as { exec: Exec };
  const exec = sqlProto.exec;
  sqlProto.exec = function (this: SqlStorage, ...a: unknown[]) {
    const cursor = exec.apply(this, a);
    if (uncounted) return cursor;
    const object = objectNames.get(this) ?? "unnamed";
    let read = 0;
    let written = 0;
    // A cursor's counts grow as it is read: taken now, and again once its (synchronous) reader is done.
    const take = () => {
      addRows(object, cursor.rowsRead - read, cursor.rowsWritten - written);
      read = cursor.rowsRead;
      written = cursor.rowsWritten;
    };
    take();
    queueMicrotask(take);
    return cursor;
  };
  type SetAlarm = (this: DurableObjectStorage, ...a: unknown[]) => Promise<void>;
  const storageProto = Object.getPrototypeOf(state.storage) as { setAlarm: SetAlarm };
  const setAlarm = storageProto.setAlarm;
  storageProto.setAlarm = function (this: DurableObjectStorage, ...a: unknown[]) {
    addRows(objectNames.get(this) ?? "unnamed", 0, 1);
    return setAlarm.apply(this, a);
  };
}

/** Any class's stub: only its storage is named. */
type AnyStub = { id: DurableObjectId };
/** The objects named so far: named again before each sample, as an object idle for a while is evicted and starts afresh with storage of its own. */
const named: Array<[AnyStub, string]> = [];
async function nameAgain(stub: AnyStub, name: string): Promise<void> {
  await runInDurableObject(stub as DurableObjectStub<OcaSite>, async (_o: OcaSite, state: DurableObjectState) => {
    countRows(state);
    objectNames.set(state.storage.sql, name);
    objectNames.set(state.storage, name);
  });
}
/** Names an object's storage (`Class:name`), so its rows count apart. */
async function nameObject(stub: AnyStub, name: string): Promise<void> {
  named.push([stub, name]);
  await nameAgain(stub, name);
}
const nameAll = async () => {
  for (const [stub, name] of named) await nameAgain(stub, name);
};

const siteObject = (siteId: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(siteId));
const memberObject = (memberId: string) => env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName(memberId));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ZERO: Rows = { read: 0, written: 0 };
const total = (list: Rows[]): Rows => list.reduce((s, r) => ({ read: s.read + r.read, written: s.written + r.written }), { ...ZERO });
/** (a − b) / per: what each of `per` more items added. Never below zero (a difference of two samples can be, by noise in what they read). */
const minus = (a: Rows, b: Rows, per = 1): Rows => ({ read: Math.max(0, (a.read - b.read) / per), written: Math.max(0, (a.written - b.written) / per) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const medianRows = (list: Rows[]): Rows => ({ read: median(list.map((r) => r.read)), written: median(list.map((r) => r.written)) });

/** The rows a sample made, by the kind of object: the member objects, event shards, the home site, every other site, and any object not named. */
interface ByObject {
  member: Rows;
  shard: Rows;
  home: Rows;
  otherSites: Rows;
  unnamed: Rows;
}
function byObject(): ByObject {
  const of = (f: (name: string) => boolean) => total([...rowsByObject].filter(([k]) => f(k)).map(([, r]) => r));
  return {
    member: of((k) => k.startsWith("MemberStreams:")),
    shard: of((k) => k.startsWith("SessionLog:")),
    home: of((k) => k === `OcaSite:${HOME}`),
    otherSites: of((k) => k.startsWith("OcaSite:") && k !== `OcaSite:${HOME}`),
    unnamed: of((k) => k === "unnamed"),
  };
}

interface Sample {
  ops: Counts;
  rows: ByObject;
  d1: Rows;
}

/** Runs `work` with counting bindings and counts the rows every object made meanwhile, the work its calls left behind included. */
async function rowsOf(work: (e: Env, ctx: ExecutionContext) => Promise<void>, { settleMs = 150, rename = true } = {}): Promise<Sample> {
  const ops: Counts = {};
  const d1: Rows = { read: 0, written: 0 };
  if (rename) await nameAll();
  rowsByObject.clear();
  const ctx = createExecutionContext();
  await work(countingEnv(ops, "60", d1), ctx);
  await waitOnExecutionContext(ctx);
  // A site evaluates health behind a sync's answer.
  await sleep(settleMs);
  return { ops, rows: byObject(), d1 };
}

/** Sends requests one after another in one execution context (so the site link carries them in one sync), each answered under 300. */
const requests =
  (list: Array<() => Request>) =>
  async (e: Env, ctx: ExecutionContext): Promise<void> => {
    for (const r of list) {
      const res = await worker.fetch(r(), e, ctx);
      await res.arrayBuffer();
      expect(res.status, r().url).toBeLessThan(300);
    }
  };

/** Keeps a site's once-a-second work (its OCAs' probe, its load published to D1) out of the samples until `until`, and its fill alarm (the first test's cycle) from running meanwhile. */
async function holdSiteTimers(until: number | null): Promise<void> {
  for (const s of topology.sites)
    await runInDurableObject(siteObject(s.id), async (_o: OcaSite, state) => {
      if (until === null) {
        state.storage.sql.exec(`DELETE FROM meta WHERE key IN ('probed_at', 'load_published_at')`);
        return;
      }
      await state.storage.deleteAlarm();
      state.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('probed_at', ?), ('load_published_at', ?)`, String(until), String(until));
    });
}

describe("SQLite rows per request (steady state)", () => {
  it("counts the rows each request type makes each object read and write, and where", async () => {
    for (const s of topology.sites) await nameObject(siteObject(s.id), `OcaSite:${s.id}`);
    const ids = Array.from({ length: 15 }, (_, i) => `cap-rows-${i}`);
    for (const id of ids) await nameObject(memberObject(id), `MemberStreams:${id}`);
    const tokens = await Promise.all(ids.map((id) => memberToken("premium", id)));
    await holdSiteTimers(Date.now() + 86_400_000);
    const sessions: PlayResponse[] = [];
    const plays =
      (members: number[]) =>
      async (e: Env, ctx: ExecutionContext): Promise<void> => {
        for (const i of members) {
          const res = await worker.fetch(playRequest(tokens[i]), e, ctx);
          expect(res.status).toBe(200);
          sessions.push((await res.json()) as PlayResponse);
        }
      };
    // Warm: each member's object holds its table, and the isolate its views. Sessions 0..14, one per member.
    await rowsOf(plays(ids.map((_, i) => i)));
    for (const p of sessions) await nameObject(sessionLog(env, HOME, p.sessionId), `SessionLog:${p.sessionId}`);
    const first = sessions.slice(0, 15);
    const segment = (p: PlayResponse) => () =>
      new Request(
        // With CMCD, as the SDK sends it by default (the `CMCD` query argument).
        withCmcd(`${p.ocas[0].url}${SEG}`, { sid: p.sessionId, cid: TITLE, sf: "h", st: "v", ot: "v", br: [3000], bl: [8000], dl: 8000, d: 4000 }, "query").url,
      );

    // What no request may do: read or write at an object outside its path, or at one this test did not
    // name. A session's member object is on every path once a minute (its touch, when one is due), and
    // its home site's whenever the isolate's view of it is a second old (a view-only sync: reads alone).
    const onlyAt = (s: Sample, where: Array<keyof ByObject>) => {
      const path = [...where];
      if (s.ops["do.MemberStreams.touch"]) path.push("member");
      if (s.ops["do.OcaSite.edgeSync"] && !path.includes("home")) {
        expect(s.rows.home.written, "a view-only sync").toBe(0);
        path.push("home");
      }
      for (const k of Object.keys(s.rows) as Array<keyof ByObject>) if (!path.includes(k)) expect(s.rows[k], k).toEqual(ZERO);
    };
    // The site's rows come with its sync alone: the only call of a site object a request makes (one
    // carrying the report; a view-only one before it, when the isolate's view was a second old, writes nothing).
    const syncOnly = (s: Sample) => {
      expect(Object.keys(s.ops).filter((k) => k.startsWith("do.OcaSite.") && k !== "do.OcaSite.edgeSync")).toEqual([]);
      expect(s.ops["do.OcaSite.edgeSync"]).toBeGreaterThanOrEqual(1);
      expect(s.ops["do.OcaSite.edgeSync"]).toBeLessThanOrEqual(2);
    };

    // Plays: the admission at the member's object (the play's own path), and the play's record in the
    // home site's next sync; one play in a sync, and four (the difference: each play's record).
    const play1: Sample[] = [];
    const play4: Sample[] = [];
    for (let k = 0; k < 3; k++) {
      play1.push(await rowsOf(plays([k])));
      play4.push(await rowsOf(plays([3 + 4 * k, 4 + 4 * k, 5 + 4 * k, 6 + 4 * k])));
    }
    for (const s of [...play1, ...play4]) {
      expect(s.rows.member.written).toBeGreaterThanOrEqual(s.ops["do.MemberStreams.acquire"]);
      expect(s.rows.home.written).toBeGreaterThan(0);
      onlyAt(s, ["member", "home"]);
      syncOnly(s);
      expect(s.d1).toEqual(ZERO);
    }
    const memberPlay = medianRows(play1.map((s) => s.rows.member));
    const sitePerPlay = minus(medianRows(play4.map((s) => s.rows.home)), medianRows(play1.map((s) => s.rows.home)), 3);
    // A member whose object started afresh (after a deploy, or evicted while idle) reads its table first; a new member's first play makes it.
    await runInDurableObject(memberObject(ids[0]), async (o) => {
      (o as unknown as { book: { cached: unknown } }).book.cached = null;
    });
    const afresh = await rowsOf(plays([0]));
    const newId = `cap-rows-new-${crypto.randomUUID().slice(0, 8)}`;
    await nameObject(memberObject(newId), `MemberStreams:${newId}`);
    const newToken = await memberToken("premium", newId);
    const newMember = await rowsOf(async (e, ctx) => {
      const res = await worker.fetch(playRequest(newToken), e, ctx);
      expect(res.status).toBe(200);
    });
    expect(afresh.rows.member.read).toBeGreaterThan(memberPlay.read);
    expect(newMember.rows.member.written).toBeGreaterThan(memberPlay.written);

    // Segments, as the site's next sync counts them: each session's bytes, CMCD and activity on its OCA.
    // A session's first report there costs more than later ones (its rows made, its estimate settled).
    // All in one of the activity's 30 s buckets: a move to the next (its index entry, 2 rows) is the
    // model's own line, and a sample that caught one moved the per-entry figure by half.
    const bucketLeft = SEEN_BUCKET_MS - (Date.now() % SEEN_BUCKET_MS);
    // (The samples take about 9 s here.)
    if (bucketLeft < 20_000) await sleep(bucketLeft + 50);
    const fresh: Sample[] = [];
    for (let k = 0; k < 3; k++) fresh.push(await rowsOf(requests(first.slice(4 * k, 4 * k + 4).map(segment))));
    const seg1: Sample[] = [];
    const seg4: Sample[] = [];
    for (let k = 0; k < 3; k++) {
      seg1.push(await rowsOf(requests([segment(first[k])])));
      seg4.push(await rowsOf(requests(first.slice(4 * k, 4 * k + 4).map(segment))));
    }
    for (const s of [...fresh, ...seg1, ...seg4]) {
      expect(s.rows.home.written).toBeGreaterThan(0);
      onlyAt(s, ["home"]);
      syncOnly(s);
    }
    // The SDK's re-probes: a range of a segment marked probe=1, without CMCD (client/probe.ts): the OCA's bytes, no session entry.
    const probe = (p: PlayResponse) => () => new Request(probeMarked(`${p.ocas[0].url}${SEG}`), { headers: { Range: "bytes=0-65535" } });
    const probe1: Sample[] = [];
    const probe4: Sample[] = [];
    for (let k = 0; k < 3; k++) {
      probe1.push(await rowsOf(requests([probe(first[k])])));
      probe4.push(await rowsOf(requests(first.slice(4 * k, 4 * k + 4).map(probe))));
    }
    for (const s of [...probe1, ...probe4]) {
      onlyAt(s, ["home"]);
      syncOnly(s);
    }
    const perProbe = minus(medianRows(probe4.map((s) => s.rows.home)), medianRows(probe1.map((s) => s.rows.home)), 3);
    const perSession = minus(medianRows(seg4.map((s) => s.rows.home)), medianRows(seg1.map((s) => s.rows.home)), 3);
    const syncFixed = minus(medianRows(seg1.map((s) => s.rows.home)), perSession);
    const firstReport = minus(medianRows(fresh.map((s) => s.rows.home)), medianRows(seg4.map((s) => s.rows.home)), 4);
    expect(perSession.written).toBeGreaterThan(0);
    // A probe adds bytes to its OCA's figures, which every sync writes anyway: nothing per probe.
    expect(perProbe.written).toBe(0);

    // A steering poll with no touch due writes nothing anywhere (and reads nothing, unless the isolate's
    // view of the site was old enough to refresh); one whose touch is due (this isolate's last is
    // forgotten) writes the stream's activity at its member's object.
    await rowsOf(plays([14]));
    const polled = sessions[sessions.length - 1];
    const poll = await rowsOf(requests([() => new Request(polled.steering.server)]));
    expect(poll.ops["do.MemberStreams.touch"]).toBeUndefined();
    expect(total(Object.values(poll.rows)).written).toBe(0);
    onlyAt(poll, []);
    forgetStream(polled.sessionId);
    const touch = await rowsOf(requests([() => new Request(polled.steering.server)]));
    expect(touch.ops["do.MemberStreams.touch"]).toBe(1);
    expect(touch.rows.member.written, "touch").toBeGreaterThanOrEqual(1);
    onlyAt(touch, ["member"]);

    // QoE batches at the session's event shard, and the shard's forward of their bytes to the site (its alarm).
    const qoe = (p: PlayResponse, token: string, events: unknown[]) => () =>
      new Request("http://cdn.test/v1/events", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ sessionId: p.sessionId, sessionToken: p.sessionToken, batchId: `cap-${crypto.randomUUID()}`, events }),
      });
    const progress = qoe(first[1], tokens[1], [{ type: "progress", bytes: 250_000 }]);
    const shard = sessionLog(env, HOME, first[1].sessionId);
    // Run at once after the batches (the objects were named just before them): the alarm is due a second after the first.
    const forward = () =>
      rowsOf(
        async () => {
          expect(await runDurableObjectAlarm(shard)).toBe(true);
        },
        { rename: false },
      );
    const batch1: Sample[] = [];
    const batch4: Sample[] = [];
    const forward1: Sample[] = [];
    const forward4: Sample[] = [];
    for (let k = 0; k < 3; k++) {
      batch1.push(await rowsOf(requests([progress])));
      forward1.push(await forward());
      batch4.push(await rowsOf(requests([progress, progress, progress, progress])));
      forward4.push(await forward());
    }
    for (const s of batch1) {
      expect(s.ops["do.SessionLog.recordEvents"]).toBe(1);
      expect(s.rows.shard.written).toBeGreaterThan(0);
      onlyAt(s, ["shard"]);
    }
    for (const s of [...forward1, ...forward4]) {
      expect(s.rows.home.written).toBeGreaterThan(0);
      onlyAt(s, ["shard", "home"]);
    }
    // Each batch, and what the first batch after a forward adds (the shard sets its alarm again: once a second at a busy shard).
    const qoeBatch = minus(medianRows(batch4.map((s) => s.rows.shard)), medianRows(batch1.map((s) => s.rows.shard)), 3);
    const qoeBatchFirst = minus(medianRows(batch1.map((s) => s.rows.shard)), qoeBatch);
    expect(qoeBatch.written).toBeGreaterThan(0);
    expect(qoeBatchFirst.written).toBeGreaterThanOrEqual(1);
    const forwardPerReport = {
      shard: minus(medianRows(forward4.map((s) => s.rows.shard)), medianRows(forward1.map((s) => s.rows.shard)), 3),
      site: minus(medianRows(forward4.map((s) => s.rows.home)), medianRows(forward1.map((s) => s.rows.home)), 3),
    };
    const forwardFixed = {
      shard: minus(medianRows(forward1.map((s) => s.rows.shard)), forwardPerReport.shard),
      site: minus(medianRows(forward1.map((s) => s.rows.home)), forwardPerReport.site),
    };
    // What a batch reads does not grow with its session's batches so far: the shard sums a session's
    // events once (to hold it to its allowance) and keeps the figure. A session's first batch against one
    // with `earlier` batches stored (summed each time before: about a row read per batch before it).
    let earlier = 0;
    await runInDurableObject(shard, async (_o, state) => {
      uncounted = true;
      try {
        earlier = state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM qoe_batches WHERE session_id = ?`, first[1].sessionId).one().n;
      } finally {
        uncounted = false;
      }
    });
    const firstBatch = await rowsOf(requests([qoe(first[3], tokens[3], [{ type: "progress", bytes: 250_000 }])]));
    const laterBatch = await rowsOf(requests([progress]));
    const readPerEarlierBatch = Math.max(0, (laterBatch.rows.shard.read - firstBatch.rows.shard.read) / earlier);
    expect(earlier).toBeGreaterThan(10);
    expect(readPerEarlierBatch).toBe(0);
    // A stop frees the member's slot (its object writes it) beside the batch.
    const stop = await rowsOf(requests([qoe(first[2], tokens[2], [{ type: "stop" }])]));
    expect(stop.ops["do.MemberStreams.release"]).toBe(1);
    expect(stop.rows.member.written, "stop").toBeGreaterThanOrEqual(1);
    // The forwards these batches left due run now, not during the samples below.
    for (const p of [first[1], first[2], first[3]]) await runDurableObjectAlarm(sessionLog(env, HOME, p.sessionId));

    // What rows a play and a batch leave are deleted in time (a delete is billed as rows written):
    // each table's own pruning, run with a clock past its retention.
    const later = Date.now() + 3 * SESSION_MEMORY_MS;
    let streams = 0;
    await nameAll();
    await runInDurableObject(memberObject(ids[5]), async (_o, state) => {
      streams = state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM streams`).one().n;
      rowsByObject.clear();
      new StreamBook(state.storage.sql).active(later);
    });
    const streamExpiry = minus(byObject().member, ZERO, streams);
    let sessionsKept = 0;
    const futurePlay = (k: number) => ({ sessionId: `cap-later-${k}`, titleId: TITLE, day: 0, estBytes: 0, topBps: 0, startedAt: later });
    const pruned: Rows[] = [];
    await runInDurableObject(siteObject(HOME), async (_o, state) => {
      sessionsKept = state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM session_views`).one().n;
      for (const k of [1, 2]) {
        rowsByObject.clear();
        // The first deletes every session it outlived; the second, the same work, deletes none.
        recordPlays(state.storage.sql, [futurePlay(k)], later);
        // (Its cursors' counts are taken in a microtask; no other event reaches the object meanwhile.)
        await Promise.resolve();
        pruned.push(byObject().home);
      }
    });
    const sessionExpiry = minus(pruned[0], pruned[1], sessionsKept);
    let batches = 0;
    await runInDurableObject(shard, async (_o, state) => {
      batches = state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM qoe_batches`).one().n;
      rowsByObject.clear();
      expireEvents(state.storage.sql, Date.now() + EVENT_RETENTION_MS + 1);
    });
    // The newest batch outlives its retention (new ids start above it): the rest are deleted.
    const batchExpiry = minus(byObject().shard, ZERO, batches - 1);
    expect(streams).toBeGreaterThan(0);
    expect(sessionsKept).toBeGreaterThan(0);
    expect(batches).toBeGreaterThan(1);
    expect(streamExpiry.written).toBeGreaterThan(0);
    expect(sessionExpiry.written).toBeGreaterThan(0);
    expect(batchExpiry.written).toBeGreaterThan(0);

    // A site's once-a-second work, whatever its syncs: its OCAs' probe (an R2 read each) and its load
    // published to D1 (every 2 s). A sync carrying an empty report, with that work held and then due.
    const home = siteObject(HOME);
    const siteOps: Counts = {};
    const siteD1: Rows = { read: 0, written: 0 };
    await runInDurableObject(home, async (o: OcaSite) => {
      (o as unknown as { env: Env }).env = countingEnv(siteOps, "60", siteD1);
    });
    let seq = 1;
    const emptySync = () => home.edgeSync({ seq: seq++, windowMs: 1000, ocas: {} }, "cap-rows-site");
    const held: Rows[] = [];
    for (let k = 0; k < 3; k++) held.push((await rowsOf(async () => void (await emptySync()))).rows.home);
    const due: Rows[] = [];
    for (let k = 0; k < 3; k++) {
      await runInDurableObject(home, async (_o: OcaSite, state) => {
        state.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('probed_at', '0'), ('load_published_at', '0')`);
      });
      due.push((await rowsOf(async () => void (await emptySync()), { settleMs: 400 })).rows.home);
    }
    // The site object's own look at the live topology: its isolate has no catalogue look to feed it, so it
    // asks D1 once per CATALOGUE_TTL_S (workers/shared/topology-live.ts). Its timers held meanwhile.
    const lookOps: Counts = {};
    const lookD1: Rows = { read: 0, written: 0 };
    await runInDurableObject(home, async (o: OcaSite, state) => {
      (o as unknown as { env: Env }).env = countingEnv(lookOps, "60", lookD1);
      const until = String(Date.now() + 86_400_000);
      state.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('probed_at', ?), ('load_published_at', ?)`, until, until);
    });
    forgetTopologyLooks();
    await emptySync();
    const siteLook = { d1Statements: (lookOps["d1.read"] ?? 0) + (lookOps["d1.write"] ?? 0), d1: { ...lookD1 } };
    // Within its TTL, no other.
    await emptySync();
    expect(siteLook.d1Statements, "a site object's own topology look").toBeGreaterThanOrEqual(1);
    expect((lookOps["d1.read"] ?? 0) + (lookOps["d1.write"] ?? 0), "one look per TTL").toBe(siteLook.d1Statements);
    await runInDurableObject(home, async (o: OcaSite) => {
      (o as unknown as { env: Env }).env = env;
    });
    // The probe alone due (the publication held): the due samples less these are the publication's own
    // rows, which come once per publication interval, not every second.
    const probeOnly: Rows[] = [];
    for (let k = 0; k < 3; k++) {
      await runInDurableObject(home, async (_o: OcaSite, state) => {
        state.storage.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('probed_at', '0'), ('load_published_at', ?)`, String(Date.now() + 86_400_000));
      });
      probeOnly.push((await rowsOf(async () => void (await emptySync()), { settleMs: 400 })).rows.home);
    }
    const homeOcas = topology.sites.find((s) => s.id === HOME)!.ocas.length;
    const sitePublication = { site: minus(medianRows(due), medianRows(probeOnly)) };
    expect(sitePublication.site.written, "a publication's own rows (its time noted)").toBeGreaterThanOrEqual(1);
    const siteSecond = {
      ocas: homeOcas,
      // The probe's rows alone: the publication's are sitePublication.
      site: minus(medianRows(probeOnly), medianRows(held)),
      r2: Object.fromEntries(
        Object.entries(siteOps)
          .filter(([k]) => k.startsWith("r2."))
          .map(([k, v]) => [k, v / 3]),
      ),
      d1: minus(siteD1, ZERO, 3),
      // D1 statements a publication makes (on the primary: writes).
      d1Statements: ((siteOps["d1.read"] ?? 0) + (siteOps["d1.write"] ?? 0)) / 3,
    };
    expect(siteSecond.site.written, "site second").toBeGreaterThanOrEqual(homeOcas);
    expect(siteSecond.r2["r2.tier.get"], "probe reads").toBeGreaterThanOrEqual(homeOcas);
    expect(siteSecond.d1.written, "load published").toBeGreaterThanOrEqual(homeOcas);
    expect(siteSecond.d1Statements, "load published").toBeGreaterThanOrEqual(1);

    // The nightly fill: a plan applied and its alarm run to the end at a site, through counting bindings.
    const FILL_SITE = "lakeshore-chi";
    const fillSite = siteObject(FILL_SITE);
    await nameObject(fillSite, `OcaSite:${FILL_SITE}`);
    const ocaId = (await fillSite.describe()).ocas[0].ocaId;
    const fillTitles = [await publishTitle("cap-rows-fill-1"), await publishTitle("cap-rows-fill-2"), await publishTitle("cap-rows-fill-3")];
    const files = fillTitles.reduce((n, t) => n + Object.keys(t.files).length, 0);
    const fillOps: Counts = {};
    const fillD1: Rows = { read: 0, written: 0 };
    await nameAll();
    rowsByObject.clear();
    await runInDurableObject(fillSite, async (o: OcaSite) => {
      (o as unknown as { env: Env }).env = countingEnv(fillOps, "60", fillD1);
      await o.applyPlan(openPlan({ [ocaId]: fillTitles.map((t) => t.titleId) }));
    });
    const ready = () =>
      runInDurableObject(fillSite, async (_o: OcaSite, state) => {
        uncounted = true;
        try {
          return state.storage.sql
            .exec<{ n: number }>(`SELECT COUNT(*) AS n FROM holdings WHERE oca_id = ? AND title_id LIKE 'cap-rows-fill-%' AND state = 'ready'`, ocaId)
            .one().n;
        } finally {
          uncounted = false;
        }
      });
    for (let i = 0; i < 100 && (await ready()) < files; i++) if (!(await runDurableObjectAlarm(fillSite))) await sleep(50);
    const fillRows = total([...rowsByObject].filter(([k]) => k === `OcaSite:${FILL_SITE}`).map(([, r]) => r));
    await runInDurableObject(fillSite, async (o: OcaSite) => {
      (o as unknown as { env: Env }).env = env;
    });
    expect(await ready()).toBe(files);
    expect(fillOps["r2.tier.put"]).toBe(files);
    expect(fillOps["r2.origin.get"]).toBe(files);
    const fillPerFile = {
      files,
      site: minus(fillRows, ZERO, files),
      r2: Object.fromEntries(
        Object.entries(fillOps)
          .filter(([k]) => k.startsWith("r2."))
          .map(([k, v]) => [k, v / files]),
      ),
      d1: minus(fillD1, ZERO, files),
    };
    expect(fillPerFile.site.written).toBeGreaterThan(0);
    await holdSiteTimers(null);

    const rows = {
      play: { member: memberPlay, site: sitePerPlay },
      playAfresh: { member: afresh.rows.member },
      playNewMember: { member: newMember.rows.member },
      playFirstReport: { site: firstReport },
      playExpiry: { member: streamExpiry, site: sessionExpiry },
      stop: { member: stop.rows.member },
      streamTouch: { member: touch.rows.member },
      steeringPoll: { all: total(Object.values(poll.rows)) },
      syncFixed: { site: syncFixed },
      syncPerSession: { site: perSession },
      syncPerProbe: { site: perProbe },
      qoeBatch: { shard: qoeBatch },
      qoeBatchFirst: { shard: qoeBatchFirst },
      qoeSessionFirstBatch: { shard: firstBatch.rows.shard },
      qoeBatchReadPerEarlierBatch: readPerEarlierBatch,
      qoeBatchExpiry: { shard: batchExpiry },
      forwardFixed,
      forwardPerReport,
      siteSecond,
      sitePublication,
      siteLook,
      fillPerFile,
      d1Background,
    };
    console.log(`CAPACITY_ROWS ${JSON.stringify(rows)}`);
  }, 150_000);
});

describe("a fill cycle's reads of site objects", () => {
  it("asks each site of an IXP's region for its hourly bytes and its history once, though the IXP plans on its children's outlooks", async () => {
    const { topology } = await import("../workers/shared/topology");
    const region = topology.sites.filter((s) => s.id === "ixp-nyc" || s.parent === "ixp-nyc");
    expect(region.length).toBeGreaterThan(1);
    const counts: Counts = {};
    const report = await runFillCycle(countingEnv(counts), "ixp-nyc", Date.now(), { force: true });
    expect(report.ran).toBe(true);
    expect(counts["do.OcaSite.servedByHour"]).toBe(region.length);
    const country = topology.sites.filter((s) => s.country === "US").length;
    expect(counts["do.OcaSite.history"]).toBeLessThanOrEqual(country);
  });
});
