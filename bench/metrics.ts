/** What the simulator records per policy and day, and how days are summarised. */

export type PolicyName = "prediction" | "lru" | "yesterday" | "oracle";
export const POLICIES: PolicyName[] = ["prediction", "lru", "yesterday", "oracle"];

export interface DayMetrics {
  /** 0-based simulated day (warm-up included). */
  day: number;
  /** Local calendar date (YYYY-MM-DD). */
  date: string;
  /** Bytes streamed by clients, and by which tier served them. */
  totalBytes: number;
  embeddedBytes: number;
  /** Served by the embedded site's own parent IXP site. */
  ixpParentBytes: number;
  /** Served by another IXP site (steering ranks every IXP site holding the title by distance). */
  ixpOtherBytes: number;
  /** Part of ixpOtherBytes served by an IXP site of another region (no IXP site of its own region held it). */
  ixpCrossRegionBytes: number;
  originBytes: number;
  /** Bytes copied onto embedded / IXP OCAs (the night before for planned policies, on misses for LRU). */
  fillEmbeddedBytes: number;
  fillIxpBytes: number;
  /** Where embedded and IXP fills came from. */
  fillFromPeerBytes: number;
  fillFromParentBytes: number;
  fillFromOriginBytes: number;
  /** Busiest OCA's fill time as a fraction of the fill window (planned policies; null for LRU). */
  maxWindowUse: number | null;
  /** Site-nights whose fill did not fit the window at the per-OCA fill rate. */
  sitesOverWindow: number;
  /** Copies added / removed (evicted) on embedded and IXP OCAs. */
  embeddedAdds: number;
  embeddedRemoves: number;
  ixpAdds: number;
  ixpRemoves: number;
  /** Most copies of one title in one embedded site. */
  maxReplicas: number;
}

/** A day with nothing counted yet. */
export function emptyDay(day: number, date: string): DayMetrics {
  return {
    day,
    date,
    totalBytes: 0,
    embeddedBytes: 0,
    ixpParentBytes: 0,
    ixpOtherBytes: 0,
    ixpCrossRegionBytes: 0,
    originBytes: 0,
    fillEmbeddedBytes: 0,
    fillIxpBytes: 0,
    fillFromPeerBytes: 0,
    fillFromParentBytes: 0,
    fillFromOriginBytes: 0,
    maxWindowUse: null,
    sitesOverWindow: 0,
    embeddedAdds: 0,
    embeddedRemoves: 0,
    ixpAdds: 0,
    ixpRemoves: 0,
    maxReplicas: 0,
  };
}

export interface Summary {
  /** Byte shares over the measured days (percent of all bytes streamed). */
  embeddedShare: number;
  ixpShare: number;
  ixpParentShare: number;
  ixpCrossRegionShare: number;
  originShare: number;
  /** Lowest and highest daily embedded share. */
  embeddedShareMin: number;
  embeddedShareMax: number;
  maxOriginShareDay: number;
  /** Mean fill bytes per night (embedded + IXP), and the embedded part. */
  fillBytesPerNight: number;
  fillEmbeddedBytesPerNight: number;
  fillFromOriginPerNight: number;
  /** Busiest OCA's fill over all nights as a fraction of the window (null for LRU). */
  maxWindowUse: number | null;
  nightsInWindow: number;
  nights: number;
  /** Mean copies removed (replaced) per night, embedded sites and IXP sites. */
  embeddedRemovesPerNight: number;
  ixpRemovesPerNight: number;
  maxReplicas: number;
}

const pct = (a: number, b: number) => (b > 0 ? (100 * a) / b : 0);

/** Summarises the measured days of one policy. */
export function summarise(days: DayMetrics[]): Summary {
  const sum = (f: (d: DayMetrics) => number) => days.reduce((s, d) => s + f(d), 0);
  const total = sum((d) => d.totalBytes);
  const daily = days.map((d) => pct(d.embeddedBytes, d.totalBytes));
  const n = Math.max(1, days.length);
  const windows = days.map((d) => d.maxWindowUse).filter((w): w is number => w !== null);
  return {
    embeddedShare: pct(
      sum((d) => d.embeddedBytes),
      total,
    ),
    ixpShare: pct(
      sum((d) => d.ixpParentBytes + d.ixpOtherBytes),
      total,
    ),
    ixpParentShare: pct(
      sum((d) => d.ixpParentBytes),
      total,
    ),
    ixpCrossRegionShare: pct(
      sum((d) => d.ixpCrossRegionBytes),
      total,
    ),
    originShare: pct(
      sum((d) => d.originBytes),
      total,
    ),
    embeddedShareMin: Math.min(...daily),
    embeddedShareMax: Math.max(...daily),
    maxOriginShareDay: Math.max(...days.map((d) => pct(d.originBytes, d.totalBytes))),
    fillBytesPerNight: sum((d) => d.fillEmbeddedBytes + d.fillIxpBytes) / n,
    fillEmbeddedBytesPerNight: sum((d) => d.fillEmbeddedBytes) / n,
    fillFromOriginPerNight: sum((d) => d.fillFromOriginBytes) / n,
    maxWindowUse: windows.length ? Math.max(...windows) : null,
    nightsInWindow: days.filter((d) => d.maxWindowUse !== null && d.sitesOverWindow === 0).length,
    nights: days.length,
    embeddedRemovesPerNight: sum((d) => d.embeddedRemoves) / n,
    ixpRemovesPerNight: sum((d) => d.ixpRemoves) / n,
    maxReplicas: Math.max(...days.map((d) => d.maxReplicas)),
  };
}
