import type { Tier, Topology } from "../shared/topology";

/** An OCA that holds a complete copy of the title and is healthy (from the steering view). */
export interface Candidate {
  siteId: string;
  ocaId: string;
}

export interface SteeringClient {
  asn: number | null;
  lat: number | null;
  lon: number | null;
}

export interface RankedOca {
  rank: number;
  siteId: string;
  ocaId: string;
  tier: Tier;
  /** Great-circle distance from the client in km, when both locations are known. */
  distanceKm: number | null;
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

/** 32-bit FNV-1a, for rendezvous hashing. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Rendezvous (highest-random-weight) order of a site's OCAs for a title: each title prefers a
 * different OCA, and adding or removing an OCA only moves the titles that ranked it first.
 */
export function hashOrder(titleId: string, ocaIds: string[]): string[] {
  return [...ocaIds].sort((a, b) => fnv1a(`${titleId}|${b}`) - fnv1a(`${titleId}|${a}`) || a.localeCompare(b));
}

/**
 * Steering v1. Embedded sites of the client's ISP (its ASN) first, nearest first; then IXP sites by
 * great-circle distance; then origin, always last. Embedded sites of other ISPs are never used (they
 * sit inside another network). Only candidates (complete, healthy copies) appear. At most `limit`.
 */
export function rankOcas(topo: Topology, client: SteeringClient, titleId: string, candidates: Candidate[], limit = 10): RankedOca[] {
  const bySite = new Map<string, string[]>();
  for (const c of candidates) bySite.set(c.siteId, [...(bySite.get(c.siteId) ?? []), c.ocaId]);
  const clientIsp = client.asn === null ? undefined : topo.isps.find((i) => i.asns.includes(client.asn!));
  const here = client.lat !== null && client.lon !== null ? { lat: client.lat, lon: client.lon } : null;

  const sites = topo.sites
    .filter((s) => bySite.has(s.id) && (s.tier === "ixp" || (clientIsp !== undefined && s.isp === clientIsp.id)))
    .map((s) => ({ site: s, km: here ? distanceKm(here, s) : null }))
    .sort((a, b) => {
      if (a.site.tier !== b.site.tier) return a.site.tier === "embedded" ? -1 : 1;
      if (a.km !== null && b.km !== null && a.km !== b.km) return a.km - b.km;
      return a.site.id.localeCompare(b.site.id);
    });

  const out: RankedOca[] = [];
  for (const { site, km } of sites) {
    for (const ocaId of hashOrder(titleId, bySite.get(site.id)!)) {
      if (out.length >= limit - 1) break;
      out.push({ rank: out.length + 1, siteId: site.id, ocaId, tier: site.tier, distanceKm: km === null ? null : Math.round(km) });
    }
  }
  out.push({ rank: out.length + 1, siteId: topo.origin.id, ocaId: topo.origin.id, tier: "origin", distanceKm: null });
  return out;
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

/**
 * Liveness: a region's copies are steered to only once the title has at least `minCopies` complete
 * copies there, so a region is not opened on one or two OCAs that would melt at launch.
 */
export function liveCandidates(topo: Topology, candidates: Candidate[], minCopies: number): Candidate[] {
  const regionOf = new Map(topo.sites.map((s) => [s.id, s.region]));
  const copies = new Map<string, number>();
  for (const c of candidates) copies.set(regionOf.get(c.siteId) ?? "", (copies.get(regionOf.get(c.siteId) ?? "") ?? 0) + 1);
  return candidates.filter((c) => (copies.get(regionOf.get(c.siteId) ?? "") ?? 0) >= minCopies);
}
