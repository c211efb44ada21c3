import { WITHDRAWN_KEY } from "../../shared/file-keys";
import type { WithdrawnDoc } from "../../shared/withdrawn";
import { catalogueDb } from "../shared/catalogue-db";
import { sessionTtlS } from "./session-ttl";

/** How far ahead the list names titles and licences about to stop: past the next hourly write. */
const LOOKAHEAD_MS = 2 * 3_600_000;

/**
 * Writes origin's list of what stopped within the last session lifetime or stops within LOOKAHEAD_MS
 * (titles taken down or whose last licence ends; a title's licence in one country ending or stopped by
 * a registration), from the catalogue: after every registration and takedown, and hourly (which also
 * mends a list two concurrent writes raced to write, and purges licence stops no session outlives).
 * A licence's stops at or after its title's own stop are left out: the title's covers them. Returns how
 * many titles and licence stops it lists.
 */
export async function publishWithdrawn(env: Env, now = Date.now()): Promise<number> {
  const from = now - sessionTtlS(env) * 1000;
  const to = now + LOOKAHEAD_MS;
  const [titles, stops] = await Promise.all([catalogueDb.stoppingBetween(env.DB, from, to), catalogueDb.licenceStopsBetween(env.DB, from, to)]);
  const titleStops = new Map(titles.map((t) => [t.id, t.at]));
  const licences = stops.filter((l) => l.at < (titleStops.get(l.id) ?? Number.POSITIVE_INFINITY));
  const doc: WithdrawnDoc = { titles, licences, writtenAt: now };
  await env.ORIGIN.put(WITHDRAWN_KEY, JSON.stringify(doc), { httpMetadata: { contentType: "application/json" } });
  // Housekeeping, after the list is out: a failure here must not fail the registration that asked for it.
  await catalogueDb.purgeLicenceStops(env.DB, from).catch((err) => console.error("licence stops purge", err));
  return titles.length + licences.length;
}
