import { catalogueDb } from "../shared/catalogue-db";
import { steeringTable, type CandidateRow } from "../shared/steering-table";
import { SwrCache } from "../shared/swr-cache";
import { ApiError } from "../shared/errors";

/**
 * The control plane's per-isolate view of the catalogue and the steering view: what play and
 * steering read on every request, refreshed from D1 at most once per CATALOGUE_TTL_S per title (and
 * in the background while requests go on), so neither hot path waits on D1 in the steady state. A
 * title published, re-published or taken down shows within 2 × CATALOGUE_TTL_S. While D1 cannot be
 * reached, what was cached keeps serving for STALE_IF_ERROR_MS.
 */

/** How long cached catalogue answers keep serving while D1 is unreachable. */
export const STALE_IF_ERROR_MS = 10 * 60_000;

type TitleContext = NonNullable<Awaited<ReturnType<typeof catalogueDb.titleContext>>>;
type Plans = Awaited<ReturnType<typeof catalogueDb.plans>>;

const titles = new SwrCache<TitleContext | null>({ max: 2000, staleIfErrorMs: STALE_IF_ERROR_MS });
const plans = new SwrCache<Plans>({ max: 1, staleIfErrorMs: STALE_IF_ERROR_MS });
const candidates = new SwrCache<{ up: boolean; candidates: CandidateRow[] }>({ max: 4000, staleIfErrorMs: STALE_IF_ERROR_MS });

/** Freshness of cached answers, ms (CATALOGUE_TTL_S, default 5 s; 0 reads D1 every time). */
export function catalogueTtlMs(env: Pick<Env, "CATALOGUE_TTL_S">): number {
  const s = Number(env.CATALOGUE_TTL_S);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 5000;
}

type WaitUntil = (p: Promise<unknown>) => void;

/** D1 failing with nothing cached to fall back on: a documented 503, never a bare 500. */
function unavailable<T>(load: () => Promise<T>): () => Promise<T> {
  return async () => {
    try {
      return await load();
    } catch (err) {
      console.error("catalogue read failed", err);
      throw new ApiError(503, "catalogue_unavailable", "the catalogue cannot be read right now; retry shortly", undefined, { "Retry-After": "5" });
    }
  };
}

export const catalogueCache = {
  /** A title with its renditions, licences and current candidates; null when unknown. */
  title(env: Env, titleId: string, waitUntil?: WaitUntil): Promise<TitleContext | null> {
    return titles.get(
      titleId,
      catalogueTtlMs(env),
      unavailable(() => catalogueDb.titleContext(env.DB, titleId)),
      waitUntil,
    );
  },

  /** A plan by id, or null. */
  async plan(env: Env, planId: string, waitUntil?: WaitUntil) {
    return (
      (
        await plans.get(
          "plans",
          catalogueTtlMs(env),
          unavailable(() => catalogueDb.plans(env.DB)),
          waitUntil,
        )
      ).get(planId) ?? null
    );
  },

  /**
   * The candidates of one title version (a session's steering), and whether the title is still up
   * (not taken down, a licence not yet ended).
   */
  version(env: Env, titleId: string, version: number, waitUntil?: WaitUntil): Promise<{ up: boolean; candidates: CandidateRow[] }> {
    return candidates.get(
      `${titleId}|${version}`,
      catalogueTtlMs(env),
      unavailable(async () => {
        const now = Date.now();
        const [rows, up] = await env.DB.batch([steeringTable.candidates(env.DB, titleId, version), catalogueDb.titleUp(env.DB, titleId, now)]);
        return { up: (up.results[0] as { down: number } | undefined)?.down === 0, candidates: rows.results as unknown as CandidateRow[] };
      }),
      waitUntil,
    );
  },

  /** Forgets everything (tests). */
  clear(): void {
    titles.clear();
    plans.clear();
    candidates.clear();
  },
};
