import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { expireEvents, SESSION_EVENTS_BURST, storeBatch } from "../durable-objects/site/session-events";
import { reportedSite } from "../workers/control/events";
import { LAST_BATCH_GRACE_S } from "../workers/control/session-ttl";
import { type SessionClaims, signSessionToken } from "../workers/control/session-token";
import { fromB64url } from "../workers/shared/hmac";
import { signingKey } from "../workers/shared/signing-keys";
import { fill, GEO, memberToken, postEvents, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

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
      const kept = sql.exec<{ n: number; first: string }>(`SELECT COUNT(*) AS n, MIN(session_id) AS first FROM play_events`).one();
      expect(kept.n).toBeLessThanOrEqual(1_100);
      expect(kept.n).toBeGreaterThanOrEqual(1_000);
      // The newest stayed: the last session's events are all there, the first's are gone.
      expect(sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM play_events WHERE session_id = 's-29'`).one().n).toBe(100);
      expect(sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM play_events WHERE session_id = 's-0'`).one().n).toBe(0);
      // Batch keys are held to the same bound: 1,200 batches of one event each keep at most 1,000 and the newest.
      for (let n = 0; n < 1200; n++) {
        storeBatch(sql, session(100 + n), `one-${n}`, [{ type: "progress" }], 0, now);
        expireEvents(sql, now, 1_000);
      }
      const batches = sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM event_batches`).one().n;
      expect(batches).toBeLessThanOrEqual(1_001);
      expect(sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM event_batches WHERE batch_id = 'one-1199'`).one().n).toBe(1);
      // A session that started a second ago has the burst and one more.
      const young = { sessionId: "young", titleId: TITLE, startedAt: now - 1_000 };
      const burst = Array.from({ length: SESSION_EVENTS_BURST + 1 }, () => ({ type: "progress" as const }));
      expect(storeBatch(sql, young, "young-1", burst, 0, now)).toBe("stored");
      expect(storeBatch(sql, young, "young-2", [{ type: "progress" }], 0, now)).toBe("over");
      expect(storeBatch(sql, young, "young-1", [{ type: "progress" }], 0, now)).toBe("duplicate");
    });
  });
});
