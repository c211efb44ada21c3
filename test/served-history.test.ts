import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SERVED_KEEP_DAYS } from "../durable-objects/site/served";
import { dayNumber } from "../fill/day";

/**
 * A site counts the bytes its OCAs serve per local day by source and per local hour (the operators'
 * offload chart, the fill's evening peak). Readers ask for at most a few weeks back: the site keeps
 * SERVED_KEEP_DAYS of them and forgets older days as it counts, so neither table grows forever.
 */

describe("bytes served per day and per hour", () => {
  it("are kept SERVED_KEEP_DAYS back from the day being counted, and older days are forgotten", async () => {
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("lakeshore-chi"));
    const { site, ocas } = await stub.describe();
    const today = dayNumber(Date.now(), site.timeZone);
    const old = [today - SERVED_KEEP_DAYS - 30, today - SERVED_KEEP_DAYS - 1, today - SERVED_KEEP_DAYS];
    await runInDurableObject(stub, async (_o, state) => {
      for (const day of old) {
        state.storage.sql.exec(`INSERT INTO served_daily (day, source, bytes) VALUES (?, 'embedded', 5)`, day);
        state.storage.sql.exec(`INSERT INTO served_hourly (day, hour, bytes) VALUES (?, 20, 5)`, day);
      }
    });
    const ocaId = ocas[0].ocaId;
    await stub.edgeSync({ windowMs: 1_000, ocas: { [ocaId]: { bytes: 700, bytesFrom: { embedded: 700 }, sessions: [] } } } as never);
    const days = [...new Set((await stub.servedByDay(0, today)).map((r) => r.day))];
    expect(days).toEqual([today - SERVED_KEEP_DAYS, today]);
    const hourly = await runInDurableObject(stub, async (_o, state) =>
      state.storage.sql
        .exec<{ day: number }>(`SELECT DISTINCT day FROM served_hourly ORDER BY day`)
        .toArray()
        .map((r) => r.day),
    );
    expect(hourly).toEqual([today - SERVED_KEEP_DAYS, today]);
  });
});
