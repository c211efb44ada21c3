import { WITHDRAWN_KEY } from "../../shared/file-keys";
import { parseWithdrawn } from "../../shared/withdrawn";
import { SwrCache } from "../shared/swr-cache";
import { viewTtlMs } from "../shared/view-ttl";

/**
 * The data plane's view of origin's withdrawn list (`shared/withdrawn.ts`): one R2 read per isolate
 * per CATALOGUE_TTL_S, refreshed in the background, so a takedown stops every running session's
 * segments within 2 × CATALOGUE_TTL_S, and a title's last licence stops them when it ends, from an
 * OCA's copy, a parent's, origin or the colo cache alike.
 */

/** While origin cannot be read, the last list read keeps applying this long. */
const STALE_IF_ERROR_MS = 10 * 60_000;
const list = new SwrCache<Map<string, number>>({ max: 1, staleIfErrorMs: STALE_IF_ERROR_MS });

async function load(origin: R2Bucket): Promise<Map<string, number>> {
  const obj = await origin.get(WITHDRAWN_KEY);
  return obj ? parseWithdrawn(await obj.text()) : new Map();
}

/** True when the title has stopped (taken down, last licence ended). An unreadable list with nothing cached serves (fails open). */
export async function isWithdrawn(env: Env, titleId: string, waitUntil: (p: Promise<unknown>) => void, now = Date.now()): Promise<boolean> {
  try {
    const at = (await list.get("withdrawn", viewTtlMs(env), () => load(env.ORIGIN), waitUntil)).get(titleId);
    return at !== undefined && at <= now;
  } catch (err) {
    console.error("withdrawn list unreadable", err);
    return false;
  }
}
