import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dayNumber } from "../fill/day";
import { recordPlays, recordReport, SESSION_MEMORY_MS } from "../durable-objects/site/viewing-history";

/**
 * What a site takes late is placed when it was measured. A report an isolate sends again says how long
 * ago it took it: its health signals land in that moment's window, so an error burst of two minutes ago
 * fails no OCA now. An event shard's forward days late is judged by the site's own clock too: a session
 * the site forgot is not made again to count its bytes a second time.
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

describe("a report sent again, two minutes old", () => {
  const SITE = "lakeshore-chi";
  const OCA = "lakeshore-chi-1";
  const errors = (seq: number, ageMs?: number) =>
    site(SITE).edgeSync(
      {
        seq,
        windowMs: 1_000,
        ocas: { [OCA]: { bytes: 1_000, requests: 20, errors: 20, latencyMsSum: 400, sessions: [] } },
        ...(ageMs === undefined ? {} : { ageMs }),
      } as Parameters<ReturnType<typeof site>["edgeSync"]>[0],
      "age-isolate",
    );
  const healthOf = (view: { ocas: Array<{ ocaId: string; health: string }> }) => view.ocas.find((o) => o.ocaId === OCA)?.health;

  it("fails no OCA now with its errors; the same errors measured now do", async () => {
    expect(healthOf(await errors(1, 120_000))).toBe("healthy");
    expect(healthOf(await errors(2, 0))).toBe("failed");
  });
});

describe("an event shard's forward days late", () => {
  it("counts nothing for a session the site has forgotten", async () => {
    const SITE = "polder-ams";
    const now = Date.now();
    const startedAt = now - SESSION_MEMORY_MS - 86_400_000;
    const tz = "Europe/Amsterdam";
    const play = { sessionId: "late-fwd", titleId: "late-title", day: dayNumber(startedAt, tz), estBytes: 3e9, topBps: 8e6, startedAt };
    await runInDurableObject(site(SITE), async (_o, state) => {
      const sql = state.storage.sql;
      recordPlays(sql, [play], startedAt);
      recordReport(sql, { ...play, reportDay: play.day, bytes: 5_000_000, now: startedAt + 60_000 });
      // A play today: the site forgets the session of three days ago (it reported: settled).
      recordPlays(sql, [{ ...play, sessionId: "today", startedAt: now, day: dayNumber(now, tz) }], now);
      expect(sql.exec(`SELECT COUNT(*) AS n FROM session_views WHERE session_id = 'late-fwd'`).one().n).toBe(0);
    });
    // The shard took the batch a day after the play and forwards it only now.
    const r = await site(SITE).forwardReports(
      [{ id: 1, sessionId: "late-fwd", titleId: "late-title", startedAt, estBytes: 3e9, topBps: 8e6, bytes: 4_000_000, at: startedAt + 86_400_000 }],
      { shard: "polder-ams:0/late", upTo: 1 },
    );
    expect(r.counted).toBe(0);
  });
});
