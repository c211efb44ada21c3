import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { OcaSite } from "../durable-objects/oca-site";
import { storeBatch } from "../durable-objects/site/session-events";
import { alarmOf, cursorOf, noForwardArmed, watchForwards } from "./shard-forwards";

/**
 * An event shard forwards its batches' bytes to its site on an alarm. The alarm must be set whenever a
 * batch waits, whatever failed on the way, and a shard whose forwards fail must keep backing off though
 * the runtime restarts it between them: it hibernates after 10 s without a call, which a wait of 16 s is.
 */

const SITE_ID = "rheinnet-muc";
const TITLE = "forward-retries-title";
const shardOf = (n: number) => env.SESSION_LOG.get(env.SESSION_LOG.idFromName(`${SITE_ID}:${n}`));

describe("an event shard's forward", () => {
  it("goes out for a batch whose first call stored it and then failed, once its client sends it again", async () => {
    const shard = shardOf(40);
    const forwards = await watchForwards(shard, SITE_ID);
    const now = Date.now();
    const sessionId = crypto.randomUUID();
    const batch = {
      session: { sessionId, titleId: TITLE, startedAt: now - 60_000, estBytes: 1e9, topBps: 8e6 },
      batchId: "b-1",
      events: [{ type: "progress" as const, bytes: 4_000 }],
      now,
    };
    // The first call stored the batch and failed before it armed the forward (as when the object is reset
    // mid-call, a deploy's restart), so the client was told to send it again: the batch stored, no alarm.
    // (Made by storing it directly: a call made to fail by a throwing setAlarm also surfaces its rejection
    // as an unhandled one in the test runner.)
    await runInDurableObject(shard, async (_o, state) => {
      expect(storeBatch(state.storage.sql, batch.session, batch.batchId, batch.events, 4_000, now)).toBe("stored");
      await state.storage.deleteAlarm();
    });
    // Sent again: stored once (a duplicate), and its bytes still go to the site.
    expect(await shard.recordEvents(batch)).toMatchObject({ duplicate: true });
    expect(await alarmOf(shard)).not.toBeNull();
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(forwards.map((f) => f.sessions)).toEqual([[sessionId]]);
    const reported = await runInDurableObject(env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE_ID)), (_o, state) =>
      state.storage.sql.exec<{ reported: number }>(`SELECT reported FROM session_views WHERE session_id = ?`, sessionId).one(),
    );
    expect(reported.reported).toBe(4_000);
    // A duplicate of a batch already forwarded arms no forward.
    expect(await shard.recordEvents(batch)).toMatchObject({ duplicate: true });
    expect(await noForwardArmed(shard)).toBe(true);
  });

  it("keeps backing off after failed forwards when the object restarts between them, and starts afresh once one goes through", async () => {
    const shard = shardOf(41);
    // The site fails every forward while `failing` (the prototype: RPC dispatches to it, in every instance).
    const proto = OcaSite.prototype as unknown as { forwardReports: (...a: unknown[]) => Promise<unknown> };
    const real = proto.forwardReports;
    let failing = true;
    proto.forwardReports = async function (this: unknown, ...a: unknown[]) {
      if (failing) throw new Error("injected: site unreachable");
      return real.apply(this, a);
    };
    const store = (batchId: string) =>
      runInDurableObject(shard, async (_o, state) => {
        const now = Date.now();
        const session = { sessionId: crypto.randomUUID(), titleId: TITLE, startedAt: now - 60_000, estBytes: 1e9, topBps: 8e6 };
        storeBatch(state.storage.sql, session, batchId, [{ type: "progress", bytes: 1 }], 1, now);
        await state.storage.setAlarm(now + 1_000);
      });
    /** Runs the shard's alarm after a restart of the object, as hibernation between them is: the ms to its next try. */
    const failAfterRestart = async () => {
      await evictDurableObject(shard);
      const before = Date.now();
      expect(await runDurableObjectAlarm(shard)).toBe(true);
      return (await alarmOf(shard))! - before;
    };
    try {
      await store("a-1");
      const waits: number[] = [];
      for (let k = 0; k < 6; k++) waits.push(await failAfterRestart());
      // Each drawn from the upper half of 1, 2, 4, 8, 16, 30 s (a little slack for the clock).
      [1, 2, 4, 8, 16, 30].forEach((s, k) => {
        expect(waits[k], `failure ${k + 1}`).toBeGreaterThanOrEqual(s * 500 - 50);
        expect(waits[k], `failure ${k + 1}`).toBeLessThanOrEqual(s * 1000 + 50);
      });
      // The site back: the batch goes, and the next failure waits a second again, restart or not.
      failing = false;
      await evictDurableObject(shard);
      expect(await runDurableObjectAlarm(shard)).toBe(true);
      expect(await cursorOf(shard)).toBeGreaterThan(0);
      failing = true;
      await store("a-2");
      expect(await failAfterRestart()).toBeLessThanOrEqual(1_050);
    } finally {
      proto.forwardReports = real;
    }
  });
});
