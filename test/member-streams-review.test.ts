import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HANDOVERS_PER_HOUR, newStreamMemory, SILENCE_MS, STOP_HOLD_MS, StreamBook } from "../durable-objects/member/streams";
import { openBook } from "./stream-book-fixtures";

/**
 * Review of the member's stream limit as an attacker and as an operator. After a restart (a deploy, or
 * hibernation some seconds after the object's last call) the object reads the plan's limit back from
 * its rows; a stream that comes back from a silence is decided against it. A member whose every row
 * carrying the limit had gone (silent streams' rows are deleted as they go) found the limit unknown, and
 * every paused session of theirs came back "unknown": served, and counted nowhere. And a stop that
 * reached the object after its session's token expired (the events route takes a last batch up to 5
 * minutes late) held a slot for 90 s, or spent a handover, for a stream no OCA would serve.
 */

const TITLE = "streams-review-title";
const member = (id: string) => env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName(id));
const SIX_HOURS = 6 * 3_600_000;
const TWO_STREAMS = { streams: 2, playsPerWindow: 10_000 };

describe("the plan's limit after the member's object restarts", () => {
  it("still bounds a pool of paused sessions when the rows that carried the limit went with their silence", async () => {
    await runInDurableObject(member("streams-review-pool"), (_o, state) => {
      const { sql, book, window, t } = openBook(state);
      const ref = { titleId: TITLE, expiresAt: t + SIX_HOURS };
      const take = (sessionId: string, at: number) => book.acquire(window, { sessionId, ...ref }, TWO_STREAMS, at).verdict;
      // Sessions played two at a time, each pair left silent before the next: no stop, no handover.
      const dummies = Array.from({ length: HANDOVERS_PER_HOUR + 2 }, (_, i) => `dummy-${i}`);
      const pool = ["pool-0", "pool-1", "pool-2", "pool-3"];
      const sessions = [...pool, ...dummies];
      let at = t;
      for (let i = 0; i < sessions.length; i += 2) {
        expect([take(sessions[i], at), take(sessions[i + 1], at)]).toEqual(["granted", "granted"]);
        at += SILENCE_MS + 1;
      }
      // The hour's handovers spent: two silent sessions stopped (their stops hold slots), then two plays.
      for (let i = 0; i < HANDOVERS_PER_HOUR; i += 2) {
        // Each play's slot is freed by silence, never by a stop while it counts (that row would keep the limit).
        const fresh = [`spend-${i}`, `spend-${i + 1}`];
        expect(book.release(dummies[i], at, ref)).toBe(false);
        expect(book.release(dummies[i + 1], at, ref)).toBe(false);
        expect([take(fresh[0], at + 1), take(fresh[1], at + 1)]).toEqual(["granted", "granted"]);
        at += SILENCE_MS + 2;
      }
      // One more pair of stops, and a play refused for them: it took the last counted rows' silence with it.
      expect(book.release(dummies[HANDOVERS_PER_HOUR], at, ref)).toBe(false);
      expect(book.release(dummies[HANDOVERS_PER_HOUR + 1], at, ref)).toBe(false);
      expect(take("refused", at + 1)).toBe("full");
      // The object restarts. Past the stops' hold, the pool comes back: two slots, not four streams.
      const restarted = new StreamBook(sql, newStreamMemory());
      const back = at + STOP_HOLD_MS + 1;
      expect(pool.map((sessionId, k) => restarted.touch(sessionId, back + k, ref))).toEqual(["readmitted", "readmitted", "refused", "refused"]);
      expect(restarted.active(back + pool.length).map((s) => s.sessionId)).toEqual(["pool-0", "pool-1"]);
    });
  });

  it("still bounds them when an operator's look at the member's streams took the silent streams' rows", async () => {
    await runInDurableObject(member("streams-review-operator"), (_o, state) => {
      const { sql, book, window, t } = openBook(state);
      const ref = { titleId: TITLE, expiresAt: t + SIX_HOURS };
      const plan = { streams: 1, playsPerWindow: 100 };
      // A one-stream plan: a play, left paused past the silence; another, paused too.
      expect(book.acquire(window, { sessionId: "tv", ...ref }, plan, t).verdict).toBe("granted");
      expect(book.acquire(window, { sessionId: "phone", ...ref }, plan, t + SILENCE_MS + 1).verdict).toBe("granted");
      // A support desk lists the member's streams (GET /admin/members/{id}/streams): none counts.
      const later = t + 2 * (SILENCE_MS + 1);
      expect(book.active(later)).toEqual([]);
      // The object hibernates; both screens resume: one slot.
      const restarted = new StreamBook(sql, newStreamMemory());
      expect([restarted.touch("tv", later + 1, ref), restarted.touch("phone", later + 2, ref)]).toEqual(["readmitted", "refused"]);
    });
  });

  it("forgets the limit with the last token it could decide: a member whose sessions all expired keeps no row", async () => {
    await runInDurableObject(member("streams-review-expired"), (_o, state) => {
      const { sql, book, window, t } = openBook(state);
      const ref = { titleId: TITLE, expiresAt: t + 3_600_000 };
      expect(book.acquire(window, { sessionId: "a", ...ref }, TWO_STREAMS, t).verdict).toBe("granted");
      expect(book.active(t + SILENCE_MS + 1)).toEqual([]);
      // An hour on, no session of the member's can come back: nothing of it is kept.
      const restarted = new StreamBook(sql, newStreamMemory());
      expect(restarted.touch("b", ref.expiresAt + 1, { titleId: TITLE, expiresAt: ref.expiresAt + SIX_HOURS })).toBe("unknown");
      expect(restarted.active(ref.expiresAt + 2)).toEqual([]);
      expect(sql.exec(`SELECT * FROM stream_limit_kept`).toArray()).toEqual([]);
    });
  });
});

describe("a stop of a session whose token had expired", () => {
  it("holds no slot: no request of it can be served any more", async () => {
    await runInDurableObject(member("streams-review-expired-stop"), (_o, state) => {
      const { book, memory, window, t } = openBook(state);
      const plan = { streams: 1, playsPerWindow: 1_000 };
      const ref = { titleId: TITLE, expiresAt: t + SIX_HOURS };
      // The hour's handovers spent on stops and plays.
      expect(book.acquire(window, { sessionId: "s0", ...ref }, plan, t).verdict).toBe("granted");
      for (let i = 1; i <= HANDOVERS_PER_HOUR; i++) {
        expect(book.release(`s${i - 1}`, t + i * 1_000, ref)).toBe(true);
        expect(book.acquire(window, { sessionId: `s${i}`, ...ref }, plan, t + i * 1_000 + 1).verdict).toBe("granted");
      }
      expect(memory.handovers).toHaveLength(HANDOVERS_PER_HOUR);
      // The last one stops; once its stop no longer holds, a tab closed as its session ended sends its
      // last batch with stop (the events route takes one up to 5 minutes after the session's expiry).
      const u = t + (HANDOVERS_PER_HOUR + 1) * 1_000;
      expect(book.release(`s${HANDOVERS_PER_HOUR}`, u, ref)).toBe(true);
      const v = u + STOP_HOLD_MS + 1;
      expect(book.release("ended", v, { titleId: TITLE, expiresAt: v - 60_000 })).toBe(false);
      // No OCA serves that session now: its stop holds no slot, and the next play takes the free one.
      expect(book.acquire(window, { sessionId: "after", ...ref }, plan, v + 1)).toMatchObject({ verdict: "granted" });
    });
  });
});
