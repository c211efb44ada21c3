import { WITHDRAWN_KEY } from "../../shared/file-keys";
import type { WithdrawnDoc } from "../../shared/withdrawn";
import { catalogueDb } from "../shared/catalogue-db";
import { sessionTtlS } from "./session-ttl";

/** How far ahead the list names titles and licences about to end: past the next hourly write. */
const LOOKAHEAD_MS = 2 * 3_600_000;

/**
 * Writes origin's list of what stopped within the last session lifetime or stops within LOOKAHEAD_MS
 * (titles taken down or whose last licence ends; a title's licence ending in one country), from the
 * catalogue: after every registration and takedown, and hourly (which also mends a list two
 * concurrent writes raced to write). Returns how many titles and licences it lists.
 */
export async function publishWithdrawn(env: Env, now = Date.now()): Promise<number> {
  const from = now - sessionTtlS(env) * 1000;
  const to = now + LOOKAHEAD_MS;
  const [titles, licences] = await Promise.all([catalogueDb.stoppingBetween(env.DB, from, to), catalogueDb.licencesEndingBetween(env.DB, from, to)]);
  const doc: WithdrawnDoc = { titles, licences, writtenAt: now };
  await env.ORIGIN.put(WITHDRAWN_KEY, JSON.stringify(doc), { httpMetadata: { contentType: "application/json" } });
  return titles.length + licences.length;
}
