import { afterEach, describe, expect, it, vi } from "vitest";
import { VcdnClient } from "../client/api";
import type { SdkError } from "../client/errors";
import { EventReporter } from "../client/reporter";
import { PlaySession } from "../client/session";
import { viewerMessage } from "../client/player/viewer-message";
import { sessionUrl } from "../client/player/oca-order";
import type { FetchInit, FetchLike, QoeEvent } from "../client/types";
import { loadThrough, playResponse, scriptedHlsLoader } from "./client-fixtures";

/**
 * The SDK's renewal and its background work around it, against a scripted control plane (the one
 * thing faked: these cases need a play request that fails on cue, a steering poll held in flight, and
 * a connection that stalls, which the real Worker cannot be made to do on demand; the real Worker's
 * renewals are driven in test/e2e/sdk-failover.test.ts and the players' in the Chromium tests).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Script {
  /**
   * Answers for the next play requests, in order (a status, or "ok"); "ok" once they run out. 409: the
   * plan's slot held by the first session; 410 stands for a 409 naming another screen's session.
   */
  plays?: Array<number | "ok">;
  /** How long a play request takes (ms). */
  playMs?: number;
  /** How long a steering poll takes (ms). */
  steeringMs?: number;
  /** OCAs of the renewed sessions' lists. */
  renewedOcas?: string[];
  /** The first session's token lifetime (s); renewed ones get 6 h. */
  firstExpiresInS?: number;
  /** How long the first events request takes (ms). */
  firstEventsMs?: number;
}

/** Resolves when the next steering poll has left (and is being answered, slowly). */
function pollLeaves(cp: { requests: Array<{ url: string }> }): Promise<void> {
  const n = cp.requests.filter((r) => r.url.includes("/steering.json")).length;
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (cp.requests.filter((r) => r.url.includes("/steering.json")).length > n) {
        clearInterval(t);
        resolve();
      }
    }, 5);
  });
}

/** A control plane and OCAs that answer as scripted, recording every request. */
function scripted(script: Script = {}) {
  const plays = [...(script.plays ?? [])];
  let sessions = 0;
  let eventRequests = 0;
  const requests: Array<{ url: string; body?: string; at: number }> = [];
  const events: Array<{ sessionId: string; events: QoeEvent[] }> = [];
  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
  const fetch = (async (url: string, init?: FetchInit) => {
    requests.push({ url, body: init?.body, at: Date.now() });
    if (url.endsWith("/v1/play")) {
      await sleep(script.playMs ?? 0);
      const next = plays.shift() ?? "ok";
      // A 409 whose active session is the first one (its stop not yet arrived), a 410 one that names another screen's.
      if (next === 409 || next === 410)
        return json(
          { error: { code: "too_many_streams", message: "m", details: { limit: 1, active: [{ sessionId: next === 409 ? "sess-1" : "other-screen" }] } } },
          409,
        );
      if (next !== "ok") return json({ error: { code: "unavailable", message: "m" } }, next, next === 503 ? { "Retry-After": "1" } : {});
      sessions++;
      return json(playResponse(sessions, sessions === 1 ? ["a"] : (script.renewedOcas ?? ["a"]), sessions === 1 ? script.firstExpiresInS : undefined));
    }
    if (url.endsWith("/v1/events")) {
      if (eventRequests++ === 0) await sleep(script.firstEventsMs ?? 0);
      const b = JSON.parse(init!.body!) as { sessionId: string; events: QoeEvent[] };
      events.push({ sessionId: b.sessionId, events: b.events });
      return new Response("{}", { status: 202 });
    }
    if (url.includes("/steering.json")) {
      await sleep(script.steeringMs ?? 0);
      return json({ VERSION: 1, TTL: 1, "RELOAD-URI": url.split("?")[0], "PATHWAY-PRIORITY": ["a"] });
    }
    return new Response(new Uint8Array(1000), { status: 206 });
  }) as unknown as FetchLike;
  const client = new VcdnClient({ baseUrl: "https://cdn.test", token: "member", fetch });
  const stopsOf = (sessionId: string) => events.filter((e) => e.sessionId === sessionId).flatMap((e) => e.events.filter((x) => x.type === "stop"));
  const playsAt = () => requests.filter((r) => r.url.endsWith("/v1/play")).map((r) => r.at);
  return { client, requests, events, stopsOf, playsAt, playRequests: () => playsAt().length };
}

const start = (client: VcdnClient, opts = {}) =>
  PlaySession.start(client, "t", { reprobeIntervalMs: 0, flushIntervalMs: 60_000, pollSteering: false, ...opts });

describe("a renewal whose play request fails for a moment", () => {
  it("tries the play again (after the answer's Retry-After) and goes on under the new session", async () => {
    const cp = scripted({ plays: ["ok", 503, 503] });
    const s = await start(cp.client);
    expect(await s.renew("token_expiring")).toBe(true);
    expect(s.sessionId).toBe("sess-2");
    expect(cp.playRequests()).toBe(4);
    await s.close();
  }, 15_000);

  it("tries again while the refusal names the renewed session's own slot (its stop not yet arrived)", async () => {
    const cp = scripted({ plays: ["ok", 409, "ok"] });
    const s = await start(cp.client);
    expect(await s.renew("token_expiring")).toBe(true);
    expect(s.sessionId).toBe("sess-2");
    expect(cp.playRequests()).toBe(3);
    await s.close();
  }, 15_000);

  it("says the old session's stop again while its slot is held, and gives up after two such tries", async () => {
    const cp = scripted({ plays: ["ok", 409, 409, 409, "ok"] });
    const s = await start(cp.client);
    expect(await s.renew("token_expiring")).toBe(false);
    // The first play, then the renewal's three: the last refusal is final.
    expect(cp.playRequests()).toBe(4);
    expect(cp.stopsOf("sess-1").map((e) => e.reason)).toEqual(["renewing: token_expiring", "renewing: its slot still held", "renewing: its slot still held"]);
    await s.close();
  }, 15_000);

  it("gives up at once on a refusal: another screen took the slot", async () => {
    const cp = scripted({ plays: ["ok", 410, "ok"] });
    const s = await start(cp.client);
    const errors: string[] = [];
    s.on("error", (e) => errors.push(e.errorName));
    expect(await s.renew("token_expiring")).toBe(false);
    expect(cp.playRequests()).toBe(2);
    expect(errors).toEqual(["RENEWAL_FAILED"]);
    await s.close();
  });
});

describe("the renewal before a token expires, on a device whose clock is off", () => {
  const SEVEN_HOURS = 7 * 3600_000;

  it("does not renew at once, and again every minute, when the clock is hours ahead", async () => {
    const cp = scripted();
    const s = await PlaySession.start(
      cp.client,
      "t",
      { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 60_000 },
      { clock: () => Date.now() + SEVEN_HOURS },
    );
    await sleep(500);
    expect(s.renewals).toEqual([]);
    expect(cp.playRequests()).toBe(1);
    await s.close();
  });

  it("renews a minute before the answer's expiresInS when the clock is hours behind", async () => {
    const cp = scripted({ firstExpiresInS: 61 });
    const s = await PlaySession.start(
      cp.client,
      "t",
      { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 60_000 },
      { clock: () => Date.now() - SEVEN_HOURS },
    );
    await sleep(2_000);
    expect(s.renewals.map((r) => r.reason)).toEqual(["token_expiring"]);
    expect(s.sessionId).toBe("sess-2");
    await s.close();
  });
});

/**
 * The renewal a minute before the token expires, on a fake clock (the session's monotonic clock is
 * `Date.now()`, which the fake timers drive): its play request fails for longer than a failure
 * renewal's 20 s.
 */
describe("the renewal before a token expires, when its play requests fail", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** The first session's token expires 61 s after it starts: its renewal is due 1 s in. */
  async function expiring(plays: Array<number | "ok">) {
    vi.useFakeTimers();
    const t0 = Date.now();
    const cp = scripted({ plays: ["ok", ...plays], firstExpiresInS: 61 });
    const starting = PlaySession.start(cp.client, "t", { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 60_000 }, { now: () => Date.now() });
    await vi.advanceTimersByTimeAsync(0);
    const s = await starting;
    const errors: SdkError[] = [];
    s.on("error", (e) => errors.push(e));
    return { cp, s, errors, t0, expiresAt: t0 + 61_000 };
  }

  it("is tried again past 20 s, before the token expires, and plays on under the new session", async () => {
    // Six tries answered 503 (1 s, 2 s, 4 s, then 8 s apart: the sixth leaves 23 s in), the seventh answers.
    const { cp, s, errors, expiresAt } = await expiring([503, 503, 503, 503, 503, 503]);
    await vi.advanceTimersByTimeAsync(61_000);
    expect(s.renewals.map((r) => r.reason)).toEqual(["token_expiring"]);
    expect(s.sessionId).toBe("sess-2");
    expect(cp.playsAt().length).toBe(8);
    expect(cp.playsAt().every((at) => at < expiresAt)).toBe(true);
    expect(errors.filter((e) => e.fatal)).toEqual([]);
    // The old session was stopped once, however often its renewal's play was tried.
    expect(cp.stopsOf("sess-1").map((e) => e.reason)).toEqual(["renewing: token_expiring"]);
    await s.close();
  });

  it("ends with SESSION_EXPIRED, not another screen's refusal, when no renewal came through before the token expired", async () => {
    const { cp, s, errors, expiresAt } = await expiring(Array(40).fill(503));
    // 35 s in, past the stop's 30 s grace: the edge refuses the stopped session's files (409).
    await vi.advanceTimersByTimeAsync(35_000);
    const refusal = JSON.stringify({ error: { code: "too_many_streams", message: "this stream stopped" } });
    const loaded = loadThrough(s, refusingLoader(refusal), s.url("video/v1/seg-00009.m4s"));
    await vi.advanceTimersByTimeAsync(30_000);
    // hls.js hears of the refusal once the session has said why it ended.
    expect(await loaded).toBe("error 409");
    const fatal = errors.filter((e) => e.fatal);
    expect(viewerMessage(fatal[0])).toBe(
      "Playback stopped: this viewing session ran out and could not be renewed just now. Press play to go on watching. (error 2003 unavailable)",
    );
    expect(fatal.map((e) => [e.errorName, e.code, e.data.status, e.data.apiCode])).toEqual([["SESSION_EXPIRED", 2003, 503, "unavailable"]]);
    // Tried past a failure renewal's 20 s (6 tries), never after the token expired.
    expect(cp.playRequests()).toBeGreaterThan(7);
    expect(cp.playsAt().every((at) => at < expiresAt)).toBe(true);
    expect(cp.events.flatMap((b) => b.events.filter((e) => e.type === "error").map((e) => e.reason?.slice(0, 20)))).toEqual(["2003 SESSION_EXPIRED"]);
    expect(s.renewals).toEqual([]);
  });

  it("holds a refusal of the stopped session while its renewal is tried, and loads the file under the new session", async () => {
    const { s, errors } = await expiring([503, 503, 503, 503, 503, 503]);
    await vi.advanceTimersByTimeAsync(20_000);
    const refusal = JSON.stringify({ error: { code: "too_many_streams", message: "this stream stopped" } });
    const loaded = loadThrough(s, refusingLoader(refusal), s.url("video/v1/seg-00009.m4s"));
    await vi.advanceTimersByTimeAsync(15_000);
    expect(await loaded).toBe("https://cdn.test/oca/s/a/T2/t/video/v1/seg-00009.m4s");
    expect(s.sessionId).toBe("sess-2");
    expect(errors.filter((e) => e.fatal)).toEqual([]);
    await s.close();
  });

  it("still says another screen took the stream when the renewal's play is refused for one", async () => {
    // 410 stands for a 409 naming another screen's session.
    const { s, errors } = await expiring([410]);
    await vi.advanceTimersByTimeAsync(2_000);
    const fatal = errors.filter((e) => e.fatal);
    expect(fatal.map((e) => [e.errorName, e.data.status, e.data.apiCode])).toEqual([["SESSION_EXPIRED", 409, "too_many_streams"]]);
    expect(viewerMessage(fatal[0])).toMatch(/^Playback stopped: your plan's streams are in use on other screens\./);
    expect(s.renewals).toEqual([]);
  });
});

describe("the limit of one renewal a minute after every OCA failed", () => {
  it("counts no renewal before a token expires: a failure right after one still renews", async () => {
    // The token expires in 60 s: its renewal is due at once.
    const cp = scripted({ firstExpiresInS: 60 });
    const s = await start(cp.client);
    for (let i = 0; i < 100 && s.renewals.length === 0; i++) await sleep(10);
    expect(s.renewals.map((r) => r.reason)).toEqual(["token_expiring"]);
    expect(await s.renewAfterFailure("no OCA left after http_503 on a")).toBe(true);
    // Failure renewals still come at most once a minute.
    expect(await s.renewAfterFailure("no OCA left after http_503 on a")).toBe(false);
    expect(s.renewals.map((r) => r.reason)).toEqual(["token_expiring", "no OCA left after http_503 on a"]);
    expect(cp.playRequests()).toBe(3);
    await s.close();
  });
});

describe("a renewal whose stop waits behind a slow events request", () => {
  it("sends that stop under the old session, never the renewed one, however late it leaves", async () => {
    const cp = scripted({ firstEventsMs: 12_000 });
    const s = await start(cp.client);
    // An urgent event whose request hangs: the renewal's stop queues behind it, and the renewal stops
    // waiting for it after 10 s and goes on.
    s.emit({ type: "error", reason: "test: before the renewal" });
    await sleep(50);
    expect(await s.renew("token_expiring")).toBe(true);
    await sleep(3_000);
    expect(cp.stopsOf("sess-1").map((e) => e.reason)).toEqual(["renewing: token_expiring"]);
    expect(cp.stopsOf("sess-2")).toEqual([]);
    await s.close();
  }, 25_000);
});

describe("a session closed while its renewal waits for the old session's stop to leave", () => {
  it("asks for no new play session", async () => {
    const cp = scripted({ firstEventsMs: 3_000 });
    const s = await start(cp.client);
    s.emit({ type: "error", reason: "test: a slow request ahead of the stop" });
    await sleep(50);
    const renewing = s.renew("token_expiring");
    await sleep(500);
    await s.close();
    expect(await renewing).toBe(false);
    expect(cp.playRequests()).toBe(1);
  }, 15_000);
});

describe("a renewal that ends after its session was closed", () => {
  it("stops the session it was given, so that session holds no slot of the member's", async () => {
    const cp = scripted({ playMs: 300 });
    const s = await start(cp.client);
    const renewing = s.renew("token_expiring");
    await sleep(100);
    await s.close();
    expect(await renewing).toBe(false);
    expect(cp.stopsOf("sess-1").map((e) => e.reason)).toEqual(["renewing: token_expiring"]);
    expect(cp.stopsOf("sess-2").map((e) => e.reason)).toEqual(["closed while renewing"]);
  });
});

describe("a steering poll in flight across a renewal", () => {
  it("is dropped: later polls go to the renewed session's steering server", async () => {
    const cp = scripted({ steeringMs: 400 });
    const s = await start(cp.client, { pollSteering: true, steeringTtlBoundsS: [1, 1] });
    // A poll takes 400 ms: renew while one is out.
    await pollLeaves(cp);
    const before = cp.requests.filter((r) => r.url.includes("/steering.json")).length;
    expect(await s.renew("test")).toBe(true);
    await sleep(2_600);
    const polls = cp.requests.filter((r) => r.url.includes("/steering.json")).map((r) => new URL(r.url).pathname.split("/")[3]);
    await s.close();
    expect(polls[before - 1]).toBe("S1");
    const later = polls.slice(before);
    expect(later.length).toBeGreaterThan(0);
    expect(later).toEqual(later.map(() => "S2"));
  }, 15_000);
});

describe("pausing while a steering poll is out", () => {
  it("leaves no poll loop running while paused, and one after resuming", async () => {
    const cp = scripted({ steeringMs: 300 });
    const s = await start(cp.client, { pollSteering: true, steeringTtlBoundsS: [1, 1] });
    const polls = () => cp.requests.filter((r) => r.url.includes("/steering.json")).length;
    await pollLeaves(cp);
    s.pause();
    s.resume();
    s.pause();
    const paused = polls();
    await sleep(2_500);
    expect(polls()).toBe(paused);
    s.resume();
    await sleep(3_200);
    // One loop: a poll a second (1 s TTL + 0.3 s each), not two or three.
    expect(polls() - paused).toBeGreaterThanOrEqual(2);
    expect(polls() - paused).toBeLessThanOrEqual(3);
    await s.close();
  }, 15_000);
});

describe("a player's request after a renewal to an OCA the new list lacks", () => {
  it("goes to the current OCA under the new session's token", async () => {
    const cp = scripted({ renewedOcas: ["b", "c"] });
    const s = await start(cp.client);
    const old = s.url("video/v1/seg-00003.m4s");
    expect(await s.renew("test")).toBe(true);
    expect(sessionUrl(s, old)).toBe(`https://cdn.test/oca/s/${s.current.ocaId}/T2/t/video/v1/seg-00003.m4s`);
    // Not an OCA's URL: unchanged.
    expect(sessionUrl(s, "https://cdn.test/v1/titles")).toBe("https://cdn.test/v1/titles");
    await s.close();
  });
});

describe("the QoE reporter", () => {
  it("tries a batch again after a 503 with the same batch id, and sends nothing twice once it got through", async () => {
    const sent: Array<{ batchId: string; n: number }> = [];
    let fail = 2;
    const r = new EventReporter({
      flushIntervalMs: 60_000,
      send: async (events, { batchId }) => {
        sent.push({ batchId, n: events.length });
        if (fail-- > 0) throw Object.assign(new Error("unavailable"), { status: 503, retryAfterS: 0 });
      },
    });
    r.push({ type: "stop", reason: "user" });
    await r.flush();
    expect(sent.length).toBe(3);
    expect(new Set(sent.map((x) => x.batchId)).size).toBe(1);
    expect(r.sent.map((e) => e.type)).toEqual(["stop"]);
    await r.close();
  });

  it("keeps each batch within a keepalive body and the server's schema: long reasons cut, unknown types held back, 200 wordy events split, the stop delivered", async () => {
    const bodies: Array<{ bytes: number; events: QoeEvent[]; final: boolean }> = [];
    const notSent: Array<{ err: Error; events: QoeEvent[] }> = [];
    const r = new EventReporter({
      flushIntervalMs: 60_000,
      maxQueued: 10_000,
      send: async (events, { final }) => {
        bodies.push({ bytes: new TextEncoder().encode(JSON.stringify({ events })).length, events, final });
      },
      onSendError: (err, events) => notSent.push({ err: err as Error, events }),
    });
    // An app's own events, each with a reason of 900 characters (some not ASCII) and an OCA id longer than any.
    for (let i = 0; i < 199; i++) r.push({ type: "error", reason: `${i} ${"é".repeat(899)}`, ocaId: "o".repeat(65) });
    // An event of a type the server does not take (plain JavaScript can pass one) is handed back, not sent.
    r.push({ type: "seek" as QoeEvent["type"], reason: "app" });
    r.push({ type: "stop", reason: "pagehide" });
    await r.flush(true);
    expect(notSent.map((x) => x.events.map((e) => e.type))).toEqual([["seek"]]);
    expect(notSent[0].err.message).toMatch(/unknown type "seek"/);
    const events = bodies.flatMap((b) => b.events);
    expect(events).toHaveLength(200);
    expect(events.at(-1)).toMatchObject({ type: "stop", reason: "pagehide" });
    expect(events.every((e) => (e.reason ?? "").length <= 500 && e.ocaId === undefined)).toBe(true);
    // Browsers cap a page's keepalive bodies at 64 KiB: each batch, its envelope aside, stays under 48 KiB.
    expect(bodies.length).toBeGreaterThan(1);
    for (const b of bodies) expect(b.bytes).toBeLessThanOrEqual(48 * 1024 + 20);
    await r.close();
  });

  it("does not try a refused batch again", async () => {
    let tries = 0;
    const lost: number[] = [];
    const r = new EventReporter({
      flushIntervalMs: 60_000,
      send: async () => {
        tries++;
        throw Object.assign(new Error("bad"), { status: 400 });
      },
      onSendError: (_e, events) => lost.push(events.length),
    });
    r.push({ type: "error", reason: "x" });
    await r.flush();
    expect(tries).toBe(1);
    expect(lost).toEqual([1]);
    await r.close();
  });

  it("sends a batch with the tag it was formed under, though the tag changed before it left", async () => {
    let tag = "A";
    const got: unknown[] = [];
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let first = true;
    const r = new EventReporter({
      flushIntervalMs: 60_000,
      tag: () => tag,
      send: async (_events, o) => {
        if (first) {
          first = false;
          await held;
        }
        got.push(o.tag);
      },
    });
    r.push({ type: "error", reason: "first" }); // in flight, held
    r.push({ type: "stop", reason: "second" }); // waits behind it, formed under A
    tag = "B";
    r.push({ type: "start" }); // formed under B
    release();
    await r.flush();
    expect(got).toEqual(["A", "A", "B"]);
    await r.close();
  });

  it("sends what waited in one request when the page goes, the stop included, though a request before it hangs", async () => {
    const sent: string[][] = [];
    const r = new EventReporter({
      flushIntervalMs: 60_000,
      tag: () => "s",
      send: (events) => {
        sent.push(events.map((e) => e.type));
        // The first request never answers (a connection the page is about to lose).
        return sent.length === 1 ? new Promise<void>(() => {}) : Promise.resolve();
      },
    });
    r.push({ type: "error", reason: "in flight" });
    await sleep(1);
    r.push({ type: "oca_switch", reason: "waiting behind it" });
    r.push({ type: "progress" });
    r.push({ type: "stop", reason: "pagehide" });
    void r.flush(true);
    await sleep(10);
    // The batches waiting behind the hung one left in one request, the stop with them; the hung one
    // (its request dies with the page) is sent again beside them, under its own id.
    expect(sent[0]).toEqual(["error"]);
    expect(sent.slice(1)).toHaveLength(2);
    expect(sent.slice(1)).toContainEqual(["oca_switch", "progress", "stop"]);
    expect(sent.slice(1)).toContainEqual(["error"]);
  });

  it("keeps playing when the app's onEvent throws", async () => {
    const cp = scripted();
    const s = await start(cp.client, {
      onEvent: () => {
        throw new Error("app bug");
      },
    });
    expect(() => s.emit({ type: "progress" })).not.toThrow();
    expect(await s.renew("test")).toBe(true);
    await s.close();
  });
});

/** The app's loader where the edge refuses the first session's files (token T1) with 409 and `body`, and serves the rest. */
const refusingLoader = (body: string) => scriptedHlsLoader((url) => (url.includes("/T1/") ? [409, body] : 200));

describe("the hls.js helper's loader when failures go on after a renewal", () => {
  it("renews at most once a minute, and never for a file missing everywhere (404)", async () => {
    const cp = scripted();
    const s = await start(cp.client);
    const down = scriptedHlsLoader(() => 503);
    expect(await loadThrough(s, down, s.url("video/v1/seg-00002.m4s"))).toBe("error 503");
    expect(s.renewals).toHaveLength(1);
    // The renewed list fails too: the next loads hand hls.js the error, with no second renewal.
    expect(await loadThrough(s, down, s.url("video/v1/seg-00003.m4s"))).toBe("error 503");
    expect(await loadThrough(s, down, s.url("video/v1/seg-00004.m4s"))).toBe("error 503");
    expect(s.renewals).toHaveLength(1);
    expect(cp.playRequests()).toBe(2);
    await s.close();
    const cp2 = scripted();
    const s2 = await start(cp2.client);
    expect(
      await loadThrough(
        s2,
        scriptedHlsLoader(() => 404),
        s2.url("video/v1/seg-00009.m4s"),
      ),
    ).toBe("error 404");
    expect(s2.renewals).toEqual([]);
    await s2.close();
  });
});

describe("the hls.js helper's loader when every OCA of the list fails", () => {
  it("takes a new play session and loads the file under it, as the headless fetcher does", async () => {
    const cp = scripted({ renewedOcas: ["c"] });
    const s = await start(cp.client);
    // The app's loader: every file under the first session's token fails with 503; under the renewed one it answers.
    const tried: string[] = [];
    const Base = scriptedHlsLoader((url) => (url.includes("/T1/") ? 503 : 200), tried);
    expect(await loadThrough(s, Base, s.url("video/v1/seg-00002.m4s"))).toBe("https://cdn.test/oca/s/c/T2/t/video/v1/seg-00002.m4s");
    expect(tried).toEqual(["/oca/s/a/T1/t/video/v1/seg-00002.m4s", "/oca/s/c/T2/t/video/v1/seg-00002.m4s"]);
    expect(s.renewals.map((r) => r.reason)).toEqual(["no OCA left after http_503 on a"]);
    expect(cp.stopsOf("sess-1").map((e) => e.reason)).toEqual(["renewing: no OCA left after http_503 on a"]);
    await s.close();
  });
});
