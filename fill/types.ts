/**
 * Types shared by the predictor, the planner, the Worker's cron/Durable Objects and the simulator.
 * Pure data: no Worker-only or Node-only dependency.
 */

/** Days are whole days since the Unix epoch in the site's local calendar (see dayNumber()). */
export type DayNumber = number;

export interface PredictParams {
  /** Exponential smoothing of the level (0..1). */
  alpha: number;
  /** Smoothing of the trend (0..1). */
  beta: number;
  /** Smoothing of the day-of-week factors (0..1). */
  gamma: number;
  /** Below this many bytes of local history over the window, local history is "thin" and blends with regional. */
  thinBytes: number;
  /** Days of history used (at least 7). */
  windowDays: number;
}

export interface PredictInput {
  /** The day being predicted (tomorrow). */
  targetDay: DayNumber;
  /**
   * The last day of the history (default targetDay - 1). The cron plans tomorrow while today is
   * still being counted, so it gives the history up to yesterday: a day only hours old reads as a
   * collapse of every title (and as a shift of the whole mix).
   */
  lastDay?: DayNumber;
  /** This site's bytes served per title per day, for the windowDays days ending on lastDay (oldest first). */
  local: Record<string, number[]>;
  /** The region's bytes (sum over the sites of the region, this one included), same days. */
  regional: Record<string, number[]>;
  /** Size in bytes of each title's files (popularity = bytes streamed / size). */
  titleBytes: Record<string, number>;
  /**
   * Titles launching on or before targetDay: those launched inside the window teach the launch
   * curve; give those of the window before it too, so their ramp is not read as a trend.
   */
  releases: Array<{ titleId: string; launchDay: DayNumber }>;
  /**
   * The day after lastDay so far (today, hours into it): bytes per title, here and in the region,
   * and the share of a usual day's bytes its recorded hours carry. Used only when it shows a shift
   * of the whole mix (fill/shift.ts shiftedToday): then it counts as a whole day scaled by `share`.
   */
  today?: TodaySoFar;
  /**
   * The share (0..1] of the region's bytes this site is expected to serve while it has recorded none
   * (a site new to its region): the cron gives its OCAs' share of the region's throughput. Without it,
   * or when not a share, the region's whole demand (1).
   */
  priorShare?: number;
  params?: Partial<PredictParams>;
}

export interface TodaySoFar {
  local: Record<string, number>;
  regional: Record<string, number>;
  /** Share of a usual day's bytes in the hours recorded so far (0..1], from the hour-of-day shape. */
  share: number;
}

export interface Prediction {
  titleId: string;
  /** Predicted bytes this site will serve of the title on targetDay. */
  bytes: number;
  /** bytes / title size: Open Connect's popularity. */
  popularity: number;
  /** What the prediction rests on. */
  basis: "local" | "blend" | "regional" | "release";
}

export interface PlanOca {
  id: string;
  capacityBytes: number;
  throughputBps: number;
}

export interface PlanTitle {
  titleId: string;
  /** Bytes of the title's files (what one copy costs). */
  bytes: number;
  /** Predicted bytes served tomorrow at this site. */
  predictedBytes: number;
  /** Predicted peak egress of the title at this site, bits/s (drives the replica count). */
  peakBps: number;
}

export interface PlanParams {
  /** A held title is replaced only if the newcomer's value per byte beats it by this factor (hysteresis). */
  keepFactor: number;
  /** Fraction of an OCA's throughput the planner may commit to peak demand. */
  throughputHeadroom: number;
}

export interface PlanInput {
  ocas: PlanOca[];
  titles: PlanTitle[];
  /** What each OCA holds now (ocaId -> titleIds). */
  current: Record<string, string[]>;
  params?: Partial<PlanParams>;
}

export interface SitePlan {
  /** What each OCA should hold after the fill (ocaId -> titleIds). */
  byOca: Record<string, string[]>;
  /**
   * byOca's titles in the planner's order: per OCA, most valuable per stored byte first (what the
   * fill copies first when its window cannot finish).
   */
  ranked: Record<string, string[]>;
  /** Copies per title. */
  replicas: Record<string, number>;
  adds: Array<{ ocaId: string; titleId: string }>;
  removes: Array<{ ocaId: string; titleId: string }>;
  /** Bytes per OCA under the plan. */
  usedBytes: Record<string, number>;
  /** Sum of predicted bytes of the titles the plan holds (at least one copy). */
  coveredBytes: number;
}
