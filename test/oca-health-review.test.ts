import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { autoState, FLAP_MEMORY_MS, RECOVER_MS, recordTraffic, WINDOW_MS } from "../durable-objects/site/auto-health";
import type { OcaSite } from "../durable-objects/oca-site";

/**
 * How a site judges its OCAs, as the operator on call sees it: an OCA that fails only under traffic
 * (steering takes its traffic away, so it judges healthy, comes back and fails again) is held out longer
 * each time rather than flapping every few seconds; too little evidence fails nothing; an operator's
 * fail is never undone by the automatic judgement, and an operator's restore hands the OCA back to it.
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));
type Judged = { evaluateHealth(now: number): Promise<void> };

describe("an OCA that fails whenever viewers come back to it", () => {
  it("is held out twice as long after each failure in FLAP_MEMORY_MS, says so, and starts afresh after an operator's restore", async () => {
    const OCA = "ixp-nyc-2";
    const stub = site("ixp-nyc");
    await stub.steeringView();
    await runInDurableObject(stub, async (o: OcaSite, state) => {
      const sql = state.storage.sql;
      // Synthetic time, ahead of the probes' rows (which the window then drops).
      const judgeAt = (t: number) => (o as unknown as Judged).evaluateHealth(t);
      const fail = async (t: number) => {
        recordTraffic(sql, OCA, t, { requests: 10, errors: 10, latencyMsSum: 200 });
        await judgeAt(t);
        expect(autoState(sql, OCA).state).toBe("failed");
      };
      /** Its traffic gone (steered away), the window clears at `quiet`; returns when it came back. */
      const backAfter = async (quiet: number, hold: number) => {
        await judgeAt(quiet);
        await judgeAt(quiet + hold - 1);
        expect(autoState(sql, OCA).state).toBe("failed");
        await judgeAt(quiet + hold);
        expect(autoState(sql, OCA).state).toBe("healthy");
        return quiet + hold;
      };
      let t = Date.now() + 3_600_000;
      await fail(t);
      t = await backAfter(t + WINDOW_MS + 1_000, RECOVER_MS);
      // Viewers return and it fails again: held out 2x, and the reason says so.
      await fail((t += 1_000));
      const view = (await o.steeringView()).ocas.find((x) => x.ocaId === OCA)!;
      expect(view.health).toBe("failed");
      expect(view.healthReason).toMatch(/failed 2 times in 10 min: back once better for 20 s/);
      t = await backAfter(t + WINDOW_MS + 1_000, 2 * RECOVER_MS);
      await fail((t += 1_000));
      t = await backAfter(t + WINDOW_MS + 1_000, 4 * RECOVER_MS);
      // An operator's restore starts afresh: the next failure is held RECOVER_MS.
      expect(await o.setHealth(OCA, "healthy")).toEqual({ ok: true });
      await fail((t += 1_000));
      expect(autoState(sql, OCA).reason).not.toMatch(/times in/);
      t = await backAfter(t + WINDOW_MS + 1_000, RECOVER_MS);
      await fail((t += 1_000));
      t = await backAfter(t + WINDOW_MS + 1_000, 2 * RECOVER_MS);
      // Failures older than FLAP_MEMORY_MS are forgotten.
      await fail((t += FLAP_MEMORY_MS + 1_000));
      await backAfter(t + WINDOW_MS + 1_000, RECOVER_MS);
    });
  });
});

describe("little evidence at a quiet hour", () => {
  const OCAS = { one: "lakeshore-chi-1", slow: "lakeshore-chi-2", two: "lakeshore-chi-3" };
  const sync = (seq: number, ocas: Record<string, { requests: number; errors: number; latencyMsSum: number }>) =>
    site("lakeshore-chi").edgeSync(
      {
        seq,
        windowMs: 1_000,
        ocas: Object.fromEntries(Object.entries(ocas).map(([id, s]) => [id, { bytes: 1_000, ...s, sessions: [] }])),
      },
      "review-quiet-isolate",
    );

  it("fails no OCA for one error of two requests nor degrades one for a single slow request; two failed requests of two fail it", async () => {
    const view = await sync(1, {
      [OCAS.one]: { requests: 2, errors: 1, latencyMsSum: 40 },
      [OCAS.slow]: { requests: 1, errors: 0, latencyMsSum: 5_000 },
      [OCAS.two]: { requests: 2, errors: 2, latencyMsSum: 40 },
    });
    const health = (id: string) => view.ocas.find((o) => o.ocaId === id)!;
    expect(health(OCAS.one).health).toBe("healthy");
    expect(health(OCAS.slow).health).toBe("healthy");
    // By design: a player leaves an OCA after an error or two, so two of two is all the evidence there will be.
    expect(health(OCAS.two)).toMatchObject({ health: "failed", healthBy: "auto", healthReason: "error rate 100 % of 2 requests" });
  });
});

describe("an operator's health against the automatic judgement", () => {
  const SITE = "rheinnet-ber";
  const OCA = "rheinnet-ber-2";
  const report = (seq: number, errors: number) =>
    site(SITE).edgeSync(
      { seq, windowMs: 1_000, ocas: { [OCA]: { bytes: 1_000, requests: 10, errors, latencyMsSum: 200, sessions: [] } } },
      "review-operator-isolate",
    );
  const healthOf = async (seq: number, errors: number) => (await report(seq, errors)).ocas.find((o) => o.ocaId === OCA)!;

  it("keeps an operator's fail however healthy the signals, and hands a restored OCA back to the judgement (a bad one fails again)", async () => {
    expect(await site(SITE).setHealth(OCA, "failed")).toEqual({ ok: true });
    // Good traffic and passing probes for longer than any hold: still the operator's fail.
    await runInDurableObject(site(SITE), async (o: OcaSite) => {
      const t = Date.now();
      for (let i = 0; i <= 4; i++) await (o as unknown as Judged).evaluateHealth(t + i * RECOVER_MS);
    });
    expect(await healthOf(1, 0)).toMatchObject({ health: "failed", healthBy: "operator", healthReason: "failed by an operator" });
    // The restore takes: no signal is held against it...
    expect(await site(SITE).setHealth(OCA, "healthy")).toEqual({ ok: true });
    expect((await site(SITE).steeringView()).ocas.find((o) => o.ocaId === OCA)!.health).toBe("healthy");
    // ...but the OCA still failing its requests is judged failed again by the next report.
    expect(await healthOf(2, 10)).toMatchObject({ health: "failed", healthBy: "auto" });
  });
});
