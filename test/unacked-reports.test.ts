import { describe, expect, it } from "vitest";
import { acknowledge, MAX_UNACKED_REPORTS, reportsForCall, reportsToSend, type TakenReport, UNACKED_MAX_AGE_MS } from "../workers/shared/unacked-reports";

/**
 * The reports a link has not had answered (pure): each stays until a call that carried it is
 * answered, and every call carries all of them oldest first, so the site may keep only the highest
 * number it counted per isolate.
 */

const T = 1_000_000;
const taken = (seq: number, takenAt = T): TakenReport => ({ report: { seq, windowMs: 1_000, ocas: {} }, takenAt });
const seqs = (l: readonly TakenReport[]) => l.map((u) => u.report.seq);

describe("reports a link has not had answered", () => {
  it("go with every call, oldest first by number, until a call that carried them is answered", () => {
    const waiting = [taken(3), taken(1), taken(2)];
    const { send, dropped } = reportsToSend(waiting, T + 1_000);
    expect(seqs(send)).toEqual([1, 2, 3]);
    expect(dropped).toEqual([]);
    // Call A carried 1-3 and failed (or was cut off): they stay. Call B carries them with 4 and is answered.
    const b = reportsToSend([...send, taken(4)], T + 2_000).send;
    expect(seqs(b)).toEqual([1, 2, 3, 4]);
    const left = acknowledge([...b, taken(5)], b);
    expect(seqs(left)).toEqual([5]);
    // A's answer arriving after B's acknowledges nothing more.
    expect(seqs(acknowledge(left, send))).toEqual([5]);
  });

  it("fill a call when the link has nothing new, and leave room for a new report only when it has one", () => {
    const four = Array.from({ length: MAX_UNACKED_REPORTS }, (_, i) => taken(i + 1));
    const letGo: number[] = [];
    const call = (fresh: boolean, waiting = four) =>
      seqs(
        reportsForCall(
          waiting,
          T,
          (d) => letGo.push(...seqs(d).map(Number)),
          () => fresh,
        ),
      );
    expect(call(false)).toEqual([1, 2, 3, 4]);
    expect(letGo).toEqual([]);
    expect(call(true)).toEqual([2, 3, 4]);
    expect(letGo).toEqual([1]);
    letGo.length = 0;
    expect(call(false, [...four, taken(5)])).toEqual([2, 3, 4, 5]);
    expect(letGo).toEqual([1]);
    letGo.length = 0;
    expect(call(true, [taken(7), taken(8)])).toEqual([7, 8]);
    expect(letGo).toEqual([]);
  });

  it("let go of the oldest past the most a call carries, and of any past their age, and say which", () => {
    const many = Array.from({ length: MAX_UNACKED_REPORTS + 2 }, (_, i) => taken(i + 1));
    const r = reportsToSend(many, T);
    expect(seqs(r.send)).toEqual(Array.from({ length: MAX_UNACKED_REPORTS }, (_, i) => i + 3));
    expect(seqs(r.dropped)).toEqual([1, 2]);
    const aged = reportsToSend([taken(7, T - UNACKED_MAX_AGE_MS), taken(8, T - UNACKED_MAX_AGE_MS + 1)], T);
    expect(seqs(aged.send)).toEqual([8]);
    expect(seqs(aged.dropped)).toEqual([7]);
  });
});
