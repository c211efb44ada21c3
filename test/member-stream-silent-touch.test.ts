import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HANDOVERS_PER_HOUR, newStreamMemory, SILENCE_MS, STOP_HOLD_MS, StreamBook } from "../durable-objects/member/streams";
import { openBook } from "./stream-book-fixtures";

/**
 * A stream silent past SILENCE_MS has lost its slot, whether or not its row is still in the book's
 * memory (the row goes only when something looks at the clock: a play, a stream back from a silence, an
 * operator's list; an object that hibernates reads it back from its table). Its activity is then decided
 * as a return from the silence (StreamBook.touch): a free slot, a handover, or a refusal. Another stream
 * cannot take the slot while the silent row is in memory (every admission drops silent rows first), so
 * two streams never count on a one-stream plan; but a silent row that was answered "counted" slipped past
 * the stops that still hold the slot, and the hour's handovers that bound them.
 */

const TITLE = "silent-touch-title";
const member = (id: string) => env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName(id));
const BASIC = { streams: 1, playsPerWindow: 1_000 };
const SIX_HOURS = 6 * 3_600_000;

describe("a stream that went silent while its row was still in the book", () => {
  it("is refused when another stream played in its silence and holds the one slot", async () => {
    await runInDurableObject(member("silent-touch-taken"), (_o, state) => {
      const { book, window, t } = openBook(state);
      const ref = { titleId: TITLE, expiresAt: t + SIX_HOURS };
      expect(book.acquire(window, { sessionId: "tv", ...ref }, BASIC, t).verdict).toBe("granted");
      const later = t + SILENCE_MS + 1;
      expect(book.acquire(window, { sessionId: "phone", ...ref }, BASIC, later).verdict).toBe("granted");
      expect(book.touch("tv", later + 1, ref)).toBe("refused");
      expect(book.touch("phone", later + 2, ref)).toBe("counted");
      expect(book.active(later + 2).map((s) => s.sessionId)).toEqual(["phone"]);
    });
  });

  it("spends a handover to come back while a stopped stream may still be served on its slot", async () => {
    await runInDurableObject(member("silent-touch-handover"), (_o, state) => {
      const { book, memory, window, t } = openBook(state);
      const ref = { titleId: TITLE, expiresAt: t + SIX_HOURS };
      // A phone played, then paused past the silence: the tv's play takes the slot.
      expect(book.acquire(window, { sessionId: "phone", ...ref }, BASIC, t - SILENCE_MS - 1).verdict).toBe("granted");
      expect(book.acquire(window, { sessionId: "tv", ...ref }, BASIC, t).verdict).toBe("granted");
      // The tv pauses past the silence too; nothing looks at the book meanwhile. The phone's client then
      // stops it: it may still be served for STOP_HOLD_MS.
      const u = t + SILENCE_MS + 1;
      expect(book.release("phone", u, ref)).toBe(false);
      // The tv resumes: it takes the slot back as a handover, as it would had its row gone from memory.
      expect(book.touch("tv", u + 1, ref)).toBe("readmitted");
      expect(memory.handovers).toEqual([u + 1]);
      expect(book.active(u + 1).map((s) => s.sessionId)).toEqual(["tv"]);
    });
  });

  it("is refused while a stopped stream holds the slot past the hour's handovers, as if its row had gone from memory", async () => {
    const returnOf = (look: boolean) =>
      runInDurableObject(member(`silent-touch-spent-${look}`), (_o, state) => {
        const { sql, book, memory, window, t } = openBook(state);
        const ref = { titleId: TITLE, expiresAt: t + SIX_HOURS };
        // A phone played, then paused past the silence; the hour's handovers are then spent on stops and plays.
        expect(book.acquire(window, { sessionId: "phone", ...ref }, BASIC, t - SILENCE_MS - 1).verdict).toBe("granted");
        expect(book.acquire(window, { sessionId: "s0", ...ref }, BASIC, t).verdict).toBe("granted");
        for (let i = 1; i <= HANDOVERS_PER_HOUR; i++) {
          expect(book.release(`s${i - 1}`, t + i * 1_000, ref)).toBe(true);
          expect(book.acquire(window, { sessionId: `s${i}`, ...ref }, BASIC, t + i * 1_000 + 1).verdict).toBe("granted");
        }
        expect(memory.handovers).toHaveLength(HANDOVERS_PER_HOUR);
        // The last play pauses past the silence (an operator's list of the member's streams in it, or not);
        // the object hibernates and reads its table back; the phone's client stops it.
        const last = `s${HANDOVERS_PER_HOUR}`;
        const u = t + HANDOVERS_PER_HOUR * 1_000 + 1 + SILENCE_MS + 1;
        if (look) expect(book.active(u)).toEqual([]);
        const restarted = new StreamBook(sql, newStreamMemory());
        expect(restarted.release("phone", u, ref)).toBe(false);
        const verdicts = [restarted.touch(last, u + 1, ref), restarted.touch(last, u + STOP_HOLD_MS + 1, ref)];
        return { verdicts, active: restarted.active(u + STOP_HOLD_MS + 1).map((s) => s.sessionId) };
      });
    // Refused while the phone's stop holds the slot; readmitted once it no longer can be served.
    const expected = { verdicts: ["refused", "readmitted"], active: [`s${HANDOVERS_PER_HOUR}`] };
    expect([await returnOf(true), await returnOf(false)]).toEqual([expected, expected]);
  });

  it("keeps counting with one write and no read while it shows activity within the silence", async () => {
    await runInDurableObject(member("silent-touch-counted"), (_o, state) => {
      const { window, t } = openBook(state);
      const ref = { titleId: TITLE, expiresAt: t + SIX_HOURS };
      // The book over its storage, each statement it runs noted: a touch is on every stream's hot path.
      const statements: string[] = [];
      const sql = new Proxy(state.storage.sql, {
        get: (target, key) =>
          key === "exec"
            ? (query: string, ...bindings: unknown[]) => {
                statements.push(query);
                return target.exec(query, ...bindings);
              }
            : Reflect.get(target, key, target),
      });
      const book = new StreamBook(sql);
      expect(book.acquire(window, { sessionId: "tv", ...ref }, BASIC, t).verdict).toBe("granted");
      statements.length = 0;
      // Its last activity exactly SILENCE_MS ago still counts, as it does for the member's list.
      expect(book.touch("tv", t + SILENCE_MS, ref)).toBe("counted");
      expect(book.touch("tv", t + 2 * SILENCE_MS, ref)).toBe("counted");
      expect(statements).toEqual([expect.stringMatching(/^UPDATE streams SET last_seen/), expect.stringMatching(/^UPDATE streams SET last_seen/)]);
      expect(book.active(t + 2 * SILENCE_MS).map((s) => [s.sessionId, s.lastSeenAt])).toEqual([["tv", t + 2 * SILENCE_MS]]);
    });
  });
});
