/**
 * A site finds a session's activity on an OCA for its clean-up by a coarse bucket of when it was last
 * seen, this long: the exact time, which the counts read, is not indexed, so a report rewrites the row
 * alone and the index entry moves once a bucket. Shared by the site object (durable-objects/site/load.ts)
 * and the capacity model (bench/scale.ts), which adds each move to the rows a session's entries write.
 */
export const SEEN_BUCKET_MS = 30_000;

/**
 * An isolate sends a session's entry to a site (its bytes and activity on an OCA, its CMCD, its bytes
 * served away from home) at most this often: the first at once, then what came in between summed.
 * A player fetches a segment every few seconds, and each entry is a few SQLite statements of the site
 * object's one thread (docs/capacity.md): three segments to an entry is a third of that work. Deployed
 * default; `SESSION_ENTRY_EVERY_S` overrides it (the tests' config sends every entry at once).
 */
export const SESSION_ENTRY_EVERY_MS = 12_000;
