/**
 * The dashboard's summary of a site whose object still runs the code before `opsSummary()` (a gradual
 * deployment): derived from its `describe()` and `lastCycle()`, so the site shows its figures, not
 * "unreachable", until the object restarts on the new code.
 */
import type { siteStub } from "../../shared/site-link";
import { isMissingMethod } from "../../shared/missing-method";
import { ANSWER_CUT_OFF, type AnswerCutOff } from "../../shared/site-view";

type SiteStub = ReturnType<typeof siteStub>;
/** The site object's answers, as the control plane sees them over RPC (it never imports the object). */
export type OpsSummary = Awaited<ReturnType<SiteStub["opsSummary"]>>;
export type SiteState = Awaited<ReturnType<SiteStub["describe"]>>;
export type LastCycle = Awaited<ReturnType<SiteStub["lastCycle"]>>;

/** What the summary asks of a site: its stub (or, in tests, one standing in for an object on older code). */
export interface SummarySite {
  opsSummary(answerCutOff?: AnswerCutOff): Promise<OpsSummary>;
  describe(): Promise<SiteState>;
  lastCycle(): Promise<LastCycle>;
}

/** Transitions per OCA the dashboard's summary carries (opsSummary asks its figures for 5, describe for 10). */
const SUMMARY_TRANSITIONS = 5;

/**
 * The `OpsSummary` opsSummary() would answer, from describe() and lastCycle() of the same object:
 * per OCA its figures without the title list but with the count of complete titles, misses summed by
 * kind, planned titles counted per OCA, parked tasks counted. Every field comes from the same rows as
 * opsSummary's; the one difference is that the two calls are two moments, not one (load and progress
 * may move between them), which a dashboard refresh tolerates.
 */
export function opsSummaryFromDescribe(state: SiteState, last: LastCycle): OpsSummary {
  const misses: OpsSummary["misses"] = { content: { count: 0, bytes: 0 }, health: { count: 0, bytes: 0 } };
  for (const m of state.misses) {
    // opsSummary counts these two kinds only, as its SQL does.
    if (m.kind !== "content" && m.kind !== "health") continue;
    misses[m.kind].count += m.count;
    misses[m.kind].bytes += m.bytes;
  }
  const { parked, parkedTotal, ...progress } = last.progress;
  return {
    // (The code before lists every title and miss; the page fields of the code since are not summary figures.)
    ocas: state.ocas.map(({ titles, transitions, titlesTotal: _total, titlesCursor: _cursor, ...figures }) => ({
      ...figures,
      // describe() reads the last 10 transitions, newest first; the summary carries the newest 5.
      transitions: transitions.slice(0, SUMMARY_TRANSITIONS),
      completeTitles: titles.filter((t) => t.complete).length,
    })),
    misses,
    day: last.day,
    // The whole plan per OCA (describe()'s `planned` flags mark only titles already held).
    planned: Object.fromEntries(Object.entries(last.plan).map(([ocaId, titleIds]) => [ocaId, titleIds.length])),
    cycle: last.cycle,
    progress: { ...progress, parked: parkedTotal ?? parked.length },
    syncs: state.syncs,
  };
}

/**
 * The site's dashboard summary: opsSummary(), or, only when the object does not implement it (it runs
 * the previous code), the same figures from describe() and lastCycle(). Any other error is thrown, and so
 * is a site cut off by the chaos switch: answered as such (an exception out of the object would be logged
 * as uncaught at every refresh), it fails here, in the caller, which lists it unreachable.
 */
export async function opsSummaryOf(site: SummarySite): Promise<OpsSummary> {
  let summary: OpsSummary;
  try {
    summary = await site.opsSummary(ANSWER_CUT_OFF);
  } catch (err) {
    if (!isMissingMethod(err, "opsSummary")) throw err;
    const [state, last] = await Promise.all([site.describe(), site.lastCycle()]);
    return opsSummaryFromDescribe(state, last);
  }
  if (summary.cutOff !== undefined) throw new Error(summary.cutOff);
  return summary;
}
