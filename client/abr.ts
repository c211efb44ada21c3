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
  /** Share of the throughput a rung may use for us to switch up to it (stricter: up-switches must be safe). */
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
  const up = highestFitting(rungs, throughputBps * p.upSafety * share);
  if (up > cur) return up;
  if (rungs[cur].bandwidth <= hold) return cur;
  if (bufferS >= p.highBufferS && rungs[cur].bandwidth <= throughputBps) return cur;
  return Math.min(cur, highestFitting(rungs, hold));
}

/**
 * Throughput estimate from download samples: two exponentially weighted moving averages, weighted by
 * each sample's duration, with half-lives in seconds of download time; the estimate is the lower
 * of the two (quick to fall, slow to rise), as in hls.js and Shaka.
 */
export class ThroughputEstimator {
  private fast: Ewma;
  private slow: Ewma;
  private samples = 0;

  constructor(
    private readonly fastHalfLifeS = 2,
    private readonly slowHalfLifeS = 6,
    /** Samples shorter than this (ms) count as this long: loopback downloads take ~1 ms. */
    private readonly minSampleMs = 5,
  ) {
    this.fast = new Ewma(fastHalfLifeS);
    this.slow = new Ewma(slowHalfLifeS);
  }

  sample(bytes: number, durationMs: number): void {
    if (!(bytes > 0)) return;
    const ms = Math.max(this.minSampleMs, durationMs);
    const bps = (bytes * 8000) / ms;
    this.fast.add(ms / 1000, bps);
    this.slow.add(ms / 1000, bps);
    this.samples++;
  }

  /** Bits/s, or null before the first sample. */
  estimate(): number | null {
    if (this.samples === 0) return null;
    return Math.min(this.fast.value(), this.slow.value());
  }

  /** Forget everything; optionally seed with a prior (e.g. a probe), weighted as one short sample. */
  reset(priorBps?: number): void {
    this.fast = new Ewma(this.fastHalfLifeS);
    this.slow = new Ewma(this.slowHalfLifeS);
    this.samples = 0;
    if (priorBps && priorBps > 0) {
      this.fast.add(0.5, priorBps);
      this.slow.add(0.5, priorBps);
      this.samples = 1;
    }
  }

  get sampleCount(): number {
    return this.samples;
  }
}

class Ewma {
  private est = 0;
  private totalWeight = 0;
  private readonly alphaPerS: number;
  constructor(halfLifeS: number) {
    this.alphaPerS = Math.exp(Math.log(0.5) / halfLifeS);
  }
  add(weightS: number, value: number): void {
    const adj = Math.pow(this.alphaPerS, weightS);
    this.est = value * (1 - adj) + adj * this.est;
    this.totalWeight += weightS;
  }
  value(): number {
    // Zero-bias correction: without it the first samples would be pulled towards 0.
    const zeroFactor = 1 - Math.pow(this.alphaPerS, this.totalWeight);
    return this.est / zeroFactor;
  }
}
