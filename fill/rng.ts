/**
 * Seeded randomness for the trace: mulberry32 streams (one per concern, so adding draws to one
 * concern does not reshuffle another), normal deviates, and Walker's alias tables for O(1) sampling.
 */
import { fnv1a } from "../fill/hash";

export type Rng = () => number;

/** mulberry32: a fast 32-bit PRNG with a full 2^32 period; returns floats in [0, 1). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An independent stream for one concern of one seed (e.g. "sessions/lumen-nyc/12"). */
export function stream(seed: number, name: string): Rng {
  return mulberry32(fnv1a(`${seed}:${name}`) ^ Math.imul(seed, 0x9e3779b1));
}

/** Standard normal deviate (Box-Muller). */
export function normal(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Uniform in [lo, hi). */
export const uniform = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng();

/** Walker's alias table: samples index i with probability weights[i] / sum, in O(1). */
export class AliasTable {
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i];
    const scaled = new Float64Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      scaled[i] = total > 0 ? (weights[i] * n) / total : 1;
      (scaled[i] < 1 ? small : large).push(i);
    }
    while (small.length && large.length) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.prob[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      (scaled[l] < 1 ? small : large).push(l);
    }
    for (const i of [...small, ...large]) {
      this.prob[i] = 1;
      this.alias[i] = i;
    }
  }

  sample(rng: Rng): number {
    const n = this.prob.length;
    const x = rng() * n;
    const i = Math.min(n - 1, Math.floor(x));
    return x - i < this.prob[i] ? i : this.alias[i];
  }
}
