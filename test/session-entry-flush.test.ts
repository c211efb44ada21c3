import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { recordCmcd, recordOutcome, recordServed, siteView } from "../workers/shared/site-link";
import { syncsOfEachTest } from "./site-sync-watch";

/**
 * A link holds a session's entry for SESSION_ENTRY_EVERY_S after its last, and its flush (one at a time
 * per link, within a 25 s budget) sends what the link holds when due, without another request. While
 * one flush waits on a held entry, what later requests add must still go as it would have without it
 * (within a sync interval), and an entry held near the end of a flush's budget must still be sent.
 */

const syncs = syncsOfEachTest();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits until `cond` holds (polling), at most `ms`. */
async function until(cond: () => boolean, ms: number, poll: () => void = () => {}): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    if (cond()) return true;
    poll();
  }
  return cond();
}

describe("a link's flush while it holds a session's entry", () => {
  it("still sends a new session's first entry and an OCA's errors within a sync interval, not when the held entry falls due", async () => {
    const SITE = "polder-ams";
    const OCA = "polder-ams-1";
    const paced = { ...env, SESSION_ENTRY_EVERY_S: "10" };
    const pending: Promise<unknown>[] = [];
    const w = (p: Promise<unknown>) => void pending.push(p);
    const sample = { sid: null, br: 3000, bl: 8000, mtp: 20000, bs: false, su: false };
    const cmcd = (id: string, bytes: number) =>
      recordCmcd(paced, SITE, { sessionId: id, titleId: "flush-title", oca: `${SITE}/${OCA}`, bytes, at: Date.now() }, sample, w);
    const cmcdOf = (id: string) => syncs.sent.filter((s) => s.report.cmcd?.some((c) => c.sessionId === id));
    const held = crypto.randomUUID();
    cmcd(held, 1_000);
    expect(await until(() => cmcdOf(held).length === 1, 3_000)).toBe(true);
    // Its next segment is held for 10 s: the flush waits for it.
    cmcd(held, 2_000);
    await sleep(1_500);
    // Meanwhile a new session's first segment (its entry goes at once), and a 5xx of the OCA.
    const fresh = crypto.randomUUID();
    const at = Date.now();
    cmcd(fresh, 1_000);
    recordOutcome(paced, SITE, OCA, fresh, { error: true, latencyMs: 5 }, w);
    expect(await until(() => cmcdOf(fresh).length === 1, 12_000)).toBe(true);
    expect(cmcdOf(fresh)[0].at - at).toBeLessThan(3_000);
    const errors = syncs.sent.find((s) => s.at >= at && (s.report.ocas[OCA]?.errors ?? 0) > 0);
    expect(errors && errors.at - at).toBeLessThan(3_000);
    // The held entry still goes when due, with its bytes.
    expect(await until(() => cmcdOf(held).length === 2, 12_000)).toBe(true);
    expect(cmcdOf(held)[1].report.cmcd?.find((c) => c.sessionId === held)?.bytes).toBe(2_000);
    while (pending.length) await pending.shift();
  }, 40_000);

  it("sends an entry held near the end of the running flush's budget when it falls due, without another request", async () => {
    const SITE = "lumen-lax";
    const OCA = "lumen-lax-1";
    const paced = { ...env, SESSION_ENTRY_EVERY_S: "20" };
    const pending: Promise<unknown>[] = [];
    const w = (p: Promise<unknown>) => void pending.push(p);
    const streams = env.MEMBER_STREAMS.idFromName(`flush-${crypto.randomUUID()}`).toString();
    const served = (id: string, bytes: number) => recordServed(paced, SITE, OCA, id, bytes, w, { home: true, streams });
    const entries = (id: string) =>
      syncs.sent.flatMap((s) => s.report.ocas[OCA]?.sessions.filter((e) => e.id === id).map((e) => ({ at: s.at, bytes: e.bytes })) ?? []);
    const t0 = Date.now();
    // One viewer keeps the link's flush running: its first entry at once, its next held 20 s.
    const early = crypto.randomUUID();
    served(early, 1_000);
    expect(await until(() => entries(early).length === 1, 3_000)).toBe(true);
    served(early, 1_000);
    // Another viewer's first segment goes with a request's own sync, 4 s in; its last, held 20 s from
    // then, falls due after the flush started at the first has run out of its budget (23.5 s).
    await sleep(Math.max(0, t0 + 4_000 - Date.now()));
    const late = crypto.randomUUID();
    served(late, 1_000);
    expect(
      await until(
        () => entries(late).length === 1,
        3_000,
        () => void siteView(paced, SITE, w),
      ),
    ).toBe(true);
    served(late, 2_000);
    // No request comes after: the held bytes still reach the site.
    await sleep(Math.max(0, entries(late)[0].at + 20_000 + 2_500 - Date.now()));
    while (pending.length) await pending.shift();
    expect(entries(early).map((e) => e.bytes)).toEqual([1_000, 1_000]);
    expect(entries(late).map((e) => e.bytes)).toEqual([1_000, 2_000]);
  }, 60_000);
});
