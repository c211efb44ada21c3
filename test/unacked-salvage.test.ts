import { describe, expect, it } from "vitest";
import type { CmcdReport, EdgeReport } from "../workers/shared/site-view";
import {
  acknowledge,
  MAX_UNACKED_REPORTS,
  measuredAt,
  reportsForCall,
  SALVAGED_MAX_AGE_MS,
  salvage,
  type TakenReport,
} from "../workers/shared/unacked-reports";
import { cmcdReport } from "./cmcd-report-fixture";

/**
 * The salvaged report (pure): what a link lets go unanswered is carried under the number of the oldest
 * report it came from, so a site that keeps only the highest number it counted per isolate counts it
 * at most once whatever became of the calls (committed with the answer lost, or never arrived).
 */

const T = 1_000_000;
const cmcd = (sessionId: string, at = T): CmcdReport => cmcdReport(sessionId, { firstAt: at, lastAt: at });
const report = (seq: number, sessions: string[], takenAt = T): TakenReport => ({
  report: { seq, windowMs: 1_000, ocas: {}, cmcd: sessions.map((s) => cmcd(s)) },
  takenAt,
});

/** A site as counted-up-to.ts keeps it: the highest number counted from the isolate; each CMCD request counted per session. */
class ModelSite {
  upTo = 0;
  readonly requests = new Map<string, number>();
  take(reports: readonly EdgeReport[]): void {
    for (const r of [...reports].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0)).slice(-MAX_UNACKED_REPORTS)) {
      if ((r.seq ?? 0) <= this.upTo) continue;
      this.upTo = r.seq ?? 0;
      for (const c of r.cmcd ?? []) this.requests.set(c.sessionId, (this.requests.get(c.sessionId) ?? 0) + c.requests);
    }
  }
}

/** Runs a link against the model site: each call takes a new report (one new session), then fares as `fates` says. */
function run(fates: readonly ("answered" | "lost" | "unreached")[]) {
  const site = new ModelSite();
  let unacked: TakenReport[] = [];
  let seq = 0;
  const sessions: string[] = [];
  let now = T;
  for (const fate of fates) {
    now += 1_000;
    const send = reportsForCall(
      unacked,
      now,
      () => {},
      () => true,
    );
    const id = `s${seq + 1}`;
    sessions.push(id);
    unacked = [...send, report(++seq, [id], now)];
    const sent = [...unacked];
    expect(sent.length).toBeLessThanOrEqual(MAX_UNACKED_REPORTS);
    if (fate !== "unreached") site.take(sent.map((u) => u.report));
    if (fate === "answered") unacked = acknowledge(unacked, sent);
  }
  return { site, sessions, unacked };
}

describe("the salvaged report of those a link let go", () => {
  it("counts nothing twice when the site committed every call and lost the answers", () => {
    const { site, sessions } = run([...Array(12).fill("lost"), "answered"]);
    expect(sessions.map((s) => site.requests.get(s) ?? 0)).toEqual(sessions.map(() => 1));
  });

  it("loses nothing when no call reached the site before it answered", () => {
    const { site, sessions } = run([...Array(12).fill("unreached"), "answered"]);
    expect(sessions.map((s) => site.requests.get(s) ?? 0)).toEqual(sessions.map(() => 1));
  });

  it("never counts a session twice, whatever mix of lost and unreached calls", () => {
    let state = 7;
    const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 200; round++) {
      const fates = Array.from({ length: 15 }, (): "lost" | "unreached" => (random() < 0.5 ? "lost" : "unreached"));
      const { site } = run([...fates, "answered"]);
      for (const n of site.requests.values()) expect(n).toBe(1);
    }
  });

  it("sums what it folds in per session, keeps the lowest number and the oldest time, and is dropped past its age", () => {
    const a = salvage(null, [report(3, ["x", "y"], T + 10)]);
    const b = salvage(a, [report(5, ["x"], T + 20), { report: { seq: 6, windowMs: 0, ocas: {} }, takenAt: T }]);
    expect(b?.report.seq).toBe(3);
    expect(b?.takenAt).toBe(T + 10);
    expect(b?.report.cmcd?.map((c) => [c.sessionId, c.requests])).toEqual([
      ["x", 2],
      ["y", 1],
    ]);
    // A report with nothing to salvage makes no salvaged report.
    expect(salvage(null, [{ report: { seq: 1, windowMs: 0, ocas: {} }, takenAt: T }])).toBeNull();
    const old = { ...(b as TakenReport) };
    expect(
      reportsForCall(
        [old],
        T + 10 + SALVAGED_MAX_AGE_MS,
        () => {},
        () => false,
      ),
    ).toEqual([]);
    expect(
      reportsForCall(
        [old],
        T + 10 + SALVAGED_MAX_AGE_MS - 1,
        () => {},
        () => false,
      ),
    ).toEqual([old]);
  });
});

describe("when a report was measured", () => {
  it("is the site's now less the age its isolate sent, at most SALVAGED_MAX_AGE_MS back; now when it says none or nonsense", () => {
    const r: EdgeReport = { windowMs: 1_000, ocas: {} };
    expect(measuredAt({ ...r, ageMs: 90_000 }, T)).toBe(T - 90_000);
    expect(measuredAt({ ...r, ageMs: 10 * SALVAGED_MAX_AGE_MS }, T)).toBe(T - SALVAGED_MAX_AGE_MS);
    for (const ageMs of [undefined, -5, Number.NaN, Number.POSITIVE_INFINITY, "9" as unknown as number]) expect(measuredAt({ ...r, ageMs }, T)).toBe(T);
  });
});
