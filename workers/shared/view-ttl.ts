/**
 * Freshness of the per-isolate views (catalogue, candidates, topology), ms: CATALOGUE_TTL_S, default
 * 5 s; 0 asks D1 on every request (tests).
 */
export function viewTtlMs(env: { CATALOGUE_TTL_S?: string }): number {
  const s = Number(env.CATALOGUE_TTL_S);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 5000;
}

/**
 * How long after a catalogue change an isolate may still act on its old view, ms: twice the TTL (past
 * one TTL the change look runs in the background) and 2 s for clocks and commits. (While D1 cannot be
 * reached an isolate serves its view for up to ten minutes; that is not counted here.)
 */
export function viewLagMs(env: { CATALOGUE_TTL_S?: string }): number {
  return 2 * viewTtlMs(env) + 2_000;
}
