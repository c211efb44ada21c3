import { WITHDRAWN_KEY } from "../../shared/file-keys";
import type { WithdrawnDoc } from "../../shared/withdrawn";
import { catalogueDb } from "../shared/catalogue-db";
import { sessionTtlS } from "./session-ttl";

/**
 * Writes origin's list of titles taken down within the last session lifetime, from the catalogue:
 * after a takedown, after a taken-down title is published again, and hourly (which also mends a list
 * two concurrent takedowns raced to write). Returns how many titles it lists.
 */
export async function publishWithdrawn(env: Env, now = Date.now()): Promise<number> {
  const titles = await catalogueDb.takenDownSince(env.DB, now - sessionTtlS(env) * 1000);
  const doc: WithdrawnDoc = { titles, writtenAt: now };
  await env.ORIGIN.put(WITHDRAWN_KEY, JSON.stringify(doc), { httpMetadata: { contentType: "application/json" } });
  return titles.length;
}
