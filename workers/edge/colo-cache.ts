/**
 * The data plane's use of the colo cache (workers/shared/colo-cache.ts): only an OCA's own copies are
 * cached, under their tier bucket's key; the miss path (parent, origin) is not.
 */

/**
 * How long a colo keeps an OCA's copy: the bound on how long it may keep serving that copy after the
 * OCA dropped it (eviction, takedown).
 */
export const COLO_CACHE_TTL_S = 3600;

/**
 * The largest body a cold miss sends to the viewer and the colo cache from one read. A tee keeps in
 * memory what the slower side (a viewer on a slow link) has not read yet, up to the whole object, in an
 * isolate of 128 MB; a larger object goes to the viewer alone and the cache reads its own copy.
 */
export const COLO_TEE_MAX_BYTES = 16 * 1024 * 1024;
