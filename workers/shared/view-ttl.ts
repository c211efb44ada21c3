/**
 * Freshness of the per-isolate views (catalogue, candidates, topology), ms: CATALOGUE_TTL_S, default
 * 5 s; 0 asks D1 on every request (tests).
 */
export function viewTtlMs(env: { CATALOGUE_TTL_S?: string }): number {
  const s = Number(env.CATALOGUE_TTL_S);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 5000;
}
