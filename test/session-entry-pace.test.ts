import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SEEN_AT_MAX_AGE_MS } from "../durable-objects/site/load";
import { SESSION_ENTRY_EVERY_MS } from "../shared/session-activity";
import { recordCmcd, recordServed, sessionEntryEveryMs } from "../workers/shared/site-link";
import { type SentReport, syncsOfEachTest } from "./site-sync-watch";

/**
 * An isolate sends a session's entry to a site (its bytes on an OCA, its CMCD, its bytes served away) at
 * most once per SESSION_ENTRY_EVERY_MS: the first at once, then what came between, summed; meanwhile
 * its member rides each report as healthy traffic. The tests' config sends every entry with the next
 * sync (SESSION_ENTRY_EVERY_S "0"); here the env sets 2 s, as a deployment sets 12.
 */

const SITE = "lakeshore-chi";
const OCA = "lakeshore-chi-1";
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));

const syncs = syncsOfEachTest();

/** Runs `record` with a waitUntil, then waits for everything it started (the link's flushes included). */
async function recorded(record: (waitUntil: (p: Promise<unknown>) => void) => void): Promise<void> {
  const pending: Promise<unknown>[] = [];
  record((p) => void pending.push(p));
  while (pending.length) await pending.shift();
}

const cmcdOf = (s: SentReport, id: string) => s.report.cmcd?.find((c) => c.sessionId === id);
const entryOf = (s: SentReport, id: string) => s.report.ocas[OCA]?.sessions.find((e) => e.id === id);
const sample = { sid: null, br: 3000, bl: 8000, mtp: 20000, bs: false, su: false };

describe("a session's entry in an isolate's reports to a site", () => {
  it("goes at once the first time, then at most once an interval with what came between summed, and the last is sent without another request", async () => {
    const paced = { ...env, SESSION_ENTRY_EVERY_S: "2" };
    const id = crypto.randomUUID();
    const streams = env.MEMBER_STREAMS.idFromName(`pace-${id}`).toString();
    const served = (bytes: number) => (w: (p: Promise<unknown>) => void) => recordServed(paced, SITE, OCA, id, bytes, w, { home: true, streams });
    const cmcd = (bytes: number) => (w: (p: Promise<unknown>) => void) =>
      recordCmcd(paced, SITE, { sessionId: id, titleId: "pace-title", oca: `${SITE}/${OCA}`, bytes, at: Date.now() }, sample, w);
    await recorded((w) => {
      served(1_000)(w);
      cmcd(1_000)(w);
    });
    // Two more segments at once: held, their bytes summed, until the interval since the first has passed.
    await recorded((w) => {
      served(2_000)(w);
      cmcd(2_000)(w);
      served(3_000)(w);
      cmcd(3_000)(w);
    });
    const withCmcd = syncs.sent.filter((s) => cmcdOf(s, id));
    const withEntry = syncs.sent.filter((s) => entryOf(s, id));
    expect(withCmcd.map((s) => [cmcdOf(s, id)!.requests, cmcdOf(s, id)!.bytes])).toEqual([
      [1, 1_000],
      [2, 5_000],
    ]);
    expect(withEntry.map((s) => entryOf(s, id)!.bytes)).toEqual([1_000, 5_000]);
    expect(withEntry[1].report).toBe(withCmcd[1].report);
    // Each entry says when the OCA last served the session: the held one, before its report went.
    const lastAt = entryOf(withEntry[1], id)!.lastAt!;
    expect(lastAt).toBeGreaterThanOrEqual(withEntry[0].at);
    expect(lastAt).toBeLessThan(withEntry[1].at - 500);
    expect(withEntry[1].at - withEntry[0].at).toBeGreaterThanOrEqual(2_000 - 50);
    // The report between carried the OCA's bytes, with the held session's member as healthy traffic.
    const between = syncs.sent.filter((s) => s.at > withEntry[0].at && s.at < withEntry[1].at && s.report.ocas[OCA]);
    expect(between.length).toBeGreaterThan(0);
    expect(between[0].report.ocas[OCA].bytes).toBe(5_000);
    expect(between[0].report.ocas[OCA].sessions).toEqual([]);
    expect(between[0].report.ocas[OCA].probers).toEqual([streams]);
    // The site counted everything once.
    expect(await site().cmcdSession(id)).toMatchObject({ requests: 3, bytes: 6_000 });
  }, 30_000);

  it("goes with every sync when the interval is 0 (the tests' config)", async () => {
    const id = crypto.randomUUID();
    const cmcd = (bytes: number) => (w: (p: Promise<unknown>) => void) =>
      recordCmcd(env, SITE, { sessionId: id, titleId: "pace-title", oca: `${SITE}/${OCA}`, bytes, at: Date.now() }, sample, w);
    await recorded(cmcd(1_000));
    await recorded(cmcd(2_000));
    expect(syncs.sent.filter((s) => cmcdOf(s, id)).map((s) => cmcdOf(s, id)!.bytes)).toEqual([1_000, 2_000]);
  }, 30_000);

  it("dates the session's activity at the site by when the OCA last served it, within the last minute, never back", async () => {
    const id = crypto.randomUUID();
    const now = Date.now();
    let seq = 1_000_000 + Math.floor(Math.random() * 1e6);
    const sync = (lastAt?: number) =>
      site().edgeSync(
        { seq: seq++, windowMs: 1_000, ocas: { [OCA]: { bytes: 1, requests: 1, sessions: [{ id, bytes: 1, ...(lastAt === undefined ? {} : { lastAt }) }] } } },
        "pace-dating",
      );
    const seen = () =>
      runInDurableObject(
        site(),
        (_o, state) =>
          state.storage.sql.exec<{ last_seen: number }>(`SELECT last_seen FROM oca_sessions WHERE oca_id = ? AND session_id = ?`, OCA, id).one().last_seen,
      );
    await sync(now - 20_000);
    expect(await seen()).toBe(now - 20_000);
    // A later entry held longer by another isolate does not take it back; one from long ago counts as a minute old at most.
    await sync(now - 25_000);
    expect(await seen()).toBe(now - 20_000);
    await sync(now - 10 * SEEN_AT_MAX_AGE_MS);
    expect(await seen()).toBe(now - 20_000);
    // Ahead of the site's clock: now. No time (an isolate on older code): now.
    await sync(now + 3_600_000);
    const ahead = await seen();
    expect(ahead).toBeGreaterThanOrEqual(now);
    expect(ahead).toBeLessThanOrEqual(Date.now());
  });

  it("is paced as SESSION_ENTRY_EVERY_S says, else every 12 s, never past 20 s (inside the site's 30 s active window)", () => {
    expect(SESSION_ENTRY_EVERY_MS).toBe(12_000);
    expect([undefined, "", "soon", "-1", "0", "5", "1000"].map((v) => sessionEntryEveryMs({ SESSION_ENTRY_EVERY_S: v }))).toEqual([
      12_000, 12_000, 12_000, 12_000, 0, 5_000, 20_000,
    ]);
  });
});
