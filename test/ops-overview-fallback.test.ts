import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { OcaSite } from "../durable-objects/oca-site";
import { opsRoutes, SITE_OVERVIEW_TIMEOUT_MS } from "../workers/control/admin/ops";
import { type SummarySite, opsSummaryFromDescribe } from "../workers/control/admin/ops-summary-fallback";
import { isMissingMethod } from "../workers/shared/missing-method";
import { clearOfLocalMidnight, fill, openPlan, publishTitle } from "./fixtures";

/**
 * During a gradual deployment a site's object may still run the code before opsSummary(). The
 * dashboard then summarises it from describe() and lastCycle(), which that code has: the same figures,
 * not "unreachable". Any other error still lists the site as unreachable.
 */

const SITE = "lakeshore-chi";
const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/** What the call rejects with. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to reject");
}

interface OverviewSite {
  siteId: string;
  reachable: boolean;
  error?: string;
  ocas: Array<{ ocaId: string; titles: number; usedBytes: number; transitions: unknown[] }>;
  fill: { window: unknown; day: number | null; planned: Record<string, number>; parked: number; done: Record<string, { files: number }> };
  misses: Record<string, { count: number; bytes: number }>;
}

/** The overview route, as the admin API mounts it, with `bindings` for the Worker's. */
async function overviewSite(bindings: Env, siteId = SITE): Promise<OverviewSite> {
  const res = await opsRoutes.request("/ops/overview", {}, bindings);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { sites: OverviewSite[] };
  return body.sites.find((s) => s.siteId === siteId)!;
}

/** The Worker's bindings with `siteId`'s object answered by `standIn`, every other site by its real object. */
function withSite(siteId: string, standIn: SummarySite & Pick<OcaSite, "servedByDay">): Env {
  const ns = env.OCA_SITE;
  const target = ns.idFromName(siteId);
  const OCA_SITE = { idFromName: (name: string) => ns.idFromName(name), get: (id: DurableObjectId) => (id.equals(target) ? standIn : ns.get(id)) };
  return { ...env, OCA_SITE: OCA_SITE as unknown as Env["OCA_SITE"] };
}

beforeAll(async () => {
  // The route's "today" and the served rows must be the same day in both reads compared below.
  await clearOfLocalMidnight();
  await Promise.all(["fb-a", "fb-b", "fb-c", "fb-d", "fb-gone"].map((id) => publishTitle(id)));
  expect((await fill([{ siteId: SITE, ocaId: "lakeshore-chi-1", titleIds: ["fb-a", "fb-b"] }])).status).toBe(200);
  // A planned title whose origin bytes are gone: its copies fail and stay queued (two of them parked below).
  const listed = await env.ORIGIN.list({ prefix: "fb-gone/" });
  await env.ORIGIN.delete(listed.objects.map((o) => o.key).filter((k) => !k.includes("/versions/")));
  const s = site(SITE);
  await runInDurableObject(s, (o: OcaSite) =>
    o.applyPlan(openPlan({ "lakeshore-chi-1": ["fb-a", "fb-c", "fb-gone"], "lakeshore-chi-2": ["fb-b", "fb-d"], "lakeshore-chi-3": ["fb-d"] })),
  );
  // One fill run: the copies it can make (from a peer, the parent or origin) count as done.
  await runDurableObjectAlarm(s);
  await runInDurableObject(s, async (_o, state) => {
    await state.storage.deleteAlarm();
    const sql = state.storage.sql;
    sql.exec(
      `INSERT INTO misses (oca_id, title_id, kind, count, bytes) VALUES ('lakeshore-chi-1', 'x', 'content', 3, 30), ('lakeshore-chi-2', 'y', 'health', 2, 20), ('lakeshore-chi-2', 'x', 'content', 1, 5)`,
    );
    sql.exec(`UPDATE fill_tasks SET parked_at = 1 WHERE rowid IN (SELECT rowid FROM fill_tasks ORDER BY rowid LIMIT 2)`);
    // More transitions than the summary carries (describe() reads 10, the summary 5).
    for (let i = 0; i < 7; i++)
      sql.exec(
        `INSERT INTO health_transitions (oca_id, at, from_state, to_state, reason, by) VALUES ('lakeshore-chi-1', ?, 'healthy', 'degraded', ?, 'auto')`,
        1_000 + i,
        `test ${i}`,
      );
  });
  // describe() checks a few titles' completeness per call and notes it: settle that before comparing.
  await s.describe();
}, 120_000);

describe("the dashboard's summary of a site on the code before opsSummary()", () => {
  it("recognises the runtime's error for a method a real object lacks, and no other error", async () => {
    const err = await rejection((site(SITE) as unknown as { noSuchMethod(): Promise<void> }).noSuchMethod());
    // Locally (the vitest plugin's wrapper of Durable Objects): TypeError `The RPC receiver does not implement "noSuchMethod".`
    expect(err).toBeInstanceOf(TypeError);
    expect(isMissingMethod(err, "noSuchMethod")).toBe(true);
    expect(isMissingMethod(err, "opsSummary")).toBe(false);
    // Deployed workerd's wording of the same error (its source: "The RPC receiver does not implement the method \"", name, "\"."),
    // which the local runtime cannot produce for a Durable Object.
    expect(isMissingMethod(new TypeError('The RPC receiver does not implement the method "opsSummary".'), "opsSummary")).toBe(true);
    expect(isMissingMethod(new Error("Network connection lost."), "opsSummary")).toBe(false);
    expect(isMissingMethod(await rejection(Promise.reject("opsSummary")), "opsSummary")).toBe(false);
  });

  it("derives from describe() and lastCycle() the very summary opsSummary() gives", async () => {
    const s = site(SITE);
    const state = await s.describe();
    const last = await s.lastCycle();
    const summary = await s.opsSummary();
    // The fixture exercises every field: complete titles, plans, parked tasks, copies done, misses, transitions.
    expect(summary.ocas.map((o) => o.completeTitles)).toEqual([3, 2, 1]);
    expect(summary.planned).toEqual({ "lakeshore-chi-1": 3, "lakeshore-chi-2": 2, "lakeshore-chi-3": 1 });
    expect(summary.progress.parked).toBe(2);
    expect(summary.progress.done.peer.files + summary.progress.done.parent.files + summary.progress.done.origin.files).toBeGreaterThan(0);
    expect(summary.misses).toEqual({ content: { count: 4, bytes: 35 }, health: { count: 2, bytes: 20 } });
    expect(state.ocas[0].transitions).toHaveLength(7);
    expect(summary.ocas[0].transitions).toHaveLength(5);

    expect(opsSummaryFromDescribe(state, last)).toEqual(summary);
  });

  it("lists a site whose object lacks opsSummary() as reachable with its figures; any other error as unreachable", async () => {
    const real = site(SITE);
    // The local runtime runs one version of the code, so this stands in for an object on the previous
    // code: its opsSummary() rejects with the runtime's own error for a missing method (from a real
    // object of another class, which has no opsSummary), the rest are the real site's answers.
    const lacking = env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName("has-no-opsSummary")) as unknown as { opsSummary(): Promise<never> };
    const missing = await rejection(lacking.opsSummary());
    expect(isMissingMethod(missing, "opsSummary")).toBe(true);
    const previousCode = (opsSummary: () => Promise<never>) =>
      withSite(SITE, {
        opsSummary,
        describe: () => real.describe(),
        lastCycle: () => real.lastCycle(),
        servedByDay: (from: number, to: number) => real.servedByDay(from, to),
      });

    const current = await overviewSite(env);
    const fallback = await overviewSite(previousCode(() => lacking.opsSummary()));
    expect(fallback.reachable).toBe(true);
    expect(fallback.ocas.map((o) => [o.ocaId, o.titles])).toEqual([
      ["lakeshore-chi-1", 3],
      ["lakeshore-chi-2", 2],
      ["lakeshore-chi-3", 1],
    ]);
    expect(fallback.ocas[0].transitions).toHaveLength(5);
    expect(fallback.fill).toMatchObject({ planned: { "lakeshore-chi-1": 3, "lakeshore-chi-2": 2, "lakeshore-chi-3": 1 }, parked: 2 });
    expect(fallback.misses).toEqual({ content: { count: 4, bytes: 35 }, health: { count: 2, bytes: 20 } });
    // Everything as the current code shows it (the window's local hour aside: an hour may turn between the reads).
    const { fill: fallbackFill, ...fallbackRest } = fallback;
    const { fill: currentFill, ...currentRest } = current;
    expect(fallbackRest).toEqual(currentRest);
    expect({ ...fallbackFill, window: null }).toEqual({ ...currentFill, window: null });

    // Any other failure is the site's: unreachable, as before.
    for (const err of [new Error("Network connection lost."), await rejection((real as unknown as { noSuchMethod(): Promise<never> }).noSuchMethod())]) {
      const down = await overviewSite(previousCode(() => Promise.reject(err)));
      expect(down).toMatchObject({ siteId: SITE, reachable: false, error: String(err).slice(0, 200) });
      expect(down.ocas).toBeUndefined();
    }
    // A site whose object does not answer at all is listed unreachable once its wait is over, the page answered.
    const hung = await overviewSite(previousCode(() => new Promise<never>(() => {})));
    expect(hung).toMatchObject({ siteId: SITE, reachable: false, error: expect.stringContaining(`timed out after ${SITE_OVERVIEW_TIMEOUT_MS} ms`) });
    // The other sites answer as ever.
    expect(
      (
        await overviewSite(
          previousCode(() => Promise.reject(new Error("down"))),
          "lumen-nyc",
        )
      ).reachable,
    ).toBe(true);
  });
});
