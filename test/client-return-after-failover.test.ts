import { describe, expect, it } from "vitest";
import { DEFAULT_SELECTOR, OcaSelector, type OcaRef } from "../client/scoring";

// After a failover the session streams from an OCA the server ranked lower (the IXP, or another ISP's
// site: transit the ISP pays for, the offload Open Connect exists for). Once the OCA ranked ahead is back
// and measures as well, the session returns to it, whether or not a steering answer says so; and it
// does not then flap back. The selector is pure: the test's clock and probe results are made up.

const OCAS: OcaRef[] = [
  { ocaId: "embedded-1", siteId: "isp", tier: "embedded", rank: 1 },
  { ocaId: "ixp-1", siteId: "ixp", tier: "ixp", rank: 2 },
];

/** Both OCAs answer a probe alike: 20 ms to the headers, 50 Mbit/s. */
function probeBoth(sel: OcaSelector, at: number): void {
  for (const o of OCAS) sel.recordProbe({ ocaId: o.ocaId, ok: true, at, ttfbMs: 20, throughputBps: 50_000_000 });
}

describe("a session after a failover", () => {
  it("returns to the OCA ranked ahead once it is back and measures as well, without a steering answer", () => {
    const sel = new OcaSelector(OCAS);
    let now = 0;
    probeBoth(sel, now);
    expect(sel.evaluate(null, now).switchTo).toBe("embedded-1");
    sel.noteMove(now);

    now = 20_000;
    sel.fail("embedded-1", now);
    const away = sel.evaluate("embedded-1", now);
    expect(away).toMatchObject({ switchTo: "ixp-1", reason: "failed" });
    sel.noteMove(now);

    // Still in the penalty box: no return.
    now += 30_000;
    probeBoth(sel, now);
    expect(sel.evaluate("ixp-1", now).switchTo).toBeNull();

    // Out of it and measuring as the IXP does: back to the ISP's own OCA.
    now = 20_000 + DEFAULT_SELECTOR.failPenaltyMs + 1_000;
    probeBoth(sel, now);
    expect(sel.evaluate("ixp-1", now)).toMatchObject({ switchTo: "embedded-1", reason: "better_oca" });
    sel.noteMove(now);

    // And stays there: the IXP measuring alike is no reason to move again.
    for (let round = 0; round < 5; round++) {
      now += 10_000;
      probeBoth(sel, now);
      expect(sel.evaluate("embedded-1", now).switchTo).toBeNull();
    }
  });

  it("waits out its dwell time before returning, and stays where it is while the OCA ahead measures clearly worse", () => {
    const sel = new OcaSelector(OCAS);
    probeBoth(sel, 0);
    sel.noteMove(0);
    sel.fail("embedded-1", 1_000);
    expect(sel.evaluate("embedded-1", 1_000).switchTo).toBe("ixp-1");
    const moved = DEFAULT_SELECTOR.failPenaltyMs;
    sel.noteMove(moved);
    const back = moved + 1_000;
    probeBoth(sel, back);
    // Within the dwell after the last move: no move yet.
    expect(sel.evaluate("ixp-1", back).switchTo).toBeNull();
    // After it, the OCA ahead is back but slow (2 s to its headers): the IXP stays.
    const later = moved + DEFAULT_SELECTOR.minDwellMs + 1_000;
    sel.recordProbe({ ocaId: "embedded-1", ok: true, at: later, ttfbMs: 2_000, throughputBps: 5_000_000 });
    sel.recordProbe({ ocaId: "ixp-1", ok: true, at: later, ttfbMs: 20, throughputBps: 50_000_000 });
    expect(sel.evaluate("ixp-1", later).switchTo).toBeNull();
  });
});
