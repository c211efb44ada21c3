/** What the simulator records per policy and day, and how days are summarised. */

export type PolicyName = "prediction" | "yesterday" | "oracle" | "expected" | "lru" | "s3fifo" | "wtinylfu";
export const POLICIES: PolicyName[] = ["prediction", "yesterday", "oracle", "expected", "lru", "s3fifo", "wtinylfu"];
/** Policies that fill on a miss, at request time. */
export const REACTIVE: readonly PolicyName[] = ["lru", "s3fifo", "wtinylfu"];

export interface DayMetrics {
  /** 0-based simulated day (warm-up included). */
  day: number;
  /** Local calendar date (YYYY-MM-DD). */
  date: string;
  /** Bytes streamed by clients, and by which tier served them. */
  totalBytes: number;
  embeddedBytes: number;
  /** Served by the embedded site's parent IXP site (the only upstream a miss goes to before origin). */
  ixpParentBytes: number;
  originBytes: number;
  /** Sessions, and those whose title was not at the embedded site they were sent to. */
  requests: number;
  missedRequests: number;
  /** Bytes streamed in the evening peak, the part that came from the IXP tier or origin, and bytes copied into caches then. */
  peakBytes: number;
  peakUpstreamBytes: number;
  peakFillBytes: number;
  /** The same two in each site's single busiest local hour. */
  peakHourBytes: number;
  peakHourUpstreamBytes: number;
  /** Bytes of titles on their launch day, and the part embedded sites served. */
  releaseDayBytes: number;
  releaseDayEmbeddedBytes: number;
  /** Busiest OCA-hour's egress over the OCA's throughput, and OCA-hours over 1 (planned policies; null for one-cache-per-site baselines). */
  maxOcaPeakUse: number | null;
  ocaHoursOver: number | null;
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
  /** Embedded sites that re-planned the same day, their region's mix having shifted by the morning. */
  replannedSites: number;
}

/** A day with nothing counted yet. */
export function emptyDay(day: number, date: string): DayMetrics {
  return {
    day,
    date,
    totalBytes: 0,
    embeddedBytes: 0,
    ixpParentBytes: 0,
    originBytes: 0,
    requests: 0,
    missedRequests: 0,
    peakBytes: 0,
    peakUpstreamBytes: 0,
    peakFillBytes: 0,
    peakHourBytes: 0,
    peakHourUpstreamBytes: 0,
    releaseDayBytes: 0,
    releaseDayEmbeddedBytes: 0,
    maxOcaPeakUse: 0,
    ocaHoursOver: 0,
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
    replannedSites: 0,
  };
}

export interface Summary {
  /** Byte shares over the measured days (percent of all bytes streamed). */
  embeddedShare: number;
  ixpShare: number;
  originShare: number;
  /** Percent of sessions sent to an embedded site that did not hold the title. */
  missedRequestShare: number;
  /** Percent of evening-peak bytes that came from the IXP tier or origin; bytes copied into caches in the peak per day. */
  peakUpstreamShare: number;
  peakFillBytesPerDay: number;
  /** Percent of the bytes of each site's busiest hour that came from the IXP tier or origin. */
  peakHourUpstreamShare: number;
  /** Percent of launch-day bytes served by embedded sites. */
  releaseDayEmbeddedShare: number;
  /** Busiest OCA-hour over its throughput, and OCA-hours over it in all (null: not modelled per OCA). */
  maxOcaPeakUse: number | null;
  ocaHoursOver: number | null;
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
  /** Site-days re-planned the same day (a shift of the region's mix seen by the morning). */
  replannedSiteDays: number;
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
      sum((d) => d.ixpParentBytes),
      total,
    ),
    missedRequestShare: pct(
      sum((d) => d.missedRequests),
      sum((d) => d.requests),
    ),
    peakUpstreamShare: pct(
      sum((d) => d.peakUpstreamBytes),
      sum((d) => d.peakBytes),
    ),
    peakFillBytesPerDay: sum((d) => d.peakFillBytes) / n,
    peakHourUpstreamShare: pct(
      sum((d) => d.peakHourUpstreamBytes),
      sum((d) => d.peakHourBytes),
    ),
    releaseDayEmbeddedShare: pct(
      sum((d) => d.releaseDayEmbeddedBytes),
      sum((d) => d.releaseDayBytes),
    ),
    maxOcaPeakUse: days.some((d) => d.maxOcaPeakUse === null) ? null : Math.max(0, ...days.map((d) => d.maxOcaPeakUse ?? 0)),
    ocaHoursOver: days.some((d) => d.ocaHoursOver === null) ? null : sum((d) => d.ocaHoursOver ?? 0),
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
    replannedSiteDays: sum((d) => d.replannedSites),
  };
}
