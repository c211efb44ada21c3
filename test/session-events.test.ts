import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { SessionLog } from "../durable-objects/session-log";
import { beforeAll, describe, expect, it } from "vitest";
import {
  adoptLegacyEvents,
  adoptLegacyPending,
  EVENT_RETENTION_MS,
  expireEvents,
  SESSION_EVENTS_BURST,
  SESSION_EVENTS_SCHEMA,
  sessionEvents,
  storeBatch,
} from "../durable-objects/site/session-events";
import { reportedSite } from "../workers/control/events";
import { LAST_BATCH_GRACE_S } from "../workers/control/session-ttl";
import { type SessionClaims, signSessionToken } from "../workers/control/session-token";
import { fromB64url } from "../workers/shared/hmac";
import { signingKey } from "../workers/shared/signing-keys";
import { fill, GEO, memberToken, postEvents, pressPlay, publishTitle, type PlayResponse } from "./fixtures";
import { cursorOf, noForwardArmed, watchForwards } from "./shard-forwards";

/**
 * What a session's QoE batches may store at its home site's event shard: a session's batch is taken a
 * moment after its token expired (a page closed at the end), a session stores no more than its age
 * allows, and a shard keeps at most its newest SHARD_EVENTS_MAX events whatever its sessions send.
 */

const TITLE = "events-title";
let token: string;

async function play(): Promise<PlayResponse> {
  const res = await pressPlay(token, { titleId: TITLE }, GEO.lumenNyc);
  expect(res.status).toBe(200);
  return (await res.json()) as PlayResponse;
}

/** The session of `p` signed again with its expiry moved to `exp` (s), as the Worker would have signed it. */
async function withExpiry(p: PlayResponse, exp: number): Promise<string> {
  const payload = p.sessionToken.split(".")[2];
  const claims = JSON.parse(new TextDecoder().decode(fromB64url(payload)!)) as SessionClaims;
  const { ring, kid } = signingKey(env);
  return signSessionToken(ring, kid, { ...claims, exp });
}

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  token = await memberToken("premium", "events-member");
});

describe("a session's QoE batches", () => {
  it("are taken for a moment after the session expired, then refused with 410 session_expired", async () => {
    const p = await play();
    const nowS = Math.floor(Date.now() / 1000);
    const justEnded = await postEvents(token, { sessionId: p.sessionId, sessionToken: await withExpiry(p, nowS - 10) }, [{ type: "progress", bytes: 1000 }]);
    expect(justEnded.status).toBe(202);
    expect(await justEnded.json()).toEqual({ accepted: 1, bytes: 1000 });
    const longGone = await postEvents(token, { sessionId: p.sessionId, sessionToken: await withExpiry(p, nowS - LAST_BATCH_GRACE_S - 10) }, [
      { type: "progress", bytes: 1000 },
    ]);
    expect(longGone.status).toBe(410);
    expect(((await longGone.json()) as { error: { code: string } }).error.code).toBe("session_expired");
  });

  it("store no more than the session's age allows: a burst, then one a second; over it 429 and nothing stored", async () => {
    const p = await play();
    const batch = Array.from({ length: 200 }, () => ({ type: "progress" as const, bytes: 1 }));
    const statuses: number[] = [];
    for (let i = 0; i * 200 < SESSION_EVENTS_BURST + 200; i++) statuses.push((await postEvents(token, p, batch)).status);
    expect(statuses.slice(0, SESSION_EVENTS_BURST / 200)).toEqual(Array(SESSION_EVENTS_BURST / 200).fill(202));
    const over = await postEvents(token, p, batch);
    expect(over.status).toBe(429);
    expect(((await over.json()) as { error: { details: { limiter: string } } }).error.details.limiter).toBe("EVENTS_PER_SESSION");
    // Another session of the same member is not affected.
    expect((await postEvents(token, await play(), batch)).status).toBe(202);
  });
});

describe("a client's report of an OCA failing it", () => {
  it("goes to that OCA's site when the session was given it, and nowhere for the origin pathway or an OCA it was not given", () => {
    const pw = ["lumen-nyc/lumen-nyc-1", "ixp-nyc/ixp-nyc-1", "origin/origin"];
    expect(reportedSite(pw, "lumen-nyc-1")).toBe("lumen-nyc");
    expect(reportedSite(pw, "ixp-nyc-1")).toBe("ixp-nyc");
    expect(reportedSite(pw, "origin")).toBeUndefined();
    expect(reportedSite(pw, "lumen-nyc-2")).toBeUndefined();
    expect(reportedSite(pw, "nyc-1")).toBeUndefined();
  });
});

/** The shard's `sql` with every cursor kept, to add up the rows its statements wrote and read once they are done. */
function counting(real: SqlStorage): { sql: SqlStorage; written: () => number; read: () => number } {
  const cursors: Array<SqlStorageCursor<Record<string, SqlStorageValue>>> = [];
  const sql = {
    databaseSize: real.databaseSize,
    exec: (q: string, ...args: SqlStorageValue[]) => {
      const cursor = real.exec(q, ...args);
      cursors.push(cursor);
      return cursor;
    },
  } as SqlStorage;
  return { sql, written: () => cursors.reduce((n, c) => n + c.rowsWritten, 0), read: () => cursors.reduce((n, c) => n + c.rowsRead, 0) };
}

describe("an event shard", () => {
  it("keeps its newest events when there are more than it may hold, and a session's age bounds its batches", async () => {
    const shard = env.SESSION_LOG.get(env.SESSION_LOG.idFromName("events-shard-test:0"));
    await runInDurableObject(shard, async (_i, state) => {
      const sql = state.storage.sql;
      const now = Date.now();
      const session = (n: number) => ({ sessionId: `s-${n}`, titleId: TITLE, startedAt: now - 3_600_000 });
      const events = Array.from({ length: 100 }, (_, k) => ({ type: "progress" as const, at: now + k }));
      for (let n = 0; n < 30; n++) {
        expect(storeBatch(sql, session(n), `batch-${n}`, events, 0, now)).toBe("stored");
        expireEvents(sql, now, 1_000);
      }
      const kept = sql.exec<{ n: number }>(`SELECT SUM(events) AS n FROM qoe_batches`).one().n;
      expect(kept).toBeLessThanOrEqual(1_100);
      expect(kept).toBeGreaterThanOrEqual(1_000);
      // The newest stayed: the last session's events are all there, the first's are gone.
      expect(sessionEvents(sql, "s-29")).toHaveLength(100);
      expect(sessionEvents(sql, "s-0")).toHaveLength(0);
      // Batches of one event are held to the same bound: 1,200 of them keep at most 1,000 and the newest.
      for (let n = 0; n < 1200; n++) {
        storeBatch(sql, session(100 + n), `one-${n}`, [{ type: "progress" }], 0, now);
        expireEvents(sql, now, 1_000);
      }
      const batches = sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM qoe_batches`).one().n;
      expect(batches).toBeLessThanOrEqual(1_001);
      expect(sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM qoe_batches WHERE batch_id = 'one-1199'`).one().n).toBe(1);
      // A session that started a second ago has the burst and one more.
      const young = { sessionId: "young", titleId: TITLE, startedAt: now - 1_000 };
      const burst = Array.from({ length: SESSION_EVENTS_BURST + 1 }, () => ({ type: "progress" as const }));
      expect(storeBatch(sql, young, "young-1", burst, 0, now)).toBe("stored");
      expect(storeBatch(sql, young, "young-2", [{ type: "progress" }], 0, now)).toBe("over");
      expect(storeBatch(sql, young, "young-1", [{ type: "progress" }], 0, now)).toBe("duplicate");
    });
  });

  it("stores a batch as one row: two rows written (the batch and its key) whatever its events, one read to find nothing expired", async () => {
    const shard = env.SESSION_LOG.get(env.SESSION_LOG.idFromName("events-rows-test:0"));
    await runInDurableObject(shard, async (_i, state) => {
      const now = Date.now();
      const session = { sessionId: "rows-session", titleId: TITLE, startedAt: now - 60_000 };
      const written: number[] = [];
      for (const n of [1, 3, 20]) {
        const c = counting(state.storage.sql);
        const events = Array.from({ length: n }, (_, k) => ({ type: "progress" as const, bytes: 10, positionS: k }));
        expect(storeBatch(c.sql, session, `rows-${n}`, events, 10 * n, now)).toBe("stored");
        written.push(c.written());
      }
      expect(written).toEqual([2, 2, 2]);
      // With nothing expired, a look at the oldest batch and at each end of the key, however many the shard holds.
      for (let n = 0; n < 500; n++) storeBatch(state.storage.sql, { ...session, sessionId: `other-${n}` }, "b", [{ type: "progress" }], 0, now);
      const c = counting(state.storage.sql);
      expireEvents(c.sql, now);
      expect(c.written()).toBe(0);
      expect(c.read()).toBeLessThanOrEqual(3);
      // Events come back in the order they were sent, each with its time.
      const back = sessionEvents(state.storage.sql, "rows-session");
      expect(back.map((e) => e.positionS)).toEqual([0, 0, 1, 2, ...Array.from({ length: 20 }, (_, k) => k)]);
      expect(back.every((e) => e.at === now)).toBe(true);
    });
  });

  it("forgets batches past their retention and keeps the rest", async () => {
    const shard = env.SESSION_LOG.get(env.SESSION_LOG.idFromName("events-retention-test:0"));
    await runInDurableObject(shard, async (_i, state) => {
      const sql = state.storage.sql;
      const t0 = Date.now() - EVENT_RETENTION_MS - 3_600_000;
      const session = (n: number) => ({ sessionId: `r-${n}`, titleId: TITLE, startedAt: t0 });
      for (let n = 0; n < 100; n++) storeBatch(sql, session(n), `r-${n}`, [{ type: "progress" }], 0, t0 + n * 60_000);
      // An hour past the first's retention: the first 60 (a minute apart) have expired, a slice a call.
      const now = t0 + EVENT_RETENTION_MS + 3_600_000 - 1;
      for (let k = 0; k < 3; k++) expireEvents(sql, now);
      const left = sql.exec<{ n: number; first: string }>(`SELECT COUNT(*) AS n, MIN(accepted_at) AS first FROM qoe_batches`).one();
      expect(left.n).toBe(40);
      expect(left.first).toBe(t0 + 60 * 60_000);
      // Long after all of them, the newest stays: new ids start above it, so above every id forwarded.
      const newest = sql.exec<{ id: number }>(`SELECT MAX(id) AS id FROM qoe_batches`).one().id;
      for (let k = 0; k < 3; k++) expireEvents(sql, now + EVENT_RETENTION_MS);
      expect(sql.exec<{ id: number }>(`SELECT id FROM qoe_batches`).toArray()).toEqual([{ id: newest }]);
    });
  });

  it("reads, counts and forgets the events it held before a batch was one row, then drops their tables", async () => {
    const shard = env.SESSION_LOG.get(env.SESSION_LOG.idFromName("events-legacy-test:0"));
    await runInDurableObject(shard, async (_i, state) => {
      const sql = state.storage.sql;
      const now = Date.now();
      // What a shard on the code before wrote: a batch row and a row per event.
      for (const stmt of SESSION_EVENTS_SCHEMA) sql.exec(stmt);
      const before = now - 5_000;
      sql.exec(`INSERT INTO event_batches (session_id, batch_id, events, bytes, accepted_at) VALUES ('old-session', 'old-1', 2, 0, ?)`, before);
      for (const [k, type] of (["start", "progress"] as const).entries())
        sql.exec(
          `INSERT INTO play_events (session_id, title_id, type, at, data, received_at) VALUES ('old-session', ?, ?, ?, ?, ?)`,
          TITLE,
          type,
          before + k,
          JSON.stringify({ type }),
          before,
        );
      expect(adoptLegacyEvents(sql)).toBe(true);
      const tables = { legacy: true };
      const session = { sessionId: "old-session", titleId: TITLE, startedAt: now - 1_000 };
      // Its batch sent again is a duplicate; its events count against the session's allowance.
      expect(storeBatch(sql, session, "old-1", [{ type: "progress" }], 0, now, tables)).toBe("duplicate");
      const upToAllowance = Array.from({ length: SESSION_EVENTS_BURST + 1 - 2 }, () => ({ type: "progress" as const }));
      expect(storeBatch(sql, session, "new-1", [...upToAllowance, { type: "progress" }], 0, now, tables)).toBe("over");
      expect(storeBatch(sql, session, "new-1", upToAllowance, 0, now, tables)).toBe("stored");
      const events = sessionEvents(sql, "old-session", 5000, tables);
      expect(events.slice(0, 2).map((e) => [e.type, e.at])).toEqual([
        ["start", before],
        ["progress", before + 1],
      ]);
      expect(events).toHaveLength(2 + upToAllowance.length);
      // Past their retention they go; the new batch stays; the empty tables are dropped at the next start.
      expireEvents(sql, before + EVENT_RETENTION_MS + 1, undefined, tables);
      expect(sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM play_events`).one().n).toBe(0);
      expect(sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM event_batches`).one().n).toBe(0);
      expect(adoptLegacyEvents(sql)).toBe(false);
      expect(sql.exec(`SELECT name FROM sqlite_master WHERE name IN ('play_events', 'event_batches')`).toArray()).toEqual([]);
      expect(sessionEvents(sql, "old-session")).toHaveLength(upToAllowance.length);
    });
  });
});

describe("an event shard's forward to its site", () => {
  const SITE_ID = "rheinnet-muc";

  it("sends each batch with bytes or a stop once, passes those with nothing for the site, and sends again what failed", async () => {
    const shard = env.SESSION_LOG.get(env.SESSION_LOG.idFromName(`${SITE_ID}:61`));
    let failing = true;
    const forwards = await watchForwards(shard, SITE_ID, { fail: () => failing });
    const now = Date.now();
    const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const session = (sessionId: string) => ({ sessionId, titleId: TITLE, startedAt: now - 60_000, estBytes: 1e9, topBps: 8e6 });
    await shard.recordEvents({ session: session(a), batchId: "a-1", events: [{ type: "progress", bytes: 1000 }], now });
    await shard.recordEvents({ session: session(b), batchId: "b-1", events: [{ type: "bitrate_switch", bitrate: 1e6 }], now });
    await shard.recordEvents({ session: session(c), batchId: "c-1", events: [{ type: "stop" }], now });
    // The site cannot be reached: nothing is taken as sent.
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(forwards).toHaveLength(1);
    expect(await cursorOf(shard)).toBe(0);
    // Sent again with the next alarm: a's bytes and c's stop, not b's switch; the cursor past all three.
    failing = false;
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(forwards[1]).toEqual(forwards[0]);
    expect(forwards[1].sessions).toEqual([a, c]);
    expect(await cursorOf(shard)).toBe(forwards[1].upTo);
    const reported = await runInDurableObject(env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE_ID)), (_o, state) =>
      state.storage.sql
        .exec<{ session_id: string; reported: number }>(`SELECT session_id, reported FROM session_views WHERE session_id IN (?, ?, ?)`, a, b, c)
        .toArray(),
    );
    expect(Object.fromEntries(reported.map((r) => [r.session_id, r.reported]))).toEqual({ [a]: 1000, [c]: 0 });
    // Nothing is due: no forward armed (only the wake to expire batches, days away), and a later batch goes alone.
    expect(await noForwardArmed(shard)).toBe(true);
    await shard.recordEvents({ session: session(a), batchId: "a-2", events: [{ type: "progress", bytes: 500 }], now: now + 10_000 });
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(forwards[2].sessions).toEqual([a]);
    expect(forwards[2].ids[0]).toBeGreaterThan(forwards[1].upTo);
  });

  it("forwards a backlog at once, a site's call at a time, rather than a call a second", async () => {
    const shard = env.SESSION_LOG.get(env.SESSION_LOG.idFromName(`${SITE_ID}:63`));
    const forwards = await watchForwards(shard, SITE_ID);
    const now = Date.now();
    await runInDurableObject(shard, async (_o, state) => {
      const session = { sessionId: crypto.randomUUID(), titleId: TITLE, startedAt: now - 3_600_000, estBytes: 1e12, topBps: 8e6 };
      for (let k = 0; k < 1_500; k++) storeBatch(state.storage.sql, session, `b-${k}`, [{ type: "progress", bytes: 1 }], 1, now);
      await state.storage.setAlarm(now + 1000);
    });
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(forwards[0].ids).toHaveLength(1_000);
    const next = await runInDurableObject(shard, (_o, state) => state.storage.getAlarm());
    expect(next).not.toBeNull();
    expect(next!).toBeLessThanOrEqual(Date.now());
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(forwards[1].ids).toHaveLength(500);
    // Batches that just arrived: not a catch-up, which the site may hold back (test/forward-catch-up.test.ts).
    expect(forwards.map((f) => f.catchUp)).toEqual([false, false]);
    // Caught up: the next forward waits its second again (none due now).
    expect(await noForwardArmed(shard)).toBe(true);
  });

  it("sends the queue the code before kept first, and numbers new batches above it", async () => {
    const shard = env.SESSION_LOG.get(env.SESSION_LOG.idFromName(`${SITE_ID}:62`));
    const forwards = await watchForwards(shard, SITE_ID);
    const now = Date.now();
    const [old1, old2, fresh] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await runInDurableObject(shard, async (o: SessionLog, state) => {
      const sql = state.storage.sql;
      // What a shard on the code before left: its AUTOINCREMENT queue, two reports waiting (ids 6 and 7).
      sql.exec(`CREATE TABLE pending_reports (
        id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, title_id TEXT NOT NULL, started_at INTEGER NOT NULL,
        est_bytes INTEGER NOT NULL, top_bps INTEGER NOT NULL, bytes INTEGER NOT NULL, at INTEGER NOT NULL)`);
      sql.exec(`INSERT INTO sqlite_sequence (name, seq) VALUES ('pending_reports', 5)`);
      for (const id of [old1, old2])
        sql.exec(
          `INSERT INTO pending_reports (session_id, title_id, started_at, est_bytes, top_bps, bytes, at) VALUES (?, ?, ?, 1e9, 8e6, 700, ?)`,
          id,
          TITLE,
          now - 60_000,
          now,
        );
      expect(adoptLegacyPending(sql)).toBe(true);
      (o as unknown as { legacyPending: boolean }).legacyPending = true;
      expect(
        storeBatch(
          sql,
          { sessionId: fresh, titleId: TITLE, startedAt: now - 60_000, estBytes: 1e9, topBps: 8e6 },
          "f-1",
          [{ type: "progress", bytes: 300 }],
          300,
          now,
        ),
      ).toBe("stored");
      expect(sql.exec<{ id: number }>(`SELECT id FROM qoe_batches`).one().id).toBe(8);
      await state.storage.setAlarm(now + 1000);
    });
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(forwards.map((f) => f.ids)).toEqual([[6, 7], [8]]);
    expect(forwards.map((f) => f.method)).toEqual(["recordReports", "forwardReports"]);
    expect(forwards.map((f) => f.sessions)).toEqual([[old1, old2], [fresh]]);
    // Empty, the queue is dropped at the next start.
    await runInDurableObject(shard, (_o, state) => {
      expect(adoptLegacyPending(state.storage.sql)).toBe(false);
      expect(state.storage.sql.exec(`SELECT name FROM sqlite_master WHERE name = 'pending_reports'`).toArray()).toEqual([]);
    });
  });
});
