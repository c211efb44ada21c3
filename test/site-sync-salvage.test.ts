import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { linkMemory, recordCmcd } from "../workers/shared/site-link";
import type { SentReport } from "../workers/shared/unacked-reports";

/**
 * A site that commits each sync but answers after the isolate gave up (a slow object) leaves every
 * report unanswered: past the most a call carries, the oldest is let go. Its CMCD must not count again:
 * put back in the batch under a new number, it did, every time the site went on committing and losing
 * its answers. Every report the link sends says how long ago it was taken.
 */

const SITE = "polder-ams";
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a report let go unanswered", () => {
  it("counts its CMCD once when the site had committed it and its answers were lost", async () => {
    const { OcaSite } = await import("../durable-objects/oca-site");
    const proto = OcaSite.prototype as unknown as { edgeSync: (...a: unknown[]) => Promise<unknown> };
    const real = proto.edgeSync;
    const calls: Array<{ seqs: number[]; ages: number[]; late: boolean }> = [];
    // Late (committed, answered after the isolate's 500 ms) until a report numbered 5 goes: by then
    // report 1 has been let go (a call carries four).
    proto.edgeSync = async function (this: unknown, ...a: unknown[]) {
      const reports = [...((a[2] as SentReport[] | undefined) ?? []), ...(a[0] ? [a[0] as SentReport] : [])];
      const late = Math.max(0, ...reports.map((r) => r.seq ?? 0)) < 5;
      calls.push({ seqs: reports.map((r) => r.seq ?? 0), ages: reports.map((r) => r.ageMs ?? -1), late });
      const view = await real.apply(this, a);
      if (late) await sleep(800);
      return view;
    };
    const pending: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void pending.push(p);
    const sessions: string[] = [];
    const tag = crypto.randomUUID().slice(0, 8);
    try {
      // A new session's CMCD every quarter second, until a call is answered: each call has a new report.
      for (let i = 0; i < 160 && !calls.some((c) => !c.late); i++) {
        const sessionId = `salv-${tag}-${i}`;
        sessions.push(sessionId);
        recordCmcd(
          env,
          SITE,
          { sessionId, titleId: "salvage-title", oca: "polder-ams/polder-ams-1", bytes: 1_000, at: Date.now() },
          { sid: null, br: 3000, bl: 10000, mtp: 20000, bs: false, su: true },
          waitUntil,
        );
        await sleep(250);
      }
      expect(calls.some((c) => !c.late)).toBe(true);
      for (let i = 0; i < 200 && (pending.length || linkMemory(SITE).unacked > 0 || linkMemory(SITE).cmcd > 0); i++) {
        while (pending.length) await pending.shift();
        await sleep(100);
      }
      expect(linkMemory(SITE)).toMatchObject({ unacked: 0, cmcd: 0 });
    } finally {
      proto.edgeSync = real;
    }
    // Each session's one request counted once: none twice (a salvaged report the site had counted is
    // skipped), none lost (every call before the answer was committed).
    const counted = await Promise.all(sessions.map(async (id) => (await site().cmcdSession(id))?.requests ?? 0));
    expect(counted.filter((n) => n !== 1)).toEqual([]);
    // A call carries four reports at most, the salvaged one included.
    expect(Math.max(...calls.map((c) => c.seqs.length))).toBeLessThanOrEqual(4);
    // A report sent again says how long ago it was taken: at least the 500 ms the isolate waited on it.
    const resent = calls.find((c) => c.seqs.length > 1);
    expect(resent?.ages[0]).toBeGreaterThanOrEqual(500);
  }, 90_000);
});
