/**
 * How often an isolate syncs with a site's Durable Object. Every isolate that serves from a site or
 * steers to it syncs once per SYNC_MS; with thousands of isolates that would pass one object's rate
 * (about 1,000 calls a second), so the object counts the isolates it has heard from lately and, past
 * SYNCS_PER_S_TARGET of them, asks each for a longer interval in its answer. The site then takes at
 * most about SYNCS_PER_S_TARGET syncs a second, leaving the rest of its rate to event shards and
 * operators, and what it decides (health, load) reaches isolates within that longer interval.
 */

/** The interval while a site hears from few enough isolates. */
export const SYNC_MS = 1_000;
/** Syncs a second a site's object asks for at most (half its documented soft limit). */
export const SYNCS_PER_S_TARGET = 500;
/** The longest interval asked: an isolate's pending report is flushed through `waitUntil`, which lasts 30 s at most. */
export const MAX_SYNC_EVERY_MS = 20_000;

/** The interval a site asks of each isolate when `isolates` sync with it: whole seconds, SYNC_MS to MAX_SYNC_EVERY_MS. */
export function syncEveryMs(isolates: number): number {
  return Math.min(MAX_SYNC_EVERY_MS, Math.max(1, Math.ceil(isolates / SYNCS_PER_S_TARGET)) * SYNC_MS);
}

/** A site's answer read by an isolate: a finite interval within bounds, else SYNC_MS. */
export function paceFromView(asked: unknown): number {
  return typeof asked === "number" && Number.isFinite(asked) ? Math.min(MAX_SYNC_EVERY_MS, Math.max(SYNC_MS, asked)) : SYNC_MS;
}
