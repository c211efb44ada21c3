import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { STOP_GRACE_MS } from "../durable-objects/member/streams";
import { openBook } from "./stream-book-fixtures";

/**
 * What a member's object keeps over months. A stopped stream's row stays until its token expires (a
 * restarted object still refuses the stream playing on); past that, no request of the stream is served
 * anywhere, and the row is of no use. Rows used to go only with a counted stream going silent or
 * expiring: a household whose players always say stop kept 256 stopped rows (read back on every wake
 * of its object, some 10 s after each quiet spell) for ever.
 */

const TITLE = "stream-rows-title";
const member = (id: string) => env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName(id));
const SIX_HOURS = 6 * 3_600_000;
const DAY = 24 * 3_600_000;

describe("a member's stopped streams over months", () => {
  it("are kept until their token expires, and no longer: a household that always stops keeps a handful of rows", async () => {
    await runInDurableObject(member("stream-rows-months"), (_o, state) => {
      const { sql, book, memory, window, plan, t } = openBook(state);
      // A year of evenings: two titles a day, each watched to its end and stopped.
      for (let d = 0; d < 365; d++) {
        for (const [k, at] of [t + d * DAY, t + d * DAY + 2 * 3_600_000].entries()) {
          const sessionId = `day${d}-${k}`;
          const ref = { titleId: TITLE, expiresAt: at + SIX_HOURS };
          expect(book.acquire(window, { sessionId, ...ref }, plan, at).verdict).toBe("granted");
          expect(book.touch(sessionId, at + 60_000, ref)).toBe("counted");
          expect(book.release(sessionId, at + 90 * 60_000, ref)).toBe(true);
        }
      }
      // Only the last evening's stops, whose tokens are still valid, are kept (in storage and in memory).
      const kept = sql
        .exec<{ session_id: string }>(`SELECT session_id FROM streams WHERE session_id NOT LIKE 'handover:%' ORDER BY session_id`)
        .toArray()
        .map((r) => r.session_id);
      expect(kept.filter((id) => id !== "plays:")).toEqual(["day364-0", "day364-1"]);
      expect([...memory.stopped.keys()]).toEqual(["day364-0", "day364-1"]);
      // A stop still kept is still refused once its grace is over, as before.
      const at = t + 364 * DAY + 2 * 3_600_000;
      expect(book.touch("day364-1", at + 90 * 60_000 + STOP_GRACE_MS, { titleId: TITLE, expiresAt: at + SIX_HOURS })).toBe("refused");
    });
  });

  it("go from memory with their rows when a silent stream's going takes them", async () => {
    await runInDurableObject(member("stream-rows-silent"), (_o, state) => {
      const { sql, book, memory, window, plan, t } = openBook(state);
      const short = { titleId: TITLE, expiresAt: t + 3_600_000 };
      expect(book.acquire(window, { sessionId: "stopped", ...short }, plan, t).verdict).toBe("granted");
      expect(book.release("stopped", t + 1_000, short)).toBe(true);
      expect(book.acquire(window, { sessionId: "paused", titleId: TITLE, expiresAt: t + SIX_HOURS }, plan, t + 2_000).verdict).toBe("granted");
      // Hours on, "paused" has gone silent and "stopped"'s token has expired: the next play takes both rows.
      const later = t + 2 * 3_600_000;
      expect(book.acquire(window, { sessionId: "next", titleId: TITLE, expiresAt: later + SIX_HOURS }, plan, later).verdict).toBe("granted");
      expect(sql.exec<{ session_id: string }>(`SELECT session_id FROM streams WHERE session_id <> 'plays:'`).toArray()).toEqual([{ session_id: "next" }]);
      expect([...memory.stopped.keys()]).toEqual([]);
      expect([...memory.clientStopped]).toEqual([]);
    });
  });
});
