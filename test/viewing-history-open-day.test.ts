import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { history, recordPlays, recordReport, recordServed } from "../durable-objects/site/viewing-history";

/**
 * Today's column of a site's history (the day still being watched, which the cron's same-day check
 * scales up to a whole day by the share of a day its hours carry) counts a session still on its play
 * estimate at what it was served so far, not as a whole watch: a title with many fresh starts read
 * several times its demand there. Complete days keep the estimate until the session settles.
 */

const stub = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));
const withSql = <T>(name: string, fn: (sql: SqlStorage) => T) => runInDurableObject(stub(name), async (_i, state) => fn(state.storage.sql));
const T0 = 1_800_000_000_000;
const DAY = 20_000;
const EST = 3_600_000_000;
const play = (sessionId: string, titleId: string, day = DAY) => ({
  sessionId,
  titleId,
  day,
  estBytes: EST,
  topBps: 8_000_000,
  startedAt: T0,
  endsAt: T0 + 6 * 3_600_000,
});

describe("today's column of a site's viewing history", () => {
  it("counts sessions on their estimate at what they were served so far, at most the estimate", async () => {
    await withSql("lumen-sea", (sql) => {
      recordPlays(sql, [play("fresh", "hit"), play("watching", "hit"), play("binge", "tail"), play("reported", "tail"), play("before", "old", DAY - 1)], T0);
      recordServed(sql, "watching", 40_000_000);
      // More served than the estimate (a rewatch): no more than the estimate counts.
      recordServed(sql, "binge", 2 * EST);
      expect(recordReport(sql, { ...play("reported", "tail"), reportDay: DAY, bytes: 5_000_000, now: T0 + 60_000 }).counted).toBe(5_000_000);
      // As a complete day (and as before): every session on its estimate is a whole watch.
      expect(history(sql, DAY - 1, DAY)).toEqual({ hit: [0, 2 * EST], tail: [0, EST + 5_000_000], old: [EST, 0] });
      // Today open: what was watched so far; yesterday unchanged.
      expect(history(sql, DAY - 1, DAY, DAY)).toEqual({ hit: [0, 40_000_000], tail: [0, EST + 5_000_000], old: [EST, 0] });
    });
  });

  it("is what the site object answers the cron when it names today open, and complete days otherwise", async () => {
    await withSql("lumen-den", (sql) => {
      recordPlays(sql, [play("fresh", "hit"), play("watching", "hit")], T0);
      recordServed(sql, "watching", 40_000_000);
    });
    expect(await stub("lumen-den").history(DAY - 1, DAY, DAY)).toEqual({ hit: [0, 40_000_000] });
    expect(await stub("lumen-den").history(DAY - 1, DAY)).toEqual({ hit: [0, 2 * EST] });
  });
});
