import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { OcaSite } from "../durable-objects/oca-site";
import { CATCH_UP_BEHIND_MS, failedForwardWaitMs, type SessionLog } from "../durable-objects/session-log";
import { CATCH_UP_BURST, CATCH_UP_REPORTS_PER_S, CatchUpBudget } from "../durable-objects/site/catch-up-budget";
import { storeBatch } from "../durable-objects/site/session-events";
import type { ByteReport } from "../workers/shared/site-view";
import { alarmOf, cursorOf, noForwardArmed, watchForwards } from "./shard-forwards";

/**
 * After a site outage every event shard of the site holds a backlog. The site takes their catch-up
 * forwards (full calls more than 10 s behind) a share at a time, so its isolates' syncs are not queued
 * behind 64 of them; live forwards are never held back, however full; a shard whose forwards fail
 * waits longer after each failure.
 */

const SITE_ID = "rheinnet-ber";
const TITLE = "catch-up-title";
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE_ID));

/** Reports of one new session each, numbered from `from`. */
function reports(from: number, n: number, bytes = 1000): ByteReport[] {
  const at = Date.now();
  return Array.from({ length: n }, (_, k) => ({
    id: from + k,
    sessionId: crypto.randomUUID(),
    titleId: TITLE,
    startedAt: at - 60_000,
    estBytes: 1e9,
    topBps: 8e6,
    bytes,
    at,
  }));
}

/** Gives the site object a budget of `perSecond` reports a second from now on: a full call's share to start, or none when `spent`. */
const budgetSite = (perSecond: number, spent = false) =>
  runInDurableObject(site(), (o: OcaSite) => {
    const budget = new CatchUpBudget(perSecond);
    if (spent) budget.take(CATCH_UP_BURST, Date.now());
    (o as unknown as { catchUp: CatchUpBudget }).catchUp = budget;
  });

const reportedOf = (sessionIds: string[]) =>
  runInDurableObject(
    site(),
    (_o, state) =>
      state.storage.sql
        .exec<{ n: number }>(
          `SELECT COALESCE(SUM(reported), 0) AS n FROM session_views WHERE session_id IN (SELECT value FROM json_each(?))`,
          JSON.stringify(sessionIds),
        )
        .one().n,
  );

describe("the site's budget for catch-up forwards", () => {
  it("takes a full call at once, then refills at its rate, and says how long a refused call must wait", () => {
    const budget = new CatchUpBudget();
    const t = 1_000_000;
    expect(budget.take(CATCH_UP_BURST, t)).toBe(0);
    // Empty: a full call must wait for the whole burst to come back.
    expect(budget.take(CATCH_UP_BURST, t)).toBe(Math.ceil((CATCH_UP_BURST * 1000) / CATCH_UP_REPORTS_PER_S));
    // A refusal spends nothing: half the wait later, half a call is there.
    const half = (CATCH_UP_BURST * 500) / CATCH_UP_REPORTS_PER_S;
    expect(budget.take(CATCH_UP_BURST / 2, t + half)).toBe(0);
    expect(budget.take(1, t + half)).toBeGreaterThan(0);
    // It never holds more than one call, however long it was idle.
    expect(budget.take(CATCH_UP_BURST, t + 3_600_000)).toBe(0);
    expect(budget.take(CATCH_UP_BURST / 10, t + 3_600_000)).toBeGreaterThan(0);
  });

  it("holds back a catch-up forward it has no share for, counting nothing, and never a live one", async () => {
    await budgetSite(1);
    const first = reports(1, 1000);
    expect((await site().forwardReports(first, { shard: `${SITE_ID}:1/run-a`, upTo: 1000, catchUp: true })).counted).toBe(1000 * 1000);
    const second = reports(1001, 1000);
    const held = await site().forwardReports(second, { shard: `${SITE_ID}:1/run-a`, upTo: 2000, catchUp: true });
    expect(held.counted).toBe(0);
    expect(held.deferredMs).toBeGreaterThan(900_000);
    expect(await reportedOf(second.map((r) => r.sessionId))).toBe(0);
    // A live forward (not a full call) is taken whatever the budget; so is a shard on the code before.
    const live = reports(2001, 10);
    expect(await site().forwardReports(live, { shard: `${SITE_ID}:2/run-a`, upTo: 2010 })).toEqual({ counted: 10 * 1000 });
    expect(await site().recordReports(reports(1, 5), { shard: `${SITE_ID}:3/run-a`, upTo: 5 })).toBe(5 * 1000);
    // Its share back, the held call counts once.
    await budgetSite(CATCH_UP_REPORTS_PER_S);
    expect((await site().forwardReports(second, { shard: `${SITE_ID}:1/run-a`, upTo: 2000, catchUp: true })).counted).toBe(1000 * 1000);
    expect(await reportedOf(second.map((r) => r.sessionId))).toBe(1000 * 1000);
  });
});

describe("an event shard with a backlog", () => {
  /** A shard holding `n` batches of one byte each, one session, that arrived `agoMs` ago, with its alarm set. */
  async function backlog(shardNo: number, n: number, agoMs = 60_000): Promise<{ shard: DurableObjectStub<SessionLog>; sessionId: string }> {
    const shard = env.SESSION_LOG.get(env.SESSION_LOG.idFromName(`${SITE_ID}:${shardNo}`));
    const sessionId = crypto.randomUUID();
    const now = Date.now();
    await runInDurableObject(shard, async (_o, state) => {
      const session = { sessionId, titleId: TITLE, startedAt: now - 3_600_000, estBytes: 1e12, topBps: 8e6 };
      for (let k = 0; k < n; k++) storeBatch(state.storage.sql, session, `b-${k}`, [{ type: "progress", bytes: 1 }], 1, now - agoMs);
      await state.storage.setAlarm(now + 1000);
    });
    return { shard, sessionId };
  }

  it("comes back when the site says, then forwards the rest, every batch counted once", async () => {
    const { shard, sessionId } = await backlog(10, 2_500);
    const forwards = await watchForwards(shard, SITE_ID);
    // The site has a call's share now, and takes a second only after 20 s.
    await budgetSite(CATCH_UP_BURST / 20);
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await cursorOf(shard)).toBe(1000);
    expect(await alarmOf(shard)).toBeLessThanOrEqual(Date.now());
    // The second full call is held back: the cursor stays, and the shard waits as long as it was told.
    const before = Date.now();
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await cursorOf(shard)).toBe(1000);
    expect(await alarmOf(shard)).toBeGreaterThanOrEqual(before + 19_000);
    // Told again when it is due (here: the site's share given back), it sends the same call.
    await budgetSite(CATCH_UP_REPORTS_PER_S);
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await cursorOf(shard)).toBe(2000);
    // The last 500 are not a full call: sent at once, even with the budget spent.
    await budgetSite(1, true);
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await cursorOf(shard)).toBe(2500);
    expect(forwards.map((f) => [f.ids.length, f.catchUp])).toEqual([
      [1000, true],
      [1000, true],
      [1000, true],
      [500, false],
    ]);
    expect(forwards[2]).toEqual(forwards[1]);
    expect(await reportedOf([sessionId])).toBe(2_500);
    expect(await noForwardArmed(shard)).toBe(true);
  });

  it("is never held back while it keeps up, however many batches fill its calls", async () => {
    // Live traffic of over a thousand batches a second: every call full, none behind by more than 10 s.
    const { shard, sessionId } = await backlog(13, 2_500, CATCH_UP_BEHIND_MS / 2);
    const forwards = await watchForwards(shard, SITE_ID);
    await budgetSite(1, true);
    for (let k = 0; k < 3; k++) expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(forwards.map((f) => [f.ids.length, f.catchUp])).toEqual([
      [1000, false],
      [1000, false],
      [500, false],
    ]);
    expect(await cursorOf(shard)).toBe(2500);
    expect(await reportedOf([sessionId])).toBe(2_500);
  });

  it("waits longer after each failed forward, up to 30 s, and a second again once one goes through", async () => {
    const { shard } = await backlog(11, 3);
    let failing = true;
    await watchForwards(shard, SITE_ID, { fail: () => failing });
    const waits: number[] = [];
    for (let k = 0; k < 7; k++) {
      const before = Date.now();
      expect(await runDurableObjectAlarm(shard)).toBe(true);
      waits.push((await alarmOf(shard))! - before);
    }
    // Each drawn from the upper half of 1, 2, 4, 8, 16, 30, 30 s (a little slack for the clock).
    [1, 2, 4, 8, 16, 30, 30].forEach((s, k) => {
      expect(waits[k]).toBeGreaterThanOrEqual(s * 500 - 50);
      expect(waits[k]).toBeLessThanOrEqual(s * 1000 + 50);
    });
    expect(await cursorOf(shard)).toBe(0);
    failing = false;
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await cursorOf(shard)).toBe(3);
    expect([failedForwardWaitMs(1, 0), failedForwardWaitMs(1, 1), failedForwardWaitMs(40, 1)]).toEqual([500, 1000, 30_000]);
  });

  it("forwards to a site object on the code before through the call it had", async () => {
    const { shard, sessionId } = await backlog(12, 4);
    const forwards = await watchForwards(shard, SITE_ID, { missing: true });
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(forwards.map((f) => f.method)).toEqual(["recordReports"]);
    expect(await cursorOf(shard)).toBe(4);
    expect(await reportedOf([sessionId])).toBe(4);
  });
});
