/** The longest CATALOGUE_TTL_S taken: a title taken down must leave steering within minutes, not a day. */
export const MAX_CATALOGUE_TTL_S = 300;

/**
 * Freshness of the per-isolate views (catalogue, candidates, topology), ms: CATALOGUE_TTL_S, default
 * 5 s, at most MAX_CATALOGUE_TTL_S; 0 asks D1 on every request (tests). A value left empty is the
 * default (`Number("")` is 0: every request of every isolate would have asked D1).
 */
export function viewTtlMs(env: { CATALOGUE_TTL_S?: string }): number {
  const raw = env.CATALOGUE_TTL_S?.trim();
  const s = raw ? Number(raw) : Number.NaN;
  return Number.isFinite(s) && s >= 0 ? Math.min(s, MAX_CATALOGUE_TTL_S) * 1000 : 5000;
}

/**
 * How long after a catalogue change an isolate may still act on its old view, ms: twice the TTL (past
 * one TTL the change look runs in the background) and 2 s for clocks and commits. (While D1 cannot be
 * reached an isolate serves its view for up to ten minutes; that is not counted here.)
 */
export function viewLagMs(env: { CATALOGUE_TTL_S?: string }): number {
  return 2 * viewTtlMs(env) + 2_000;
}
