/**
 * How often a player's SDK sends its routine QoE events (progress, bitrate switches, rebuffers) as one
 * batch; start, OCA switches, errors and stop go at once. Shared by the SDK (its default) and the
 * capacity model (bench/scale.ts), whose event-shard rate is viewers over this.
 */
export const QOE_BATCH_EVERY_MS = 10_000;
