/**
 * How often a player's SDK sends its routine QoE events (progress, bitrate switches, rebuffers) as one
 * batch; start, OCA switches, errors and stop go at once. Shared by the SDK (its default) and the
 * capacity model (bench/scale.ts), whose event-shard rate is viewers over this.
 */
export const QOE_BATCH_EVERY_MS = 10_000;

/** The longest `reason` an event may carry (`POST /v1/events` refuses a batch with a longer one). */
export const QOE_REASON_MAX = 500;
/** The longest OCA id an event may name (`ocaId`, `fromOcaId`). */
export const QOE_OCA_ID_MAX = 64;
/**
 * The SDK's batches are at most this many bytes of events' JSON: a page going away sends its last batch
 * with `keepalive`, whose bodies browsers cap at 64 KiB in all (a larger request fails, its stop with
 * it), and the server takes at most 128 KiB; the envelope (session token, ids) fits in what is left.
 */
export const QOE_BATCH_BYTES_MAX = 48 * 1024;

/** The event types `POST /v1/events` takes (an event of another type makes it refuse the whole batch). */
export const QOE_EVENT_TYPES = ["start", "progress", "bitrate_switch", "rebuffer", "oca_switch", "error", "stop"] as const;
