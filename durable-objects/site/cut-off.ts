import type { SiteLiveView } from "../../workers/shared/site-view";
import type { OpsSummary } from "./rpc-types";

/**
 * A site cut off by an operator's chaos switch, answered rather than thrown. An exception out of a
 * Durable Object's RPC method is logged by workerd as "Uncaught (in promise)", stack and all, on every
 * call, however the caller handles it: a site cut off on purpose printed one per sync of every isolate.
 * A caller that handles the cut-off passes ANSWER_CUT_OFF and gets an answer with `cutOff` set (why),
 * to fail in its own isolate as it would on the exception; a caller that does not pass it (an isolate
 * on the code before) is still thrown the exception. Real failures are thrown as before.
 */
export const ANSWER_CUT_OFF = "answer-cut-off";
export type AnswerCutOff = typeof ANSWER_CUT_OFF;

/** On an answer to a caller that passed ANSWER_CUT_OFF: set when the site is cut off (its figures are then empty). */
export interface CutOffMark {
  cutOff?: string;
}

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
