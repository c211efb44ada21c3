import { describe, expect, it } from "vitest";
import { DEFAULT_SELECTOR, OcaSelector, type OcaRef } from "../client/scoring";

// A failed probe measured nothing. It must neither make an OCA look better than its last measurement
// (scored on the defaults for an unprobed OCA, a slow OCA whose probe then timed out jumped ahead of
// measured ones once its 30 s penalty ended) nor leave a fast measurement of long ago in charge.

const OCAS: OcaRef[] = [
  { ocaId: "a", siteId: "s", tier: "embedded", rank: 1 },
  { ocaId: "b", siteId: "s", tier: "embedded", rank: 2 },
];
const probe = (ocaId: string, ttfbMs: number, mbps: number, at: number) => ({ ocaId, ok: true, at, ttfbMs, throughputBps: mbps * 1e6 });
const timedOut = (ocaId: string, at: number) => ({ ocaId, ok: false, at, error: "timeout after 2000 ms" });
const afterPenalty = 1_000 + DEFAULT_SELECTOR.probeFailPenaltyMs + 1;

describe("a failed probe in the OCA ranking", () => {
  it("does not lift a slow OCA above a measured one once its penalty ends", () => {
    const s = new OcaSelector(OCAS);
    s.recordProbe(probe("a", 100, 2, 0));
    s.recordProbe(probe("b", 100, 1, 0));
    expect(s.pick(0)).toBe("a");
    const measured = s.ranking(0).find((r) => r.ocaId === "b")!.score;
    s.recordProbe(timedOut("b", 1_000));
    expect(s.ranking(afterPenalty).map((r) => r.ocaId)).toEqual(["a", "b"]);
    // Measured slow then lost: no better than it was measured.
    expect(s.ranking(afterPenalty)[1].score).toBeGreaterThanOrEqual(measured);
  });

  it("leaves a fast OCA that stopped answering no better than one never probed", () => {
    const s = new OcaSelector(OCAS);
    s.recordProbe(probe("a", 100, 4, 0));
    s.recordProbe(probe("b", 5, 400, 0));
    expect(s.pick(0)).toBe("b");
    s.recordProbe(timedOut("b", 1_000));
    // a: 100 ms + 2 s for the reference MB at 4 Mbit/s, beats the defaults (150 ms, 5 Mbit/s) behind a rank penalty.
    expect(s.ranking(afterPenalty).map((r) => r.ocaId)).toEqual(["a", "b"]);
    // A good probe again: b's measurement counts again.
    s.recordProbe(probe("b", 5, 400, afterPenalty));
    expect(s.pick(afterPenalty)).toBe("b");
  });

  it("scores a failed probe no better than the defaults even with no earlier success", () => {
    const s = new OcaSelector(OCAS);
    s.recordProbe({ ocaId: "b", ok: false, at: 0, status: 503, ttfbMs: 1, error: "HTTP 503" });
    const unprobed = new OcaSelector(OCAS);
    const score = (sel: OcaSelector) => sel.ranking(afterPenalty).find((r) => r.ocaId === "b")!.score;
    expect(score(s)).toBeGreaterThanOrEqual(score(unprobed));
  });
});
