/**
 * Pure pieces of the capacity model (bench/scale.ts) that multiply counted figures by a scenario's
 * rates: kept apart so test/capacity-model-review.test.ts can check their arithmetic in workerd
 * without running the counting tests or writing docs/capacity.md.
 */

/** Rows read and written, as Cloudflare bills SQLite storage (Durable Objects) and D1. */
export interface Rows {
  read: number;
  written: number;
}

/** What the views' background looks at D1 depend on in a scenario. */
export interface LookScenario {
  /** Worker isolates serving at once. */
  isolates: number;
  /**
   * Colos the isolates serve from: a colo's isolates share their looks and loads through the Cache API
   * (workers/control/colo-look.ts, colo-loads.ts), so D1 sees about one of each per colo.
   */
  colos: number;
  /** Site objects: each looks at the live topology once per TTL in its own isolate. */
  sites: number;
  catalogueTtlS: number;
  /** Changes a minute to titles the isolates cache (each makes every colo reload it). */
  hotTitleChangesPerMin: number;
  /** Countries whose browse list a colo's isolates serve (each list read once per colo per TTL). */
  browseCountriesPerColo: number;
}

/** Counted figures the looks multiply. */
export interface LookCounts {
  /** D1 statements one change of a cached title makes an isolate read again (CAPACITY_COUNTS `titleChange`). */
  titleChangeStatements: number;
  /** D1 statements of a site object's own look at the live topology (CAPACITY_ROWS `siteLook`). */
  siteLookStatements: number;
}

/**
 * How long D1 takes to answer a look or a load, ms (assumed): the isolates of a colo that ask within
 * that time of the first, before its answer is in the colo's cache, ask D1 too.
 */
export const D1_ANSWER_MS = 30;

/**
 * D1 statements a second of the views' background refresh. A colo's isolates share them (the Cache API):
 * per colo, one look per half TTL for each state its isolates have seen (two for 1.5 TTL after each
 * change: those that saw it and those that have not yet looked), the plans every 12 TTLs, each browse
 * list per TTL and a reload per change of a cached title; each times the isolates that ask before the
 * first answer is shared (`herd`). And each site object's own look at the live topology per TTL (no
 * catalogue look feeds a site object's isolate: workers/shared/topology-live.ts; an upper bound, as
 * objects that share an isolate share its look).
 */
export function viewLooksPerS(
  s: LookScenario,
  c: LookCounts,
): { looks: number; changesReloaded: number; colos: number; sites: number; total: number; herd: number } {
  const ttl = s.catalogueTtlS;
  const windowS = ttl / 2;
  const herd = 1 + (s.isolates / s.colos) * Math.min(1, D1_ANSWER_MS / 1000 / windowS);
  const states = 1 + (s.hotTitleChangesPerMin * 1.5 * ttl) / 60;
  // One statement each: a look, the plans, a browse list.
  const looks = s.colos * herd * (states / windowS + 1 / (12 * ttl) + s.browseCountriesPerColo / ttl);
  // Changes a second each colo's askers read again.
  const changesReloaded = (s.colos * herd * s.hotTitleChangesPerMin) / 60;
  const colos = looks + changesReloaded * c.titleChangeStatements;
  const sites = (s.sites * c.siteLookStatements) / ttl;
  return { looks, changesReloaded, colos, sites, total: colos + sites, herd };
}

/**
 * A site object's SQLite rows a second from its own timers, for `perOca` times the counted site's
 * OCAs: its OCAs' probe each second, and its load publication once per `publishEveryS` (counted apart:
 * the publication is not every second's).
 */
export function siteTimerRowsPerS(probe: Rows, publication: Rows, perOca: number, publishEveryS: number): Rows {
  return {
    read: perOca * (probe.read + publication.read / publishEveryS),
    written: perOca * (probe.written + publication.written / publishEveryS),
  };
}

/**
 * Worker isolates a load keeps fully busy: the CPU ms its requests take each second over the 1,000 ms
 * of one isolate's one thread (an isolate runs one request's JavaScript at a time). Fewer isolates than
 * this cannot serve the load; the model's per-isolate figures (looks, syncs) then count too few.
 */
export function busyIsolates(load: ReadonlyArray<{ perS: number; cpuMs: number }>): number {
  return load.reduce((ms, l) => ms + l.perS * l.cpuMs, 0) / 1000;
}
