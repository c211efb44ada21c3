import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ingestCmcd } from "../durable-objects/site/cmcd";
import { history, recordPlays, recordReport, SESSION_MEMORY_MS } from "../durable-objects/site/viewing-history";
import { cmcdReport } from "./cmcd-report-fixture";

/**
 * An event shard keeps a batch up to a week and forwards it when its site can be reached: a forward
 * days late names a session the site has forgotten (SESSION_MEMORY_MS after its play, by the site's
 * clock). Judged by the shard's time alone, the report made the session afresh and counted its bytes,
 * and the CMCD kept for it, a second time.
 */

const stub = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));
const withSql = <T>(name: string, fn: (sql: SqlStorage) => T) => runInDurableObject(stub(name), async (_i, state) => fn(state.storage.sql));
const T0 = 1_800_000_000_000;
const DAY = 20_000;
const EST = 3_600_000_000;
const play = (sessionId: string, startedAt = T0) => ({ sessionId, titleId: "t", day: DAY, estBytes: EST, topBps: 8_000_000, startedAt });
const cmcd = (sessionId: string) => cmcdReport(sessionId, { bytes: 2_000_000, firstAt: T0 + 1_000, lastAt: T0 + 1_000 });

describe("a shard's forward days late", () => {
  it("does not make a session the site forgot afresh, nor count its bytes and CMCD again", async () => {
    await withSql("lumen-lax", (sql) => {
      recordPlays(sql, [play("gone")], T0);
      ingestCmcd(sql, [cmcd("gone")], DAY, T0 + 2_000);
      expect(recordReport(sql, { ...play("gone"), reportDay: DAY, bytes: 5_000_000, now: T0 + 60_000 }).counted).toBe(3_000_000);
      expect(history(sql, DAY, DAY)).toEqual({ t: [5_000_000] });
      // Three days on, a new play: the site forgets "gone" (it reported, so it is settled).
      const later = T0 + SESSION_MEMORY_MS + 86_400_000;
      recordPlays(sql, [{ ...play("new", later), day: DAY + 3 }], later);
      expect(sql.exec(`SELECT COUNT(*) AS n FROM session_views WHERE session_id = 'gone'`).one().n).toBe(0);
      // The shard took this batch a day after the play, and forwards it now.
      const late = recordReport(sql, { ...play("gone"), reportDay: DAY + 1, bytes: 4_000_000, now: T0 + 86_400_000, siteNow: later + 1_000 });
      expect(late.counted).toBe(0);
      expect(history(sql, DAY, DAY + 1)).toEqual({ t: [5_000_000, 0] });
      expect(sql.exec(`SELECT COUNT(*) AS n FROM session_views WHERE session_id = 'gone'`).one().n).toBe(0);
    });
  });

  it("still counts a session the site remembers, judged at the shard's time", async () => {
    await withSql("lumen-lax", (sql) => {
      recordPlays(sql, [{ ...play("kept"), endsAt: T0 + 7 * 86_400_000 }], T0);
      // Its token lasts a week: the site keeps it, on its estimate, past SESSION_MEMORY_MS until it settles.
      const r = recordReport(sql, { ...play("kept"), reportDay: DAY, bytes: 1_000_000, now: T0 + 60_000, siteNow: T0 + SESSION_MEMORY_MS + 1_000 });
      expect(r.counted).toBeGreaterThan(0);
    });
  });

  it("counts a session whose play record never came, while within the site's memory", async () => {
    await withSql("lumen-lax", (sql) => {
      const r = recordReport(sql, { ...play("no-play"), reportDay: DAY, bytes: 1_000_000, now: T0 + 60_000, siteNow: T0 + 120_000 });
      expect(r.counted).toBe(1_000_000);
    });
  });
});
