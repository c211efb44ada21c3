/**
 * Which sites the operator dashboard shows: the text filter, the "needs attention" rule, the summary
 * line above the cards, and what it says when nothing is shown. Pure (no DOM), so workerd tests run it.
 */

/** The load (egress over throughput) from which an OCA's bar is drawn hot, and the site needs attention. */
export const HOT_LOAD = 0.85;

/** The longest filter the dashboard reads (its input's maxlength); past it the rest is ignored. */
export const FILTER_MAX_CHARS = 100;

/** The parts of a site in the overview that the filter and the attention rule read. */
export interface FilterableSite {
  siteId: string;
  name: string;
  region: string;
  isp: string | null;
  reachable: boolean;
  ocas?: Array<{ ocaId: string; health: string; load: number }>;
  fill: { lastError?: string | null; parked?: number };
}

/** What the operator asked to see: a text filter, and whether only the sites that need attention. */
export interface SiteFilter {
  query: string;
  attentionOnly: boolean;
}

/**
 * True when an operator should look at the site: it is unreachable, an OCA's health is anything but
 * "healthy" (failed, degraded, or drained by an operator), an OCA runs at HOT_LOAD or more, its fill
 * has a last error, or it has parked fill files (failed from every source, waiting for an operator).
 */
export function needsAttention(site: FilterableSite): boolean {
  if (!site.reachable) return true;
  if ((site.ocas ?? []).some((o) => o.health !== "healthy" || o.load >= HOT_LOAD)) return true;
  return !!site.fill.lastError || (site.fill.parked ?? 0) > 0;
}

/** The filter's words, lower-cased (at most FILTER_MAX_CHARS of it read): empty shows every site. */
export function queryTerms(query: string): string[] {
  return query.slice(0, FILTER_MAX_CHARS).toLowerCase().split(/\s+/).filter(Boolean);
}

/**
 * True when every word of the filter is part of the site's id, name, ISP, region or one of its OCA
 * ids, case aside ("rheinnet", "lumen-nyc-2", "new york", "lumen nyc"); an empty filter matches all.
 */
export function matchesQuery(site: FilterableSite, query: string): boolean {
  const terms = queryTerms(query);
  if (terms.length === 0) return true;
  const fields = [site.siteId, site.name, site.isp ?? "", site.region, ...(site.ocas ?? []).map((o) => o.ocaId)].map((f) => f.toLowerCase());
  return terms.every((t) => fields.some((f) => f.includes(t)));
}

/** The sites the filter shows, in their order, and the counts the summary line gives. */
export function filterSites<S extends FilterableSite>(sites: readonly S[], filter: SiteFilter): { shown: S[]; total: number; attention: number } {
  let attention = 0;
  const shown: S[] = [];
  for (const s of sites) {
    const needs = needsAttention(s);
    if (needs) attention++;
    if ((!filter.attentionOnly || needs) && matchesQuery(s, filter.query)) shown.push(s);
  }
  return { shown, total: sites.length, attention };
}

/** The summary line: "70 sites · 3 need attention · showing 3", "1 site · none needs attention · showing all". */
export function summaryText(total: number, attention: number, shown: number): string {
  if (total === 0) return "No sites in the topology";
  const sites = `${total} ${total === 1 ? "site" : "sites"}`;
  const needs = attention === 0 ? "none needs attention" : `${attention} ${attention === 1 ? "needs" : "need"} attention`;
  return `${sites} · ${needs} · showing ${shown === total ? "all" : shown}`;
}

/** What the sites' area says when the filter shows none of them (quotes the filter as typed, trimmed). */
export function nothingShownText(filter: SiteFilter): string {
  const q = filter.query.slice(0, FILTER_MAX_CHARS).trim();
  if (q && filter.attentionOnly) return `No site that needs attention matches “${q}”.`;
  if (q) return `No site matches “${q}”.`;
  if (filter.attentionOnly) return "No site needs attention.";
  return "No sites in the topology.";
}
