import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { dayNumber } from "../fill/day";
import { replacePlan } from "../durable-objects/site/plan";
import {
  OVERVIEW_PAGE_BUDGET_MS,
  OVERVIEW_PAGE_DEFAULT,
  OVERVIEW_PAGE_MAX,
  opsRoutes,
  SITE_OVERVIEW_CONCURRENCY,
  SITE_OVERVIEW_TIMEOUT_MS,
} from "../workers/control/admin/ops";
import type { OpsSummary } from "../workers/control/admin/ops-summary-fallback";
import { PLAN_PAGE_DEFAULT, PREDICTIONS_PAGE_DEFAULT } from "../workers/control/admin/sites";
import { applyTopology, findSite, topology, topologyVersion, type Topology } from "../workers/shared/topology";
import { ADMIN, call, CLEAR_OF_MIDNIGHT_MS, clearOfLocalMidnight } from "./fixtures";
import { siteStubsEnv } from "./history-watch";

/**
 * The operator's reads at Open Connect's scale (1,000 sites, 10,000 titles). The overview asked every
 * site's object at once (two calls a site: 2,000 in flight in one request at 1,000 sites) and answered
 * every site in one page; a site's plan and predictions listed every planned and predicted title in one
 * answer. Now the overview asks a few sites at a time and answers a page of sites, and the plan and
 * predictions come a page at a time: the pages, followed by their `cursor`, cover each item once.
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/** Calls in flight at once, and in all. */
interface Meter {
  now: number;
  max: number;
  calls: number;
}

/** Runs `call` as one call in flight on `meter`. */
async function metered<T>(meter: Meter, call: () => Promise<T>): Promise<T> {
  meter.now++;
  meter.calls++;
  meter.max = Math.max(meter.max, meter.now);
  try {
    return await call();
  } finally {
    meter.now--;
  }
}

/** The object calls the overview makes of a site (its older code's too). */
const SITE_READS = new Set(["opsSummary", "servedByDay", "describe", "lastCycle"]);

/**
 * The Worker's bindings with every site object's reads counted on `meter`: the real object's, or, for a
 * site `standIn` answers, that stand-in's (a topology of 1,000 sites is more objects than a test makes).
 */
function countedEnv(meter: Meter, standIn?: (siteId: string) => object): Env {
  return siteStubsEnv(
    (stub, siteId) =>
      new Proxy(standIn ? standIn(siteId) : stub, {
        get(t, key) {
          const v = Reflect.get(t, key) as unknown;
          if (typeof key !== "string" || !SITE_READS.has(key) || typeof v !== "function") return v;
          // Reflect.apply: on an RPC stub, `.apply` would itself be taken for a remote method.
          return (...args: unknown[]) => metered(meter, () => Reflect.apply(v as (...a: unknown[]) => Promise<unknown>, t, args));
        },
      }),
  );
}

/** A site object's dashboard summary with nothing in it, answered after a short wait (so calls overlap). */
function quietSite(): object {
  const summary: OpsSummary = {
    ocas: [],
    misses: { content: { count: 0, bytes: 0 }, health: { count: 0, bytes: 0 } },
    day: null,
    planned: {},
    cycle: null,
    progress: { pending: [], done: {}, fillUntil: null, fillRateBps: null, lastError: null, parked: 0 },
    syncs: { isolates: 0, everyMs: 0 },
  } as unknown as OpsSummary;
  const later = <T>(v: T) => new Promise<T>((resolve) => setTimeout(() => resolve(v), 2));
  return { opsSummary: () => later(summary), servedByDay: () => later([]) };
}

interface OverviewPage {
  sites: Array<{ siteId: string; reachable: boolean }>;
  cursor?: string;
}

/** Every page of the overview from the start, following `cursor`; the query of each page given. */
async function overviewPages(bindings: Env, query: string): Promise<OverviewPage[]> {
  const pages: OverviewPage[] = [];
  let cursor: string | undefined;
  do {
    const res = await opsRoutes.request(`/ops/overview?${query}${cursor ? `&cursor=${cursor}` : ""}`, {}, bindings);
    expect(res.status).toBe(200);
    const page = (await res.json()) as OverviewPage;
    pages.push(page);
    cursor = page.cursor;
    // More pages than sites: a cursor that never ends.
    expect(pages.length).toBeLessThanOrEqual(topology.sites.length + 1);
  } while (cursor);
  return pages;
}

describe("the operator overview at many sites", () => {
  const saved = { doc: structuredClone(topology) as Topology, version: topologyVersion() };
  afterEach(() => applyTopology(saved.doc, saved.version));

  /** The demo topology with embedded sites added until it has `n`. */
  function grow(n: number): void {
    const doc = structuredClone(topology) as Topology;
    const model = doc.sites.find((s) => s.tier === "embedded")!;
    for (let i = doc.sites.length; i < n; i++) {
      const id = `scale-${String(i).padStart(4, "0")}`;
      doc.sites.push({ ...model, id, name: id, ocas: model.ocas.map((o, k) => ({ ...o, id: `${id}-${k + 1}` })) });
    }
    // The version this isolate runs on: the live topology's next read does not take it for a newer one.
    applyTopology(doc, topologyVersion());
  }

  it("asks at most a pool of site objects at once, and answers a bounded page of sites", async () => {
    grow(1_000);
    const meter: Meter = { now: 0, max: 0, calls: 0 };
    const res = await opsRoutes.request("/ops/overview?days=60", {}, countedEnv(meter, quietSite));
    expect(res.status).toBe(200);
    const page = (await res.json()) as OverviewPage;
    // A page, not every site: at most two calls a site of it, a few sites at a time.
    expect(page.sites.length).toBe(OVERVIEW_PAGE_DEFAULT);
    expect(page.cursor).toBe(page.sites.at(-1)?.siteId);
    expect(page.sites.every((s) => s.reachable)).toBe(true);
    expect(meter.calls).toBe(2 * OVERVIEW_PAGE_DEFAULT);
    expect(meter.max).toBeGreaterThan(1);
    expect(meter.max).toBeLessThanOrEqual(2 * SITE_OVERVIEW_CONCURRENCY);
  });

  it("pages cover every site once, each page at most its limit, and each page's calls bounded", async () => {
    grow(1_000);
    const meter: Meter = { now: 0, max: 0, calls: 0 };
    const pages = await overviewPages(countedEnv(meter, quietSite), "days=14&limit=150");
    expect(pages.length).toBe(Math.ceil(1_000 / 150));
    for (const p of pages) expect(p.sites.length).toBeLessThanOrEqual(150);
    const ids = pages.flatMap((p) => p.sites.map((s) => s.siteId));
    expect(ids.length).toBe(1_000);
    expect(new Set(ids)).toEqual(new Set(topology.sites.map((s) => s.id)));
    expect(meter.max).toBeLessThanOrEqual(2 * SITE_OVERVIEW_CONCURRENCY);
  });

  it("answers a page whose sites all hang within its time budget and one site's timeout, listing the sites it did not ask", async () => {
    grow(1_000);
    const meter: Meter = { now: 0, max: 0, calls: 0 };
    const hang = () => ({ opsSummary: () => new Promise(() => {}), servedByDay: () => new Promise(() => {}) });
    const started = Date.now();
    const res = await opsRoutes.request(`/ops/overview?limit=${OVERVIEW_PAGE_MAX}`, {}, countedEnv(meter, hang));
    const tookMs = Date.now() - started;
    expect(res.status).toBe(200);
    const page = (await res.json()) as { sites: Array<{ reachable: boolean; error?: string }> };
    expect(page.sites.length).toBe(OVERVIEW_PAGE_MAX);
    expect(page.sites.every((s) => !s.reachable)).toBe(true);
    expect(page.sites.filter((s) => /timed out/.test(s.error ?? "")).length).toBeGreaterThan(0);
    expect(page.sites.filter((s) => /not asked/.test(s.error ?? "")).length).toBeGreaterThan(0);
    // Not a page's sites one pool's width at a time, each to its timeout (125 s here).
    expect(tookMs).toBeLessThan(OVERVIEW_PAGE_BUDGET_MS + SITE_OVERVIEW_TIMEOUT_MS + 3_000);
    // A call that hangs is given up at its timeout, not cancelled: a pool's width of them per timeout, within the budget.
    expect(meter.calls).toBeLessThanOrEqual(2 * SITE_OVERVIEW_CONCURRENCY * (Math.ceil(OVERVIEW_PAGE_BUDGET_MS / SITE_OVERVIEW_TIMEOUT_MS) + 1));
  }, 60_000);

  it("pages the demo's real site objects too, and refuses a cursor that is not a site id", async () => {
    const meter: Meter = { now: 0, max: 0, calls: 0 };
    const pages = await overviewPages(countedEnv(meter), "limit=3");
    expect(pages.map((p) => p.sites.length)).toEqual([3, 3, 3, 1]);
    const ids = pages.flatMap((p) => p.sites.map((s) => s.siteId));
    expect(ids).toEqual(topology.sites.map((s) => s.id).sort());
    expect(pages.flatMap((p) => p.sites).every((s) => s.reachable)).toBe(true);
    expect(meter.max).toBeLessThanOrEqual(2 * SITE_OVERVIEW_CONCURRENCY);
    for (const bad of ["limit=0", "limit=201", "cursor=__proto__", "cursor=a%2Fb"]) {
      const res = await opsRoutes.request(`/ops/overview?${bad}`, {}, env);
      expect(res.status, bad).toBe(400);
    }
  });
});

describe("a site's plan at a catalogue's scale", () => {
  const SITE = "lumen-nyc";
  const OCAS = ["lumen-nyc-1", "lumen-nyc-2"];
  const TITLES = 1_500;

  beforeAll(async () => {
    const ids = Array.from({ length: TITLES }, (_, k) => `scale-plan-${String(k).padStart(5, "0")}`);
    // The plan's rows as a fill cycle records them: every title on both OCAs.
    await runInDurableObject(site(SITE), async (_o, state) => {
      replacePlan(
        state.storage.sql,
        OCAS.flatMap((ocaId) => ids.map((titleId, rank) => ({ ocaId, titleId, rank }))),
      );
    });
  });

  type PlanPage = { siteId: string; plan: Record<string, string[]>; progress: unknown; cursor?: string };
  const planPage = async (query: string) => {
    const res = await call(`/admin/sites/${SITE}/plan?${query}`, { headers: ADMIN });
    expect(res.status, query).toBe(200);
    return (await res.json()) as PlanPage;
  };
  const rowsOf = (p: PlanPage) => Object.entries(p.plan).flatMap(([ocaId, titles]) => titles.map((t) => `${ocaId}/${t}`));

  it("is a bounded page unless asked, with a cursor while more remain", async () => {
    const first = await planPage("");
    expect(rowsOf(first).length).toBe(PLAN_PAGE_DEFAULT);
    expect(first.cursor).toBeDefined();
    expect(first.progress).toBeDefined();
  });

  it("pages cover every planned title of every OCA once, each page at most its limit", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const p = await planPage(`limit=700${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(rowsOf(p).length).toBeLessThanOrEqual(700);
      seen.push(...rowsOf(p));
      cursor = p.cursor;
      expect(++pages).toBeLessThanOrEqual(10);
    } while (cursor);
    expect(pages).toBe(Math.ceil((OCAS.length * TITLES) / 700));
    expect(seen.length).toBe(OCAS.length * TITLES);
    expect(new Set(seen).size).toBe(OCAS.length * TITLES);
  });

  it("refuses a limit or cursor it did not make with a 400", async () => {
    for (const q of ["limit=0", "limit=5001", "cursor=nocolon", "cursor=a:b:c", "limitt=3"]) {
      expect((await call(`/admin/sites/${SITE}/plan?${q}`, { headers: ADMIN })).status, q).toBe(400);
    }
  });
});

describe("a site's predictions at a catalogue's scale", () => {
  const SITE = "rheinnet-muc";
  const TITLES = 1_100;
  let ids: string[] = [];

  beforeAll(async () => {
    await clearOfLocalMidnight();
    ids = Array.from({ length: TITLES }, (_, k) => `scale-pred-${String(k).padStart(5, "0")}`);
    const now = Date.now();
    const statements = ids.flatMap((id) => [
      env.DB.prepare("INSERT INTO titles (id, name, duration_s, available_from, updated_at) VALUES (?, ?, 3600, 0, ?)").bind(id, id, now),
      env.DB.prepare("INSERT INTO title_versions (title_id, version, files, bytes, created_at) VALUES (?, 1, 1, ?, ?)").bind(id, 1e9, now),
      env.DB.prepare("INSERT INTO licences (title_id, country, available_from) VALUES (?, 'DE', 0)").bind(id),
      env.DB.prepare("INSERT INTO files (title_id, version, path, bytes, sha256) VALUES (?, 1, 'seg-0.m4s', ?, 'x')").bind(id, 1e9),
    ]);
    for (let i = 0; i < statements.length; i += 1_000) await env.DB.batch(statements.slice(i, i + 1_000));
    // Yesterday's plays of each title, each a different amount: every title is predicted.
    const yesterday = dayNumber(now, findSite(SITE)!.timeZone) - 1;
    for (let i = 0; i < ids.length; i += 50)
      await Promise.all(ids.slice(i, i + 50).map((id, k) => site(SITE).recordViews(yesterday, id, { plays: 1, bytes: 1e8 + (i + k) * 1e5 })));
  }, CLEAR_OF_MIDNIGHT_MS + 120_000);

  type PredictionsPage = { targetDay: number; predictions: Array<{ titleId: string; bytes: number }>; cursor?: string };
  const predictionsPage = async (query: string) => {
    const res = await call(`/admin/sites/${SITE}/predictions?${query}`, { headers: ADMIN });
    expect(res.status, query).toBe(200);
    return (await res.json()) as PredictionsPage;
  };

  it("is a bounded page unless asked, most bytes first, with a cursor while more remain", async () => {
    const first = await predictionsPage("");
    expect(first.predictions.length).toBe(PREDICTIONS_PAGE_DEFAULT);
    expect(first.predictions[0].titleId).toBe(ids.at(-1));
    expect(first.cursor).toBe(`${first.targetDay}:${first.predictions.at(-1)?.titleId}`);
  });

  it("pages cover every predicted title once, in the predictions' order, each page at most its limit", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const p = await predictionsPage(`limit=400${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(p.predictions.length).toBeLessThanOrEqual(400);
      seen.push(...p.predictions.map((x) => x.titleId).filter((id) => id.startsWith("scale-pred-")));
      cursor = p.cursor;
      expect(++pages).toBeLessThanOrEqual(10);
    } while (cursor);
    expect(pages).toBe(Math.ceil(TITLES / 400));
    // Most bytes first: the last title seeded has the most.
    expect(seen).toEqual([...ids].reverse());
  });

  it("refuses a cursor of another day or of a title not predicted with a 409, and one it did not make with a 400", async () => {
    const { targetDay } = await predictionsPage("limit=1");
    for (const cursor of [`${targetDay - 1}:${ids[0]}`, `${targetDay}:not-predicted`]) {
      const res = await call(`/admin/sites/${SITE}/predictions?cursor=${cursor}`, { headers: ADMIN });
      expect(res.status, cursor).toBe(409);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("predictions_changed");
    }
    for (const q of ["limit=0", "limit=5001", "cursor=x:y", "cursor=1:a/b"])
      expect((await call(`/admin/sites/${SITE}/predictions?${q}`, { headers: ADMIN })).status, q).toBe(400);
  });
});
