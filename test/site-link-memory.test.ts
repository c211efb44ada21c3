import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { linkMemory, recordServed } from "../workers/shared/site-link";

/**
 * An isolate's link to a site remembers when each session's entry last went, to hold its next back
 * for the interval (SESSION_ENTRY_EVERY_S). A time older than the interval holds nothing back, so what
 * the link keeps is the sessions of its last interval: not each session it ever sent, which over an
 * isolate's hours would be a bound's worth (tens of thousands) for every site it serves.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `record` with a waitUntil, then waits for everything it started (the link's flushes included). */
async function recorded(record: (waitUntil: (p: Promise<unknown>) => void) => void): Promise<void> {
  const pending: Promise<unknown>[] = [];
  record((p) => void pending.push(p));
  while (pending.length) await pending.shift();
}

describe("what a link to a site remembers of the entries it sent", () => {
  it("forgets a session's entry time once it holds nothing back, keeping the last interval's sessions, not every session it sent", async () => {
    const SITE = "rheinnet-muc";
    const OCA = "rheinnet-muc-1";
    const paced = { ...env, SESSION_ENTRY_EVERY_S: "1" };
    const ids = Array.from({ length: 1_500 }, () => crypto.randomUUID());
    // 1,500 viewers' first segments: their entries go at once (1,000 a report, the rest with the next).
    await recorded((w) => {
      for (const id of ids) recordServed(paced, SITE, OCA, id, 1_000, w, { home: true });
    });
    expect(linkMemory(SITE)).toMatchObject({ sessions: 0, unacked: 0 });
    // Past the interval, one new viewer: the others' times no longer hold anything back.
    await sleep(1_200);
    const next = crypto.randomUUID();
    await recorded((w) => recordServed(paced, SITE, OCA, next, 1_000, w, { home: true }));
    expect(linkMemory(SITE).entryTimes).toBe(1);
    // Its next segment within the interval is still held back, as before (then sent when due).
    await recorded((w) => {
      recordServed(paced, SITE, OCA, next, 1_000, w, { home: true });
      expect(linkMemory(SITE)).toMatchObject({ entryTimes: 1, sessions: 1 });
    });
    expect(linkMemory(SITE)).toMatchObject({ sessions: 0, unacked: 0 });
  }, 30_000);

  it("keeps no entry time when every entry goes with the next sync (an interval of 0)", async () => {
    const SITE = "rheinnet-ber";
    const OCA = "rheinnet-ber-2";
    await recorded((w) => {
      for (let i = 0; i < 500; i++) recordServed(env, SITE, OCA, crypto.randomUUID(), 1_000, w, { home: true });
    });
    expect(linkMemory(SITE)).toMatchObject({ entryTimes: 0, sessions: 0, unacked: 0 });
  }, 30_000);
});
