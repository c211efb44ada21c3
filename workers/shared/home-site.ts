import type { Topology } from "./topology";

/** Where a client is, as steering and home-site choice need it. */
export interface SteeringClient {
  asn: number | null;
  lat: number | null;
  lon: number | null;
}

const EARTH_KM = 6371;

/** Great-circle distance (haversine) in km. */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * The site whose viewing history a client counts in: the nearest embedded site of its ISP, else
 * the nearest IXP site. Counting by home (not by who served) lets a site learn demand for titles it
 * does not hold yet.
 */
export function homeSite(topo: Topology, client: SteeringClient): string {
  const isp = client.asn === null ? undefined : topo.isps.find((i) => i.asns.includes(client.asn!));
  const here = client.lat !== null && client.lon !== null ? { lat: client.lat, lon: client.lon } : null;
  const pick = (sites: Topology["sites"]) =>
    here ? [...sites].sort((a, b) => distanceKm(here, a) - distanceKm(here, b))[0] : [...sites].sort((a, b) => a.id.localeCompare(b.id))[0];
  const own = isp ? topo.sites.filter((s) => s.tier === "embedded" && s.isp === isp.id) : [];
  return (pick(own.length ? own : topo.sites.filter((s) => s.tier === "ixp")) ?? topo.sites[0]).id;
}
