import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HANDOVERS_PER_HOUR, SILENCE_MS, STOP_HOLD_MS } from "../durable-objects/member/streams";
import { openBook } from "./stream-book-fixtures";

/**
 * A stream that comes back from a silence takes a free slot again (StreamBook.touch). A slot that a
 * stream its client stopped lately may still be served on is a handover, whether a play or a returning
 * stream takes it: otherwise a member with a pool of paused sessions (each a play left silent) could
 * loop "resume one, stop it, resume the next" and keep every stopped one served for its last minute and
 * a half, past the hour's HANDOVERS_PER_HOUR that bound the same loop through plays.
 */

const TITLE = "return-handover-title";
const member = (id: string) => env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName(id));
const ONE_STREAM = { streams: 1, playsPerWindow: 1_000 };
const SIX_HOURS = 6 * 3_600_000;

describe("a stream that comes back from a silence", () => {
  it("spends a handover when it takes a slot a stopped stream may still be served on, and is refused past the hour's", async () => {
    await runInDurableObject(member("return-handover-loop"), (_o, state) => {
      const { book, memory, window, t } = openBook(state);
      const ref = { titleId: TITLE, expiresAt: t + SIX_HOURS };
      // The pool: plays one after another on a one-stream plan, each left silent (so no stop, no handover).
      const pool = Array.from({ length: HANDOVERS_PER_HOUR + 2 }, (_, i) => `paused-${i}`);
      pool.forEach((sessionId, i) => {
        expect(book.acquire(window, { sessionId, ...ref }, ONE_STREAM, t + i * (SILENCE_MS + 1)).verdict).toBe("granted");
      });
      expect(memory.handovers).toEqual([]);
      const u = t + pool.length * (SILENCE_MS + 1);
      // The loop: resume one, stop it (it may be served on for STOP_HOLD_MS), resume the next at once.
      expect(book.touch(pool[0], u, ref)).toBe("readmitted");
      for (let i = 1; i <= HANDOVERS_PER_HOUR; i++) {
        expect(book.release(pool[i - 1], u + i * 1_000, ref)).toBe(true);
        expect(book.touch(pool[i], u + i * 1_000 + 1, ref), `return ${i}`).toBe("readmitted");
      }
      expect(memory.handovers).toHaveLength(HANDOVERS_PER_HOUR);
      // Past the hour's handovers, the streams stopped in the last minute and a half hold the slot.
      const v = u + (HANDOVERS_PER_HOUR + 1) * 1_000;
      expect(book.release(pool[HANDOVERS_PER_HOUR], v, ref)).toBe(true);
      const last = pool[HANDOVERS_PER_HOUR + 1];
      expect(book.touch(last, v + 1, ref)).toBe("refused");
      expect(book.active(v + 1)).toEqual([]);
      // Once no stopped stream can still be served, it has the slot back, with no handover needed.
      expect(book.touch(last, v + STOP_HOLD_MS + 1, ref)).toBe("readmitted");
      expect(book.active(v + STOP_HOLD_MS + 1).map((s) => s.sessionId)).toEqual([last]);
      // Each handover kept in storage (an object that hibernates reads them back): one row apiece, none overwritten.
      const kept = state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM streams WHERE session_id LIKE 'handover:%'`).one().n;
      expect(kept).toBe(HANDOVERS_PER_HOUR);
    });
  });

  it("spends none when no stopped stream holds the slot: a family's paused screen resumes as before", async () => {
    await runInDurableObject(member("return-handover-family"), (_o, state) => {
      const { book, memory, window, t } = openBook(state);
      const ref = { titleId: TITLE, expiresAt: t + SIX_HOURS };
      const plan = { streams: 2, playsPerWindow: 1_000 };
      expect(book.acquire(window, { sessionId: "tv", ...ref }, plan, t).verdict).toBe("granted");
      expect(book.acquire(window, { sessionId: "laptop", ...ref }, plan, t).verdict).toBe("granted");
      // The laptop pauses past the silence; the tv plays on (touched within it), then stops for good.
      const later = t + SILENCE_MS + 1;
      expect(book.touch("tv", t + SILENCE_MS, ref)).toBe("counted");
      expect(book.active(later).map((s) => s.sessionId)).toEqual(["tv"]);
      expect(book.release("tv", later + 1, ref)).toBe(true);
      // The laptop resumes: a free slot beside the tv's (which may still be served a while), no handover.
      expect(book.touch("laptop", later + 2, ref)).toBe("readmitted");
      expect(memory.handovers).toEqual([]);
    });
  });
});
