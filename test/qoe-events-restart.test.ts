import { env, evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { SessionLog } from "../durable-objects/session-log";
import { eventShard } from "../shared/event-shards";
import { SessionLog as SessionLogClass } from "../durable-objects/session-log";
import { fill, GEO, memberToken, postEvents, publishTitle } from "./fixtures";
import { batchesStored, noForwardArmed, reportedAtSite, signedSessionsOf } from "./shard-forwards";

/**
 * The requirement across a shard restart: N batches sent at once through POST /v1/events, each
 * twice (a retry racing its first try), while their shards are evicted mid-way; what a client is told to
 * send again (503) it sends again under the same batch id. Every batch is stored once and its bytes reach
 * the site once.
 */

const SITE_ID = "lumen-nyc";
const TITLE = "qoe-restart-title";
const shardOf = (n: number): DurableObjectStub<SessionLog> => env.SESSION_LOG.get(env.SESSION_LOG.idFromName(`${SITE_ID}:${n}`));
const _site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE_ID));

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: SITE_ID, ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
});

/** Evicts a shard if it is running (one idle since its last call may have gone already). */
const evict = (shard: DurableObjectStub<SessionLog>): Promise<boolean> =>
  evictDurableObject(shard).then(
    () => true,
    (err: Error) => {
      expect(err.message).toMatch(/not currently running/);
      return false;
    },
  );

/** Runs a shard's alarms until no forward is armed. */
async function drain(shard: DurableObjectStub<SessionLog>): Promise<void> {
  for (let i = 0; i < 30 && !(await noForwardArmed(shard)); i++) await runDurableObjectAlarm(shard);
  expect(await noForwardArmed(shard)).toBe(true);
}

describe("N concurrent batches across a shard restart", () => {
  it("stores each once and the site counts each once, the shards evicted while the batches arrive and while they forward", async () => {
    const BYTES = 1_000;
    const members = await Promise.all([0, 1, 2, 3].map(() => memberToken("premium")));
    const sessions = (await Promise.all(members.map((t) => signedSessionsOf(t, 10, TITLE, SITE_ID, GEO.lumenNyc)))).flat();
    const batches = sessions.flatMap((s) => [0, 1, 2].map((k) => ({ s, batchId: `r-${k}-${s.sessionId}` })));
    const N = batches.length;
    const shards = [...new Set(sessions.map((s) => eventShard(s.sessionId)))].map(shardOf);
    const ids = new Set(sessions.map((s) => s.sessionId));

    /** Sends a batch until it is not told to send it again (503), as the client does. */
    const send = async ({ s, batchId }: (typeof batches)[number]): Promise<number[]> => {
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await postEvents(s.token, s, [{ type: "progress", bytes: BYTES }], batchId);
        statuses.push(res.status);
        await res.body?.cancel();
        if (res.status !== 503) break;
      }
      return statuses;
    };
    // The shards evicted again and again while the batches arrive (a deploy, a reset), until all are answered.
    let sending = true;
    let evicted = 0;
    const evictions = (async () => {
      while (sending) {
        await new Promise((r) => setTimeout(r, 2));
        evicted += (await Promise.all(shards.map((sh) => evict(sh)))).filter(Boolean).length;
      }
    })();
    // And every 7th batch stored is followed by a reset before its answer: stored, the client told to send it again.
    const proto = SessionLogClass.prototype as unknown as { recordEvents: (...a: unknown[]) => Promise<{ accepted: number }> };
    const real = proto.recordEvents;
    let storedCalls = 0;
    proto.recordEvents = async function (this: { ctx: DurableObjectState }, ...a: unknown[]) {
      const r = await real.apply(this, a);
      if (r.accepted > 0 && ++storedCalls % 7 === 0) this.ctx.abort("injected: reset before answering");
      return r;
    };
    let answers: number[][];
    try {
      answers = await Promise.all([...batches, ...batches].map(send));
    } finally {
      proto.recordEvents = real;
      sending = false;
    }
    await evictions;
    expect(evicted).toBeGreaterThan(0);
    expect(answers.some((a) => a.includes(503))).toBe(true);
    const last = answers.map((a) => a[a.length - 1]);
    expect(last.every((s) => s === 202 || s === 200)).toBe(true);

    const stored = () => batchesStored(shards, ids);
    expect(await stored()).toBe(N);

    // Evicted again between forwards: what is not yet counted goes once, what was goes no more.
    for (const shard of shards) {
      await runDurableObjectAlarm(shard);
      await evict(shard);
    }
    for (const shard of shards) await drain(shard);
    for (const shard of shards) await runDurableObjectAlarm(shard);
    const counted = await reportedAtSite(SITE_ID, ids);
    expect(counted).toHaveLength(sessions.length);
    expect(counted.reduce((n, r) => n + r.reported, 0)).toBe(N * BYTES);
  }, 180_000);
});
