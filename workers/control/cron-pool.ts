/** The hourly fill cron's pace: how long a site may take and how many regions run at once (`eachBounded` runs them). */

/** How long one site's cycle may take in the hourly cron before the cron moves on to its region's next site. */
export const SITE_CYCLE_TIMEOUT_MS = 60_000;

/**
 * Regions whose cycles the hourly cron runs at once. One invocation has 15 minutes of wall time (Cron
 * Triggers): a site at a time, 15 sites hanging to their timeout took all of it, and the sites after
 * them never planned (docs/capacity.md has the busiest hour's figures). Regions share nothing; each one
 * in flight holds its histories (its memo) in the invocation's 128 MB, which is what bounds the pool.
 */
export const CRON_REGION_CONCURRENCY = 4;
