import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HANDOVERS_PER_HOUR, newStreamMemory, STOP_HOLD_MS, StreamBook } from "../durable-objects/member/streams";

/**
 * A member's object has no timers, sockets or waitUntil work, so the runtime hibernates it after 10 s
 * without a call and throws its memory away. What bounds the stop-and-play-on loop (a client's stop
 * holds its slot for STOP_HOLD_MS once the hour's HANDOVERS_PER_HOUR are spent) must outlive that:
 * a loop with a 10 s pause before each play would otherwise never meet its bound.
 */

const TITLE = "hibernation-title";
const member = (id: string) => env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName(id));
const ONE_STREAM = { streams: 1, playsPerWindow: 1_000 };

describe("a member's object that hibernates between calls", () => {
  it("still holds the slot of a stream its client stopped, with the hour's handovers spent", async () => {
    const m = member("hibernation-loop");
    const stream = { titleId: TITLE, expiresAt: Date.now() + 3_600_000 };
    const play = (sessionId: string) => m.acquire({ sessionId, ...stream }, ONE_STREAM);
    const stop = (sessionId: string) => m.release(sessionId, stream, "client");
    // The loop on a one-stream plan: play, stop, play again at once. Each turn is a handover.
    let last = crypto.randomUUID();
    expect((await play(last)).verdict).toBe("granted");
    for (let i = 0; i < HANDOVERS_PER_HOUR; i++) {
      expect(await stop(last)).toBe(true);
      last = crypto.randomUUID();
      expect((await play(last)).verdict, `turn ${i + 1}`).toBe("granted");
    }
    expect(await stop(last)).toBe(true);
    // The object goes quiet and hibernates: its memory is gone, its storage stays.
    await evictDurableObject(m);
    // The streams stopped in the last minute and a half may still be served, and the hour's handovers are spent: no slot.
    expect(await play(crypto.randomUUID())).toMatchObject({ verdict: "full", active: [], stoppedHolding: HANDOVERS_PER_HOUR + 1 });
  });

  it("counts a play after a restart that takes a stopped stream's slot as a handover, and keeps no more than the hour's in storage", async () => {
    await runInDurableObject(member("hibernation-book"), (_o, state) => {
      const sql = state.storage.sql;
      const t = Date.now();
      const ref = { titleId: TITLE, expiresAt: t + 6 * 3_600_000 };
      const window = { start: 0, plays: 0 };
      const take = (book: StreamBook, sessionId: string, at: number) => book.acquire(window, { sessionId, ...ref }, ONE_STREAM, at);
      // Each turn on a book read afresh, as an object that hibernated before every call reads it.
      const fresh = () => new StreamBook(sql, newStreamMemory());
      expect(take(fresh(), "s-0", t).verdict).toBe("granted");
      for (let i = 1; i <= HANDOVERS_PER_HOUR; i++) {
        expect(fresh().release(`s-${i - 1}`, t + i * 1_000, ref)).toBe(true);
        expect(take(fresh(), `s-${i}`, t + i * 1_000 + 1).verdict, `turn ${i}`).toBe("granted");
      }
      expect(fresh().release(`s-${HANDOVERS_PER_HOUR}`, t + 40_000, ref)).toBe(true);
      expect(take(fresh(), "late", t + 40_001)).toMatchObject({ verdict: "full", stoppedHolding: HANDOVERS_PER_HOUR + 1 });
      // Once the stop no longer holds, the slot is free with no handover needed.
      expect(take(fresh(), "later", t + 40_000 + STOP_HOLD_MS + 1).verdict).toBe("granted");
      // An hour on, the handovers are spent no more: a stop frees its slot at once again, and the
      // hour's record of them is all storage keeps.
      const hourOn = t + 3_600_000 + 60_000;
      expect(fresh().release("later", hourOn, ref)).toBe(true);
      expect(take(fresh(), "next", hourOn + 1).verdict).toBe("granted");
      const kept = sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM streams WHERE session_id LIKE 'handover:%'`).one().n;
      expect(kept).toBe(1);
      // Its record is no stream: the member's streams are the one it holds.
      expect(
        fresh()
          .active(hourOn + 2)
          .map((s) => s.sessionId),
      ).toEqual(["next"]);
    });
  });
});
