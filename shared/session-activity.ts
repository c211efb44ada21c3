/**
 * A site finds a session's activity on an OCA for its clean-up by a coarse bucket of when it was last
 * seen, this long: the exact time, which the counts read, is not indexed, so a report rewrites the row
 * alone and the index entry moves once a bucket. Shared by the site object (durable-objects/site/load.ts)
 * and the capacity model (bench/scale.ts), which adds each move to the rows a session's entries write.
 */
export const SEEN_BUCKET_MS = 30_000;
