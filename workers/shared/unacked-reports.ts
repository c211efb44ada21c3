import type { EdgeReport } from "./site-view";

/**
 * The reports an isolate's link to a site has taken from its batch and the site has not answered
 * (pure). A report stays until a call that carried it is answered, so a call that fails, times out or
 * is cut off with its request loses nothing, and every call carries all of them, oldest first: a call
 * that carries a report carries every older one still waiting, which is what lets the site keep only
 * the highest number it counted per isolate (durable-objects/site/counted-up-to.ts).
 */

/** Reports a call carries at most (the newest kept; the site reads no more). */
export const MAX_UNACKED_REPORTS = 4;
/** A report unanswered this long is not sent again as it was (the site forgets an isolate's numbers after longer: SENDER_MEMORY_MS). */
export const UNACKED_MAX_AGE_MS = 2 * 60_000;

/** A report taken from a link's batch, and when (ms). */
export interface TakenReport {
  report: EdgeReport;
  takenAt: number;
}

/**
 * Which waiting reports the next call carries (by number, oldest first: at most `max`, none older
 * than UNACKED_MAX_AGE_MS) and which are let go. A report let go is never sent again as it
 * was: its plays and CMCD go back in the batch (see the link), the rest of it is lost.
 */
export function reportsToSend(waiting: readonly TakenReport[], now: number, max = MAX_UNACKED_REPORTS): { send: TakenReport[]; dropped: TakenReport[] } {
  const ordered = [...waiting].sort((a, b) => (a.report.seq ?? 0) - (b.report.seq ?? 0));
  const fresh = ordered.filter((u) => now - u.takenAt < UNACKED_MAX_AGE_MS);
  const send = max > 0 ? fresh.slice(-max) : [];
  return { send, dropped: ordered.filter((u) => !send.includes(u)) };
}

/**
 * The waiting reports a call carries: all it may (MAX_UNACKED_REPORTS) when the link has no new report
 * to add, one fewer when it has (`fresh`, asked after `letGo` has put the let-go reports' plays and CMCD
 * back in its batch, which may make one). Those let go are handed to `letGo`, oldest first.
 */
export function reportsForCall(waiting: readonly TakenReport[], now: number, letGo: (dropped: TakenReport[]) => void, fresh: () => boolean): TakenReport[] {
  const { send, dropped } = reportsToSend(waiting, now, MAX_UNACKED_REPORTS);
  letGo(dropped);
  if (send.length === MAX_UNACKED_REPORTS && fresh()) letGo([send.shift() as TakenReport]);
  return send;
}

/** The waiting reports once a call that carried `answered` has been answered. */
export function acknowledge(waiting: readonly TakenReport[], answered: readonly TakenReport[]): TakenReport[] {
  const done = new Set(answered);
  return waiting.filter((u) => !done.has(u));
}
