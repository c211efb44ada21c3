import { rendezvousOrder } from "../../fill/hash";
import type { OcaEntry } from "../../shared/play";
import type { Topology } from "../shared/topology";
import { OVERLOADED, PLAYING_OVERLOADED } from "../shared/site-view";
import { distanceKm, siteProximity, type SteeringClient } from "../shared/home-site";

export { distanceKm, homeSite, type SteeringClient } from "../shared/home-site";

/** An OCA that holds a complete copy of the title and is healthy (from the steering view). */
export interface Candidate {
  siteId: string;
  ocaId: string;
  /** Egress over the throughput limit, when known (1 = at the limit). */
  load?: number;
  /** True when the site could not be reached and this is its last-known state. */
  stale?: boolean;
  /** The site judged the OCA slow or erring: steered behind its peers. */
  degraded?: boolean;
}

/** A ranked OCA: the play response's entry before its URL is signed. */
export type RankedOca = Omit<OcaEntry, "url">;

// Shared with the site object, which republishes its load to D1 when an OCA crosses either mark.
export { OVERLOADED, PLAYING_OVERLOADED } from "../shared/site-view";

/**
 * Ranks the OCAs that may serve a title to a client. Embedded sites of the client's ISP (its ASN)
 * come first, then IXP sites, then origin, always last; embedded sites of other ISPs are never used
 * (they sit inside another network). Within a tier: OCAs under OVERLOADED before overloaded or
 * degraded ones, fresh before stale, nearer sites first (by `siteProximity`: a client without coordinates
 * gets its country's sites first), and a site's OCAs in rendezvous order of the
 * title (the same order the planner places copies in). A tier whose every OCA is overloaded or
 * degraded goes behind the next tier (spill). At most `limit` entries. `opts.playingFrom`: the OCA a
 * running session plays from, overloaded for it only at PLAYING_OVERLOADED.
 */
export function rankOcas(
  topo: Topology,
  client: SteeringClient,
  titleId: string,
  candidates: Candidate[],
  limit = 10,
  opts: { playingFrom?: string } = {},
): RankedOca[] {
  const clientIsp = client.asn === null ? undefined : topo.isps.find((i) => i.asns.includes(client.asn!));
  const here = client.lat !== null && client.lon !== null ? { lat: client.lat, lon: client.lon } : null;
  const near = siteProximity(topo, client);
  const sites = new Map(topo.sites.map((s) => [s.id, s]));
  const bySite = new Map<string, Candidate[]>();
  for (const c of candidates) bySite.set(c.siteId, [...(bySite.get(c.siteId) ?? []), c]);

  const rows: Array<RankedOca & { key: Array<number | string> }> = [];
  for (const [siteId, listed] of bySite) {
    const site = sites.get(siteId);
    if (!site || (site.tier === "embedded" && (clientIsp === undefined || site.isp !== clientIsp.id))) continue;
    // An OCA no longer in the topology (retired) is never steered to, whatever a view still lists.
    const list = listed.filter((c) => site.ocas.some((o) => o.id === c.ocaId));
    if (list.length === 0) continue;
    const km = here ? distanceKm(here, site) : null;
    const order = rendezvousOrder(
      titleId,
      list.map((c) => c.ocaId),
    );
    for (const c of list) {
      const load = c.load ?? 0;
      rows.push({
        rank: 0,
        siteId,
        ocaId: c.ocaId,
        tier: site.tier,
        distanceKm: km === null ? null : Math.round(km),
        load: Math.round(load * 1000) / 1000,
        stale: c.stale ?? false,
        key: [
          site.tier === "embedded" ? 0 : 1,
          load >= (c.ocaId === opts.playingFrom ? PLAYING_OVERLOADED : OVERLOADED) || c.degraded ? 1 : 0,
          c.degraded ? 1 : 0,
          c.stale ? 1 : 0,
          km ?? near(site),
          siteId,
          order.indexOf(c.ocaId),
        ],
      });
    }
  }
  // A tier whose every OCA is at its limit (or degraded) goes behind the next one: new sessions spill
  // there instead of piling on.
  for (const tier of [0, 1]) {
    const mine = rows.filter((r) => r.key[0] === tier);
    if (mine.length > 0 && mine.every((r) => r.key[1] === 1)) for (const r of mine) r.key[0] = tier + 2;
  }
  rows.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) {
      const x = a.key[i];
      const y = b.key[i];
      if (x !== y) return typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    }
    return 0;
  });
  const out: RankedOca[] = rows.slice(0, limit - 1).map(({ key: _k, ...r }, i) => ({ ...r, rank: i + 1 }));
  out.push({ rank: out.length + 1, siteId: topo.origin.id, ocaId: topo.origin.id, tier: "origin", distanceKm: null, load: 0, stale: false });
  return out;
}

/** The candidates a client's plays may be steered to, per candidate list (the catalogue view's own) and ISP. */
const usableLists = new WeakMap<object, Map<string, Candidate[]>>();

/**
 * The candidates `rankOcas` may steer this client to: IXP sites' and its own ISP's embedded sites'
 * (another ISP's embedded sites sit inside another network). Only their sites' live views matter to
 * the play, so only theirs are asked for: each play would otherwise keep this isolate in sync with every
 * embedded site of every ISP holding the title. Kept per candidate list and ISP.
 */
export function usableCandidates<C extends Candidate>(topo: Topology, client: SteeringClient, candidates: C[]): C[] {
  const ispId = client.asn === null ? "" : (topo.isps.find((i) => i.asns.includes(client.asn!))?.id ?? "");
  let byIsp = usableLists.get(candidates);
  if (!byIsp) usableLists.set(candidates, (byIsp = new Map()));
  let usable = byIsp.get(ispId) as C[] | undefined;
  if (!usable) {
    const sites = new Map(topo.sites.map((s) => [s.id, s]));
    usable = candidates.filter((c) => {
      const site = sites.get(c.siteId);
      return site !== undefined && (site.tier === "ixp" || (ispId !== "" && site.isp === ispId));
    });
    byIsp.set(ispId, usable);
  }
  return usable;
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
