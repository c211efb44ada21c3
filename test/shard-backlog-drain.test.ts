import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { OcaSite } from "../durable-objects/oca-site";
import type { SessionLog } from "../durable-objects/session-log";
import { CATCH_UP_BURST, CatchUpBudget } from "../durable-objects/site/catch-up-budget";
import { storeBatch } from "../durable-objects/site/session-events";
import { cursorOf, watchForwards } from "./shard-forwards";

/**
 * A site takes event shards' catch-up forwards a share at a time (CatchUpBudget: 5,000 reports a second
 * across its 64 shards). A shard well behind after an outage still receives its live traffic, which
 * joins the back of its backlog: if its live traffic waited for the share too, a site whose shards
 * together receive more than the share (a site of 50,000 viewers, at a QoE batch per 10 s each) would
 * never see its backlogs drain. Only the catching up waits for the share; the live traffic's worth goes.
 */

const SITE_ID = "rheinnet-ber";
const TITLE = "backlog-drain-title";
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE_ID));

/** The site's catch-up share as taken by other shards: none now, and next to none coming. */
const shareTakenByOthers = () =>
  runInDurableObject(site(), (o: OcaSite) => {
    const budget = new CatchUpBudget(1);
    budget.take(CATCH_UP_BURST, Date.now());
    (o as unknown as { catchUp: CatchUpBudget }).catchUp = budget;
  });

/** A shard holding `n` batches of one byte that arrived a minute ago (the outage's backlog). */
async function behindShard(shardNo: number, n: number): Promise<DurableObjectStub<SessionLog>> {
  const shard = env.SESSION_LOG.get(env.SESSION_LOG.idFromName(`${SITE_ID}:${shardNo}`));
  const now = Date.now();
  await runInDurableObject(shard, async (_o, state) => {
    const session = { sessionId: crypto.randomUUID(), titleId: TITLE, startedAt: now - 3_600_000, estBytes: 1e12, topBps: 8e6 };
    for (let k = 0; k < n; k++) storeBatch(state.storage.sql, session, `old-${k}`, [{ type: "progress", bytes: 1 }], 1, now - 60_000);
    await state.storage.setAlarm(now + 1000);
  });
  return shard;
}

/** `n` batches of live traffic as the control plane stores them (one byte each, over sessions of 100 batches). */
async function liveTraffic(shard: DurableObjectStub<SessionLog>, n: number): Promise<void> {
  const now = Date.now();
  let session = { sessionId: "", titleId: TITLE, startedAt: now - 600_000, estBytes: 1e12, topBps: 8e6 };
  for (let k = 0; k < n; k++) {
    if (k % 100 === 0) session = { ...session, sessionId: crypto.randomUUID() };
    const r = await shard.recordEvents({ session, batchId: `live-${k}`, events: [{ type: "progress", bytes: 1 } as never], now: Date.now() });
    expect(r.accepted).toBe(1);
  }
}

describe("an event shard behind after an outage, the site's catch-up share taken by other shards", () => {
  it("still forwards as many batches as its live traffic brings, so its backlog never grows", async () => {
    const shard = await behindShard(30, 3_000);
    const forwards = await watchForwards(shard, SITE_ID);
    await shareTakenByOthers();
    // Two rounds of a call's worth of live traffic: each round, the shard forwards a call's worth.
    for (const round of [1, 2]) {
      await liveTraffic(shard, 1_000);
      expect(await runDurableObjectAlarm(shard)).toBe(true);
      expect(await cursorOf(shard)).toBe(round * 1_000);
    }
    // What it sent went unrationed (its live traffic's worth), and the site counted it.
    expect(forwards.map((f) => [f.ids.length, f.catchUp])).toEqual([
      [1_000, false],
      [1_000, false],
    ]);
    // With no live traffic since, the rest of the backlog (a minute behind) waits for the site's share.
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await cursorOf(shard)).toBe(2_000);
    expect(forwards.at(-1)?.catchUp).toBe(true);
  }, 60_000);
});
