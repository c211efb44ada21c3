/**
 * The live steering view: candidates from the D1 steering view overlaid with each site's live health
 * and load from this isolate's site link (workers/shared/site-link.ts), so a play request never waits on sites.
 */
import type { Candidate } from "./steering";
import { siteView } from "../shared/site-link";
import type { SiteLiveView } from "../shared/site-view";

/**
 * Overlays the live view on candidates from the D1 steering view: drops OCAs the site now reports
 * failed or drained, marks degraded ones, sets load, and marks candidates of unreachable sites stale. Expired sites are
 * refreshed through `waitUntil`, never awaited. With `await`, expired sites are refreshed first
 * (the steering server uses this: its answers are the ones that move players).
 */
export async function applyLiveView(
  env: Env,
  candidates: Array<Candidate & { health?: string; updatedAt?: number }>,
  waitUntil: (p: Promise<unknown>) => void,
  opts: { awaitRefresh?: boolean } = {},
): Promise<Candidate[]> {
  return overlayLiveView(candidates, await liveSiteViews(env, candidates, waitUntil, opts));
}

/** Each candidate site's live view as this isolate holds it (see `siteView`). */
export type SiteViews = Map<string, { view: SiteLiveView | null; stale: boolean }>;

/** The distinct sites of a candidate list (lists are the catalogue view's own: kept while it is). */
const sitesOf = new WeakMap<object, string[]>();

/** The live views of the candidates' sites (refreshing expired ones as `applyLiveView` says). */
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

/** Overlays site views on candidates (pure: the rules of `applyLiveView`). */
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
