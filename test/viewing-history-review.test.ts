import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { cmcdSession, ingestCmcd } from "../durable-objects/site/cmcd";
import { history, recordCmcdBytes, recordPlays, recordReport, recordServed, settleSessions } from "../durable-objects/site/viewing-history";

// Review of how a site learns what its region watched: a session counts for its own title only, its
// estimate is settled however long its token lives, and its CMCD's last values are the newest sample's.

const stub = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));
const withSql = <T>(name: string, fn: (sql: SqlStorage) => T) => runInDurableObject(stub(name), async (_i, state) => fn(state.storage.sql));
const T0 = 1_800_000_000_000;
const DAY = 20_000;
const DAY_MS = 86_400_000;
const TOP_BPS = 8_000_000;
const EST = 3_600_000_000;
const play = (sessionId: string, titleId = "t") => ({ sessionId, titleId, day: DAY, estBytes: EST, topBps: TOP_BPS, startedAt: T0 });
const cmcd = (sessionId: string, over: Record<string, unknown> = {}) => ({
  sessionId,
  titleId: "t",
  sid: "p",
  requests: 1,
  bytes: 1_000_000,
  stalls: 0,
  startups: 0,
  bitrateKbps: 2800,
  bufferMs: 20_000,
  throughputKbps: 30_000,
  topBitrateKbps: 2800,
  lastOca: "lumen-nyc/lumen-nyc-1",
  firstAt: T0 + 1_000,
  lastAt: T0 + 9_000,
  ...over,
});

describe("a session counts for its own title only", () => {
  it("counts CMCD bytes or a report naming another title than the session's play nowhere, and leaves the play's estimate in place", async () => {
    await withSql("lumen-lax", (sql) => {
      recordPlays(sql, [play("s")], T0);
      expect(history(sql, DAY, DAY)).toEqual({ t: [EST] });
      expect(recordCmcdBytes(sql, { sessionId: "s", titleId: "other", reportDay: DAY, bytes: 5_000_000, now: T0 + 60_000 })).toBe(0);
      ingestCmcd(sql, [cmcd("s", { titleId: "other" })], DAY, T0 + 60_000);
      expect(recordReport(sql, { ...play("s", "other"), reportDay: DAY, bytes: 5_000_000, now: T0 + 60_000 }).counted).toBe(0);
      expect(history(sql, DAY, DAY)).toEqual({ t: [EST] });
      // Its own title's bytes still count, in place of its estimate.
      expect(recordReport(sql, { ...play("s"), reportDay: DAY, bytes: 5_000_000, now: T0 + 60_000 }).counted).toBe(5_000_000);
      expect(history(sql, DAY, DAY)).toEqual({ t: [5_000_000] });
    });
  });
});

describe("a session whose token outlives the site's session memory", () => {
  it("is not forgotten while on its estimate: settled at its end to what was served, then forgotten", async () => {
    await withSql("lumen-ord", (sql) => {
      // SESSION_TTL_S may be up to a week; the site remembers sessions two days by their start.
      const ENDS = T0 + 5 * DAY_MS;
      recordPlays(sql, [{ ...play("long"), endsAt: ENDS }], T0);
      recordServed(sql, "long", 40_000_000);
      // Three days on, another play makes the site forget old sessions.
      const later = { ...play("later"), day: DAY + 3, startedAt: T0 + 3 * DAY_MS, endsAt: T0 + 3 * DAY_MS + 6 * 3_600_000 };
      recordPlays(sql, [later], later.startedAt);
      expect(history(sql, DAY, DAY)).toEqual({ t: [EST] });
      settleSessions(sql, ENDS);
      // It counts what it was served, not a full watch for good.
      expect(history(sql, DAY, DAY)).toEqual({ t: [40_000_000] });
      // Settled, it goes with the next play's clean-up.
      recordPlays(sql, [{ ...play("next"), day: DAY + 5, startedAt: ENDS, endsAt: ENDS + 3_600_000 }], ENDS);
      const left = sql.exec<{ session_id: string }>(`SELECT session_id FROM session_views ORDER BY session_id`).toArray();
      expect(left.map((r) => r.session_id)).toEqual(["later", "next"]);
    });
  });
});

describe("a session's CMCD from reports that arrive out of order", () => {
  it("keeps the newest sample's bitrate, buffer, throughput, sid and OCA, and sums the counters", async () => {
    await withSql("lumen-sea", (sql) => {
      recordPlays(sql, [play("s")], T0);
      ingestCmcd(sql, [cmcd("s", { sid: "new", lastOca: "lumen-nyc/lumen-nyc-2", firstAt: T0 + 15_000, lastAt: T0 + 20_000 })], DAY, T0 + 21_000);
      // Another isolate's report, of earlier requests, arrives after.
      ingestCmcd(
        sql,
        [cmcd("s", { sid: "old", bitrateKbps: 700, bufferMs: 1_000, throughputKbps: 900, topBitrateKbps: 700, lastOca: "lumen-nyc/lumen-nyc-1" })],
        DAY,
        T0 + 22_000,
      );
      expect(cmcdSession(sql, "s")).toMatchObject({
        sid: "new",
        requests: 2,
        bytes: 2_000_000,
        bitrateKbps: 2800,
        bufferMs: 20_000,
        throughputKbps: 30_000,
        topBitrateKbps: 2800,
        lastOca: "lumen-nyc/lumen-nyc-2",
        firstAt: T0 + 1_000,
        lastAt: T0 + 20_000,
      });
      // An older report fills in what the newer ones never said; a newer one without a value keeps the last said.
      ingestCmcd(
        sql,
        [cmcd("s", { bitrateKbps: null, bufferMs: null, lastOca: "lumen-nyc/lumen-nyc-3", firstAt: T0 + 25_000, lastAt: T0 + 30_000 })],
        DAY,
        T0 + 31_000,
      );
      expect(cmcdSession(sql, "s")).toMatchObject({ bitrateKbps: 2800, bufferMs: 20_000, lastOca: "lumen-nyc/lumen-nyc-3", lastAt: T0 + 30_000 });
    });
  });
});
