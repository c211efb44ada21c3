import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { OcaSite } from "../durable-objects/oca-site";
import type { SessionLog } from "../durable-objects/session-log";
import { droppedSoFar, EVENT_RETENTION_MS, expireEvents, SESSION_EVENTS_BURST, storeBatch } from "../durable-objects/site/session-events";
import { eventShard } from "../shared/event-shards";
import type { SessionClaims } from "../workers/control/session-token";
import { fromB64url } from "../workers/shared/hmac";
import { fill, GEO, memberToken, postEvents, pressPlay, publishTitle, type PlayResponse } from "./fixtures";
import { alarmOf, batchesStored, cursorOf, noForwardArmed, seedShard, reportedAtSite, signedSessionsOf } from "./shard-forwards";

/**
 * The QoE pipeline as the team that bills by it sees it: a batch posted is stored once, its bytes reach
 * the site's viewing history once, whatever restarts, lost answers, resets and concurrency meet it on the
 * way, and what a shard must drop before its site counted it is counted and said, not lost silently.
 */

const SITE_ID = "lumen-nyc";
const TITLE = "qoe-review-title";
const DAY = 86_400_000;
const shardOf = (n: number): DurableObjectStub<SessionLog> => env.SESSION_LOG.get(env.SESSION_LOG.idFromName(`${SITE_ID}:${n}`));
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE_ID));

/** What the site counted of a session's reports (0 when it has no row for it). */
const reportedAt = (sessionId: string) =>
  runInDurableObject(
    site(),
    (_o, state) => state.storage.sql.exec<{ r: number }>(`SELECT COALESCE(SUM(reported), 0) AS r FROM session_views WHERE session_id = ?`, sessionId).one().r,
  );

const batchOf = (sessionId: string, batchId: string, bytes: number, n = 1) => {
  const now = Date.now();
  return {
    session: { sessionId, titleId: TITLE, startedAt: now - 60_000, estBytes: 1e12, topBps: 8e7 },
    batchId,
    events: Array.from({ length: n }, () => ({ type: "progress" as const, bytes: bytes / n })),
    now,
  };
};

/** Runs a shard's alarms until no forward is armed (the real alarms may run some of them meanwhile). */
async function drain(shard: DurableObjectStub<SessionLog>): Promise<void> {
  for (let i = 0; i < 20 && !(await noForwardArmed(shard)); i++) await runDurableObjectAlarm(shard);
  expect(await noForwardArmed(shard)).toBe(true);
}

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: SITE_ID, ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
});

afterEach(() => vi.restoreAllMocks());

describe("an event shard restarted or answered badly", () => {
  it("forwards a batch stored before the object was evicted, once, and counts a forward whose answer was lost once", async () => {
    const shard = shardOf(1);
    const sessionId = crypto.randomUUID();
    expect(await shard.recordEvents(batchOf(sessionId, "b-1", 4_000))).toMatchObject({ accepted: 1, bytes: 4_000 });
    // Evicted between storing the batch and its forward: the alarm and the batch outlive the object.
    await evictDurableObject(shard);
    expect(await alarmOf(shard)).not.toBeNull();
    await drain(shard);
    expect(await reportedAt(sessionId)).toBe(4_000);

    // The site counts the next forward and its answer is lost; the shard is evicted before it tries again.
    const proto = OcaSite.prototype as unknown as { forwardReports: (...a: unknown[]) => Promise<unknown> };
    const real = proto.forwardReports;
    let lose = 1;
    proto.forwardReports = async function (this: unknown, ...a: unknown[]) {
      const answer = await real.apply(this, a);
      if (lose-- > 0) throw new Error("injected: the answer was lost");
      return answer;
    };
    try {
      expect(await shard.recordEvents(batchOf(sessionId, "b-2", 3_000))).toMatchObject({ accepted: 1 });
      const cursor = await cursorOf(shard);
      expect(await runDurableObjectAlarm(shard)).toBe(true);
      expect(lose).toBe(0);
      // Counted by the site, not by the shard: its cursor did not move, and it will send the batch again.
      expect(await cursorOf(shard)).toBe(cursor);
      expect(await reportedAt(sessionId)).toBe(7_000);
      await evictDurableObject(shard);
      // Sent again with a third batch: the site counts the third alone.
      expect(await shard.recordEvents(batchOf(sessionId, "b-3", 2_000))).toMatchObject({ accepted: 1 });
      await drain(shard);
      expect(await cursorOf(shard)).toBeGreaterThan(cursor);
      expect(await reportedAt(sessionId)).toBe(9_000);
    } finally {
      proto.forwardReports = real;
    }
  });

  it("counts a shard's forwards after its site's storage started afresh, and a shard's new run though its ids start again", async () => {
    const shard = shardOf(2);
    const sessionId = crypto.randomUUID();
    await shard.recordEvents(batchOf(sessionId, "b-1", 1_000));
    await shard.recordEvents(batchOf(sessionId, "b-2", 1_000));
    await drain(shard);
    expect(await reportedAt(sessionId)).toBe(2_000);
    const runs = () =>
      runInDurableObject(site(), (_o, state) =>
        state.storage.sql
          .exec<{ sender: string; up_to: number }>(`SELECT sender, up_to FROM counted_up_to WHERE sender LIKE ?`, `shard:${SITE_ID}:2/%`)
          .toArray(),
      );
    const [first] = await runs();
    expect(first.up_to).toBeGreaterThanOrEqual(2);

    // The site forgets what it counted from the shard (its storage reset, or a retired site added again):
    // the shard sends only what is past its cursor, so nothing is counted twice.
    await runInDurableObject(site(), (_o, state) => state.storage.sql.exec(`DELETE FROM counted_up_to`));
    const other = crypto.randomUUID();
    await shard.recordEvents(batchOf(other, "b-1", 500));
    await drain(shard);
    expect(await reportedAt(sessionId)).toBe(2_000);
    expect(await reportedAt(other)).toBe(500);

    // The shard's storage starts afresh (a new run, its ids from 1 again, below what the site holds for the old run).
    await runInDurableObject(site(), (_o, state) => state.storage.sql.exec(`UPDATE counted_up_to SET up_to = 1000000 WHERE sender = ?`, first.sender));
    await runInDurableObject(shard, async (_o, state) => {
      await state.storage.deleteAlarm();
      await state.storage.deleteAll();
    });
    await evictDurableObject(shard);
    const third = crypto.randomUUID();
    await shard.recordEvents(batchOf(third, "b-1", 700));
    expect(await runInDurableObject(shard, (_o, state) => state.storage.sql.exec<{ id: number }>(`SELECT MAX(id) AS id FROM qoe_batches`).one().id)).toBe(1);
    await drain(shard);
    expect(await reportedAt(third)).toBe(700);
    expect((await runs()).length).toBe(2);
  });
});

describe("a session's allowance of stored events", () => {
  it("counts each stored batch once: not a batch whose transaction threw, not a duplicate, and the same after an eviction", async () => {
    const shard = shardOf(3);
    const sessionId = crypto.randomUUID();
    const now = Date.now();
    // Started now: the burst alone (400 events), two batches of 200.
    const batch = (batchId: string) => ({
      session: { sessionId, titleId: TITLE, startedAt: now, estBytes: 1e12, topBps: 8e7 },
      batchId,
      events: Array.from({ length: SESSION_EVENTS_BURST / 2 }, () => ({ type: "progress" as const })),
      now,
    });
    // The first batch's transaction throws at its insert: nothing stored, and nothing noted.
    await runInDurableObject(shard, (o: SessionLog) => {
      const self = o as unknown as { sql: SqlStorage };
      const real = self.sql;
      let failOnce = true;
      self.sql = {
        exec: (q: string, ...b: SqlStorageValue[]) => {
          if (failOnce && q.includes("INSERT INTO qoe_batches")) {
            failOnce = false;
            throw new Error("injected: storage refused the batch");
          }
          return real.exec(q, ...b);
        },
      } as unknown as SqlStorage;
      return o.recordEvents(batch("a")).then(
        () => expect.unreachable("the call should have failed"),
        (err: Error) => expect(err.message).toMatch(/injected/),
      );
    });
    expect(await shard.recordEvents(batch("a"))).toMatchObject({ accepted: 200 });
    expect(await shard.recordEvents(batch("a"))).toMatchObject({ duplicate: true });
    expect(await shard.recordEvents(batch("b"))).toMatchObject({ accepted: 200 });
    expect(await shard.recordEvents(batch("c"))).toMatchObject({ over: true });
    // Forgotten with the object, summed again from its rows: still its 400.
    await evictDurableObject(shard);
    expect(await shard.recordEvents(batch("c"))).toMatchObject({ over: true });
    expect(await shard.recordEvents(batch("b"))).toMatchObject({ duplicate: true });
  });
});

describe("what a shard drops before its site counted it", () => {
  it("is counted and logged: batches past the retention or the row cap, never those already forwarded", async () => {
    const warn = vi.spyOn(console, "warn");
    const now = Date.now();
    // Three batches of 10 bytes accepted 8 days ago (the site unreachable all that while), none forwarded.
    const stale = await seedShard(`${SITE_ID}:4`, TITLE, [now - 8 * DAY, now - 8 * DAY + 1, now - 8 * DAY + 2], { forwarded: false });
    await runInDurableObject(stale, async (_o, state) => state.storage.deleteAlarm());
    // A new batch expires all but the newest of them: two reports the site never counted.
    expect(await stale.recordEvents(batchOf(crypto.randomUUID(), "new", 0))).toMatchObject({ accepted: 1 });
    expect(await runInDurableObject(stale, (_o, state) => droppedSoFar(state.storage.sql))).toEqual({ reports: 2, bytes: 20 });
    expect(warn.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/dropped 2 reports \(20 bytes\)/);

    // Past the retention with nothing newer, the forward gives them up: counted too.
    const gone = await seedShard(`${SITE_ID}:5`, TITLE, [now - 9 * DAY, now - 9 * DAY + 1], { forwarded: false });
    expect(await runDurableObjectAlarm(gone)).toBe(true);
    expect(await gone.droppedReports()).toEqual({ reports: 2, bytes: 20 });

    // The row cap during an outage: the oldest unforwarded go, counted; forwarded ones go uncounted.
    const capped = await seedShard(`${SITE_ID}:6`, TITLE, [now - 3, now - 2], { forwarded: true });
    await runInDurableObject(capped, async (_o, state) => {
      await state.storage.deleteAlarm();
      const sql = state.storage.sql;
      const session = { sessionId: crypto.randomUUID(), titleId: TITLE, startedAt: now - 60_000 };
      for (let k = 0; k < 10; k++) storeBatch(sql, session, `o-${k}`, [{ type: "progress", bytes: 7 }], 7, now);
      // At most 5 events held: the 2 forwarded and 5 of the 10 waiting go.
      const d = expireEvents(sql, now, 5);
      expect(d).toEqual({ reports: 5, bytes: 35 });
      expect(droppedSoFar(sql)).toEqual({ reports: 5, bytes: 35 });
      // Nothing past the cap or the retention: nothing dropped.
      expect(expireEvents(sql, now, 5)).toEqual({ reports: 0, bytes: 0 });
      expect(expireEvents(sql, now + EVENT_RETENTION_MS - 1)).toEqual({ reports: 0, bytes: 0 });
    });
  });
});

describe("N concurrent batches of many sessions through POST /v1/events", () => {
  const N_SESSIONS = 50;
  const PER_SESSION = 4;
  const BYTES = 1_000;

  it("stores N batches sent at once, each sent twice, exactly once, and their bytes reach the site exactly once", async () => {
    // Five members (a member's batches are limited per minute), each with a fifth of the sessions.
    const members = await Promise.all([0, 1, 2, 3, 4].map(() => memberToken("premium")));
    const sessions = (await Promise.all(members.map((t) => signedSessionsOf(t, N_SESSIONS / 5, TITLE, SITE_ID, GEO.lumenNyc)))).flat();
    const batches = sessions.flatMap((s) => Array.from({ length: PER_SESSION }, (_, k) => ({ s, batchId: `b-${k}-${s.sessionId}` })));
    const N = batches.length;
    expect(N).toBe(200);
    const titleBytes = async () => (await site().views(0, 1_000_000)).filter((v) => v.titleId === TITLE).reduce((n, v) => n + v.bytes, 0);
    const bytesBefore = await titleBytes();
    // Every batch twice, all at once (a retry racing its first try).
    const answers = await Promise.all(
      [...batches, ...batches].map(async ({ s, batchId }) => {
        const res = await postEvents(s.token, s, [{ type: "progress", bytes: BYTES }], batchId);
        return { status: res.status, body: (await res.json()) as { duplicate?: boolean } };
      }),
    );
    expect(answers.filter((a) => a.status === 202)).toHaveLength(N);
    expect(answers.filter((a) => a.status === 200 && a.body.duplicate)).toHaveLength(N);

    const shards = [...new Set(sessions.map((s) => eventShard(s.sessionId)))].map(shardOf);
    const ids = new Set(sessions.map((s) => s.sessionId));
    expect(await batchesStored(shards, ids)).toBe(N);

    for (const shard of shards) await drain(shard);
    // Once more each: a forward already done sends nothing again.
    for (const shard of shards) await runDurableObjectAlarm(shard);
    const counted = await reportedAtSite(SITE_ID, ids);
    expect(counted).toHaveLength(N_SESSIONS);
    expect(counted.every((r) => r.reported === PER_SESSION * BYTES)).toBe(true);
    expect((await titleBytes()) - bytesBefore).toBe(N * BYTES);
  }, 120_000);
});

describe("a batch sent again after its first try was stored", () => {
  it("still brings its report of an OCA failing the client to that OCA's site", async () => {
    const member = `qoe-dup-${crypto.randomUUID().slice(0, 8)}`;
    const token = await memberToken("premium", member);
    const res = await pressPlay(token, { titleId: TITLE }, GEO.lumenNyc);
    expect(res.status).toBe(200);
    const p = (await res.json()) as PlayResponse;
    const claims = JSON.parse(new TextDecoder().decode(fromB64url(p.sessionToken.split(".")[2])!)) as SessionClaims;
    const [siteId, ocaId] = claims.pw[0].split("/");
    const events = [{ type: "error" as const, ocaId, reason: "http 503" }];
    // The first try was stored, then failed before the Worker answered (the shard's answer lost): the client sends it again.
    await runInDurableObject(env.SESSION_LOG.get(env.SESSION_LOG.idFromName(`${claims.home}:${eventShard(p.sessionId)}`)), (_o, state) => {
      const session = { sessionId: p.sessionId, titleId: TITLE, startedAt: claims.at, estBytes: claims.est, topBps: claims.top };
      expect(storeBatch(state.storage.sql, session, "first-try", events, 0, Date.now())).toBe("stored");
    });
    const again = await postEvents(token, p, events, "first-try");
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ duplicate: true });
    const reporters = () =>
      runInDurableObject(
        env.OCA_SITE.get(env.OCA_SITE.idFromName(siteId)),
        (_o, state) =>
          state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM oca_client_reporters WHERE oca_id = ? AND reporter = ?`, ocaId, member).one().n,
      );
    for (let i = 0; i < 50 && (await reporters()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await reporters()).toBe(1);
  });
});
