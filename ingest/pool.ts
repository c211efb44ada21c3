/**
 * A job pool: at most `size` tasks run at once. Every ffmpeg process of the pipeline that does
 * real work (validation decode, complexity probe, chunk encodes, audio encodes, checks) takes one
 * slot, and encoders run single-threaded, so `size` = cores keeps the machine busy without
 * oversubscribing it. Several ingests (the demo catalogue's titles) can share one pool.
 */
import { availableParallelism } from "node:os";

export class Pool {
  readonly size: number;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** number of tasks ever started (for tests/bench) */
  started = 0;
  /** highest number of tasks that ran at the same time */
  peak = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`pool size must be a positive integer, got ${size}`);
    this.size = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    this.started++;
    this.peak = Math.max(this.peak, this.running);
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Runs fn over every item through the pool; rejects with the first error (after all started tasks settle). */
  async map<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
    let failed: unknown;
    const results = await Promise.all(
      items.map((item, i) =>
        this.run(async () => {
          if (failed !== undefined) return undefined as R; // stop starting new work after a failure
          try {
            return await fn(item, i);
          } catch (err) {
            if (failed === undefined) failed = err;
            throw err;
          }
        }).catch((err) => {
          if (failed === undefined) failed = err;
          return undefined as R;
        }),
      ),
    );
    if (failed !== undefined) throw failed;
    return results;
  }
}

/**
 * The most jobs a run takes (`--jobs`). Each is an ffmpeg process of a few hundred MB (a 1080p AV1
 * encode, more), so 256 at once already asks for the memory of the largest hosts that would run
 * ingest, and encoders run single-threaded, so more jobs than cores only queue. Not lower: the
 * default is one job per core, and hosts of 96 to 192 cores are common. Past it, a value is a typo
 * (`--jobs 800` for 8), which started an ffmpeg for every chunk at once.
 */
export const MAX_JOBS = 256;

/** Cores available to this process (env INGEST_JOBS overrides), at most MAX_JOBS. */
export function defaultJobs(): number {
  const env = Number(process.env.INGEST_JOBS);
  if (Number.isInteger(env) && env > 0) return Math.min(env, MAX_JOBS);
  return Math.min(MAX_JOBS, Math.max(1, availableParallelism()));
}
