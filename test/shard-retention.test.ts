import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SITE_GONE_WAIT_MS } from "../durable-objects/session-log";
import { EVENT_RETENTION_MS } from "../durable-objects/site/session-events";
import { alarmOf, batchesIn, seedShard } from "./shard-forwards";

/**
 * An event shard keeps a session's QoE batches EVENT_RETENTION_MS (7 days). Expiry used to run only when
 * a batch arrived, so a shard that went quiet kept its batches for good; and a shard whose site left the
 * topology called it every 30 s for good.
 */

const SITE_ID = "ixp-fra";
const TITLE = "shard-retention-title";
const DAY = 86_400_000;

const seed = (name: string, at: number[]) => seedShard(name, TITLE, at, { forwarded: true });

describe("an event shard's retention", () => {
  it("expires a quiet shard's batches past the retention on its own alarm, and then arms none", async () => {
    const now = Date.now();
    const shard = await seed(`${SITE_ID}:20`, [now - 9 * DAY, now - 8 * DAY, now - 8 * DAY, now - 2 * DAY]);
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    // The newest stays whatever its age (new ids start above it); the three past 7 days are gone.
    expect(await batchesIn(shard)).toBe(1);
    expect(await alarmOf(shard)).toBeNull();
  });

  it("wakes when its oldest batch passes the retention, with nothing to forward", async () => {
    const now = Date.now();
    const shard = await seed(`${SITE_ID}:21`, [now - DAY, now - DAY / 2, now]);
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await batchesIn(shard)).toBe(3);
    const at = await alarmOf(shard);
    expect(at).not.toBeNull();
    expect(Math.abs(at! - (now - DAY + EVENT_RETENTION_MS))).toBeLessThan(10_000);
  });

  it("looks again hourly for a site gone from the topology, and forwards at once when a batch arrives", async () => {
    const shard = env.SESSION_LOG.get(env.SESSION_LOG.idFromName("site-removed:3"));
    const now = Date.now();
    const batch = (id: string) => ({
      session: { sessionId: crypto.randomUUID(), titleId: TITLE, startedAt: now - 60_000, estBytes: 1e9, topBps: 8e6 },
      batchId: id,
      events: [{ type: "progress" as const, bytes: 1_000 }],
      now,
    });
    await shard.recordEvents(batch("b-1"));
    expect(await alarmOf(shard)).toBeLessThanOrEqual(now + 2_000);
    // Its site object does not know the name: the forward fails, and the shard waits an hour, not 1-30 s.
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    const at = await alarmOf(shard);
    expect(at! - Date.now()).toBeGreaterThan(SITE_GONE_WAIT_MS - 60_000);
    // A far alarm never holds back a new batch's forward.
    await shard.recordEvents(batch("b-2"));
    expect(await alarmOf(shard)).toBeLessThanOrEqual(Date.now() + 2_000);
  });
});
