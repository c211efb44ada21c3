import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { addServedHour, servedByHour } from "../durable-objects/site/served";

/**
 * Served bytes per local hour imported by operators or tests (the site's `recordServedHour`) are whole
 * days and finite counts, or nothing: a day of 100.5 fell between the rows of every read, so reading any
 * range holding it threw (the fill's peak shape with it), and an infinite count turned every share of
 * its day into NaN. A NaN day failed the call on the table's NOT NULL.
 */

describe("an imported hour of served bytes", () => {
  it("counts whole days and finite bytes only, and leaves the site's history readable", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("served-hour-import"));
    await runInDurableObject(stub, (_o, state) => {
      const sql = state.storage.sql;
      addServedHour(sql, 100, 20, 1_000);
      expect(() => addServedHour(sql, 100.5, 21, 1_000)).not.toThrow();
      expect(() => addServedHour(sql, Number.NaN, 21, 1_000)).not.toThrow();
      addServedHour(sql, 100, 21, Number.POSITIVE_INFINITY);
      addServedHour(sql, 101, 3, 2_000);
      const days = servedByHour(sql, 100, 101);
      expect(days).toHaveLength(2);
      expect(days[0][20]).toBe(1_000);
      expect(days[0][21]).toBe(0);
      expect(days[1][3]).toBe(2_000);
      expect(days.flat().every(Number.isFinite)).toBe(true);
    });
  });
});
