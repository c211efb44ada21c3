/**
 * The dashboard's bytes-served chart across sites: per local day, each source's share of the bytes
 * every site counted served, and what the chart leaves out. Pure (no DOM), so workerd tests run it.
 */

/** Where an OCA's served bytes came from. */
export type ServedSource = "embedded" | "ixp" | "origin";

/** The parts of a site in the overview the chart reads. */
export interface ServedSite {
  siteId: string;
  reachable: boolean;
  /** The site's local day now (the last day of its `served`); present when reachable. */
  today?: number;
  served?: Array<{ day: number; source: ServedSource; bytes: number }>;
}

/** The chart's days (oldest first), each source's share (%) and the bytes of each day, and whose bytes they are. */
export interface OffloadSeries {
  days: number[];
  shares: Record<ServedSource, number[]>;
  totals: number[];
  /** Sites whose bytes are in every day shown. */
  counted: number;
  /** Sites the overview could not read (unreachable, or not asked in time): none of their bytes are in. */
  unreachable: string[];
}

const SOURCES: readonly ServedSource[] = ["embedded", "ixp", "origin"];

/**
 * The chart's series. Each site answers its own last `askedDays` local days, which in sites of other
 * time zones are not the same days: for some hours of every day a European site is on tomorrow while an
 * American one is on today. Days only some sites answered (the newest, the oldest) would sum a subset
 * of the sites and shift every share; so only days inside every counted site's window are shown, at
 * most the last `shownDays` of them (ask the overview for a day more than shown, and the chart keeps them).
 */
export function offloadSeries(sites: readonly ServedSite[], askedDays: number, shownDays: number): OffloadSeries {
  const unreachable = sites.filter((s) => !s.reachable || typeof s.today !== "number").map((s) => s.siteId);
  const counted = sites.filter((s): s is ServedSite & { today: number } => s.reachable && typeof s.today === "number");
  const empty = { embedded: [], ixp: [], origin: [] };
  if (counted.length === 0) return { days: [], shares: empty, totals: [], counted: 0, unreachable };
  let newest = Number.NEGATIVE_INFINITY;
  let to = Number.POSITIVE_INFINITY;
  for (const s of counted) {
    newest = Math.max(newest, s.today);
    to = Math.min(to, s.today);
  }
  const from = Math.max(newest - askedDays + 1, to - shownDays + 1);
  const perDay = new Map<number, Record<ServedSource, number>>();
  for (const s of counted) {
    for (const r of s.served ?? []) {
      if (r.day < from || r.day > to || !SOURCES.includes(r.source)) continue;
      const v = perDay.get(r.day) ?? { embedded: 0, ixp: 0, origin: 0 };
      v[r.source] += r.bytes;
      perDay.set(r.day, v);
    }
  }
  const days = [...perDay.keys()].sort((a, b) => a - b);
  const shares: Record<ServedSource, number[]> = { embedded: [], ixp: [], origin: [] };
  const totals: number[] = [];
  for (const d of days) {
    const v = perDay.get(d)!;
    const total = v.embedded + v.ixp + v.origin;
    totals.push(total);
    for (const k of SOURCES) shares[k].push(total ? (100 * v[k]) / total : 0);
  }
  return { days, shares, totals, counted: counted.length, unreachable };
}

/** Unreachable sites the chart's note names (the rest are counted). */
const NAMED_MAX = 5;

/**
 * What the chart says of whose bytes it holds: empty when every site's are in; else how many sites
 * could not be read and that their bytes are missing (they are not zero), naming the first few.
 */
export function coverageText(series: Pick<OffloadSeries, "counted" | "unreachable">): string {
  const n = series.unreachable.length;
  if (n === 0) return "";
  const total = series.counted + n;
  const named = series.unreachable.slice(0, NAMED_MAX).join(", ") + (n > NAMED_MAX ? ` and ${n - NAMED_MAX} more` : "");
  return `${n} of ${total} ${total === 1 ? "site" : "sites"} could not be read (${named}): their bytes are not in the chart or the table, which show the other ${series.counted}.`;
}
