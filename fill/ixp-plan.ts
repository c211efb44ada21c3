/**
 * What an IXP site should hold: first what its embedded children are predicted to miss after their
 * own fill (a miss goes to the parent, the physical path of an OCA), then, with the room left, the
 * rest of the catalogue by the region's predicted demand, so a miss the children's predictions did
 * not see still stops here instead of going to origin. Pure: run by the Worker's fill cycle and the
 * simulator alike.
 */
import { peakBps } from "./peak-shape";
import type { PlanTitle } from "./types";

/** One child's outlook for tomorrow: predicted bytes per title, and what its plan holds. */
export interface ChildOutlook {
  predicted: ReadonlyMap<string, number>;
  held: ReadonlySet<string>;
}

/** Bytes per title the children are predicted to ask their parent for tomorrow. */
export function childMisses(children: readonly ChildOutlook[]): Map<string, number> {
  const misses = new Map<string, number>();
  for (const child of children) {
    for (const [titleId, bytes] of child.predicted) {
      if (!(bytes > 0) || child.held.has(titleId)) continue;
      misses.set(titleId, (misses.get(titleId) ?? 0) + bytes);
    }
  }
  return misses;
}

/**
 * Value of a catalogue copy per byte of regional demand: so small that any predicted miss outranks
 * every catalogue copy, while catalogue copies still rank among themselves by the region's demand.
 */
export const CATALOGUE_WEIGHT = 1e-9;

export interface IxpPlanInput {
  /** Titles the IXP site may hold (released), with size and the region's predicted bytes tomorrow. */
  catalogue: ReadonlyArray<{ titleId: string; bytes: number; regionalBytes: number }>;
  misses: ReadonlyMap<string, number>;
  /** Share of a day's bytes in the IXP site's busiest hour (from its children's summed hourly history). */
  peakShare: number;
}

/** The planner's titles for an IXP site: misses at their predicted bytes, the rest of the catalogue after them. */
export function ixpPlanTitles(input: IxpPlanInput): PlanTitle[] {
  return input.catalogue
    .filter((t) => t.bytes > 0)
    .map((t) => {
      const miss = input.misses.get(t.titleId) ?? 0;
      // A title nobody is predicted to watch still outranks nothing: the smallest catalogue value.
      const catalogue = CATALOGUE_WEIGHT * (Math.max(0, t.regionalBytes) + t.bytes * 1e-3);
      return { titleId: t.titleId, bytes: t.bytes, predictedBytes: miss + catalogue, peakBps: peakBps(miss, input.peakShare) };
    });
}
