import type { CutOffMark, SiteLiveView } from "../../workers/shared/site-view";
import type { OpsSummary } from "./rpc-types";

/**
 * The answers of a site cut off by an operator's chaos switch to a caller that passed ANSWER_CUT_OFF
 * (workers/shared/site-view.ts, where both planes read it): empty figures and why. Real failures are
 * thrown as before.
 */

/** Why a cut-off site does not answer: the message callers fail with (the dashboard shows it). */
export function cutOffReason(siteId: string): string {
  return `site ${siteId} is unreachable (chaos switch)`;
}

/** A cut-off site's answer to a sync: no OCAs, and why. */
export function cutOffView(siteId: string, reason: string): SiteLiveView & CutOffMark {
  return { siteId, at: Date.now(), ocas: [], cutOff: reason };
}

/** A cut-off site's answer to the dashboard: no figures, and why. */
export function cutOffSummary(reason: string): OpsSummary & CutOffMark {
  const none = { files: 0, bytes: 0 };
  return {
    ocas: [],
    misses: { content: { count: 0, bytes: 0 }, health: { count: 0, bytes: 0 } },
    day: null,
    planned: {},
    cycle: null,
    progress: { pending: [], done: { peer: none, parent: none, origin: none }, fillUntil: null, fillRateBps: null, lastError: null, parked: 0 },
    syncs: { isolates: 0, everyMs: 0 },
    cutOff: reason,
  };
}
