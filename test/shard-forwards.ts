import { env, runInDurableObject } from "cloudflare:test";
import type { SessionLog } from "../durable-objects/session-log";
import { EVENT_RETENTION_MS, noteForwarded, storeBatch } from "../durable-objects/site/session-events";
import type { ByteReport } from "../workers/shared/site-view";
import { expect } from "vitest";
import { type SessionClaims, signSessionToken } from "../workers/control/session-token";
import { fromB64url } from "../workers/shared/hmac";
import { signingKey } from "../workers/shared/signing-keys";
import { pressPlay, type PlayResponse } from "./fixtures";

/** A forward an event shard sent its site, as the watch saw it. */
export interface Forward {
  method: "forwardReports" | "recordReports";
  ids: number[];
  sessions: string[];
  upTo: number;
  catchUp?: boolean;
}

/** How the watched site answers: `fail` makes each call fail as an unreachable site; `missing` plays a site object on the code before forwardReports. */
export interface WatchOptions {
  fail?: () => boolean;
  missing?: boolean;
}

/**
 * Puts a watch on an event shard's calls to its site (`siteId`'s real object): each forward is noted,
 * then failed while `fail` says so, or passed to the site. The shard's env is swapped in its own object.
 */
export async function watchForwards(shard: DurableObjectStub<SessionLog>, siteId: string, options: WatchOptions = {}): Promise<Forward[]> {
  const forwards: Forward[] = [];
  await runInDurableObject(shard, (o: SessionLog) => {
    const site = env.OCA_SITE.get(env.OCA_SITE.idFromName(siteId));
    const note = (method: Forward["method"], reports: ByteReport[], f: { upTo: number; catchUp?: boolean }) => {
      forwards.push({ method, ids: reports.map((r) => r.id ?? -1), sessions: reports.map((r) => r.sessionId), upTo: f.upTo, catchUp: f.catchUp });
      if (options.fail?.()) throw new Error("injected: site unreachable");
    };
    const watched = {
      forwardReports: async (reports: ByteReport[], f: { shard: string; upTo: number; catchUp?: boolean }) => {
        // The runtime's answer when the object has no such method (deployed workerd's wording).
        if (options.missing) throw new TypeError('The RPC receiver does not implement the method "forwardReports".');
        note("forwardReports", reports, f);
        return site.forwardReports(reports, f);
      },
      recordReports: async (reports: ByteReport[], f: { shard: string; upTo: number }) => {
        note("recordReports", reports, f);
        return site.recordReports(reports, f);
      },
    };
    (o as unknown as { env: Env }).env = {
      ...env,
      OCA_SITE: { ...env.OCA_SITE, idFromName: (n: string) => env.OCA_SITE.idFromName(n), get: () => watched } as never,
    };
  });
  return forwards;
}

/** The shard's forward cursor: the last batch id its site has counted (or that had nothing for it). */
export const cursorOf = (shard: DurableObjectStub<SessionLog>) =>
  runInDurableObject(shard, (_o, state) => state.storage.sql.exec<{ c: number }>(`SELECT forwarded_up_to AS c FROM shard_epoch`).one().c);

/** The shard's next alarm, or null. */
export const alarmOf = (shard: DurableObjectStub<SessionLog>) => runInDurableObject(shard, (_o, state) => state.storage.getAlarm());

/**
 * True when the shard has no forward coming: no alarm, or only the one that wakes it to expire batches
 * past the retention (days away).
 */
export async function noForwardArmed(shard: DurableObjectStub<SessionLog>): Promise<boolean> {
  const at = await alarmOf(shard);
  return at === null || at - Date.now() > EVENT_RETENTION_MS - 3_600_000;
}

/**
 * Stores one session's batches of `titleId`, with bytes, accepted at the times `at`, in the event shard
 * `name`, and arms its alarm: forwarded already (nothing due) when `forwarded`, else all waiting.
 */
export function seedShard(name: string, titleId: string, at: number[], opts: { forwarded: boolean }): Promise<DurableObjectStub<SessionLog>> {
  const shard = env.SESSION_LOG.get(env.SESSION_LOG.idFromName(name));
  return runInDurableObject(shard, async (_o, state) => {
    const sql = state.storage.sql;
    const session = { sessionId: crypto.randomUUID(), titleId, startedAt: at[0] - 60_000, estBytes: 1e12, topBps: 8e6 };
    for (const [k, t] of at.entries()) storeBatch(sql, session, `b-${k}`, [{ type: "progress", bytes: 10 }], 10, t);
    if (opts.forwarded) noteForwarded(sql, sql.exec<{ id: number }>(`SELECT MAX(id) AS id FROM qoe_batches`).one().id);
    await state.storage.setAlarm(Date.now());
  }).then(() => shard);
}

/** How many batches an event shard holds. */
export const batchesIn = (shard: DurableObjectStub) =>
  runInDurableObject(shard, (_o, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM qoe_batches`).one().n);

/**
 * `n` sessions of one play of `titleId` by the member of `token`, each its own session id, signed as
 * play signs them (a member's plays are limited per minute: many sessions from one play), with the token.
 */
export async function signedSessionsOf(
  token: string,
  n: number,
  titleId: string,
  homeSiteId: string,
  geo: string,
): Promise<Array<{ sessionId: string; sessionToken: string; token: string }>> {
  const res = await pressPlay(token, { titleId }, geo);
  expect(res.status).toBe(200);
  const p = (await res.json()) as PlayResponse;
  const claims = JSON.parse(new TextDecoder().decode(fromB64url(p.sessionToken.split(".")[2])!)) as SessionClaims;
  expect(claims.home).toBe(homeSiteId);
  const { ring, kid } = signingKey(env);
  return Promise.all(
    Array.from({ length: n }, async () => {
      const sid = crypto.randomUUID();
      return { sessionId: sid, sessionToken: await signSessionToken(ring, kid, { ...claims, sid }), token };
    }),
  );
}

/** Batches of these sessions the shards hold, summed over the shards. */
export async function batchesStored(shards: ReadonlyArray<DurableObjectStub<SessionLog>>, sessionIds: ReadonlySet<string>): Promise<number> {
  let n = 0;
  for (const shard of shards) {
    n += await runInDurableObject(
      shard,
      (_o, state) =>
        state.storage.sql
          .exec<{ session_id: string }>(`SELECT session_id FROM qoe_batches`)
          .toArray()
          .filter((r) => sessionIds.has(r.session_id)).length,
    );
  }
  return n;
}

/** What the site counted of each of these sessions' reports (its viewing history's per-session rows). */
export function reportedAtSite(siteId: string, sessionIds: ReadonlySet<string>): Promise<Array<{ session_id: string; reported: number }>> {
  return runInDurableObject(env.OCA_SITE.get(env.OCA_SITE.idFromName(siteId)), (_o, state) =>
    state.storage.sql
      .exec<{ session_id: string; reported: number }>(`SELECT session_id, reported FROM session_views`)
      .toArray()
      .filter((r) => sessionIds.has(r.session_id)),
  );
}
