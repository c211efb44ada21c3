import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dayNumber } from "../fill/day";
import { recordCmcd, recordPlayAt, recordServed } from "../workers/shared/site-link";

/**
 * An isolate gives up on a site's answer after half a second and sends the batch's plays and CMCD
 * again with its next sync. The site commits a report before it writes D1, so its answer must not wait
 * on D1: a slow D1 (injected by slowing the site's publish, which the local D1 never is) would turn
 * every report into two. And a play sent twice is one play and one miss. Each report is numbered on its
 * link, and one whose answer did not come is sent again as it was: counted once whether the call failed
 * before the site committed it or after. An event shard's forward of QoE bytes sent again (its answer
 * lost after the site committed it) is counted once.
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a site's answer to a sync", () => {
  it("does not wait on D1, so a slow D1 write does not make the isolate send its plays and CMCD twice", async () => {
    const SITE = "polder-ams";
    const { OcaSite } = await import("../durable-objects/oca-site");
    const proto = OcaSite.prototype as unknown as { publishLoad: (...a: unknown[]) => Promise<unknown> };
    const real = proto.publishLoad;
    let slow = true;
    proto.publishLoad = async function (this: unknown, ...a: unknown[]) {
      if (slow) await sleep(800); // a D1 write slower than the isolate waits for the answer
      return real.apply(this, a);
    };
    const pending: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void pending.push(p);
    const now = Date.now();
    const sessionId = `resend-${crypto.randomUUID().slice(0, 8)}`;
    try {
      recordPlayAt(
        env,
        SITE,
        {
          sessionId,
          titleId: "resend-title",
          day: dayNumber(now, "Europe/Amsterdam"),
          estBytes: 1e9,
          topBps: 5e6,
          startedAt: now - 60_000,
          endsAt: now + 3_600_000,
          miss: { ocaId: "polder-ams-1", kind: "content" },
        },
        waitUntil,
      );
      recordCmcd(
        env,
        SITE,
        { sessionId, titleId: "resend-title", oca: "polder-ams/polder-ams-1", bytes: 1_000_000, at: now },
        { sid: null, br: 3000, bl: 10000, mtp: 20000, bs: true, su: true },
        waitUntil,
      );
      while (pending.length) await pending.shift();
      await sleep(900);
      slow = false;
      // Any later activity flushes what a timed-out sync would have put back in the batch.
      recordCmcd(
        env,
        SITE,
        { sessionId: "resend-other", titleId: "resend-title", oca: "polder-ams/polder-ams-1", bytes: 1, at: Date.now() },
        { sid: null, br: null, bl: null, mtp: null, bs: false, su: false },
        waitUntil,
      );
      while (pending.length) await pending.shift();
    } finally {
      proto.publishLoad = real;
    }
    const cmcd = await site(SITE).cmcdSession(sessionId);
    expect(cmcd).toMatchObject({ requests: 1, bytes: 1_000_000, stalls: 1, startups: 1, countedBytes: 1_000_000 });
    const misses = (await site(SITE).describe()).misses.filter((m) => m.titleId === "resend-title");
    expect(misses).toEqual([expect.objectContaining({ ocaId: "polder-ams-1", kind: "content", count: 1 })]);
    const views = (await site(SITE).views(0, 1e6)).filter((v) => v.titleId === "resend-title");
    expect(views).toEqual([expect.objectContaining({ plays: 1, bytes: 1_000_000, estBytes: 0 })]);
  }, 30_000);
});

/** Served bytes a site counted, all days and sources. */
const servedBytes = async (id: string) => (await site(id).servedByDay(0, 1e6)).reduce((s, d) => s + d.bytes, 0);

/** Replaces the site object's edgeSync for a test (the real one runs inside the wrapper); returns the restore. */
async function wrapEdgeSync(wrap: (real: (...a: unknown[]) => Promise<unknown>, self: unknown, a: unknown[]) => Promise<unknown>) {
  const { OcaSite } = await import("../durable-objects/oca-site");
  const proto = OcaSite.prototype as unknown as { edgeSync: (...a: unknown[]) => Promise<unknown> };
  const real = proto.edgeSync;
  proto.edgeSync = function (this: unknown, ...a: unknown[]) {
    return wrap(real, this, a);
  };
  return () => {
    proto.edgeSync = real;
  };
}

/**
 * Runs `fn` with the site unreachable (its chaos switch) and its edgeSync calls counted; `drain` awaits
 * what the isolate handed to waitUntil. The site is reachable again, and edgeSync its own, after.
 */
async function whileDown(
  siteId: string,
  fn: (t: { calls: () => number; waitUntil: (p: Promise<unknown>) => void; drain: () => Promise<void> }) => Promise<void>,
): Promise<void> {
  let calls = 0;
  const restore = await wrapEdgeSync(async (real, self, a) => {
    calls++;
    return real.apply(self, a);
  });
  const pending: Promise<unknown>[] = [];
  try {
    await site(siteId).setUnreachable(true);
    await fn({
      calls: () => calls,
      waitUntil: (p) => void pending.push(p),
      drain: async () => {
        while (pending.length) await pending.shift();
      },
    });
  } finally {
    restore();
    await site(siteId).setUnreachable(false);
  }
}

describe("a numbered report sent again", () => {
  it("counts once when the site's answer was lost after it committed (CMCD and served bytes not doubled)", async () => {
    const SITE = "rheinnet-ber";
    const before = await servedBytes(SITE);
    // The local runtime never loses an answer: the site's object commits, then answers too late.
    let late = true;
    let calls = 0;
    const restore = await wrapEdgeSync(async (real, self, a) => {
      calls++;
      const view = await real.apply(self, a);
      if (late) await sleep(800);
      return view;
    });
    const pending: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void pending.push(p);
    const sessionId = `late-${crypto.randomUUID().slice(0, 8)}`;
    try {
      recordServed(env, SITE, "rheinnet-ber-1", sessionId, 2_000_000, waitUntil);
      recordCmcd(
        env,
        SITE,
        { sessionId, titleId: "late-title", oca: "rheinnet-ber/rheinnet-ber-1", bytes: 2_000_000, at: Date.now() },
        { sid: null, br: 3000, bl: 10000, mtp: 20000, bs: false, su: true },
        waitUntil,
      );
      // The flush's call is committed, and its answer comes after the isolate gave up on it (at 500 ms;
      // its retry comes half an interval to an interval after that).
      for (let i = 0; i < 100 && calls === 0; i++) await sleep(20);
      await sleep(600);
      late = false;
      // The flush's retry an interval later carries the unanswered report again; then the next activity's own.
      while (pending.length) await pending.shift();
      expect(calls).toBe(2);
      recordServed(env, SITE, "rheinnet-ber-2", `${sessionId}-b`, 1_000, waitUntil);
      while (pending.length) await pending.shift();
    } finally {
      restore();
    }
    expect(await site(SITE).cmcdSession(sessionId)).toMatchObject({ requests: 1, bytes: 2_000_000, startups: 1 });
    expect((await servedBytes(SITE)) - before).toBe(2_001_000);
  }, 30_000);

  it("loses nothing when the site could not be reached: its bytes count once it is back, with no other request to carry them", async () => {
    const SITE = "lakeshore-chi";
    const before = await servedBytes(SITE);
    await whileDown(SITE, async ({ calls, waitUntil, drain }) => {
      recordServed(env, SITE, "lakeshore-chi-1", "down-a", 3_000_000, waitUntil);
      // The flush's sync fails; the site is back before its one retry an interval later, with no other request.
      for (let i = 0; i < 100 && calls() === 0; i++) await sleep(20);
      await sleep(100);
      expect(calls()).toBe(1);
      expect((await servedBytes(SITE)) - before).toBe(0);
      await site(SITE).setUnreachable(false);
      await drain();
      expect(calls()).toBe(2);
      expect((await servedBytes(SITE)) - before).toBe(3_000_000);
      // Later reports carry on from there.
      recordServed(env, SITE, "lakeshore-chi-2", "down-b", 5_000, waitUntil);
      await drain();
    });
    expect((await servedBytes(SITE)) - before).toBe(3_005_000);
  }, 30_000);

  it("waits out a blip that failed its call and the retry for the circuit's first seconds, not 30 s: it counts with no other request", async () => {
    const SITE = "ixp-sjc";
    const before = await servedBytes(SITE);
    await whileDown(SITE, async ({ calls, waitUntil, drain }) => {
      recordServed(env, SITE, "ixp-sjc-1", "blip-a", 4_000_000, waitUntil);
      // The flush's sync and its retry half an interval to an interval later both fail: the circuit opens.
      for (let i = 0; i < 200 && calls() < 2; i++) await sleep(20);
      expect(calls()).toBe(2);
      await site(SITE).setUnreachable(false);
      const backAt = Date.now();
      await drain();
      // Tried again once the circuit's first wait (1.5-2 s) was over, by the same flush.
      expect(calls()).toBe(3);
      expect(Date.now() - backAt).toBeLessThan(5_000);
      expect((await servedBytes(SITE)) - before).toBe(4_000_000);
    });
  }, 30_000);

  it("is counted once by its number, however often its calls arrive and in whatever order they carry it", async () => {
    const stub = site("ixp-ams");
    const before = await servedBytes("ixp-ams");
    const report = (seq: number, bytes: number) => ({
      seq,
      windowMs: 1_000,
      ocas: { "ixp-ams-1": { bytes, requests: 1, bytesFrom: { ixp: bytes }, sessions: [{ id: `n-${seq}`, bytes }] } },
    });
    await stub.edgeSync(report(2, 200), "iso-order", [report(1, 100)]);
    // The first call's copy arriving late, and a resend of both with a third (listed out of order).
    await stub.edgeSync(report(1, 100), "iso-order");
    await stub.edgeSync(report(2, 200), "iso-order", [report(3, 400), report(1, 100)]);
    // Another isolate's numbers are its own; a direct call with no number always counts.
    await stub.edgeSync(report(1, 800), "iso-other");
    await stub.edgeSync({ windowMs: 1_000, ocas: { "ixp-ams-1": { bytes: 1, bytesFrom: { ixp: 1 }, sessions: [] } } } as never);
    expect((await servedBytes("ixp-ams")) - before).toBe(1_501);
    // A new isolate whose first call lists them out of order: all three count (by number, not as listed).
    await stub.edgeSync(report(2, 200), "iso-fresh", [report(3, 400), report(1, 100)]);
    expect((await servedBytes("ixp-ams")) - before).toBe(2_201);
    // An isolate on the code before (a rollout's first step) sends its reports as an array: counted, once.
    await stub.edgeSync([report(1, 100), report(2, 200)] as never, "iso-old");
    await stub.edgeSync([report(1, 100), report(2, 200)] as never, "iso-old");
    expect((await servedBytes("ixp-ams")) - before).toBe(2_501);
  });

  it("that cannot be counted is logged and taken as seen, so it does not fail its isolate's later calls", async () => {
    const stub = site("ixp-fra");
    const before = await servedBytes("ixp-fra");
    const { OcaSite } = await import("../durable-objects/oca-site");
    const proto = OcaSite.prototype as unknown as { ingestReport: (r: { seq?: number }, now: number) => boolean };
    const real = proto.ingestReport;
    // A defect in counting one report (none is known: every field is checked before it is written).
    proto.ingestReport = function (this: unknown, r: { seq?: number }, now: number) {
      const signalled = real.call(this, r, now);
      if (r.seq === 1) throw new Error("injected fault counting report 1");
      return signalled;
    };
    const report = (seq: number, bytes: number) => ({
      seq,
      windowMs: 1_000,
      ocas: { "ixp-fra-1": { bytes, requests: 1, bytesFrom: { ixp: bytes }, sessions: [] } },
    });
    try {
      await stub.edgeSync(report(2, 200), "iso-fault", [report(1, 100)]);
      await stub.edgeSync(report(3, 400), "iso-fault", [report(1, 100)]);
    } finally {
      proto.ingestReport = real;
    }
    // Report 1's writes were rolled back with its savepoint; 2 and 3 counted once each.
    expect((await servedBytes("ixp-fra")) - before).toBe(600);
  });
});

describe("an event shard's forward of reported bytes", () => {
  it("is counted once when it is sent again, and a shard's new run counts afresh", async () => {
    const stub = site("rheinnet-muc");
    const now = Date.now();
    const report = (id: number, sessionId: string) => ({
      id,
      sessionId,
      titleId: "forward-title",
      startedAt: now - 60_000,
      estBytes: 1e9,
      topBps: 8e6,
      bytes: 1_000_000,
      at: now,
    });
    const batch = [report(1, "fwd-a"), report(2, "fwd-b")];
    expect(await stub.recordReports(batch, { shard: "rheinnet-muc:3/run-1", upTo: 2 })).toBe(2_000_000);
    // The same forward again (its answer was lost after the site committed it): nothing more.
    expect(await stub.recordReports(batch, { shard: "rheinnet-muc:3/run-1", upTo: 2 })).toBe(0);
    // The next forward carries the next ids; one sent again with them counts only the new.
    expect(await stub.recordReports([...batch, report(3, "fwd-c")], { shard: "rheinnet-muc:3/run-1", upTo: 3 })).toBe(1_000_000);
    // A shard whose storage started afresh names a new run: its ids count from the start.
    expect(await stub.recordReports([report(1, "fwd-d")], { shard: "rheinnet-muc:3/run-2", upTo: 1 })).toBe(1_000_000);
    const views = (await stub.views(0, 1e6)).filter((v) => v.titleId === "forward-title");
    expect(views.reduce((s, v) => s + v.bytes, 0)).toBe(4_000_000);
  });
});
