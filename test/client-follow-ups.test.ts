import type Hls from "hls.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { VcdnClient } from "../client/api";
import type { SdkError } from "../client/errors";
import { attachDashjs } from "../client/player/dash-adapter";
import { attachSession } from "../client/player/hls-hook";
import { attachShaka } from "../client/player/shaka-adapter";
import { viewerMessage } from "../client/player/viewer-message";
import { belowFloors, MIN_FLUSH_INTERVAL_MS, MIN_REPROBE_INTERVAL_MS, PlaySession } from "../client/session";
import type { FetchInit, FetchLike, QoeEvent } from "../client/types";
import { fakeDashRegistries, fakePlay, fakeShakaPlayer, loadThrough, playResponse, scriptedHlsLoader } from "./client-fixtures";

/**
 * Follow-ups of the SDK's review: a 410 of a file tried once under a new play session, steering polls
 * backing off while the steering server fails, STEERING_UPDATE's list as the session took it, floors on
 * the re-probe and flush intervals, and one attachment per player. The control plane, OCAs and players
 * are scripted (as in client-renewal.test.ts): these cases need a takedown, a lifted one and a failing
 * steering server on cue, which the real Worker cannot be made to give on demand.
 */

/** A steering answer: a manifest with this TTL, a status (with a Retry-After), or no answer at all. */
type SteeringAnswer = { ttl: number } | { status: number; retryAfter?: string } | "network_error";

interface Script {
  /** Answers for the next play requests: "ok", or a refusal's status and code; "ok" once they run out. */
  plays?: Array<"ok" | [number, string]>;
  /** What OCAs answer a file (not a probe) under session token `T{i}`: 200, or a status and its API code. */
  file?: (url: string) => 200 | [number, string];
  /** The steering server's next answers; a TTL-1 manifest once they run out. */
  steering?: SteeringAnswer[];
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
const refusalBody = (code: string) => JSON.stringify({ error: { code, message: "m" } });

/** A control plane, OCAs and a steering server that answer as scripted, recording every request. */
function scripted(script: Script = {}) {
  const plays = [...(script.plays ?? [])];
  const steering = [...(script.steering ?? [])];
  let sessions = 0;
  const requests: Array<{ url: string; at: number }> = [];
  const events: Array<{ sessionId: string; events: QoeEvent[] }> = [];
  const fetch = (async (url: string, init?: FetchInit) => {
    requests.push({ url, at: Date.now() });
    if (url.endsWith("/v1/play")) {
      const next = plays.shift() ?? "ok";
      if (next !== "ok") return json({ error: { code: next[1], message: "m" } }, next[0]);
      sessions++;
      return json(playResponse(sessions));
    }
    if (url.endsWith("/v1/events")) {
      const b = JSON.parse(init!.body!) as { sessionId: string; events: QoeEvent[] };
      events.push({ sessionId: b.sessionId, events: b.events });
      return new Response("{}", { status: 202 });
    }
    if (url.includes("/steering.json")) {
      const next = steering.shift() ?? { ttl: 1 };
      if (next === "network_error") throw new TypeError("fetch failed");
      if ("status" in next)
        return json({ error: { code: "unavailable", message: "m" } }, next.status, next.retryAfter ? { "Retry-After": next.retryAfter } : {});
      return json({ VERSION: 1, TTL: next.ttl, "PATHWAY-PRIORITY": ["a"] });
    }
    // A probe (a range of the first segment) always answers; other files as scripted.
    const answer = init?.headers?.Range ? 200 : (script.file?.(url) ?? 200);
    if (answer === 200) return new Response(new Uint8Array(1000), { status: 206 });
    return json({ error: { code: answer[1], message: "m" } }, answer[0]);
  }) as unknown as FetchLike;
  const client = new VcdnClient({ baseUrl: "https://cdn.test", token: "member", fetch });
  const stopsOf = (sessionId: string) => events.filter((e) => e.sessionId === sessionId).flatMap((e) => e.events.filter((x) => x.type === "stop"));
  const steeringPollsAt = () => requests.filter((r) => r.url.includes("/steering.json")).map((r) => r.at);
  return { client, requests, stopsOf, steeringPollsAt, playRequests: () => requests.filter((r) => r.url.endsWith("/v1/play")).length };
}

const start = (client: VcdnClient, opts = {}) =>
  PlaySession.start(client, "t", { reprobeIntervalMs: 0, flushIntervalMs: 60_000, pollSteering: false, ...opts });

/** The session's fatal errors, as they fire. */
function fatalErrors(s: PlaySession): SdkError[] {
  const errors: SdkError[] = [];
  s.on("error", (e) => e.fatal && errors.push(e));
  return errors;
}

/** The app's loader for hls.js, answering as the scripted OCAs do (a refusal's body handed over as hls.js's XHR does). */
const scriptedLoader = (file: (url: string) => 200 | [number, string], tried: string[]) =>
  scriptedHlsLoader((url) => {
    const answer = file(url);
    return answer === 200 ? 200 : [answer[0], refusalBody(answer[1])];
  }, tried);

const refusingFirst =
  (status: number, code: string) =>
  (url: string): 200 | [number, string] =>
    url.includes("/T1/") ? [status, code] : 200;

describe("a file of the current session refused 410 (a takedown stopped the session)", () => {
  it("loads again under a new play session when the title may be played again (the takedown lifted)", async () => {
    const file = refusingFirst(410, "not_licensed");
    const cp = scripted({ file });
    const s = await start(cp.client);
    const fatal = fatalErrors(s);
    const tried: string[] = [];
    expect(await loadThrough(s, scriptedLoader(file, tried), s.url("video/v1/seg-00002.m4s"))).toBe("https://cdn.test/oca/s/a/T2/t/video/v1/seg-00002.m4s");
    expect(tried).toEqual(["/oca/s/a/T1/t/video/v1/seg-00002.m4s", "/oca/s/a/T2/t/video/v1/seg-00002.m4s"]);
    expect(fatal).toEqual([]);
    expect(s.sessionId).toBe("sess-2");
    expect(cp.playRequests()).toBe(2);
    // The old session's stop says why it was left (the file, never its URL: that carries the token).
    expect(cp.stopsOf("sess-1").map((e) => e.reason)).toEqual(["renewing: refused: HTTP 410 on video/v1/seg-00002.m4s (not_licensed)"]);
    await s.close();
  });

  it("takes one new play session for refusals that arrive together (video, audio, a playlist), and each loads under it", async () => {
    const cp = scripted({ file: refusingFirst(410, "taken_down") });
    const s = await start(cp.client);
    const body = refusalBody("taken_down");
    const files = ["video/v1/seg-00002.m4s", "audio/en/seg-00002.m4s", "video/v1/index.m3u8"];
    expect(await Promise.all(files.map((f) => s.refused("a", s.url(f), 410, body)))).toEqual([true, true, true]);
    expect(cp.playRequests()).toBe(2);
    expect(s.renewals).toHaveLength(1);
    // The headless fetcher's question, for a request that left before the renewal: load it again.
    expect(await s.refusal("a", "https://cdn.test/oca/s/a/T1/t/video/v1/seg-00003.m4s", 410, body)).toBeNull();
    await s.close();
  });

  it("stops with the new play's refusal when the title is still taken down: the viewer is told it is gone", async () => {
    const file = refusingFirst(410, "taken_down");
    const cp = scripted({ file, plays: ["ok", [410, "taken_down"]] });
    const s = await start(cp.client);
    const fatal = fatalErrors(s);
    expect(await loadThrough(s, scriptedLoader(file, []), s.url("video/v1/seg-00002.m4s"))).toBe("error 410");
    expect(fatal.map((e) => [e.errorName, e.data.status, e.data.apiCode, e.data.ocaId])).toEqual([["HTTP_REFUSED", 410, "taken_down", "a"]]);
    expect(viewerMessage(fatal[0])).toBe(
      "Playback stopped: this title is no longer available. Choose another title from the catalogue. (error 3001 taken_down)",
    );
    expect(cp.playRequests()).toBe(2);
    expect(s.renewals).toEqual([]);
  });

  it("stops with the new play's 451 not_licensed when the title is no longer licensed in the country", async () => {
    const cp = scripted({ file: refusingFirst(410, "not_licensed"), plays: ["ok", [451, "not_licensed"]] });
    const s = await start(cp.client);
    const fatal = fatalErrors(s);
    expect(await s.refused("a", s.url("video/v1/seg-00002.m4s"), 410, refusalBody("not_licensed"))).toBe(false);
    expect(fatal.map((e) => [e.errorName, e.data.status, e.data.apiCode])).toEqual([["HTTP_REFUSED", 451, "not_licensed"]]);
    expect(viewerMessage(fatal[0])).toMatch(/^Playback stopped: this title is no longer available in your country\..*\(error 3001 not_licensed\)$/);
  });

  it("takes at most one new play a minute: a server that refuses every new session's files alike drives no loop of plays", async () => {
    const cp = scripted({ file: () => [410, "taken_down"] });
    const s = await start(cp.client);
    const fatal = fatalErrors(s);
    const body = refusalBody("taken_down");
    expect(await s.refused("a", s.url("video/v1/seg-00002.m4s"), 410, body)).toBe(true);
    expect(s.sessionId).toBe("sess-2");
    // The renewed session's file is refused too, moments later: no second play, the session stops.
    expect(await s.refused("a", s.url("video/v1/seg-00002.m4s"), 410, body)).toBe(false);
    expect(cp.playRequests()).toBe(2);
    expect(fatal.map((e) => [e.errorName, e.data.status, e.data.apiCode])).toEqual([["HTTP_REFUSED", 410, "taken_down"]]);
  });

  it("still stops at once on any other refusal (403, 409 of another screen): no new play", async () => {
    const cp = scripted();
    const s = await start(cp.client);
    expect(await s.refused("a", s.url("video/v1/seg-00002.m4s"), 409, refusalBody("too_many_streams"))).toBe(false);
    expect(cp.playRequests()).toBe(1);
  });
});

describe("steering polls while the steering server fails", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A session polling the scripted steering server, under fake timers; the gaps (s) between its polls after `ms`. */
  async function pollGaps(steering: SteeringAnswer[], ms: number, bounds: [number, number] = [1, 8]) {
    vi.useFakeTimers();
    const cp = scripted({ steering });
    const starting = PlaySession.start(
      cp.client,
      "t",
      { reprobeIntervalMs: 0, flushIntervalMs: 600_000, steeringTtlBoundsS: bounds },
      { now: () => Date.now() },
    );
    await vi.advanceTimersByTimeAsync(0);
    const s = await starting;
    await vi.advanceTimersByTimeAsync(ms);
    await s.close();
    const at = cp.steeringPollsAt();
    return at.slice(1).map((t, i) => Math.round((t - at[i]) / 1000));
  }

  it("backs off, doubling from the TTL up to the upper bound, and starts again from the TTL after a success", async () => {
    const gaps = await pollGaps([{ ttl: 1 }, { status: 503 }, { status: 500 }, { status: 502 }, { status: 503 }, { ttl: 1 }, { ttl: 1 }], 30_000);
    // TTL 1 s; four failures: 2, 4, 8, 8 (the upper bound); then the success's TTL again.
    expect(gaps.slice(0, 7)).toEqual([1, 2, 4, 8, 8, 1, 1]);
  });

  it("backs off after polls that got no answer (a network error, a timeout) as after a status", async () => {
    const gaps = await pollGaps([{ ttl: 1 }, "network_error", "network_error", "network_error", { ttl: 1 }], 20_000);
    expect(gaps.slice(0, 5)).toEqual([1, 2, 4, 8, 1]);
  });

  it("waits the server's Retry-After when it gives one, whatever the back-off", async () => {
    const gaps = await pollGaps([{ ttl: 1 }, { status: 503 }, { status: 503, retryAfter: "3" }, { status: 503 }, { ttl: 1 }], 30_000);
    // The Retry-After (3 s) instead of the back-off's 4 s; the failures still count: 8 s after it.
    expect(gaps.slice(0, 5)).toEqual([1, 2, 3, 8, 1]);
  });

  it("backs off at most to the default upper bound (300 s)", async () => {
    const gaps = await pollGaps([{ ttl: 100 }, ...Array(5).fill({ status: 503 })], 2_000_000, [1, 300]);
    expect(gaps.slice(0, 5)).toEqual([100, 200, 300, 300, 300]);
  });
});

describe("STEERING_UPDATE", () => {
  it("carries the list the session took from the manifest (its own OCAs, each once), not the list as sent", async () => {
    const s = new PlaySession(scripted().client, fakePlay(["a", "b", "c"]), { pollSteering: false, flushIntervalMs: 600_000, reprobeIntervalMs: 0 });
    const heard: Array<{ priority: string[]; reloadUri: string | null }> = [];
    s.on("steeringUpdate", (u) => heard.push(u));
    const sent = ["b", "nope", "b", 7, null, "a", ...Array(10_000).fill("zzz")] as unknown as string[];
    s.applySteering({ VERSION: 1, TTL: 10, "PATHWAY-PRIORITY": sent, "RELOAD-URI": 42 as unknown as string });
    expect(heard).toEqual([{ priority: ["b", "a"], reloadUri: null }]);
    s.applySteering({ VERSION: 1, TTL: 10, "PATHWAY-PRIORITY": ["c"], "RELOAD-URI": "next.json" });
    expect(heard[1]).toEqual({ priority: ["c"], reloadUri: "next.json" });
    await s.close();
  });
});

describe("the floors of the re-probe and flush intervals", () => {
  it("refuse a re-probe interval under 1,000 ms (0 is never) and a flush interval under 250 ms, before any play request", async () => {
    expect([MIN_REPROBE_INTERVAL_MS, MIN_FLUSH_INTERVAL_MS]).toEqual([1_000, 250]);
    const cp = scripted();
    await expect(start(cp.client, { reprobeIntervalMs: 999 })).rejects.toThrow(
      "5001 INVALID_OPTION: reprobeIntervalMs: expected 0 (never) or a number of ms >= 1000",
    );
    await expect(start(cp.client, { reprobeIntervalMs: 1 })).rejects.toThrow("reprobeIntervalMs");
    await expect(start(cp.client, { flushIntervalMs: 249 })).rejects.toThrow("5001 INVALID_OPTION: flushIntervalMs: expected a number of ms >= 250");
    expect(cp.playRequests()).toBe(0);
    const s = await start(cp.client, { reprobeIntervalMs: 1_000, flushIntervalMs: 250 });
    const r = s.configure({ reprobeIntervalMs: 20 });
    expect(r.rejected.map((x) => x.key)).toEqual(["reprobeIntervalMs"]);
    expect(s.configure({ reprobeIntervalMs: 0 }).applied).toEqual(["reprobeIntervalMs"]);
    await s.close();
  });

  it("are lowered only for options marked with the test hook, and for that session alone", async () => {
    const cp = scripted();
    const s = await start(cp.client, belowFloors({ reprobeIntervalMs: 20, flushIntervalMs: 5 }));
    expect(s.configure({ reprobeIntervalMs: 20 }).applied).toEqual(["reprobeIntervalMs"]);
    await s.close();
    // A JSON copy of the same options (what a config file or a query string gives) keeps the floors.
    await expect(start(cp.client, JSON.parse(JSON.stringify(belowFloors({ reprobeIntervalMs: 20 }))))).rejects.toThrow("reprobeIntervalMs");
  });
});

describe("attaching a session to a player twice", () => {
  const session = (i: number) =>
    new PlaySession(
      scripted().client,
      { ...fakePlay(["a", "b"]), sessionId: `sess-${i}` },
      { pollSteering: false, flushIntervalMs: 600_000, reprobeIntervalMs: 0 },
    );

  it("Shaka: the same session again is a no-op returning the first detach; another session throws until the first detaches", async () => {
    const { player, requestFilters: filters, responseFilters: responses } = fakeShakaPlayer();
    const [s1, s2] = [session(1), session(2)];
    const detach = attachShaka(player, s1);
    expect(attachShaka(player, s1)).toBe(detach);
    expect([filters.size, responses.size]).toEqual([1, 1]);
    expect(() => attachShaka(player, s2)).toThrow(/attachShaka: this player already has a session attached \(sess-1\)/);
    detach();
    detach();
    expect([filters.size, responses.size]).toEqual([0, 0]);
    const detach2 = attachShaka(player, s2);
    expect(detach2).not.toBe(detach);
    // The first attachment's detach, called late, leaves the second one alone.
    detach();
    expect(filters.size).toBe(1);
    detach2();
    await Promise.all([s1.close(), s2.close()]);
  });

  it("dash.js: the same session again adds no second interceptor; another session throws", async () => {
    const { player, requests, responses } = fakeDashRegistries();
    const [s1, s2] = [session(1), session(2)];
    const detach = attachDashjs(player, s1);
    expect(attachDashjs(player, s1)).toBe(detach);
    expect([requests.size, responses.size]).toEqual([1, 1]);
    expect(() => attachDashjs(player, s2)).toThrow(/attachDashjs: this player already has a session attached/);
    detach();
    expect([requests.size, responses.size]).toEqual([0, 0]);
    attachDashjs(player, s2)();
    await Promise.all([s1.close(), s2.close()]);
  });

  it("hls.js: the same session again adds no second handler; another session throws", async () => {
    const handlers = new Map<string, Set<() => void>>();
    const hls = {
      pathways: [],
      on: (e: string, f: () => void) => handlers.set(e, (handlers.get(e) ?? new Set()).add(f)),
      off: (e: string, f: () => void) => handlers.get(e)?.delete(f),
    } as unknown as Hls;
    const HlsClass = { Events: { MANIFEST_PARSED: "hlsManifestParsed" } } as unknown as typeof Hls;
    const [s1, s2] = [session(1), session(2)];
    const unhook = attachSession(hls, s1, HlsClass, () => 0);
    expect(attachSession(hls, s1, HlsClass, () => 0)).toBe(unhook);
    expect(handlers.get("hlsManifestParsed")?.size).toBe(1);
    expect(() => attachSession(hls, s2, HlsClass, () => 0)).toThrow(/attachSession: this player already has a session attached/);
    unhook();
    expect(handlers.get("hlsManifestParsed")?.size).toBe(0);
    attachSession(hls, s2, HlsClass, () => 0)();
    await Promise.all([s1.close(), s2.close()]);
  });
});
