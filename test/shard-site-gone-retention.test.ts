import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type SessionLog, SITE_GONE_WAIT_MS } from "../durable-objects/session-log";
import { EVENT_RETENTION_MS } from "../durable-objects/site/session-events";
import { alarmOf, batchesIn, cursorOf, seedShard } from "./shard-forwards";

/**
 * An event shard whose forwards cannot go through (its site left the topology, and no new batch comes:
 * the events route refuses sessions of a site gone) kept its batches past the retention for good, and
 * woke hourly for good: expiry ran only when a batch arrived or when nothing was left to forward.
 */

const TITLE = "events-review-retention-title";
const DAY = 86_400_000;

const seed = (name: string, at: number[]) => seedShard(name, TITLE, at, { forwarded: false });

/** Runs the shard's alarms that are due within a minute (at most `max`), as the runtime would; stops at a far one. */
async function runNearAlarms(shard: DurableObjectStub<SessionLog>, max = 20): Promise<void> {
  for (let i = 0; i < max; i++) {
    const at = await alarmOf(shard);
    if (at === null || at - Date.now() > 60_000) return;
    await runDurableObjectAlarm(shard);
  }
}

describe("an event shard whose site is gone", () => {
  it("drops its unforwarded batches once they pass the retention, and then arms no alarm", async () => {
    const now = Date.now();
    const shard = await seed("events-review-gone-a:5", [now - 9 * DAY, now - 8 * DAY, now - 8 * DAY + 1_000]);
    await runNearAlarms(shard);
    // Past the retention, nothing of them is kept but the newest row (new ids start above it), and it is not due.
    expect(await batchesIn(shard)).toBeLessThanOrEqual(1);
    expect(await alarmOf(shard)).toBeNull();
  });

  it("keeps, and still tries to forward, the batches within the retention", async () => {
    const now = Date.now();
    const shard = await seed("events-review-gone-b:6", [now - 9 * DAY, now - 8 * DAY, now - DAY, now - 1_000]);
    await runNearAlarms(shard);
    expect(await batchesIn(shard)).toBe(2);
    // The cursor stopped below the first batch within the retention: it still goes once the site answers.
    const firstFresh = await runInDurableObject(
      shard,
      (_o, state) => state.storage.sql.exec<{ id: number }>(`SELECT MIN(id) AS id FROM qoe_batches WHERE accepted_at >= ?`, now - EVENT_RETENTION_MS).one().id,
    );
    expect(await cursorOf(shard)).toBeLessThan(firstFresh);
    const at = await alarmOf(shard);
    expect(at).not.toBeNull();
    expect(at! - Date.now()).toBeGreaterThan(SITE_GONE_WAIT_MS - 60_000);
  });
});
