import topologyJson from "../../config/topology.json";

/** Where a site sits in the hierarchy: embedded in an ISP, at an IXP, or the origin store. */
export type Tier = "embedded" | "ixp" | "origin";

export interface OcaSpec {
  id: string;
  capacityBytes: number;
  throughputBps: number;
}

export interface SiteSpec {
  id: string;
  name: string;
  tier: "embedded" | "ixp";
  region: string;
  /** ISP id (embedded sites only). */
  isp?: string;
  /** Parent IXP site (embedded sites only); IXP sites fall back to origin. */
  parent?: string;
  /** Country the site serves (ISO 3166 alpha-2): it fills only titles licensed there. */
  country: string;
  lat: number;
  lon: number;
  timeZone: string;
  /** Local fill window, hours [start, end) in the site's time zone; default from topology.fill. */
  fillWindow?: { startHour: number; endHour: number };
  ocas: OcaSpec[];
}

export interface FillDefaults {
  windowStartHour: number;
  windowEndHour: number;
  /** Bytes per second one OCA may spend on filling. */
  ocaFillRateBps: number;
  /** Complete copies a title needs in a region before steering sends that region's clients to them. */
  liveMinCopies: number;
}

export interface Topology {
  origin: { id: string; name: string; bucket: string };
  regions: Array<{ id: string; name: string; bucket: string }>;
  isps: Array<{ id: string; name: string; asns: number[] }>;
  sites: SiteSpec[];
  fill: FillDefaults;
  /** OCAs taken out of service for good, for the record (never steered to or planned again). */
  retired?: Array<{ siteId: string; ocaId: string; at: string }>;
}

const bundled = topologyJson as Topology;

/**
 * The live topology: the bundled demo topology (config/topology.json) until the admin API changes it,
 * then the latest version from D1 (workers/shared/topology-live.ts replaces it in place, so every
 * module reads the current one at call time).
 */
export const topology: Topology = structuredClone(bundled);

const sitesById = new Map(topology.sites.map((s) => [s.id, s]));
let liveVersion = 0;

/** The version of the topology this isolate runs on (0: the bundled one). */
export function topologyVersion(): number {
  return liveVersion;
}

/** A copy of the bundled topology (the seed of the live one). */
export function bundledTopology(): Topology {
  return structuredClone(bundled);
}

/** Replaces the live topology in place. */
export function applyTopology(doc: Topology, version: number): void {
  topology.origin = doc.origin;
  topology.regions = doc.regions;
  topology.isps = doc.isps;
  topology.sites = doc.sites;
  topology.fill = doc.fill;
  topology.retired = doc.retired ?? [];
  sitesById.clear();
  for (const s of doc.sites) sitesById.set(s.id, s);
  liveVersion = version;
}

/** The site with this id, or undefined. */
export function findSite(siteId: string): SiteSpec | undefined {
  return sitesById.get(siteId);
}

/** The OCA with this id inside the site, or undefined. */
export function findOca(siteId: string, ocaId: string): OcaSpec | undefined {
  return sitesById.get(siteId)?.ocas.find((o) => o.id === ocaId);
}

/** Name of the R2 binding that holds a site's copies. */
export function siteBucketBinding(site: SiteSpec): string {
  const region = topology.regions.find((r) => r.id === site.region);
  if (!region) throw new Error(`site ${site.id} names unknown region ${site.region}`);
  return region.bucket;
}

/** The chain of parent sites above a site, nearest first (origin not included). */
export function parentChain(site: SiteSpec): SiteSpec[] {
  const chain: SiteSpec[] = [];
  let cur = site.parent ? sitesById.get(site.parent) : undefined;
  while (cur && !chain.includes(cur)) {
    chain.push(cur);
    cur = cur.parent ? sitesById.get(cur.parent) : undefined;
  }
  return chain;
}

/** A site's fill window in local hours. */
export function fillWindow(site: SiteSpec): { startHour: number; endHour: number } {
  return site.fillWindow ?? { startHour: topology.fill.windowStartHour, endHour: topology.fill.windowEndHour };
}

/** The sites whose history forms a site's region: an IXP site and its embedded children. */
export function regionGroup(site: SiteSpec): SiteSpec[] {
  const root = site.tier === "ixp" ? site : site.parent ? sitesById.get(site.parent) : undefined;
  if (!root) return [site];
  return topology.sites.filter((s) => s.id === root.id || s.parent === root.id);
}

/**
 * The countries whose clients a site serves: its own; an IXP site's embedded children's too (they miss
 * to it, and may sit in other countries). What it plans and fills is licensed in one of them.
 */
export function servedCountries(site: SiteSpec): string[] {
  return site.tier === "ixp" ? [...new Set(regionGroup(site).map((s) => s.country))] : [site.country];
}
