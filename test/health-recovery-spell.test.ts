import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type AutoState, autoState, evaluate, RECOVER_MS, step, TRAFFIC_BUCKET_MS, WINDOW_MS } from "../durable-objects/site/auto-health";

/**
 * An OCA recovering from a bad state moves only as far as its verdicts have allowed for the whole
 * hysteresis: a failed OCA whose verdicts were degraded most of the spell and healthy only at its end
 * comes back degraded, not healthy. Otherwise an OCA that keeps erring now and then would be offered as
 * healthy for a moment after each failure (the flapping hysteresis is there to prevent).
 */

const failed: AutoState = { state: "failed", since: 0, reason: "error rate 100 % of 10 requests", betterSince: null };
const degraded = { state: "degraded" as const, reason: "error rate 10 % of 20 requests" };
const healthy = { state: "healthy" as const, reason: "signals within thresholds" };

describe("a failed OCA's recovery", () => {
  it("comes back as the worst verdict of its spell: degraded when only its last verdicts were healthy", () => {
    let s = step(failed, degraded, 1_000).next;
    s = step(s, healthy, 1_000 + RECOVER_MS - 500).next;
    expect(s.state).toBe("failed");
    const r = step(s, healthy, 1_000 + RECOVER_MS);
    expect(r.changed).toBe(true);
    expect(r.next.state).toBe("degraded");
    expect(r.next.reason).toMatch(/was failed/);
    // Healthy only once healthy verdicts have held a whole spell of their own.
    s = step(r.next, healthy, 2_000 + RECOVER_MS).next;
    expect(step(s, healthy, 2_000 + 2 * RECOVER_MS - 1).next.state).toBe("degraded");
    expect(step(s, healthy, 2_000 + 2 * RECOVER_MS).next.state).toBe("healthy");
  });

  it("comes back healthy when every verdict of the spell was", () => {
    const s = step(failed, healthy, 1_000).next;
    expect(step(s, healthy, 1_000 + RECOVER_MS).next).toMatchObject({ state: "healthy" });
  });

  it("finishes a spell begun before schema v30 (its worst verdict not kept) at the verdict of its end, as before", () => {
    const begun: AutoState = { ...failed, betterSince: 1_000, betterState: null };
    expect(step(begun, degraded, 1_000 + RECOVER_MS).next.state).toBe("degraded");
  });

  it("keeps the spell's worst verdict in the site's storage between judgements", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("rheinnet-ber"));
    await runInDurableObject(stub, async (_i, state) => {
      const sql = state.storage.sql;
      const oca = "recovery-spell-oca";
      const traffic = (at: number, requests: number, errors: number) =>
        sql.exec(
          `INSERT INTO oca_traffic (oca_id, bucket, requests, errors, latency_ms_sum) VALUES (?, ?, ?, ?, ?)`,
          oca,
          at - (at % TRAFFIC_BUCKET_MS),
          requests,
          errors,
          requests * 20,
        );
      const t0 = 1_000_000_000;
      traffic(t0, 10, 10);
      expect(evaluate(sql, oca, t0)).toMatchObject({ to: "failed" });
      // Erring now and then: a degraded verdict, better than failed, starts the spell.
      const t1 = t0 + WINDOW_MS + 1_000;
      traffic(t1, 20, 2);
      expect(evaluate(sql, oca, t1)).toBeNull();
      // Clean only at the spell's end.
      const t2 = t1 + RECOVER_MS - 2_000;
      traffic(t2, 20, 0);
      expect(evaluate(sql, oca, t2)).toBeNull();
      expect(evaluate(sql, oca, t1 + RECOVER_MS)).toMatchObject({ from: "failed", to: "degraded" });
      expect(autoState(sql, oca).state).toBe("degraded");
    });
  });
});
