import { WITHDRAWN_KEY } from "../../shared/file-keys";
import type { WithdrawnDoc } from "../../shared/withdrawn";
import { catalogueDb } from "../shared/catalogue-db";
import { sessionTtlS } from "./session-ttl";

/** How far ahead the list names titles whose last licence is about to end: past the next hourly write. */
const LOOKAHEAD_MS = 2 * 3_600_000;

/**
 * Writes origin's list of titles that stopped within the last session lifetime or stop within
 * LOOKAHEAD_MS (taken down, or their last licence ends), from the catalogue: after every registration
 * and takedown, and hourly (which also mends a list two concurrent writes raced to write). Returns
 * how many titles it lists.
 */
export async function publishWithdrawn(env: Env, now = Date.now()): Promise<number> {
  const titles = await catalogueDb.stoppingBetween(env.DB, now - sessionTtlS(env) * 1000, now + LOOKAHEAD_MS);
  const doc: WithdrawnDoc = { titles, writtenAt: now };
  await env.ORIGIN.put(WITHDRAWN_KEY, JSON.stringify(doc), { httpMetadata: { contentType: "application/json" } });
  return titles.length;
}
