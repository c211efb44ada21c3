import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Admission, newStreamMemory, PLAY_WINDOW_MS, PLAYS_KEPT_FROM, StreamBook } from "../durable-objects/member/streams";
import { PLAYS_PER_MEMBER_PER_MINUTE } from "../workers/control/limits";

/**
 * A member's object counts its plays per minute. The runtime hibernates the object after 10 s without
 * a call and throws its memory away: a count kept there alone let a client play 60 times, pause, and
 * play 60 more after each restart. Eviction is driven with evictDurableObject, as in
 * test/member-hibernation.test.ts.
 */

const TITLE = "play-rate-hibernation-title";
const PLAN = { streams: 4, playsPerWindow: PLAYS_PER_MEMBER_PER_MINUTE };
const member = (id: string) => env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName(id));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The play window is the clock's minute: waits for the next one when this one has less than `ms` left, so a test's plays share one. */
async function withinOneWindow(ms: number): Promise<void> {
  const left = PLAY_WINDOW_MS - (Date.now() % PLAY_WINDOW_MS);
  if (left < ms) await sleep(left + 50);
}

const streamRows = (id: string) =>
  runInDurableObject(member(id), (_o, state) =>
    state.storage.sql
      .exec<{ session_id: string }>(`SELECT session_id FROM streams ORDER BY session_id`)
      .toArray()
      .map((r) => r.session_id),
  );

describe("a member's play rate across the object's hibernation", () => {
  it("still refuses a flood past 60 plays a minute when the object is evicted between its bursts", async () => {
    await withinOneWindow(5_000);
    const m = member("play-rate-flood");
    const play = () => m.acquire({ sessionId: crypto.randomUUID(), titleId: TITLE, expiresAt: Date.now() + 3_600_000 }, PLAN);
    const verdicts: Admission["verdict"][] = [];
    // Six bursts of ten, the object evicted after each (as a pause of 10 s would have it).
    for (let burst = 0; burst < 6; burst++) {
      for (let i = 0; i < 10; i++) verdicts.push((await play()).verdict);
      await evictDurableObject(m);
    }
    // Each of the 60 counted: the plan's 4 slots taken, the rest full, none over the rate yet.
    expect(verdicts.filter((v) => v === "granted")).toHaveLength(4);
    expect(verdicts.filter((v) => v === "full")).toHaveLength(56);
    const refused = await play();
    expect(refused.verdict).toBe("rate_limited");
    expect(refused.verdict === "rate_limited" && refused.retryAfterS).toBeGreaterThanOrEqual(1);
    expect(refused.verdict === "rate_limited" && refused.retryAfterS).toBeLessThanOrEqual(60);
    // Another pause changes nothing within the minute.
    await evictDurableObject(m);
    expect((await play()).verdict).toBe("rate_limited");
  });

  it("leaves a normal member's plays as they were: each granted across restarts, with nothing stored beside their streams", async () => {
    await withinOneWindow(5_000);
    const id = "play-rate-normal";
    const m = member(id);
    const sessions: string[] = [];
    // A member's first plays in a minute, short of PLAYS_KEPT_FROM, each after a pause.
    for (let i = 0; i < PLAYS_KEPT_FROM - 1; i++) {
      const sessionId = `normal-${i}`;
      sessions.push(sessionId);
      expect((await m.acquire({ sessionId, titleId: TITLE, expiresAt: Date.now() + 3_600_000 }, PLAN)).verdict, `play ${i + 1}`).toBe("granted");
      await evictDurableObject(m);
    }
    expect(await streamRows(id)).toEqual(sessions);
  });

  it("reads a kept count back in its own minute only, and keeps one row for it", async () => {
    await runInDurableObject(member("play-rate-book"), (_o, state) => {
      const sql = state.storage.sql;
      // The start of a minute to come, so every play below falls where the test says.
      const t = Math.ceil(Date.now() / PLAY_WINDOW_MS) * PLAY_WINDOW_MS + PLAY_WINDOW_MS;
      let book = new StreamBook(sql, newStreamMemory());
      let window = { start: 0, plays: 0 };
      const restart = () => {
        book = new StreamBook(sql, newStreamMemory());
        window = { start: 0, plays: 0 };
      };
      const play = (at: number) => book.acquire(window, { sessionId: crypto.randomUUID(), titleId: TITLE, expiresAt: at + 3_600_000 }, PLAN, at);
      // Bursts of PLAYS_KEPT_FROM, each by an object that restarted before it.
      for (let k = 0; k < PLAYS_PER_MEMBER_PER_MINUTE; k++) {
        if (k % PLAYS_KEPT_FROM === 0) restart();
        expect(play(t + k * 100).verdict, `play ${k + 1}`).not.toBe("rate_limited");
      }
      restart();
      expect(play(t + 50_000)).toEqual({ verdict: "rate_limited", retryAfterS: 10 });
      expect(sql.exec(`SELECT COUNT(*) AS n FROM streams WHERE session_id LIKE 'plays:%'`).one().n).toBe(1);
      // The next minute starts afresh, restart or not.
      restart();
      expect(play(t + PLAY_WINDOW_MS).verdict).not.toBe("rate_limited");
      expect(window.plays).toBe(1);
    });
  });
});
