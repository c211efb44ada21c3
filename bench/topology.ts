/**
 * The simulated topology: the demo topology's shape (config/topology.json: regions, IXP sites,
 * embedded ISP sites each under a parent IXP, OCAs with capacity and throughput) scaled up to
 * 2 regions, 4 IXP sites and 20 embedded sites. Capacities are fractions of the catalogue's bytes.
 */
import type { PlanOca } from "../fill/types";
import { stream, uniform } from "../fill/rng";

export interface SimSite {
  id: string;
  tier: "embedded" | "ixp";
  region: string;
  /** Parent IXP site (embedded sites). */
  parent?: string;
  timeZone: string;
  lat: number;
  lon: number;
  ocas: PlanOca[];
  /** Mean play sessions per day (embedded sites; IXP sites only serve their children's misses). */
  sessionsPerDay: number;
}

export interface SimTopology {
  regions: string[];
  sites: SimSite[];
  embedded: SimSite[];
  ixps: SimSite[];
  /** Embedded children per IXP site. */
  children: Map<string, SimSite[]>;
}

export interface TopologyConfig {
  seed: number;
  catalogueBytes: number;
  /** Embedded site capacity (summed over its OCAs) as a fraction of catalogue bytes. */
  embeddedFraction: number;
  /** IXP site capacity as a fraction of catalogue bytes. */
  ixpFraction: number;
  /** Mean sessions per embedded site per day; sites range from half to twice this. */
  sessionsPerSite: number;
  /** Bits/s of a site's busiest hour per daily session, given the site (sizes the OCAs' throughput). */
  peakBpsPerSession: (siteId: string) => number;
}

type Place = [id: string, timeZone: string, lat: number, lon: number];

const IXPS: Array<{ site: Place; region: string; children: Place[] }> = [
  {
    site: ["ixp-nyc", "America/New_York", 40.71, -74.01],
    region: "na",
    children: [
      ["lumen-nyc", "America/New_York", 40.73, -73.94],
      ["lumen-bos", "America/New_York", 42.36, -71.06],
      ["lakeshore-chi", "America/Chicago", 41.88, -87.63],
      ["lakeshore-det", "America/Detroit", 42.33, -83.05],
      ["harbor-phl", "America/New_York", 39.95, -75.17],
    ],
  },
  {
    site: ["ixp-sjc", "America/Los_Angeles", 37.34, -121.89],
    region: "na",
    children: [
      ["lumen-lax", "America/Los_Angeles", 34.05, -118.24],
      ["lumen-sea", "America/Los_Angeles", 47.61, -122.33],
      ["pacific-sfo", "America/Los_Angeles", 37.77, -122.42],
      ["pacific-san", "America/Los_Angeles", 32.72, -117.16],
      ["desert-phx", "America/Phoenix", 33.45, -112.07],
    ],
  },
  {
    site: ["ixp-fra", "Europe/Berlin", 50.11, 8.68],
    region: "eu",
    children: [
      ["rheinnet-ber", "Europe/Berlin", 52.52, 13.4],
      ["rheinnet-muc", "Europe/Berlin", 48.14, 11.58],
      ["rheinnet-ham", "Europe/Berlin", 53.55, 9.99],
      ["alpen-vie", "Europe/Vienna", 48.21, 16.37],
      ["alpen-zrh", "Europe/Zurich", 47.37, 8.54],
    ],
  },
  {
    site: ["ixp-ams", "Europe/Amsterdam", 52.37, 4.9],
    region: "eu",
    children: [
      ["polder-ams", "Europe/Amsterdam", 52.37, 4.9],
      ["polder-rtm", "Europe/Amsterdam", 51.92, 4.48],
      ["polder-utr", "Europe/Amsterdam", 52.09, 5.12],
      ["nordic-cph", "Europe/Copenhagen", 55.68, 12.57],
      ["flandre-bru", "Europe/Brussels", 50.85, 4.35],
    ],
  },
];

const IXP_OCA_THROUGHPUT_BPS = 40e9;

/** Splits a site's capacity over `n` OCAs of equal size. */
function ocas(siteId: string, n: number, capacityBytes: number, throughputBps: number): PlanOca[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${siteId}-${i + 1}`,
    capacityBytes: Math.floor(capacityBytes / n),
    throughputBps,
  }));
}

/** Builds the scaled-up topology; site sizes and OCA counts are drawn from the seed. */
export function buildTopology(cfg: TopologyConfig): SimTopology {
  const rng = stream(cfg.seed, "topology");
  const sites: SimSite[] = [];
  const children = new Map<string, SimSite[]>();
  for (const ixp of IXPS) {
    const [id, timeZone, lat, lon] = ixp.site;
    const n = 2 + Math.floor(rng() * 3);
    const site: SimSite = {
      id,
      tier: "ixp",
      region: ixp.region,
      timeZone,
      lat,
      lon,
      ocas: ocas(id, n, cfg.ixpFraction * cfg.catalogueBytes, IXP_OCA_THROUGHPUT_BPS),
      sessionsPerDay: 0,
    };
    sites.push(site);
    const kids: SimSite[] = [];
    for (const [cid, ctz, clat, clon] of ixp.children) {
      // Log-uniform between half and twice the mean size: ISPs differ a lot.
      const sessionsPerDay = Math.round((cfg.sessionsPerSite * Math.exp(uniform(rng, Math.log(0.5), Math.log(2)))) / 1.08);
      const count = 2 + Math.floor(rng() * 3);
      // Enough throughput for the site's busiest hour on a mean day with 50% to spare (busy weekdays, noise), split over its OCAs.
      const throughput = Math.ceil((sessionsPerDay * cfg.peakBpsPerSession(cid) * 1.5) / count / 1e8) * 1e8;
      const child: SimSite = {
        id: cid,
        tier: "embedded",
        region: ixp.region,
        parent: id,
        timeZone: ctz,
        lat: clat,
        lon: clon,
        ocas: ocas(cid, count, cfg.embeddedFraction * cfg.catalogueBytes, throughput),
        sessionsPerDay,
      };
      kids.push(child);
      sites.push(child);
    }
    children.set(id, kids);
  }
  return {
    regions: [...new Set(IXPS.map((i) => i.region))],
    sites,
    embedded: sites.filter((s) => s.tier === "embedded"),
    ixps: sites.filter((s) => s.tier === "ixp"),
    children,
  };
}
