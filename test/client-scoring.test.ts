import { describe, expect, it } from "vitest";
import { DEFAULT_SELECTOR, expectedFetchMs, OcaSelector, scoreOca, type OcaRef } from "../client/scoring";

const OCAS: OcaRef[] = [
  { ocaId: "lumen-nyc-1", siteId: "lumen-nyc", tier: "embedded", rank: 1 },
  { ocaId: "lumen-nyc-2", siteId: "lumen-nyc", tier: "embedded", rank: 2 },
  { ocaId: "ixp-nyc-1", siteId: "ixp-nyc", tier: "ixp", rank: 3 },
  { ocaId: "origin", siteId: "origin", tier: "origin", rank: 4 },
];
const probe = (ocaId: string, ttfbMs: number, mbps: number, at = 0) => ({ ocaId, ok: true, at, ttfbMs, throughputBps: mbps * 1e6 });
const failed = (ocaId: string, at = 0) => ({ ocaId, ok: false, at, status: 503, error: "HTTP 503" });

describe("OCA scoring", () => {
  it("expected fetch time is TTFB plus transfer of the reference download", () => {
    expect(expectedFetchMs(20, 8e6, 1_000_000)).toBe(1020);
    expect(expectedFetchMs(-5, 0, 1000)).toBe(8_000_000);
  });

  it("weights by steering position: equal measurements keep the server's order", () => {
    const p = { ...DEFAULT_SELECTOR, refBytes: 1_000_000 };
    expect(scoreOca(0, { ttfbMs: 10, throughputBps: 100e6 }, p)).toBeLessThan(scoreOca(1, { ttfbMs: 10, throughputBps: 100e6 }, p));
    // An unprobed OCA is assumed average-ish, not best.
    expect(scoreOca(0, undefined, p)).toBeGreaterThan(scoreOca(0, { ttfbMs: 10, throughputBps: 100e6 }, p));
  });
});

describe("OcaSelector", () => {
  it("picks by rank when probes are alike, and never an OCA whose probe failed", () => {
    const s = new OcaSelector(OCAS);
    for (const o of OCAS) s.recordProbe(probe(o.ocaId, 5, 400));
    expect(s.pick(0)).toBe("lumen-nyc-1");
    s.recordProbe(failed("lumen-nyc-1"));
    expect(s.pick(0)).toBe("lumen-nyc-2");
    // The current OCA is left on the second lost probe in a row, not the first (hysteresis).
    expect(s.evaluate("lumen-nyc-1", 0).switchTo).toBeNull();
    s.recordProbe(failed("lumen-nyc-1"));
    expect(s.evaluate("lumen-nyc-1", 0)).toMatchObject({ switchTo: "lumen-nyc-2", reason: "probe_failed" });
    expect(s.ranking(0).map((r) => r.ocaId)).toEqual(["lumen-nyc-2", "ixp-nyc-1", "origin"]);
    // A later good probe brings it back.
    s.recordProbe(probe("lumen-nyc-1", 5, 400, 10));
    expect(s.pick(10)).toBe("lumen-nyc-1");
  });

  it("ranks origin behind every cache in the running, even when origin's probe is by far the fastest", () => {
    const s = new OcaSelector(OCAS);
    s.recordProbe(probe("lumen-nyc-1", 900, 1));
    s.recordProbe(probe("lumen-nyc-2", 900, 1));
    s.recordProbe(probe("ixp-nyc-1", 900, 1));
    s.recordProbe(probe("origin", 2, 900));
    s.fail("lumen-nyc-1", 0);
    expect(s.ranking(0).map((r) => r.ocaId)).toEqual(["lumen-nyc-2", "ixp-nyc-1", "origin"]);
    // Only when no cache is in the running does origin serve.
    s.fail("lumen-nyc-2", 0);
    s.fail("ixp-nyc-1", 0);
    expect(s.pick(0)).toBe("origin");
  });

  it("leaves origin for a cache as soon as one is back and the dwell time is over", () => {
    const s = new OcaSelector(OCAS, { failPenaltyMs: 60_000, minDwellMs: 15_000 });
    for (const o of OCAS) s.recordProbe(probe(o.ocaId, 900, 1));
    s.recordProbe(probe("origin", 2, 900));
    for (const id of ["lumen-nyc-1", "lumen-nyc-2", "ixp-nyc-1"]) s.fail(id, 0);
    expect(s.evaluate(null, 0).switchTo).toBe("origin");
    s.noteMove(0);
    expect(s.evaluate("origin", 30_000).switchTo).toBeNull();
    expect(s.evaluate("origin", 60_001)).toMatchObject({ switchTo: "lumen-nyc-1", reason: "better_oca" });
  });

  it("prefers a clearly faster OCA over a better-ranked slow one", () => {
    const s = new OcaSelector(OCAS, { refBytes: 1_500_000 });
    s.recordProbe(probe("lumen-nyc-1", 300, 4)); // 3.3 s for a segment
    s.recordProbe(probe("lumen-nyc-2", 20, 200));
    s.recordProbe(probe("ixp-nyc-1", 20, 200));
    s.recordProbe(probe("origin", 20, 200));
    expect(s.pick(0)).toBe("lumen-nyc-2");
  });

  it("fails over at once when the current OCA fails, and keeps it out for the penalty time", () => {
    const s = new OcaSelector(OCAS, { failPenaltyMs: 60_000 });
    for (const o of OCAS) s.recordProbe(probe(o.ocaId, 5, 400));
    s.fail("lumen-nyc-1", 1000);
    const d = s.evaluate("lumen-nyc-1", 1000);
    expect(d.switchTo).toBe("lumen-nyc-2");
    expect(d.reason).toBe("failed");
    expect(s.exclusion("lumen-nyc-1", 30_000)).toBe("failed");
    // A good probe does not lift a hard failure early...
    s.recordProbe(probe("lumen-nyc-1", 5, 400, 30_000));
    expect(s.exclusion("lumen-nyc-1", 30_000)).toBe("failed");
    // ...the penalty's end does.
    expect(s.exclusion("lumen-nyc-1", 61_001)).toBeNull();
  });

  it("hysteresis: moves to a better OCA only when it is clearly better on consecutive rounds", () => {
    const s = new OcaSelector(OCAS, { switchMargin: 0.3, switchConfirmations: 2 });
    for (const o of OCAS) s.recordProbe(probe(o.ocaId, 10, 100));
    // Slightly better is not enough.
    s.recordProbe(probe("lumen-nyc-2", 8, 100));
    expect(s.evaluate("lumen-nyc-1", 0).switchTo).toBeNull();
    expect(s.evaluate("lumen-nyc-1", 0).switchTo).toBeNull();
    // Current collapses to a crawl: the first round only arms, the second moves.
    s.recordProbe(probe("lumen-nyc-1", 400, 2));
    expect(s.evaluate("lumen-nyc-1", 0).switchTo).toBeNull();
    const d = s.evaluate("lumen-nyc-1", 0);
    expect(d.switchTo).toBe("lumen-nyc-2");
    expect(d.reason).toBe("better_oca");
    // A blip that recovers between rounds resets the count.
    const t = new OcaSelector(OCAS);
    for (const o of OCAS) t.recordProbe(probe(o.ocaId, 10, 100));
    t.recordProbe(probe("lumen-nyc-1", 400, 2));
    expect(t.evaluate("lumen-nyc-1", 0).switchTo).toBeNull();
    t.recordProbe(probe("lumen-nyc-1", 10, 100));
    expect(t.evaluate("lumen-nyc-1", 0).switchTo).toBeNull();
    t.recordProbe(probe("lumen-nyc-1", 400, 2));
    expect(t.evaluate("lumen-nyc-1", 0).switchTo).toBeNull();
  });

  it("follows the steering server: a dropped OCA (failed, drained) is left, a reordered list re-ranks", () => {
    const s = new OcaSelector(OCAS);
    for (const o of OCAS) s.recordProbe(probe(o.ocaId, 5, 400));
    s.setServerOrder(["lumen-nyc-2", "ixp-nyc-1", "origin", "not-in-this-session"]);
    const d = s.evaluate("lumen-nyc-1", 0);
    expect(d.switchTo).toBe("lumen-nyc-2");
    expect(d.reason).toBe("steering");
    expect(s.exclusion("lumen-nyc-1", 0)).toBe("not_steered");
    expect(s.serverPriority).toEqual(["lumen-nyc-2", "ixp-nyc-1", "origin"]);
    // Load moves the IXP ahead: the rank weighting follows the new order.
    s.setServerOrder(["ixp-nyc-1", "lumen-nyc-2", "origin"]);
    expect(s.ranking(0).map((r) => r.ocaId)).toEqual(["ixp-nyc-1", "lumen-nyc-2", "origin"]);
  });

  it("follows steering when it demotes the current OCA (load), after the dwell time, unless measurements disagree", () => {
    const s = new OcaSelector(OCAS, { minDwellMs: 10_000 });
    for (const o of OCAS) s.recordProbe(probe(o.ocaId, 5, 400));
    s.setServerOrder(["lumen-nyc-1", "lumen-nyc-2", "ixp-nyc-1", "origin"]);
    expect(s.evaluate("lumen-nyc-1", 0).switchTo).toBeNull();
    // lumen-nyc-1 is loaded: steering puts it behind its peer.
    s.setServerOrder(["lumen-nyc-2", "lumen-nyc-1", "ixp-nyc-1", "origin"]);
    s.noteMove(0);
    expect(s.evaluate("lumen-nyc-1", 5_000).switchTo).toBeNull(); // still dwelling after the last move
    const d = s.evaluate("lumen-nyc-1", 10_001);
    expect(d.switchTo).toBe("lumen-nyc-2");
    expect(d.reason).toBe("steering");
    // A much slower candidate is not followed just because steering ranks it first.
    const t = new OcaSelector(OCAS);
    for (const o of OCAS) t.recordProbe(probe(o.ocaId, 5, 400));
    t.recordProbe(probe("lumen-nyc-2", 900, 3));
    t.setServerOrder(["lumen-nyc-2", "lumen-nyc-1", "ixp-nyc-1", "origin"]);
    expect(t.evaluate("lumen-nyc-1", 0).switchTo).toBeNull();
  });

  it("falls back when nothing is eligible: steering-dropped OCAs first, then the soonest penalty", () => {
    const s = new OcaSelector(OCAS.slice(0, 2), { failPenaltyMs: 1000 });
    s.setServerOrder(["lumen-nyc-1"]);
    s.fail("lumen-nyc-1", 0);
    expect(s.pick(0)).toBe("lumen-nyc-2");
    s.fail("lumen-nyc-2", 100);
    expect(s.pick(200)).toBe("lumen-nyc-1");
    expect(s.evaluate("lumen-nyc-1", 200).switchTo).toBeNull();
  });

  it("detects a throughput collapse after consecutive slow downloads only", () => {
    const s = new OcaSelector(OCAS, { collapseSamples: 2 });
    expect(s.noteThroughput("lumen-nyc-1", 100e3, 600e3)).toBe(false);
    expect(s.noteThroughput("lumen-nyc-1", 5e6, 600e3)).toBe(false);
    expect(s.noteThroughput("lumen-nyc-1", 100e3, 600e3)).toBe(false);
    expect(s.noteThroughput("lumen-nyc-1", 100e3, 600e3)).toBe(true);
    s.fail("lumen-nyc-1", 0, "collapse");
    expect(s.exclusion("lumen-nyc-1", 1)).toBe("collapse");
    expect(s.exclusion("lumen-nyc-1", DEFAULT_SELECTOR.collapsePenaltyMs + 1)).toBeNull();
  });
});
