/**
 * Runs `work` on each item, at most `limit` at once, starting them in order; resolves when all have
 * settled. `work` should not reject (the hourly cron and the ops overview catch each site's failure themselves); if one does, the
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
