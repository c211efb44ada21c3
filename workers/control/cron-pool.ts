/** The hourly fill cron's pace: how long a site may take, how many regions run at once, and the pool that runs them. */

/** How long one site's cycle may take in the hourly cron before the cron moves on to its region's next site. */
export const SITE_CYCLE_TIMEOUT_MS = 60_000;

/**
 * Regions whose cycles the hourly cron runs at once. One invocation has 15 minutes of wall time (Cron
 * Triggers): a site at a time, 15 sites hanging to their timeout took all of it, and the sites after
 * them never planned (docs/capacity.md has the busiest hour's figures). Regions share nothing; each one
 * in flight holds its histories (its memo) in the invocation's 128 MB, which is what bounds the pool.
 */
export const CRON_REGION_CONCURRENCY = 4;

/**
 * Runs `work` on each item, at most `limit` at once, starting them in order; resolves when all have
 * settled. `work` must not reject (the hourly cron catches each site's failure itself); if one does, the
 * pool still waits for the rest and then rejects with the first failure.
 */
export async function eachBounded<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        await work(items[i], i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw (failure as { err: unknown }).err;
}
