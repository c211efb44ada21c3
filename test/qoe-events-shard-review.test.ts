import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SessionLog } from "../durable-objects/session-log";
import { EVENT_RETENTION_MS, sessionEvents, storeBatch } from "../durable-objects/site/session-events";
import type { QoeEvent } from "../shared/events";
import { alarmOf } from "./shard-forwards";

/**
 * An event shard's bounds that no forward exercises: batches with nothing for the site still leave at
 * the end of their retention, and an operator's read of a long session reads no more than it answers.
 */

const DAY = 86_400_000;
const shardOf = (name: string): DurableObjectStub<SessionLog> => env.SESSION_LOG.get(env.SESSION_LOG.idFromName(name));

describe("batches with nothing for the site (no bytes, no stop)", () => {
  it("arm the wake that expires them, and go once past the retention, though no other batch arrives", async () => {
    const shard = shardOf("lumen-nyc:retention-review");
    const session = { sessionId: crypto.randomUUID(), titleId: "t", startedAt: Date.now() - 60_000, estBytes: 1e9, topBps: 8e6 };
    const batch = (batchId: string, now: number) => ({ session, batchId, events: [{ type: "rebuffer" as const, durationMs: 800 }], now });
    const t0 = Date.now();
    expect(await shard.recordEvents(batch("quiet-1", t0))).toMatchObject({ accepted: 1 });
    expect(await shard.recordEvents(batch("quiet-2", t0 + 1))).toMatchObject({ accepted: 1 });
    // The first may go once its retention ends (the newest stays: new ids start above it): a wake is armed for then.
    const at = await alarmOf(shard);
    expect(at).not.toBeNull();
    expect(at!).toBeGreaterThanOrEqual(t0 + EVENT_RETENTION_MS);
    expect(at!).toBeLessThanOrEqual(t0 + EVENT_RETENTION_MS + 2_000);

    // Once past it (its accepted time moved back 8 days), the wake takes it.
    await runInDurableObject(shard, async (_o, state) => {
      state.storage.sql.exec(`UPDATE qoe_batches SET accepted_at = accepted_at - ? WHERE batch_id = 'quiet-1'`, 8 * DAY);
      await state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    const left = await runInDurableObject(shard, (_o, state) => state.storage.sql.exec<{ batch_id: string }>(`SELECT batch_id FROM qoe_batches`).toArray());
    expect(left.map((r) => r.batch_id)).toEqual(["quiet-2"]);
  });

  it("arm the forward still due when none is armed (the object reset between storing a batch with bytes and arming it)", async () => {
    const shard = shardOf("lumen-nyc:unarmed-review");
    const session = { sessionId: crypto.randomUUID(), titleId: "t", startedAt: Date.now() - 60_000, estBytes: 1e9, topBps: 8e6 };
    await runInDurableObject(shard, async (_o, state) => {
      expect(storeBatch(state.storage.sql, session, "with-bytes", [{ type: "progress", bytes: 5_000 }], 5_000, Date.now())).toBe("stored");
      await state.storage.deleteAlarm();
    });
    const now = Date.now();
    expect(await shard.recordEvents({ session, batchId: "no-bytes", events: [{ type: "rebuffer" }], now })).toMatchObject({ accepted: 1 });
    const at = await alarmOf(shard);
    expect(at).not.toBeNull();
    expect(at!).toBeLessThanOrEqual(now + 2_000);
  });
});

describe("a session's stored events read back", () => {
  it("reads its batches only up to the limit asked for, however many it stored", async () => {
    const shard = shardOf("lumen-nyc:read-review");
    await runInDurableObject(shard, (_o, state) => {
      const real = state.storage.sql;
      const session = { sessionId: "long-session", titleId: "t", startedAt: Date.now() - 30 * DAY };
      const events: QoeEvent[] = Array.from({ length: 200 }, (_, k) => ({ type: "progress", bytes: 1, positionS: k }));
      for (let k = 0; k < 40; k++) expect(storeBatch(real, session, `long-${k}`, events, 200, Date.now())).toBe("stored");
      // The rows read by each query that reads batches' events, through the cursor it returned.
      const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
      const watched = {
        exec: (q: string, ...b: SqlStorageValue[]) => {
          const c = real.exec(q, ...b);
          if (/\bdata\b/.test(q)) cursors.push(c);
          return c;
        },
      } as unknown as SqlStorage;
      const read = sessionEvents(watched, "long-session", 1_000);
      expect(read).toHaveLength(1_000);
      expect(read[999]).toMatchObject({ type: "progress", positionS: 199 });
      // Five batches hold the 1,000 events asked for: the other 35's events stay unread.
      expect(cursors.reduce((n, c) => n + c.rowsRead, 0)).toBeLessThanOrEqual(6);
      expect(sessionEvents(real, "long-session")).toHaveLength(5_000);
    });
  });
});
