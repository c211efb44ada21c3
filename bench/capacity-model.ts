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
  /** Worker isolates serving at once: each looks at the catalogue view once per TTL. */
  isolates: number;
  /** Site objects: each looks at the live topology once per TTL in its own isolate. */
  sites: number;
  catalogueTtlS: number;
  /** Changes a minute to titles the isolates cache (each makes every isolate reload it). */
  hotTitleChangesPerMin: number;
}

/** Counted figures the looks multiply. */
export interface LookCounts {
  /** D1 statements one change of a cached title makes an isolate read again (CAPACITY_COUNTS `titleChange`). */
  titleChangeStatements: number;
  /** D1 statements of a site object's own look at the live topology (CAPACITY_ROWS `siteLook`). */
  siteLookStatements: number;
}

/**
 * D1 statements a second of the views' background refresh: each isolate's look per TTL ("which titles
 * changed?", the live topology's version riding it), its plans every 12 TTLs and its reloads of changed
 * titles; and each site object's own look at the live topology per TTL (no catalogue look feeds a site
 * object's isolate: workers/shared/topology-live.ts). An upper bound for the sites: objects that share
 * an isolate share its look.
 */
export function viewLooksPerS(s: LookScenario, c: LookCounts): { isolates: number; sites: number; total: number } {
  const isolates = s.isolates / s.catalogueTtlS + s.isolates / (12 * s.catalogueTtlS) + (s.isolates * s.hotTitleChangesPerMin * c.titleChangeStatements) / 60;
  const sites = (s.sites * c.siteLookStatements) / s.catalogueTtlS;
  return { isolates, sites, total: isolates + sites };
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
