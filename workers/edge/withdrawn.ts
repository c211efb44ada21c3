import { WITHDRAWN_KEY } from "../../shared/file-keys";
import { parseWithdrawn, stopReason, type Withdrawn } from "../../shared/withdrawn";
import { coloNamespace } from "../shared/colo-namespace";
import { coloSharedText } from "../shared/colo-shared-text";
import { SwrCache } from "../shared/swr-cache";
import { viewTtlMs } from "../shared/view-ttl";

/**
 * The data plane's view of origin's withdrawn list (`shared/withdrawn.ts`): one R2 read per colo per
 * half CATALOGUE_TTL_S, shared by the colo's isolates through the Cache API (`colo-shared-text.ts`; per
 * isolate where the Cache API keeps nothing), each isolate taking it again every 0.75 TTL in the
 * background, so a copy half a TTL old still stops every running session's segments within
 * 2 × CATALOGUE_TTL_S of a takedown, and a licence's end (the title's last, or the one a session
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

/** An isolate takes the list again after this share of the TTL: with the colo's copy up to half a TTL old, 2 × 0.75 + 0.5 = 2 TTLs. */
const FRESH_SHARE = 0.75;

async function load(env: Env, waitUntil: (p: Promise<unknown>) => void): Promise<Withdrawn> {
  const read = async () => (await env.ORIGIN.get(WITHDRAWN_KEY))?.text() ?? null;
  const text = await coloSharedText(`withdrawn/${coloNamespace(env)}`, viewTtlMs(env) / 2, read, waitUntil);
  return text !== null ? parseWithdrawn(text) : { titles: new Map(), licences: new Map() };
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
    const fresh = FRESH_SHARE * viewTtlMs(env);
    return stopReason(await list.get("withdrawn", fresh, () => load(env, waitUntil), waitUntil, now), titleId, country, issuedAt, now);
  } catch (err) {
    console.error("withdrawn list unreadable", err);
    return null;
  }
}
