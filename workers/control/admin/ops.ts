/** Admin: the operator dashboard's one read: a page of sites, each with its OCAs, fill, misses and bytes served by source. */
import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { dayNumber, localHour } from "../../../fill/day";
import { siteStub } from "../../shared/site-link";
import { withTimeout } from "../../shared/with-timeout";
import { fillWindow, topology, type SiteSpec } from "../../shared/topology";
import { idSchema } from "../../../shared/ids";
import { eachBounded } from "../each-bounded";
import { inWindow } from "../fill-cycle";
import { queryInt, validationHook } from "../validation";
import { opsSummaryOf } from "./ops-summary-fallback";
import type { AdminEnv } from "./params";

export const opsRoutes = new Hono<AdminEnv>();

/** How long the overview waits for a site's object: one that hangs is listed unreachable, not the whole page held. */
export const SITE_OVERVIEW_TIMEOUT_MS = 5_000;

/**
 * Site objects the overview asks at once (each is two or three calls: its summary, bytes served, and on
 * older code describe() and lastCycle()). A page of sites all at once was up to 2 × the page's calls in
 * flight; the pool keeps a page to a few, and a page's whole count to OVERVIEW_PAGE_MAX × 4, well within
 * the subrequests a request may make (10,000 on Workers Paid, 50 on Free).
 */
export const SITE_OVERVIEW_CONCURRENCY = 8;

/**
 * How long a page goes on starting sites' calls: with the pool, sites that hang (each to its timeout)
 * hold the sites after them, and the dashboard gives up on a page after 20 s. A site not asked by then
 * is listed unreachable, saying so, and the page answers within this and one site's timeout.
 */
export const OVERVIEW_PAGE_BUDGET_MS = 10_000;

/** Sites in a page of the overview unless asked (`limit`), and the most a page takes. */
export const OVERVIEW_PAGE_DEFAULT = 100;
export const OVERVIEW_PAGE_MAX = 200;

/**
 * `days`: days of bytes served, 1-60 (default 14); anything else is a 400, not the default in its place.
 * `limit`: sites a page (1-200, default 100); `cursor`: the last site id of the page before (its `cursor`).
 */
export const overviewQuery = z.strictObject({
  days: queryInt(1, 60, 14),
  limit: queryInt(1, OVERVIEW_PAGE_MAX, OVERVIEW_PAGE_DEFAULT),
  cursor: idSchema("cursor").optional(),
});

/**
 * Everything the dashboard shows, a page of sites at a time (by site id, after `cursor`; `cursor` in
 * the answer when more remain, so a site added or removed meanwhile neither repeats nor skips another):
 * per site its tier, place and parent; per OCA health (who set it, why, since when, the last
 * transitions), egress against throughput, storage used against capacity, titles held, fault switch;
 * tonight's fill (plan, progress by source, window); misses by kind; bytes served per day by source. A
 * site that cannot answer is listed as unreachable; one whose object still runs the code before
 * opsSummary() (a gradual deployment) is summarised from its describe() and lastCycle() instead (see
 * ops-summary-fallback.ts). The sites' objects are asked SITE_OVERVIEW_CONCURRENCY at a time.
 */
opsRoutes.get("/ops/overview", zValidator("query", overviewQuery, validationHook), async (c) => {
  const { days, limit, cursor } = c.req.valid("query");
  const now = Date.now();
  // Code-unit order, the same in every isolate (as an OCA's titles page).
  const ordered = topology.sites.filter((s) => cursor === undefined || s.id > cursor).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const pageSites = ordered.slice(0, limit);
  const more = ordered.length > pageSites.length;
  const sites: Array<Awaited<ReturnType<typeof siteOverview>>> = new Array(pageSites.length);
  await eachBounded(pageSites, SITE_OVERVIEW_CONCURRENCY, async (site, i) => {
    sites[i] =
      Date.now() - now < OVERVIEW_PAGE_BUDGET_MS
        ? await siteOverview(c.env, site, days, now)
        : unreachable(site, now, `not asked: the page's ${OVERVIEW_PAGE_BUDGET_MS / 1000} s ran out (sites before it did not answer); refresh`);
  });
  const last = pageSites.at(-1);
  return c.json({ at: new Date(now).toISOString(), days, sites, ...(more && last ? { cursor: last.id } : {}) });
});

/** What the overview says of every site, asked or not: its place in the topology and its fill window now. */
function siteHeader(site: SiteSpec, now: number) {
  const base = {
    siteId: site.id,
    name: site.name,
    tier: site.tier,
    region: site.region,
    isp: site.isp ?? null,
    parent: site.parent ?? null,
    lat: site.lat,
    lon: site.lon,
  };
  const w = fillWindow(site);
  const window = { startHour: w.startHour, endHour: w.endHour, localHour: localHour(now, site.timeZone), open: inWindow(localHour(now, site.timeZone), w) };
  return { base, window };
}

/** A site listed as unreachable, with why. */
function unreachable(site: SiteSpec, now: number, error: string) {
  const { base, window } = siteHeader(site, now);
  return { ...base, reachable: false as const, error: error.slice(0, 200), fill: { window } };
}

/** One site's part of the overview; never rejects (a site that cannot answer is listed unreachable). */
async function siteOverview(env: Env, site: SiteSpec, days: number, now: number) {
  const { base, window } = siteHeader(site, now);
  try {
    const stub = siteStub(env, site.id);
    const today = dayNumber(now, site.timeZone);
    const [state, served] = await withTimeout(
      Promise.all([opsSummaryOf(stub), stub.servedByDay(today - days + 1, today)]),
      SITE_OVERVIEW_TIMEOUT_MS,
      `site ${site.id}`,
    );
    return {
      ...base,
      reachable: true as const,
      ocas: state.ocas.map((o) => ({
        ocaId: o.ocaId,
        health: o.health,
        healthBy: o.load.healthBy ?? "auto",
        healthReason: o.load.healthReason ?? "",
        healthSince: o.load.healthSince ?? 0,
        transitions: o.transitions,
        fault: o.load.fault ?? null,
        egressBps: o.load.egressBps,
        throughputBps: o.throughputBps,
        load: o.load.load,
        sessions: o.load.sessions,
        usedBytes: o.usedBytes,
        capacityBytes: o.capacityBytes,
        titles: o.completeTitles,
      })),
      fill: {
        day: state.day,
        window,
        planned: state.planned,
        predictedBytes: state.cycle?.predictedBytes ?? null,
        coveredBytes: state.cycle?.coveredBytes ?? null,
        pending: state.progress.pending,
        done: state.progress.done,
        parked: state.progress.parked,
        fillUntil: state.progress.fillUntil,
        lastError: state.progress.lastError,
      },
      misses: state.misses,
      // Isolates syncing with the site lately and the interval it asks of them (fan-in).
      syncs: state.syncs,
      served: served.map((r) => ({ day: r.day, source: r.source, bytes: r.bytes })),
      today,
    };
  } catch (err) {
    return unreachable(site, now, String(err));
  }
}
