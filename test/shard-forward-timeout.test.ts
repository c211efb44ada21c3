import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { OcaSite } from "../durable-objects/oca-site";
import { FORWARD_TIMEOUT_MS } from "../durable-objects/session-log";
import { alarmOf, cursorOf } from "./shard-forwards";

/**
 * An event shard forwards its batches' bytes to its site in its alarm. A site object that never answers
 * held that alarm, and so every later forward, for good. The local runtime has no way to make a real
 * object hang, so its forwardReports is replaced on the prototype (RPC dispatches to it, in every
 * instance) by one that waits until the test lets it go, then counts as the real one does: the shard's
 * call still goes over RPC to the real site object.
 */

const SITE_ID = "rheinnet-muc";
const TITLE = "forward-timeout-title";
const shard = env.SESSION_LOG.get(env.SESSION_LOG.idFromName(`${SITE_ID}:42`));
const site = env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE_ID));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const failuresOf = () =>
  runInDurableObject(shard, (_o, state) => state.storage.sql.exec<{ failures: number }>(`SELECT failures FROM shard_epoch`).one().failures);

/** The bytes the site counted per session, in the order asked (0: none). */
const reportedAtSite = (sessionIds: string[]) =>
  runInDurableObject(site, (_o, state) =>
    sessionIds.map(
      (id) => state.storage.sql.exec<{ reported: number }>(`SELECT reported FROM session_views WHERE session_id = ?`, id).toArray()[0]?.reported ?? 0,
    ),
  );

describe("an event shard's forward to a site that never answers", () => {
  it("gives up within its timeout as a failed forward, and counts each batch once when forwarded again", async () => {
    const proto = OcaSite.prototype as unknown as { forwardReports: (...a: unknown[]) => Promise<unknown> };
    const real = proto.forwardReports;
    let hanging = true;
    proto.forwardReports = async function (this: unknown, ...a: unknown[]) {
      // A timer pending, so the runtime does not take the wait for a hung promise and cancel the call.
      while (hanging) await sleep(20);
      return real.apply(this, a);
    };
    try {
      const now = Date.now();
      const sessions = [crypto.randomUUID(), crypto.randomUUID()];
      for (const [k, sessionId] of sessions.entries()) {
        const stored = await shard.recordEvents({
          session: { sessionId, titleId: TITLE, startedAt: now - 60_000, estBytes: 1e9, topBps: 8e6 },
          batchId: `b-${k}`,
          events: [{ type: "progress", bytes: 1_000 * (k + 1) }],
          now,
        });
        expect(stored).toMatchObject({ duplicate: false, bytes: 1_000 * (k + 1) });
      }
      // The alarm ends once the forward times out, not when (if ever) the site answers.
      const started = Date.now();
      const ran = await Promise.race([runDurableObjectAlarm(shard), sleep(FORWARD_TIMEOUT_MS + 3_000).then(() => "still waiting on the site")]);
      expect(ran).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(FORWARD_TIMEOUT_MS - 50);
      // A failed forward: counted as one, the cursor where it was, the next try after the first back-off (0.5-1 s).
      expect(await failuresOf()).toBe(1);
      expect(await cursorOf(shard)).toBe(0);
      expect((await alarmOf(shard))! - Date.now()).toBeLessThanOrEqual(1_050);
      // The site answers at last: the call the shard gave up on counts the batches there after all.
      hanging = false;
      for (let i = 0; i < 100 && (await reportedAtSite(sessions)).includes(0); i++) await sleep(20);
      expect(await reportedAtSite(sessions)).toEqual([1_000, 2_000]);
      // The shard forwards them again to the working site: it moves its cursor and starts its back-off
      // afresh, and the site, knowing the forward's numbers, counts nothing twice.
      expect(await runDurableObjectAlarm(shard)).toBe(true);
      expect(await cursorOf(shard)).toBeGreaterThan(0);
      expect(await failuresOf()).toBe(0);
      expect(await reportedAtSite(sessions)).toEqual([1_000, 2_000]);
    } finally {
      hanging = false;
      proto.forwardReports = real;
    }
  });
});
