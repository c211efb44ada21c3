import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";

/**
 * An operator's drain wins over the site's automatic judgement, which goes on beneath it (a restore
 * hands back to it). What operators read of a drained OCA (its live view's health, who set it, why and
 * since when) is the drain's, however the automatic state moves meanwhile.
 */

const SITE = "rheinnet-muc";
const OCA = "rheinnet-muc-2";
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a drained OCA whose automatic state moves meanwhile", () => {
  it("shows the drain's time and reason, not the automatic transition's", async () => {
    const before = Date.now();
    expect(await site().setHealth(OCA, "drained")).toEqual({ ok: true });
    const after = Date.now();
    await sleep(50);
    // Every request failing: the automatic state goes to failed beneath the drain.
    const view = await site().edgeSync(
      { seq: 1, windowMs: 1_000, ocas: { [OCA]: { bytes: 1_000, requests: 10, errors: 10, latencyMsSum: 100, sessions: [] } } },
      "operator-since-isolate",
    );
    const judged = Date.now();
    const o = view.ocas.find((x) => x.ocaId === OCA)!;
    expect(o).toMatchObject({ health: "drained", healthBy: "operator", healthReason: "drained by an operator" });
    expect(o.healthSince).toBeGreaterThanOrEqual(before);
    expect(o.healthSince).toBeLessThanOrEqual(after);
    // The automatic transition happened, after the drain, and is in the log.
    const state = await site().describe();
    const transitions = state.ocas.find((x) => x.ocaId === OCA)!.transitions;
    expect(transitions[0]).toMatchObject({ to: "failed", by: "auto" });
    expect(transitions[0].at).toBeGreaterThan(after);
    expect(transitions[0].at).toBeLessThanOrEqual(judged);
    expect(transitions[1]).toMatchObject({ to: "drained", by: "operator" });
  });
});
