import type { SiteLiveView } from "../shared/site-view";
import type { Candidate } from "./steering";
import { withTimeout } from "../shared/with-timeout";

/**
 * The live steering view in this isolate: each site's health and load, refreshed from the site's
 * Durable Object in the background when older than TTL_MS, so a play request never waits on sites.
 * A site that cannot be reached keeps its last-known view, marked stale; after FAILS_TO_OPEN failed
 * refreshes its circuit opens and no refresh is tried for OPEN_MS.
 */
export const TTL_MS = 2_000;
const REFRESH_TIMEOUT_MS = 300;
const FAILS_TO_OPEN = 2;
const OPEN_MS = 30_000;

interface Entry {
  view: SiteLiveView | null;
  fetchedAt: number;
  failures: number;
  openUntil: number;
  inflight: Promise<void> | null;
}

const entries = new Map<string, Entry>();

function entry(siteId: string): Entry {
  let e = entries.get(siteId);
  if (!e) entries.set(siteId, (e = { view: null, fetchedAt: 0, failures: 0, openUntil: 0, inflight: null }));
  return e;
}

async function refresh(env: Env, siteId: string, e: Entry): Promise<void> {
  try {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName(siteId));
    e.view = (await withTimeout(stub.steeringView(), REFRESH_TIMEOUT_MS, "steering view")) as SiteLiveView;
    e.failures = 0;
  } catch {
    e.failures++;
    if (e.failures >= FAILS_TO_OPEN) e.openUntil = Date.now() + OPEN_MS;
  }
  e.fetchedAt = Date.now();
}

/**
 * Overlays the live view on candidates from the D1 steering view: drops OCAs the site now reports
 * failed or drained, sets load, and marks candidates of unreachable sites stale. Expired sites are
 * refreshed through `waitUntil`, never awaited. With `await`, expired sites are refreshed first
 * (the steering server uses this: its answers are the ones that move players).
 */
export async function applyLiveView(
  env: Env,
  candidates: Array<Candidate & { health?: string; updatedAt?: number }>,
  waitUntil: (p: Promise<unknown>) => void,
  opts: { awaitRefresh?: boolean } = {},
): Promise<Candidate[]> {
  const now = Date.now();
  const refreshes: Promise<void>[] = [];
  for (const siteId of new Set(candidates.map((c) => c.siteId))) {
    const e = entry(siteId);
    if (now - e.fetchedAt >= TTL_MS && e.openUntil <= now) {
      e.inflight ??= refresh(env, siteId, e).finally(() => (e.inflight = null));
      refreshes.push(e.inflight);
    }
  }
  if (opts.awaitRefresh) await Promise.all(refreshes);
  else for (const r of refreshes) waitUntil(r);

  const out: Candidate[] = [];
  for (const c of candidates) {
    const e = entries.get(c.siteId)!;
    const stale = e.failures > 0 || e.openUntil > Date.now();
    // The newer of the two wins: the live view, or what the site last wrote to D1 (an operator's
    // drain or restore lands there at once).
    const live = e.view && e.view.at > (c.updatedAt ?? 0) ? e.view.ocas.find((o) => o.ocaId === c.ocaId) : undefined;
    const health = live ? live.health : (c.health ?? "healthy");
    if (health !== "healthy") continue;
    out.push({ siteId: c.siteId, ocaId: c.ocaId, load: live?.load ?? c.load ?? 0, stale });
  }
  return out;
}
