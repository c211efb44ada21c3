import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../workers/index";
import { runFillCycle } from "../workers/control/fill-cycle";
import { fill, GEO, memberToken, publishTitle, type PlayResponse } from "./fixtures";

/**
 * The storage operations of each request type, counted on the real code in workerd: every D1 call,
 * Durable Object call (by class and method), R2 call (by bucket) and colo-cache call the Worker makes
 * for one request in the steady state, background work included. The bindings are wrapped by counting
 * proxies and `caches.default` by counting methods: the one thing mocked, because the runtime does not
 * count its own calls. `npm run bench:scale` reads the CAPACITY_COUNTS line this prints.
 */

type Counts = Record<string, number>;
const TITLE = "cap-title";
const SEG = "video/avc-480p/seg-00001.m4s";

function countingEnv(counts: Counts, ttlS = "60"): Env {
  const add = (k: string) => {
    counts[k] = (counts[k] ?? 0) + 1;
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
        return (...a: unknown[]) => {
          if (["all", "first", "run", "raw"].includes(String(key))) add(kind(sqlText));
          return Reflect.apply(v as (...x: unknown[]) => unknown, t, a);
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
            return t.batch(list);
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
    const readsOf = async (request: () => Request) => {
      const counts: Counts = {};
      const ctx = createExecutionContext();
      const res = await worker.fetch(request(), countingEnv(counts, "0.001"), ctx);
      await res.arrayBuffer();
      await waitOnExecutionContext(ctx);
      expect(res.status).toBeLessThan(300);
      return counts["d1.read"] ?? 0;
    };
    const change = () => env.DB.prepare("UPDATE titles SET description = description || '.' WHERE id = ?").bind(TITLE).run();
    // A background look (the topology's own, every 1.5 TTL) may add a read to any request: the fewest
    // reads of three requests after a change, less the fewest of three with none, is the reload.
    const reloads = async (request: () => Promise<() => Request> | (() => Request)) => {
      const after: number[] = [];
      const none: number[] = [];
      for (let i = 0; i < 3; i++) {
        await change();
        after.push(await readsOf(await request()));
        none.push(await readsOf(await request()));
      }
      return Math.min(...after) - Math.min(...none);
    };
    // New members for each play: the stream limit is not the concern here.
    const playReload = await reloads(async () => {
      const r = playRequest(await memberToken("premium"));
      return () => r;
    });
    // The poll's session is of the current version: the change drops its version view too.
    const pollReload = await reloads(() => () => new Request(p.steering.server));
    out.titleChange = { "d1.read": playReload + pollReload };

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
