import { WITHDRAWN_KEY } from "../../shared/file-keys";
import { parseWithdrawn, stopReason, type Withdrawn } from "../../shared/withdrawn";
import { SwrCache } from "../shared/swr-cache";
import { viewTtlMs } from "../shared/view-ttl";

/**
 * The data plane's view of origin's withdrawn list (`shared/withdrawn.ts`): one R2 read per isolate
 * per CATALOGUE_TTL_S, refreshed in the background, so a takedown stops every running session's
 * segments within 2 × CATALOGUE_TTL_S, and a licence's end (the title's last, or the one a session
 * was granted under in its country) stops them when it ends (a registration that stops a licence early,
 * within 2 × CATALOGUE_TTL_S), from an OCA's copy, a parent's, origin
 * or the colo cache alike.
 */

/**
 * While origin cannot be read, the last list read keeps applying, however long: dropping it would serve
 * again every title it took down (an outage must not undo a takedown). A list only grows by what origin
 * adds; what it would lift (a title back on) waits for origin.
 */
const STALE_IF_ERROR_MS = Number.POSITIVE_INFINITY;
const list = new SwrCache<Withdrawn>({ max: 1, staleIfErrorMs: STALE_IF_ERROR_MS });

async function load(origin: R2Bucket): Promise<Withdrawn> {
  const obj = await origin.get(WITHDRAWN_KEY);
  return obj ? parseWithdrawn(await obj.text()) : { titles: new Map(), licences: new Map() };
}

/**
 * Why a session of the title granted at `issuedAt` under `country`'s licence is not served now:
 * "taken_down" (taken down, last licence ended), "not_licensed" (that licence stopped since), or null.
 * An unreadable list with nothing cached serves (fails open); one read before keeps applying.
 */
export async function withdrawnReason(
  env: Env,
  titleId: string,
  country: string,
  issuedAt: number,
  waitUntil: (p: Promise<unknown>) => void,
  now = Date.now(),
): Promise<"taken_down" | "not_licensed" | null> {
  try {
    return stopReason(await list.get("withdrawn", viewTtlMs(env), () => load(env.ORIGIN), waitUntil, now), titleId, country, issuedAt, now);
  } catch (err) {
    console.error("withdrawn list unreadable", err);
    return null;
  }
}
