/**
 * Bitrate choice: a pure function of the ladder, the measured throughput and the buffer level,
 * plus the throughput estimator that feeds it. No I/O, no clock: unit-tested in workerd.
 */

export interface Rung {
  /** Bits per second the rung needs (the playlist's BANDWIDTH / the MPD's @bandwidth). */
  bandwidth: number;
}

export interface AbrParams {
  /** Share of the throughput a rung may use while we stay on it. */
  safety: number;
  /** Share of the throughput a rung may use for us to switch up to it (stricter: up-switches must be safe; above `safety`, it counts as `safety`). */
  upSafety: number;
  /** Below this buffer level (s) the budget shrinks linearly, down to `minBudgetShare` at an empty buffer. */
  lowBufferS: number;
  minBudgetShare: number;
  /** With at least this much buffer (s), hold the current rung as long as throughput still covers it without margin. */
  highBufferS: number;
}

export const DEFAULT_ABR: AbrParams = {
  safety: 0.8,
  upSafety: 0.65,
  lowBufferS: 8,
  minBudgetShare: 0.5,
  highBufferS: 20,
};

export interface AbrInput {
  /** The ladder, ascending by bandwidth. */
  rungs: readonly Rung[];
  /** Throughput estimate in bits/s; null when nothing has been measured yet. */
  throughputBps: number | null;
  /** Seconds of media buffered ahead of the playhead. */
  bufferS: number;
  /** Index of the rung being played, or null at start-up. */
  current: number | null;
}

/** Index of the highest rung whose bandwidth fits `budget`, else the lowest rung. */
export function highestFitting(rungs: readonly Rung[], budget: number): number {
  let best = 0;
  for (let i = 0; i < rungs.length; i++) if (rungs[i].bandwidth <= budget) best = i;
  return best;
}

/** The share of throughput the buffer level allows: 1 with a healthy buffer, `minBudgetShare` when empty. */
export function bufferShare(bufferS: number, p: AbrParams = DEFAULT_ABR): number {
  if (bufferS >= p.lowBufferS) return 1;
  const f = Math.max(0, bufferS) / p.lowBufferS;
  return p.minBudgetShare + (1 - p.minBudgetShare) * f;
}

/**
 * Which rung to fetch next.
 * - Nothing measured: stay where we are (the lowest rung at start-up).
 * - Start-up: the highest rung the (buffer-scaled) throughput budget covers.
 * - Up: only when the rung fits the stricter up-switch budget (may jump several rungs).
 * - Hold: while the current rung fits the hold budget, or, with a full buffer, the raw throughput.
 * - Down: to the highest rung that fits the hold budget (several rungs at once when the buffer runs low).
 */
export function chooseRung(input: AbrInput, p: AbrParams = DEFAULT_ABR): number {
  const { rungs, throughputBps, bufferS, current } = input;
  if (rungs.length === 0) throw new Error("chooseRung: empty ladder");
  const cur = current === null ? null : Math.min(Math.max(0, current), rungs.length - 1);
  if (throughputBps === null || !(throughputBps > 0)) return cur ?? 0;
  const share = bufferShare(bufferS, p);
  const hold = throughputBps * p.safety * share;
  if (cur === null) return highestFitting(rungs, hold);
  // The up-switch budget is never looser than the hold budget: a rung reached on it that the hold
  // budget does not cover would be left on the next segment and taken again on the one after.
  const up = highestFitting(rungs, throughputBps * Math.min(p.upSafety, p.safety) * share);
  if (up > cur) return up;
  if (rungs[cur].bandwidth <= hold) return cur;
  if (bufferS >= p.highBufferS && rungs[cur].bandwidth <= throughputBps) return cur;
  return Math.min(cur, highestFitting(rungs, hold));
}

/**
 * A player's download that took less than this (ms) did not cross the network: a read from the
 * browser's cache (even an embedded OCA's round trip and transfer take longer). dash.js's own
 * threshold for a cached video segment (`cacheLoadThresholds.video`).
 */
export const MIN_NETWORK_SAMPLE_MS = 10;

/**
 * A player's download faster than this (bits/s) was read from a cache (from disk, a large segment
 * can take longer than `MIN_NETWORK_SAMPLE_MS`). Far above any rung: leaving out a real download
 * this fast costs the ABR nothing.
 */
export const MAX_NETWORK_SAMPLE_BPS = 1e9;

/**
 * Whether a player's download can be a measurement of the network, to feed the throughput estimate:
 * not read from the browser's HTTP cache (segments are immutable and cached: a seek back or a replay
 * reads them in about a millisecond, gigabits per second), timed, and not implausibly short for its
 * size. The estimator's own floor (`minSampleMs`) is for the headless fetcher's loopback downloads,
 * not for these.
 */
export function isNetworkSample(bytes: number, durationMs: number | undefined, fromCache = false): boolean {
  if (fromCache || !(bytes > 0) || !Number.isFinite(bytes)) return false;
  if (durationMs === undefined || !Number.isFinite(durationMs)) return false;
  return durationMs >= Math.max(MIN_NETWORK_SAMPLE_MS, (bytes * 8000) / MAX_NETWORK_SAMPLE_BPS);
}

/**
 * Throughput estimate from download samples: the harmonic mean of the last `window` downloads (as
 * dash.js's throughput rule). One slow download pulls it down at once (safety), and it takes a few
 * good ones to climb back (no optimism after a single fast, tiny download). Working in the window
 * instead of a long moving average also keeps a huge loopback sample or probe from masking a real
 * slowdown for many segments.
 */
export class ThroughputEstimator {
  private samples: number[] = [];

  constructor(
    private readonly window = 4,
    /** Samples shorter than this (ms) count as this long: loopback downloads take ~1 ms. */
    private readonly minSampleMs = 5,
  ) {}

  /** Ignores a sample that is no measurement (no bytes, a byte count or duration that is not a finite number, a negative duration): one NaN would make the estimate NaN for a whole window. */
  sample(bytes: number, durationMs: number): void {
    if (!(bytes > 0) || !Number.isFinite(bytes) || !(durationMs >= 0) || !Number.isFinite(durationMs)) return;
    const ms = Math.max(this.minSampleMs, durationMs);
    this.push((bytes * 8000) / ms);
  }

  private push(bps: number): void {
    this.samples.push(bps);
    if (this.samples.length > this.window) this.samples.shift();
  }

  /** Bits/s, or null before the first sample. */
  estimate(): number | null {
    if (this.samples.length === 0) return null;
    return this.samples.length / this.samples.reduce((s, x) => s + 1 / x, 0);
  }

  /** Forget everything; optionally seed with a prior (e.g. a probe) as one sample. */
  reset(priorBps?: number): void {
    this.samples = [];
    if (priorBps && priorBps > 0 && Number.isFinite(priorBps)) this.push(priorBps);
  }

  get sampleCount(): number {
    return this.samples.length;
  }
}
