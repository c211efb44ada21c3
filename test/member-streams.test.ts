import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Admission,
  countPlay,
  HANDOVERS_PER_HOUR,
  newStreamMemory,
  PLAY_WINDOW_MS,
  SILENCE_MS,
  STOP_GRACE_MS,
  STOP_HOLD_MS,
  StreamBook,
  type StreamMemory,
} from "../durable-objects/member/streams";
import { VcdnClient } from "../client/api";
import { SdkError } from "../client/errors";
import { viewerMessage } from "../client/player/viewer-message";
import { PlaySession } from "../client/session";
import type { FetchLike } from "../client/types";
import { type SessionClaims, signSessionToken } from "../workers/control/session-token";
import { fromB64url } from "../workers/shared/hmac";
import { signingKey } from "../workers/shared/signing-keys";
import { ADMIN, call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * The plan's concurrent streams (basic 1, standard 2, premium 4), kept by one Durable Object per
 * member: a play beyond the limit gets 409 with the member's active sessions; a stream stops counting
 * when its client says stop or after SILENCE_MS without a steering poll, QoE batch or segment served.
 */

const TITLE = "streams-title";
const member = (id: string) => env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName(id));

async function play(token: string) {
  const res = await pressPlay(token, { titleId: TITLE }, GEO.lumenNyc);
  return {
    status: res.status,
    retryAfter: res.headers.get("Retry-After"),
    body: (await res.json()) as PlayResponse & {
      error?: {
        code: string;
        message: string;
        details: { limit: number; active: Array<{ sessionId: string }>; stoppedHolding?: number; retryAfterS?: number };
      };
    },
  };
}

const stop = (token: string, p: PlayResponse) =>
  call("/v1/events", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ sessionId: p.sessionId, sessionToken: p.sessionToken, batchId: `stop-${p.sessionId}`, events: [{ type: "stop", reason: "user" }] }),
  });

/** The member object's slots settle after the request (release rides waitUntil). */
async function activeOf(id: string, want: number): Promise<number> {
  let n = -1;
  for (let i = 0; i < 50; i++) {
    n = (await member(id).active()).length;
    if (n === want) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return n;
}

/**
 * The member's streams show no activity for SILENCE_MS: their clock moved back in storage, which the
 * object reads afresh, keeping what it knows in memory (the plan's limit, stopped sessions).
 */
const goSilent = (id: string) =>
  runInDurableObject(member(id), async (instance, state) => {
    state.storage.sql.exec(`UPDATE streams SET last_seen = last_seen - ?`, SILENCE_MS + 1);
    Object.assign(instance, { book: new StreamBook(state.storage.sql, (instance as unknown as { memory: StreamMemory }).memory) });
  });

/**
 * Runs `fn` with the StreamBook of a member object and its own play window; `take` admits a session
 * at `at` with a token valid for an hour from then.
 */
function withBook(
  name: string,
  limits: { streams: number; playsPerWindow: number },
  fn: (b: { book: StreamBook; sql: SqlStorage; take: (sessionId: string, at: number) => Admission }) => void,
) {
  return runInDurableObject(member(name), async (_i, state) => {
    const sql = state.storage.sql;
    const book = new StreamBook(sql);
    const window = { start: 0, plays: 0 };
    fn({ book, sql, take: (sessionId, at) => book.acquire(window, { sessionId, titleId: TITLE, expiresAt: at + 3_600_000 }, limits, at) });
  });
}

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
});

describe("concurrent streams per member", () => {
  it("refuse a play beyond the plan's limit with 409 and the member's active sessions", async () => {
    const token = await memberToken("standard", "streams-std");
    const a = await play(token);
    const b = await play(token);
    expect([a.status, b.status]).toEqual([200, 200]);
    const c = await play(token);
    expect(c.status).toBe(409);
    expect(c.body.error).toMatchObject({ code: "too_many_streams", details: { limit: 2 } });
    expect(c.body.error!.details.active.map((s) => s.sessionId).sort()).toEqual([a.body.sessionId, b.body.sessionId].sort());
  });

  it("tell the SDK which title holds the plan's slot, so the player names it to the viewer", async () => {
    const token = await memberToken("basic", "streams-named");
    expect((await play(token)).status).toBe(200);
    // The SDK's own client, on the Worker itself.
    const fetch = ((url: string, init?: RequestInit) => call(url, init)) as unknown as FetchLike;
    const client = new VcdnClient({ baseUrl: "http://cdn.test", token, geo: GEO.lumenNyc, fetch });
    const err = await PlaySession.start(client, TITLE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdkError);
    expect((err as SdkError).data).toMatchObject({ status: 409, apiCode: "too_many_streams", activeTitleIds: [TITLE] });
    expect(viewerMessage(err, (id) => (id === TITLE ? "Streams Title" : undefined))).toBe(
      "Your plan's streams are all in use on other screens, where Streams Title is playing. Stop one there, then press play again. (error 2001 too_many_streams)",
    );
  });

  it("free a slot when the client says the stream stopped", async () => {
    const token = await memberToken("basic", "streams-stop");
    const first = await play(token);
    expect(first.status).toBe(200);
    expect((await play(token)).status).toBe(409);
    expect((await stop(token, first.body)).status).toBe(202);
    expect(await activeOf("streams-stop", 0)).toBe(0);
    expect((await play(token)).status).toBe(200);
  });

  it("free a slot after a stream has been silent for the stated time", async () => {
    const token = await memberToken("basic", "streams-silent");
    expect((await play(token)).status).toBe(200);
    expect((await play(token)).status).toBe(409);
    // No steering poll or QoE batch for SILENCE_MS (the clock of the stream moved back that far, in
    // storage; the object then reads it afresh, as it does after a restart).
    await runInDurableObject(member("streams-silent"), async (instance, state) => {
      state.storage.sql.exec(`UPDATE streams SET last_seen = last_seen - ?`, SILENCE_MS + 1);
      Object.assign(instance, { book: new StreamBook(state.storage.sql) });
    });
    expect((await play(token)).status).toBe(200);
  });

  it("give the last slot to exactly one of two plays that race for it", async () => {
    const token = await memberToken("basic", "streams-race");
    const [a, b] = await Promise.all([play(token), play(token)]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect(await activeOf("streams-race", 1)).toBe(1);
  });

  it("leave no slot taken by a play that failed after its admission", async () => {
    // A catalogue row the admin API would refuse (a 1 Tb/s rung, past what a session can carry),
    // written straight to D1: play takes the member's slot, then cannot sign the session.
    await publishTitle("streams-broken-title");
    await env.DB.prepare(`UPDATE renditions SET bandwidth = 1000000000000 WHERE title_id = ? AND kind = 'video'`).bind("streams-broken-title").run();
    const token = await memberToken("basic", "streams-broken");
    const broken = await pressPlay(token, { titleId: "streams-broken-title" }, GEO.lumenNyc);
    expect(broken.status).toBe(500);
    expect(await activeOf("streams-broken", 0)).toBe(0);
    const next = await play(token);
    expect(next.status, JSON.stringify(next.body)).toBe(200);
  });

  it("free a slot when the client says the stream stopped even if its events cannot be stored, which answers 503 to send again", async () => {
    const { SessionLog } = await import("../durable-objects/session-log");
    // RPC dispatches prototype methods, so the fault goes on the prototype (the one thing mocked here).
    const proto = SessionLog.prototype as unknown as { recordEvents: (...a: unknown[]) => Promise<unknown> };
    const real = proto.recordEvents;
    const token = await memberToken("basic", "streams-stop-shard-down");
    const first = await play(token);
    expect(first.status).toBe(200);
    proto.recordEvents = async () => {
      throw new Error("injected: event shard unreachable");
    };
    try {
      const res = await stop(token, first.body);
      expect(res.status).toBe(503);
      expect(res.headers.get("Retry-After")).toBe("5");
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("events_unavailable");
    } finally {
      proto.recordEvents = real;
    }
    expect(await activeOf("streams-stop-shard-down", 0)).toBe(0);
    expect((await play(token)).status).toBe(200);
  });

  it("answer a stop whose release cannot reach the member's object with 503, and free the slot when it is sent again", async () => {
    const { MemberStreams } = await import("../durable-objects/member-streams");
    // RPC dispatches prototype methods, so the fault goes on the prototype (the one thing mocked here).
    const proto = MemberStreams.prototype as unknown as { release: (...a: unknown[]) => Promise<unknown> };
    const real = proto.release;
    const token = await memberToken("basic", "streams-stop-member-down");
    const first = await play(token);
    expect(first.status).toBe(200);
    proto.release = async () => {
      throw new Error("injected: member object unreachable");
    };
    try {
      const res = await stop(token, first.body);
      expect(res.status).toBe(503);
      expect(res.headers.get("Retry-After")).toBe("1");
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("streams_unavailable");
    } finally {
      proto.release = real;
    }
    expect(await activeOf("streams-stop-member-down", 1)).toBe(1);
    // The same batch again: stored once (a duplicate), the slot freed this time.
    const again = await stop(token, first.body);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ duplicate: true });
    expect(await activeOf("streams-stop-member-down", 0)).toBe(0);
    expect((await play(token)).status).toBe(200);
  });

  it("free a slot when the client says the stream stopped even if its home site has left the topology, which answers 404", async () => {
    const token = await memberToken("basic", "streams-stop-home-gone");
    const first = await play(token);
    expect(first.status).toBe(200);
    expect((await play(token)).status).toBe(409);
    // The session as the Worker signed it, its home a site the topology no longer has (an operator removed it).
    const claims = JSON.parse(new TextDecoder().decode(fromB64url(first.body.sessionToken.split(".")[2])!)) as SessionClaims;
    const { ring, kid } = signingKey(env);
    const sessionToken = await signSessionToken(ring, kid, { ...claims, home: "removed-site" });
    const res = await stop(token, { ...first.body, sessionToken });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unknown_session");
    expect(await activeOf("streams-stop-home-gone", 0)).toBe(0);
    expect((await play(token)).status).toBe(200);
  });

  it("leave no slot taken by a play that failed while the member's object was too slow to answer its admission", async () => {
    await publishTitle("streams-broken-slow");
    await env.DB.prepare(`UPDATE renditions SET bandwidth = 1000000000000 WHERE title_id = ? AND kind = 'video'`).bind("streams-broken-slow").run();
    const { MemberStreams } = await import("../durable-objects/member-streams");
    // RPC dispatches prototype methods, so the delay goes on the prototype (the one thing mocked here).
    const proto = MemberStreams.prototype as unknown as { acquire: (...a: unknown[]) => Promise<unknown> };
    const real = proto.acquire;
    proto.acquire = async function (this: unknown, ...a: unknown[]) {
      await new Promise((r) => setTimeout(r, 2_500)); // past the play's 2 s wait: it goes on unchecked
      return real.apply(this, a);
    };
    const token = await memberToken("basic", "streams-broken-slow");
    try {
      const broken = await pressPlay(token, { titleId: "streams-broken-slow" }, GEO.lumenNyc);
      expect(broken.status).toBe(500);
      await new Promise((r) => setTimeout(r, 1_000)); // the late admission arrives after the release
    } finally {
      proto.acquire = real;
    }
    expect(await activeOf("streams-broken-slow", 0)).toBe(0);
    const next = await play(token);
    expect(next.status, JSON.stringify(next.body)).toBe(200);
  });

  it("fail open when the member's object is unreachable, and record it with the session", async () => {
    const { MemberStreams } = await import("../durable-objects/member-streams");
    // RPC dispatches prototype methods, so the fault goes on the prototype (the one thing mocked here).
    const proto = MemberStreams.prototype as unknown as { acquire: (...a: unknown[]) => Promise<unknown> };
    const real = proto.acquire;
    proto.acquire = async () => {
      throw new Error("injected: member object unreachable");
    };
    try {
      const token = await memberToken("basic", "streams-down");
      const a = await play(token);
      const b = await play(token);
      expect([a.status, b.status]).toEqual([200, 200]);
      let events: Array<{ type: string; reason?: string }> = [];
      for (let i = 0; i < 50 && events.length === 0; i++) {
        events =
          ((await (await call(`/admin/sessions/${a.body.sessionId}/events?site=lumen-nyc`, { headers: ADMIN })).json()) as { events?: typeof events }).events ??
          [];
        if (events.length === 0) await new Promise((r) => setTimeout(r, 20));
      }
      expect(events).toEqual([expect.objectContaining({ type: "error", reason: expect.stringMatching(/^stream limit not checked: .*injected/) })]);
    } finally {
      proto.acquire = real;
    }
  });
});

describe("a live stream's activity", () => {
  it("reaches the member's object at least twice in every silence window while the player polls every 5 s, and not on every poll", async () => {
    const { touchStream, TOUCH_EVERY_MS } = await import("../workers/control/member-streams");
    // The real binding, watched: each touch that leaves the isolate is recorded with the poll's clock
    // (the clock is simulated: a test cannot wait out minutes of polling).
    const touches: number[] = [];
    let clock = 0;
    const watched = {
      ...env,
      MEMBER_STREAMS: {
        idFromName: (name: string) => env.MEMBER_STREAMS.idFromName(name),
        get: (id: DurableObjectId) => ({
          touch: (sessionId: string, stream: { titleId: string; expiresAt: number }) => {
            touches.push(clock);
            return env.MEMBER_STREAMS.get(id).touch(sessionId, stream);
          },
        }),
      },
    } as unknown as Env;
    const pending: Promise<unknown>[] = [];
    const start = Date.now();
    for (clock = start; clock < start + 10 * 60_000; clock += 5_000)
      touchStream(watched, "streams-touch", "touch-session", { titleId: TITLE, expiresAt: start + 3_600_000 }, (p) => pending.push(p), clock);
    await Promise.all(pending);
    const gaps = touches.slice(1).map((t, i) => t - touches[i]);
    expect(touches.length).toBeGreaterThanOrEqual(10);
    expect(touches.length).toBeLessThan(120 / 4);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(SILENCE_MS / 2);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(TOUCH_EVERY_MS + 5_000);
  });
});

describe("a stream's segments", () => {
  it("count as its activity: a player that only fetches segments keeps its slot, and loses it once it stops fetching", async () => {
    const { noteStreamActivity } = await import("../workers/shared/stream-activity");
    const { TOUCH_EVERY_MS } = await import("../workers/control/member-streams");
    const id = "streams-segments";
    const token = await memberToken("basic", id);
    const first = await play(token);
    expect(first.status).toBe(200);
    const sessionId = first.body.sessionId;
    const lastSeen = () =>
      runInDurableObject(
        member(id),
        async (_i, state) =>
          state.storage.sql.exec<{ last_seen: number }>(`SELECT last_seen FROM streams WHERE session_id = ?`, sessionId).toArray()[0]?.last_seen,
      );
    // No steering poll or QoE batch for SILENCE_MS (the stream's clock moved back that far in storage, read afresh by the object).
    const silence = () =>
      runInDurableObject(member(id), async (instance, state) => {
        state.storage.sql.exec(`UPDATE streams SET last_seen = last_seen - ?`, SILENCE_MS + 1);
        Object.assign(instance, { book: new StreamBook(state.storage.sql) });
      });

    await silence();
    const before = (await lastSeen())!;
    // The player fetches a segment, a minute after this isolate last told the object of the stream.
    noteStreamActivity(sessionId, Date.now() - TOUCH_EVERY_MS);
    const seg = await call(`${first.body.ocas[0].url}video/avc-480p/seg-00001.m4s`);
    expect(seg.status).toBe(200);
    await seg.arrayBuffer();
    let seen = before;
    for (let i = 0; i < 100 && seen === before; i++) {
      seen = (await lastSeen())!;
      if (seen === before) await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toBeGreaterThan(before + SILENCE_MS);
    expect((await play(token)).status).toBe(409);

    // A second segment within the minute is not another call; silence with no segment frees the slot.
    await silence();
    const quiet = (await lastSeen())!;
    await (await call(`${first.body.ocas[0].url}video/avc-480p/seg-00001.m4s`)).arrayBuffer();
    await new Promise((r) => setTimeout(r, 100));
    expect(await lastSeen()).toBe(quiet);
    expect((await play(token)).status).toBe(200);
  });
});

/** Waits (up to 2 s) until `ok()` holds: the object's answer to a touch lands after the request that made it. */
async function until(ok: () => boolean | Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await ok()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe("a stream's activity after it stopped or went silent", () => {
  const SEG = "video/avc-480p/seg-00001.m4s";
  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it("is answered by the object: counted while the stream holds a slot, back after a silence when a slot is free, refused when stopped or full", async () => {
    await withBook("streams-touch-verdicts", { streams: 1, playsPerWindow: 30 }, ({ book, take }) => {
      const now = Date.now();
      const ref = { titleId: TITLE, expiresAt: now + 3_600_000 };
      // Before any play the object does not know the plan's limit: it decides nothing.
      expect(book.touch("x", now, ref)).toBe("unknown");
      expect(take("a", now).verdict).toBe("granted");
      expect(book.touch("a", now + 1_000, ref)).toBe("counted");
      const later = now + 1_000 + SILENCE_MS + 1;
      // a went silent: b (another device of the member, long paused) takes the free slot, and a finds it taken.
      expect(book.touch("b", later, ref)).toBe("readmitted");
      expect(book.touch("a", later + 1, ref)).toBe("refused");
      // b stops: a may have the slot back, and b's activity is refused once the stop's grace is over
      // (requests a renewing client made under its old session may still arrive just after its stop).
      expect(book.release("b", later + 2)).toBe(true);
      expect(book.touch("b", later + 2, ref)).toBe("unknown");
      expect(book.touch("a", later + 3, ref)).toBe("readmitted");
      expect(book.touch("b", later + 2 + STOP_GRACE_MS, ref)).toBe("refused");
      expect(book.active(later + 3).map((x) => x.sessionId)).toEqual(["a"]);
      // A token that has expired gets nothing back.
      expect(book.touch("c", later + 4, { titleId: TITLE, expiresAt: later + 4 })).toBe("unknown");
    });
  });

  it("stops a client that sends stop and plays on: its segments get 409 once its object refused it", async () => {
    const { noteStreamActivity, streamRefused } = await import("../workers/shared/stream-activity");
    const { TOUCH_EVERY_MS } = await import("../workers/control/member-streams");
    const token = await memberToken("basic", "streams-stop-cheat");
    const a = await play(token);
    expect(a.status).toBe(200);
    expect((await stop(token, a.body)).status).toBe(202);
    const b = await play(token);
    expect(b.status).toBe(200);
    // Just after its stop, a's requests are still served (a renewing client's may be in flight) ...
    await (await call(`${a.body.ocas[0].url}${SEG}`)).arrayBuffer();
    await new Promise((r) => setTimeout(r, 50));
    expect(streamRefused(a.body.sessionId)).toBe(false);
    // ... but a's player goes on past the grace (the stop moved back that far in the object's memory):
    // its next touch, a minute on, is refused.
    await runInDurableObject(member("streams-stop-cheat"), async (instance) => {
      const stopped = (instance as unknown as { memory: StreamMemory }).memory.stopped;
      stopped.set(a.body.sessionId, stopped.get(a.body.sessionId)! - STOP_GRACE_MS);
    });
    noteStreamActivity(a.body.sessionId, Date.now() - TOUCH_EVERY_MS);
    await (await call(`${a.body.ocas[0].url}${SEG}`)).arrayBuffer();
    expect(await until(() => streamRefused(a.body.sessionId))).toBe(true);
    const refused = await call(`${a.body.ocas[0].url}${SEG}`);
    expect(refused.status).toBe(409);
    expect(await errorCode(refused)).toBe("too_many_streams");
    // The member's real stream plays on.
    const served = await call(`${b.body.ocas[0].url}${SEG}`);
    expect(served.status).toBe(200);
    await served.arrayBuffer();
  });

  it("lets a stop free its slot at once for a member's handovers of the hour, then holds stopped streams to their slots for a minute and a half", async () => {
    await withBook("streams-handovers", { streams: 1, playsPerWindow: 1_000 }, ({ book, take }) => {
      const t = Date.now();
      const ref = { titleId: TITLE, expiresAt: t + 3_600_000 };
      // Stop one title, play another at once: each is a handover (the stopped stream might still be served).
      expect(take("s0", t).verdict).toBe("granted");
      for (let i = 1; i <= HANDOVERS_PER_HOUR; i++) {
        expect(book.release(`s${i - 1}`, t + i * 1_000, ref)).toBe(true);
        expect(take(`s${i}`, t + i * 1_000 + 1).verdict, `handover ${i}`).toBe("granted");
      }
      // The hour's handovers are spent: the next stop holds its slot for STOP_HOLD_MS.
      const u = t + (HANDOVERS_PER_HOUR + 1) * 1_000;
      expect(book.release(`s${HANDOVERS_PER_HOUR}`, u, ref)).toBe(true);
      // Every stream stopped in the last minute and a half may still be served somewhere.
      expect(take("late", u + 1)).toMatchObject({ verdict: "full", active: [], stoppedHolding: HANDOVERS_PER_HOUR + 1 });
      expect(take("late", u + STOP_HOLD_MS - 1).verdict).toBe("full");
      // Once no stopped stream can still be served, the slot is free, with no handover needed.
      expect(take("late", u + STOP_HOLD_MS + 1).verdict).toBe("granted");
      // An hour after the first handovers, stops free their slots at once again.
      const v = t + 3_600_000 + 2_000;
      expect(book.release("late", v, ref)).toBe(true);
      expect(take("next", v + 1).verdict).toBe("granted");
    });
  });

  it("spends no handover on a slot an operator or a failed play freed, and an operator's release of a session not held changes nothing", async () => {
    await withBook("streams-stop-operator", { streams: 1, playsPerWindow: 1_000 }, ({ book, take }) => {
      const t = Date.now();
      const ref = { titleId: TITLE, expiresAt: t + 3_600_000 };
      const memory = (book as unknown as { memory: StreamMemory }).memory;
      expect(take("a", t).verdict).toBe("granted");
      // The operator frees a's slot (no title or expiry): b takes it outright.
      expect(book.release("a", t + 1_000)).toBe(true);
      expect(take("b", t + 1_001).verdict).toBe("granted");
      // A play that failed once admitted gives its slot back outright too.
      expect(book.release("b", t + 2_000, ref, "failed_play")).toBe(true);
      expect(take("c", t + 2_001).verdict).toBe("granted");
      // So does a stream the operator stopped first, whatever its client says after.
      expect(book.release("c", t + 3_000)).toBe(true);
      expect(book.release("c", t + 3_001, ref)).toBe(false);
      expect(take("d", t + 3_002).verdict).toBe("granted");
      expect(memory.handovers).toEqual([]);
      // The member's own stop is one.
      expect(book.release("d", t + 4_000, ref)).toBe(true);
      expect(take("e", t + 4_001).verdict).toBe("granted");
      expect(memory.handovers).toEqual([t + 4_001]);
      // A typo, or a device that had already gone silent: answered false, and its activity is not refused.
      expect(book.release("not-held", t + 5_000)).toBe(false);
      expect(book.release("e", t + 5_000, ref)).toBe(true);
      expect(book.touch("not-held", t + 5_000 + STOP_GRACE_MS + 1, ref)).toBe("readmitted");
    });
  });

  it("answers a play that would take a stopped stream's slot past the hour's handovers with 409 saying so, through the play route", async () => {
    const id = "streams-stop-loop";
    const token = await memberToken("basic", id);
    // The loop: play, stop, play again at once. Each turn is a handover.
    let last = await play(token);
    expect(last.status).toBe(200);
    for (let i = 0; i < HANDOVERS_PER_HOUR; i++) {
      expect((await stop(token, last.body)).status).toBe(202);
      last = await play(token);
      expect(last.status, `turn ${i + 1}`).toBe(200);
    }
    // Past them, the stopped streams of the last minute and a half still hold the plan's one slot.
    expect((await stop(token, last.body)).status).toBe(202);
    const refused = await play(token);
    expect(refused.status).toBe(409);
    expect(refused.body.error?.code).toBe("too_many_streams");
    expect(refused.body.error?.details).toMatchObject({ limit: 1, active: [] });
    expect(refused.body.error?.details.stoppedHolding).toBeGreaterThanOrEqual(1);
    expect(refused.body.error?.message).toMatch(/stream\(s\) stopped in the last 90 s still hold their slots \(too many stops and plays this hour\)/);
    // When the held slots free at the latest: in the details and as Retry-After.
    expect(refused.body.error?.details.retryAfterS).toBe(STOP_HOLD_MS / 1000);
    expect(refused.retryAfter).toBe(String(STOP_HOLD_MS / 1000));
    // The SDK carries it, and the web player tells the viewer to wait, not to stop another screen.
    const fetch = ((url: string, init?: RequestInit) => call(url, init)) as unknown as FetchLike;
    const err = await PlaySession.start(new VcdnClient({ baseUrl: "http://cdn.test", token, geo: GEO.lumenNyc, fetch }), TITLE).catch((e: unknown) => e);
    expect((err as SdkError).data).toMatchObject({ status: 409, apiCode: "too_many_streams", retryAfterS: 90 });
    expect((err as SdkError).data.stoppedHolding).toBeGreaterThanOrEqual(1);
    expect(viewerMessage(err)).toBe(
      "Streams were started and stopped many times this hour, so one stopped moments ago still holds its place. Wait 90 seconds, then press play again. (error 2001 too_many_streams)",
    );
  }, 60_000);

  it("gives a long-paused stream its slot back when one is free, and refuses it while another device holds it", async () => {
    const { noteStreamActivity, streamRefused } = await import("../workers/shared/stream-activity");
    const { TOUCH_EVERY_MS } = await import("../workers/control/member-streams");
    const id = "streams-pause";
    const token = await memberToken("basic", id);
    const a = await play(token);
    expect(a.status).toBe(200);
    // a pauses past SILENCE_MS.
    await goSilent(id);
    const b = await play(token);
    expect(b.status).toBe(200);
    // a resumes a minute after this isolate last told the object of it: b holds the slot, so a is refused.
    noteStreamActivity(a.body.sessionId, Date.now() - TOUCH_EVERY_MS);
    await (await call(`${a.body.ocas[0].url}${SEG}`)).arrayBuffer();
    expect(await until(() => streamRefused(a.body.sessionId))).toBe(true);
    expect((await call(`${a.body.ocas[0].url}${SEG}`)).status).toBe(409);
    // b stops; a minute on, a's next request asks again and a has the slot back.
    expect((await stop(token, b.body)).status).toBe(202);
    noteStreamActivity(a.body.sessionId, Date.now() - TOUCH_EVERY_MS);
    expect((await call(`${a.body.ocas[0].url}${SEG}`)).status).toBe(409);
    expect(await until(() => !streamRefused(a.body.sessionId))).toBe(true);
    const back = await call(`${a.body.ocas[0].url}${SEG}`);
    expect(back.status).toBe(200);
    await back.arrayBuffer();
    expect((await member(id).active()).map((s) => s.sessionId)).toEqual([a.body.sessionId]);
    expect((await play(token)).status).toBe(409);
  });
});

describe("a member's play rate, counted in the member's object", () => {
  it("allows so many plays per minute window, then refuses with the seconds left, and opens again in the next window", () => {
    const window = { start: 0, plays: 0 };
    const start = Math.ceil(Date.now() / PLAY_WINDOW_MS) * PLAY_WINDOW_MS;
    const verdicts = Array.from({ length: 4 }, (_, i) => countPlay(window, 3, start + 1_000 + i));
    expect(verdicts.map((v) => v.ok)).toEqual([true, true, true, false]);
    expect(verdicts[3].retryAfterS).toBe(59);
    expect(countPlay(window, 3, start + PLAY_WINDOW_MS).ok).toBe(true);
    expect(window.plays).toBe(1);
  });

  it("refuses a play over the rate before it takes a slot", async () => {
    await withBook("streams-rate-slot", { streams: 4, playsPerWindow: 2 }, ({ book, take }) => {
      const now = Date.now();
      expect([take("a", now).verdict, take("b", now).verdict, take("c", now).verdict]).toEqual(["granted", "granted", "rate_limited"]);
      expect(
        book
          .active(now)
          .map((s) => s.sessionId)
          .sort(),
      ).toEqual(["a", "b"]);
    });
  });
});

describe("a member's admission", () => {
  it("answers a granted play with the same streams a fresh read gives, the new one included", async () => {
    await withBook("streams-admission", { streams: 3, playsPerWindow: 60 }, ({ sql, take }) => {
      const now = Date.now();
      take("a", now - SILENCE_MS - 1);
      take("b", now - 1_000);
      const granted = take("c", now);
      expect(granted.verdict).toBe("granted");
      // "a" went silent and no longer counts; the answer lists what a fresh book reads from storage now.
      const read = new StreamBook(sql).active(now);
      expect(read.map((s) => s.sessionId)).toEqual(["b", "c"]);
      expect(granted.verdict === "granted" && granted.active).toEqual(read);
    });
  });

  it("keeps storage and memory alike: a book read afresh after touches and a release sees what the object's book sees", async () => {
    await withBook("streams-book", { streams: 4, playsPerWindow: 60 }, ({ book, sql, take }) => {
      const now = Date.now();
      take("x", now - 100_000);
      take("y", now - 90_000);
      take("z", now - 80_000);
      // x is touched and keeps counting past its silence; y is not, and goes silent; z stops.
      book.touch("x", now - 10_000);
      book.touch("unknown", now);
      expect(book.release("z")).toBe(true);
      expect(book.release("z")).toBe(false);
      const later = now + SILENCE_MS - 80_000;
      expect(book.active(later).map((s) => [s.sessionId, s.lastSeenAt])).toEqual([["x", now - 10_000]]);
      expect(new StreamBook(sql).active(later)).toEqual(book.active(later));
      // x counts; z's row stays, marked stopped, until its token expires.
      expect(sql.exec("SELECT session_id, stopped_at IS NOT NULL AS stopped FROM streams ORDER BY session_id").toArray()).toEqual([
        { session_id: "x", stopped: 0 },
        { session_id: "z", stopped: 1 },
      ]);
    });
  });

  it("knows after a restart what it knew before: the plan's limit, the streams that count, and the ones that stopped", async () => {
    await withBook("streams-restart", { streams: 1, playsPerWindow: 60 }, ({ book, sql, take }) => {
      const now = Date.now();
      const ref = { titleId: TITLE, expiresAt: now + 3_600_000 };
      expect(take("a", now).verdict).toBe("granted");
      expect(book.release("a", now)).toBe(true);
      expect(take("b", now + 1).verdict).toBe("granted");
      // The object restarts (a deploy restarts every object): a new book over the same storage, an empty memory.
      const memory: StreamMemory = newStreamMemory();
      const restarted = new StreamBook(sql, memory);
      const later = now + STOP_GRACE_MS + 1;
      // a stopped and plays on past the grace: refused, as before the restart.
      expect(restarted.touch("a", later, ref)).toBe("refused");
      // b holds the plan's one slot: a long-paused c of the same member is refused, not let in.
      expect(restarted.touch("c", later, ref)).toBe("refused");
      expect(restarted.touch("b", later, ref)).toBe("counted");
      expect(memory.limit).toBe(1);
      expect(restarted.active(later).map((x) => x.sessionId)).toEqual(["b"]);
      // Once a's token expires its row goes (with the next counted stream that goes).
      restarted.active(now + 3_600_000 + 1);
      expect(sql.exec("SELECT COUNT(*) AS n FROM streams").one().n).toBe(0);
    });
  });

  it("keeps after a restart the stop of a stream that had gone silent, when the stop says its title and expiry", async () => {
    await withBook("streams-silent-stop", { streams: 2, playsPerWindow: 60 }, ({ book, sql, take }) => {
      const now = Date.now();
      const ref = { titleId: TITLE, expiresAt: now + 3_600_000 };
      take("quiet", now - SILENCE_MS - 1);
      take("held", now);
      // "quiet" went silent, so the book no longer holds it; its client's stop still counts.
      expect(book.release("quiet", now, ref)).toBe(false);
      // An operator's release names no stream: a stream held nowhere gets no row.
      expect(book.release("nowhere", now)).toBe(false);
      expect(sql.exec("SELECT session_id, stopped_at FROM streams ORDER BY session_id").toArray()).toEqual([
        { session_id: "held", stopped_at: null },
        { session_id: "quiet", stopped_at: now },
      ]);
      // After a restart a slot is free (the plan's 2, "held" counts), yet "quiet" playing on is refused, not let back in.
      const restarted = new StreamBook(sql, newStreamMemory());
      const later = now + STOP_GRACE_MS + 1;
      expect(restarted.touch("quiet", later, ref)).toBe("refused");
      expect(restarted.touch("other", later, ref)).toBe("readmitted");
      // A second stop keeps the first stop's time; the row goes when the token expires.
      expect(book.release("quiet", now + 5, ref)).toBe(false);
      expect(sql.exec("SELECT stopped_at FROM streams WHERE session_id = 'quiet'").one().stopped_at).toBe(now);
      restarted.active(ref.expiresAt + 1);
      expect(sql.exec("SELECT COUNT(*) AS n FROM streams WHERE session_id = 'quiet'").one().n).toBe(0);
    });
  });

  it("keeps a client's stop of a silent stream through the events route", async () => {
    const id = "streams-silent-stop-route";
    const token = await memberToken("standard", id);
    const a = await play(token);
    expect(a.status).toBe(200);
    // a goes silent, then its client says stop.
    await goSilent(id);
    expect(await activeOf(id, 0)).toBe(0);
    expect((await stop(token, a.body)).status).toBe(202);
    const row = await runInDurableObject(member(id), async (_i, state) =>
      state.storage.sql.exec(`SELECT title_id, expires_at, stopped_at FROM streams WHERE session_id = ?`, a.body.sessionId).toArray(),
    );
    expect(row).toEqual([{ title_id: TITLE, expires_at: Date.parse(a.body.expiresAt), stopped_at: expect.any(Number) }]);
  });

  it("adds the limit and stop columns to a table made before them, and keeps its streams", async () => {
    await withBook("streams-old-table", { streams: 2, playsPerWindow: 60 }, ({ sql, take }) => {
      const now = Date.now();
      sql.exec(`CREATE TABLE streams (
        session_id TEXT PRIMARY KEY, title_id TEXT NOT NULL, started_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, expires_at INTEGER NOT NULL)`);
      sql.exec(`INSERT INTO streams VALUES ('old', ?, ?, ?, ?)`, TITLE, now - 1_000, now - 1_000, now + 3_600_000);
      const old = new StreamBook(sql);
      expect(old.active(now).map((x) => x.sessionId)).toEqual(["old"]);
      expect(take("new", now).verdict).toBe("granted");
      expect(take("third", now).verdict).toBe("full");
      expect(sql.exec("SELECT session_id, stream_limit, stopped_at FROM streams ORDER BY started_at").toArray()).toEqual([
        { session_id: "old", stream_limit: null, stopped_at: null },
        { session_id: "new", stream_limit: 2, stopped_at: null },
      ]);
    });
  });

  it("creates a new member's table with its first admission, so a bare call to a new object writes nothing", async () => {
    const tables = (sql: SqlStorage) => sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'streams'`).toArray();
    const stub = member("streams-new-member");
    await stub.ping();
    await runInDurableObject(stub, async (_i, state) => {
      expect(tables(state.storage.sql)).toEqual([]);
    });
    await withBook("streams-new-member", { streams: 1, playsPerWindow: 60 }, ({ sql, take }) => {
      expect(take("first", Date.now()).verdict).toBe("granted");
      expect(tables(sql)).toEqual([{ name: "streams" }]);
      expect(sql.exec("SELECT session_id FROM streams").toArray()).toEqual([{ session_id: "first" }]);
    });
  });
});
