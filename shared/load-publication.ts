/**
 * How often a site's object publishes its OCAs' load to D1's steering view: at most every
 * PUBLISH_LOAD_MS when an OCA's health or overload (what steering ranks by) changed since its last
 * publication, else every PUBLISH_LOAD_QUIET_MS. Every publication is a write on D1's one primary;
 * isolates read load from their live view of the site, D1's figure being the fallback. Shared by the
 * site object (durable-objects/oca-site.ts) and the capacity model (bench/scale.ts).
 */
export const PUBLISH_LOAD_MS = 2_000;
export const PUBLISH_LOAD_QUIET_MS = 30_000;
