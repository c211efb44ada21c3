import topology from "../config/topology.json" with { type: "json" };

export interface Placement {
  siteId: string;
  ocaId: string;
  titleIds: string[];
}

/**
 * The demo placement, until prepositioning plans it: every IXP site's first OCA holds the whole
 * catalogue and its second the two most popular titles; embedded OCAs hold overlapping subsets, so
 * steering has real choices and some titles are only at the IXP for some ISPs.
 * Returned in two waves: IXP sites first (they fill from origin), then embedded (from parent or peer).
 */
export function demoPlacement(titleIds: string[]): Placement[][] {
  const [a, b, c] = titleIds;
  const ixp: Placement[] = [];
  const embedded: Placement[] = [];
  for (const site of topology.sites) {
    site.ocas.forEach((oca, i) => {
      let titles: Array<string | undefined>;
      if (site.tier === "ixp") titles = i === 0 ? titleIds : [a, b];
      else if (site.id === "polder-ams") titles = [a];
      else titles = [[a, b], [a, c], [b]][i % 3];
      const list = titles.filter((t): t is string => !!t);
      if (list.length) (site.tier === "ixp" ? ixp : embedded).push({ siteId: site.id, ocaId: oca.id, titleIds: list });
    });
  }
  return [ixp, embedded];
}

/** A small placement for tests: one embedded OCA in New York and one at the New York IXP hold everything. */
export function minimalPlacement(titleIds: string[]): Placement[][] {
  return [[{ siteId: "ixp-nyc", ocaId: "ixp-nyc-1", titleIds }], [{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds }]];
}
