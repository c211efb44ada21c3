import { WITHDRAWN_KEY } from "../../shared/file-keys";
import { parseWithdrawn } from "../../shared/withdrawn";
import { SwrCache } from "../shared/swr-cache";
import { viewTtlMs } from "../shared/view-ttl";

/**
 * The data plane's view of origin's withdrawn list (`shared/withdrawn.ts`): one R2 read per isolate
 * per CATALOGUE_TTL_S, refreshed in the background, so a takedown stops every running session's
 * segments within 2 × CATALOGUE_TTL_S, from an OCA's copy, a parent's, origin or the colo cache alike.
 */

/** While origin cannot be read, the last list read keeps applying this long. */
const STALE_IF_ERROR_MS = 10 * 60_000;
const list = new SwrCache<Set<string>>({ max: 1, staleIfErrorMs: STALE_IF_ERROR_MS });

async function load(origin: R2Bucket): Promise<Set<string>> {
  const obj = await origin.get(WITHDRAWN_KEY);
  return obj ? parseWithdrawn(await obj.text()) : new Set();
}

/** True when the title was taken down. An unreadable list with nothing cached serves (fails open). */
export async function isWithdrawn(env: Env, titleId: string, waitUntil: (p: Promise<unknown>) => void): Promise<boolean> {
  try {
    return (await list.get("withdrawn", viewTtlMs(env), () => load(env.ORIGIN), waitUntil)).has(titleId);
  } catch (err) {
    console.error("withdrawn list unreadable", err);
    return false;
  }
}
