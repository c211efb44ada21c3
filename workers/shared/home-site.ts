import type { SiteSpec, Topology } from "./topology";

/** Where a client is, as steering and home-site choice need it. */
export interface SteeringClient {
  asn: number | null;
  lat: number | null;
  lon: number | null;
  /** The client's country (ISO 3166 alpha-2), when known: places a client whose coordinates are not. */
  country?: string | null;
}

const EARTH_KM = 6371;
/** Half the earth's circumference: farther than any site can be. */
const FAR_KM = Math.PI * EARTH_KM;

/** Great-circle distance (haversine) in km. */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * How far each site is from a client, for ordering only: great-circle km from its coordinates; without
 * them (request.cf may lack them), 0 for a site serving the client's country (one there, or the IXP one
 * there misses to) and FAR_KM for any other, so a viewer is not sent abroad by the order of site ids.
 * Without either, every site is 0.
 */
export function siteProximity(topo: Topology, client: SteeringClient): (site: SiteSpec) => number {
  if (client.lat !== null && client.lon !== null) {
    const here = { lat: client.lat, lon: client.lon };
    return (site) => distanceKm(here, site);
  }
  const country = client.country ?? null;
  if (country === null) return () => 0;
  const serving = new Set<string>();
  for (const s of topo.sites) {
    if (s.country !== country) continue;
    serving.add(s.id);
    if (s.parent) serving.add(s.parent);
  }
  return (site) => (serving.has(site.id) ? 0 : FAR_KM);
}

/**
 * The site whose viewing history a client counts in: the nearest embedded site of its ISP, else
 * the nearest IXP site (by `siteProximity`, then id). Counting by home (not by who served) lets a site
 * learn demand for titles it does not hold yet.
 */
export function homeSite(topo: Topology, client: SteeringClient): string {
  const isp = client.asn === null ? undefined : topo.isps.find((i) => i.asns.includes(client.asn!));
  const near = siteProximity(topo, client);
  const pick = (sites: Topology["sites"]) => [...sites].sort((a, b) => near(a) - near(b) || a.id.localeCompare(b.id))[0];
  const own = isp ? topo.sites.filter((s) => s.tier === "embedded" && s.isp === isp.id) : [];
  return (pick(own.length ? own : topo.sites.filter((s) => s.tier === "ixp")) ?? topo.sites[0]).id;
}
