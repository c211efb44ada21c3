/** Admin: the operator dashboard's one read: every site with its OCAs, fill, misses and bytes served by source. */
import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
import { dayNumber, localHour } from "../../../fill/day";
import { siteStub } from "../../shared/site-link";
import { withTimeout } from "../../shared/with-timeout";
import { fillWindow, topology } from "../../shared/topology";
import { inWindow } from "../fill-cycle";
import { queryInt, validationHook } from "../validation";
import { opsSummaryOf } from "./ops-summary-fallback";
import type { AdminEnv } from "./params";

export const opsRoutes = new Hono<AdminEnv>();

/** `days`: days of bytes served, 1-60 (default 14); anything else is a 400, not the default in its place. */
/** How long the overview waits for a site's object: one that hangs is listed unreachable, not the whole page held. */
export const SITE_OVERVIEW_TIMEOUT_MS = 5_000;

export const overviewQuery = z.strictObject({ days: queryInt(1, 60, 14) });

/**
 * Everything the dashboard shows, in one answer: per site its tier, place and parent; per OCA health
 * (who set it, why, since when, the last transitions), egress against throughput, storage used against
 * capacity, titles held, fault switch; tonight's fill (plan, progress by source, window); misses by
 * kind; bytes served per day by source. A site that cannot answer is listed as unreachable; one whose
 * object still runs the code before opsSummary() (a gradual deployment) is summarised from its
 * describe() and lastCycle() instead (see ops-summary-fallback.ts).
 */
opsRoutes.get("/ops/overview", zValidator("query", overviewQuery, validationHook), async (c) => {
  const { days } = c.req.valid("query");
  const now = Date.now();
  const sites = await Promise.all(
    topology.sites.map(async (site) => {
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
      try {
        const stub = siteStub(c.env, site.id);
        const today = dayNumber(now, site.timeZone);
        const [state, served] = await withTimeout(
          Promise.all([opsSummaryOf(stub), stub.servedByDay(today - days + 1, today)]),
          SITE_OVERVIEW_TIMEOUT_MS,
          `site ${site.id}`,
        );
        return {
          ...base,
          reachable: true,
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
        return { ...base, reachable: false, error: String(err).slice(0, 200), fill: { window } };
      }
    }),
  );
  return c.json({ at: new Date(now).toISOString(), days, sites });
});
