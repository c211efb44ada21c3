import type { CmcdReport, EdgeReport } from "./site-view";
import { MAX_REPORT_ITEMS } from "./site-view";

/**
 * The reports an isolate's link to a site has taken from its batch and the site has not answered
 * (pure). A report stays until a call that carried it is answered, so a call that fails, times out or
 * is cut off with its request loses nothing, and every call carries all of them, oldest first: a call
 * that carries a report carries every older one still waiting, which is what lets the site keep only
 * the highest number it counted per isolate (durable-objects/site/counted-up-to.ts).
 *
 * A report let go unanswered (too old, or past the most a call carries) may have been counted: its
 * answer lost after the site committed it. Its CMCD and bytes served away are not put back in the
 * batch (a new number would count them again), but folded into the link's one salvaged report, which
 * keeps the number of the oldest report folded in and goes first in every call until answered: the
 * site counts it only when it has counted nothing from that number on, and then nothing it holds had
 * been counted. What it holds of a report the site had counted is never counted twice (at worst, the
 * part of a later report folded into one already counted is lost).
 */

/** Reports a call carries at most, the salvaged one included (the newest kept; the site reads no more). */
export const MAX_UNACKED_REPORTS = 4;
/** A report unanswered this long is not sent again as it was (the site forgets an isolate's numbers after longer: SENDER_MEMORY_MS). */
export const UNACKED_MAX_AGE_MS = 2 * 60_000;
/**
 * The salvaged report goes this long after the oldest report folded into it was taken, at most: well
 * within the 10 minutes a site remembers an isolate's numbers after counting one (SENDER_MEMORY_MS),
 * so a salvaged report the site counted is still known as counted whenever it comes again.
 */
export const SALVAGED_MAX_AGE_MS = 5 * 60_000;

/** A report taken from a link's batch, and when (ms). `salvaged`: the link's salvaged report (see above), taken when its oldest part was. */
export interface TakenReport {
  report: EdgeReport;
  takenAt: number;
  salvaged?: true;
}

/** A report as a call carries it: with how long ago its isolate took it (ms, on the isolate's own clock), so the site can place it in time. */
export type SentReport = EdgeReport & { ageMs?: number };

/**
 * Which waiting reports the next call carries (by number, oldest first: at most `max`, none older
 * than UNACKED_MAX_AGE_MS) and which are let go.
 */
export function reportsToSend(waiting: readonly TakenReport[], now: number, max = MAX_UNACKED_REPORTS): { send: TakenReport[]; dropped: TakenReport[] } {
  const ordered = [...waiting].sort((a, b) => (a.report.seq ?? 0) - (b.report.seq ?? 0));
  const fresh = ordered.filter((u) => now - u.takenAt < UNACKED_MAX_AGE_MS);
  const send = max > 0 ? fresh.slice(-max) : [];
  return { send, dropped: ordered.filter((u) => !send.includes(u)) };
}

/** One session's CMCD summed with more of it: counts add up, the latest sample's values win, times span both. */
export function sumCmcd(prev: CmcdReport, r: CmcdReport): CmcdReport {
  const latest = prev.lastAt <= r.lastAt ? r : prev;
  const tops = [prev.topBitrateKbps, r.topBitrateKbps].filter((x): x is number => x !== null);
  return {
    ...latest,
    requests: prev.requests + r.requests,
    bytes: prev.bytes + r.bytes,
    stalls: prev.stalls + r.stalls,
    startups: prev.startups + r.startups,
    sid: latest.sid ?? prev.sid ?? r.sid,
    bitrateKbps: latest.bitrateKbps ?? prev.bitrateKbps ?? r.bitrateKbps,
    bufferMs: latest.bufferMs ?? prev.bufferMs ?? r.bufferMs,
    throughputKbps: latest.throughputKbps ?? prev.throughputKbps ?? r.throughputKbps,
    topBitrateKbps: tops.length ? Math.max(...tops) : null,
    firstAt: Math.min(prev.firstAt, r.firstAt),
    lastAt: Math.max(prev.lastAt, r.lastAt),
  };
}

/**
 * The salvaged report with `dropped` folded in (null when neither holds CMCD or bytes served away):
 * their CMCD summed per session and their bytes served away per session, at most MAX_REPORT_ITEMS
 * sessions each (the site reads no more), under the lowest number.
 */
export function salvage(into: TakenReport | null, dropped: readonly TakenReport[]): TakenReport | null {
  const cmcd = new Map<string, CmcdReport>();
  const away = new Map<string, number>();
  let seq = into?.report.seq ?? Number.POSITIVE_INFINITY;
  let takenAt = into?.takenAt ?? Number.POSITIVE_INFINITY;
  for (const u of [...(into ? [into] : []), ...dropped]) {
    for (const r of u.report.cmcd ?? []) {
      const prev = cmcd.get(r.sessionId);
      if (prev) cmcd.set(r.sessionId, sumCmcd(prev, r));
      else if (cmcd.size < MAX_REPORT_ITEMS) cmcd.set(r.sessionId, r);
    }
    for (const s of u.report.servedAway ?? []) {
      const prev = away.get(s.id);
      if (prev !== undefined || away.size < MAX_REPORT_ITEMS) away.set(s.id, (prev ?? 0) + s.bytes);
    }
    if (u !== into && (u.report.cmcd?.length || u.report.servedAway?.length)) {
      seq = Math.min(seq, u.report.seq ?? 0);
      takenAt = Math.min(takenAt, u.takenAt);
    }
  }
  if (cmcd.size === 0 && away.size === 0) return into;
  return {
    report: {
      seq,
      windowMs: 0,
      ocas: {},
      cmcd: [...cmcd.values()],
      ...(away.size ? { servedAway: [...away].map(([id, bytes]) => ({ id, bytes })) } : {}),
    },
    takenAt,
    salvaged: true,
  };
}

/**
 * The waiting reports a call carries, the salvaged one first: all it may (MAX_UNACKED_REPORTS) when
 * the link has no new report to add, one fewer when it has (`fresh`, asked after `letGo` has put the
 * let-go reports' plays back in its batch, which may make one). Those let go are folded into the
 * salvaged report (see `salvage`) and handed to `letGo`, oldest first; a salvaged report past
 * SALVAGED_MAX_AGE_MS is dropped.
 */
export function reportsForCall(waiting: readonly TakenReport[], now: number, letGo: (dropped: TakenReport[]) => void, fresh: () => boolean): TakenReport[] {
  let salvaged = waiting.find((u) => u.salvaged && now - u.takenAt < SALVAGED_MAX_AGE_MS) ?? null;
  const { send, dropped } = reportsToSend(
    waiting.filter((u) => !u.salvaged),
    now,
    MAX_UNACKED_REPORTS,
  );
  salvaged = salvage(salvaged, dropped);
  letGo(dropped);
  // The salvaged report and a new one each take a place; the salvaged one may be made by a report let
  // go for room, and plays put back may make a new one.
  let wantFresh = fresh();
  while (send.length > 0 && send.length + (salvaged ? 1 : 0) + (wantFresh ? 1 : 0) > MAX_UNACKED_REPORTS) {
    const out = send.shift() as TakenReport;
    salvaged = salvage(salvaged, [out]);
    letGo([out]);
    wantFresh ||= fresh();
  }
  return salvaged ? [salvaged, ...send] : send;
}

/** The waiting reports once a call that carried `answered` has been answered. */
export function acknowledge(waiting: readonly TakenReport[], answered: readonly TakenReport[]): TakenReport[] {
  const done = new Set(answered);
  return waiting.filter((u) => !done.has(u));
}

/**
 * When a report a site takes was measured (ms, on the site's clock): `now` less the age its isolate
 * sent with it (a span on the isolate's one clock, so no skew between the two enters), at most
 * SALVAGED_MAX_AGE_MS back; `now` when it says none (an isolate on older code, an operator's call).
 */
export function measuredAt(report: SentReport, now: number): number {
  const age = report.ageMs;
  return typeof age === "number" && Number.isFinite(age) && age > 0 ? now - Math.min(age, SALVAGED_MAX_AGE_MS) : now;
}
