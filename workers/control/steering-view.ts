/**
 * The live steering view: candidates from the D1 steering view overlaid with each site's live health
 * and load from this isolate's site link (workers/shared/site-link.ts), so a play request never waits on sites.
 */
import type { Candidate } from "./steering";
import { siteView } from "../shared/site-link";
import type { SiteLiveView } from "../shared/site-view";

/** Each candidate site's live view as this isolate holds it (see `siteView`). */
export type SiteViews = Map<string, { view: SiteLiveView | null; stale: boolean }>;

/** The distinct sites of a candidate list (lists are the catalogue view's own: kept while it is). */
const sitesOf = new WeakMap<object, string[]>();

/**
 * The live views of the candidates' sites, as this isolate holds them. Expired views are refreshed
 * through `waitUntil`, never awaited; with `awaitRefresh` (the steering server: its answers are the
 * ones that move players) expired ones are refreshed first. Callers pass the candidates whose sites
 * matter to them (a play: those its client may be steered to; a poll: its session's own).
 */
export async function liveSiteViews(
  env: Env,
  candidates: Array<{ siteId: string }>,
  waitUntil: (p: Promise<unknown>) => void,
  opts: { awaitRefresh?: boolean } = {},
): Promise<SiteViews> {
  let siteIds = sitesOf.get(candidates);
  if (!siteIds) sitesOf.set(candidates, (siteIds = [...new Set(candidates.map((c) => c.siteId))]));
  return new Map(await Promise.all(siteIds.map(async (siteId) => [siteId, await siteView(env, siteId, waitUntil, opts)] as const)));
}

/**
 * Overlays site views on candidates from the D1 steering view (pure): drops OCAs a site now reports
 * failed or drained, marks degraded ones, sets load, and marks candidates of unreachable sites stale; a
 * candidate whose site has no view here keeps what D1 says.
 */
export function overlayLiveView(candidates: Array<Candidate & { health?: string; updatedAt?: number }>, views: SiteViews): Candidate[] {
  const out: Candidate[] = [];
  for (const c of candidates) {
    const { view, stale } = views.get(c.siteId) ?? { view: null, stale: false };
    // The newer of the two wins: the live view, or what the site last wrote to D1 (an operator's
    // drain or restore lands there at once).
    const live = view && view.at > (c.updatedAt ?? 0) ? view.ocas.find((o) => o.ocaId === c.ocaId) : undefined;
    const health = live ? live.health : (c.health ?? "healthy");
    if (health !== "healthy" && health !== "degraded") continue;
    out.push({ siteId: c.siteId, ocaId: c.ocaId, load: live?.load ?? c.load ?? 0, stale, ...(health === "degraded" ? { degraded: true } : {}) });
  }
  return out;
}
