import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { autoState, evaluate, FLAP_MEMORY_MS, RECOVER_MS, recordTraffic, resetAuto, recordTransition, WINDOW_MS } from "../durable-objects/site/auto-health";

/**
 * An OCA slow only under its share of traffic is degraded, steered behind its peers, judges healthy on
 * the little traffic left and comes back: it was held out RECOVER_MS each time, so it flapped (and every
 * player's pathways were reordered) every RECOVER_MS plus a window for as long as its fault lasted. Its
 * hold now doubles with each spell out of healthy in FLAP_MEMORY_MS, as a failing OCA's does. Synthetic
 * time throughout: no test waits.
 */

describe("an OCA degraded whenever viewers come back to it", () => {
  it("is held degraded twice as long after each spell in FLAP_MEMORY_MS, says so, and starts afresh after a restore or once they are old", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("degraded-flap-damping"));
    await runInDurableObject(stub, (_o, state) => {
      const sql = state.storage.sql;
      const OCA = "flappy";
      /** Ten requests at 500 ms: degraded at once. */
      const degrade = (t: number) => {
        recordTraffic(sql, OCA, t, { requests: 10, errors: 0, latencyMsSum: 5_000 });
        expect(evaluate(sql, OCA, t)?.to).toBe("degraded");
        expect(autoState(sql, OCA).state).toBe("degraded");
      };
      /** Its traffic steered away, the window clears at `quiet`; returns when it came back healthy. */
      const backAfter = (quiet: number, hold: number) => {
        evaluate(sql, OCA, quiet);
        evaluate(sql, OCA, quiet + hold - 1);
        expect(autoState(sql, OCA).state).toBe("degraded");
        expect(evaluate(sql, OCA, quiet + hold)?.to).toBe("healthy");
        return quiet + hold;
      };
      let t = Date.now() + 3_600_000;
      degrade(t);
      expect(autoState(sql, OCA).reason).not.toMatch(/times in/);
      t = backAfter(t + WINDOW_MS + 1_000, RECOVER_MS);
      degrade((t += 1_000));
      expect(autoState(sql, OCA).reason).toMatch(/left healthy 2 times in 10 min: back once better for 20 s/);
      t = backAfter(t + WINDOW_MS + 1_000, 2 * RECOVER_MS);
      degrade((t += 1_000));
      t = backAfter(t + WINDOW_MS + 1_000, 4 * RECOVER_MS);
      // An operator's restore starts afresh.
      resetAuto(sql, OCA, t);
      recordTransition(sql, OCA, t, "healthy", "healthy", "restored by an operator", "operator");
      degrade((t += 1_000));
      t = backAfter(t + WINDOW_MS + 1_000, RECOVER_MS);
      degrade((t += 1_000));
      t = backAfter(t + WINDOW_MS + 1_000, 2 * RECOVER_MS);
      // Spells older than FLAP_MEMORY_MS are forgotten.
      degrade((t += FLAP_MEMORY_MS + 1_000));
      backAfter(t + WINDOW_MS + 1_000, RECOVER_MS);
    });
  });
});
