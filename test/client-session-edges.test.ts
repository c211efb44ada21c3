import { describe, expect, it } from "vitest";
import { VcdnClient } from "../client/api";
import type { SdkError } from "../client/errors";
import { SessionEvents } from "../client/events";
import { SegmentFetcher } from "../client/fetcher";
import { OcaSelector } from "../client/scoring";
import { MAX_SESSION_OCAS, PlaySession } from "../client/session";
import { ApiCallError, type FetchInit, type FetchLike } from "../client/types";
import { fakeAnswer, fakeOca, fakePlay, loadThrough, playResponse, probeRecordingClient, scriptedHlsLoader } from "./client-fixtures";

/**
 * The SDK at its edges, as a viewer and an app meet them: a control plane that keeps refusing the
 * renewal, a steering poll out when the session closes, `once` listeners taken off, answers that are
 * not the API's, a play answer with a huge OCA list, a NaN measurement, a playlist with no segment.
 * The control plane and OCAs are scripted (no network): these cases need answers on cue.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** A control plane whose first play answers and every later one is refused (403), and whose steering server answers `steering`. */
function refusingRenewals(steering: (signal: AbortSignal | undefined) => Promise<Response> = async () => json({ VERSION: 1, TTL: 1 })) {
  let plays = 0;
  const fetch = (async (url: string, init?: FetchInit) => {
    if (url.endsWith("/v1/play")) {
      plays++;
      return plays === 1 ? json(playResponse(1)) : json({ error: { code: "not_licensed", message: "m" } }, 403);
    }
    if (url.endsWith("/v1/events")) return new Response("{}", { status: 202 });
    if (url.includes("/steering.json")) return steering(init?.signal);
    return new Response(new Uint8Array(1000), { status: 206 });
  }) as unknown as FetchLike;
  return { client: new VcdnClient({ baseUrl: "https://cdn.test", token: "member", fetch }), plays: () => plays };
}

describe("renewals after every OCA failed, when the control plane keeps refusing the play", () => {
  it("asks for a new play once a minute, not once for every file that fails after it", async () => {
    const cp = refusingRenewals();
    const s = await PlaySession.start(cp.client, "t", { reprobeIntervalMs: 0, flushIntervalMs: 60_000, pollSteering: false });
    const down = scriptedHlsLoader(() => 503);
    // hls.js retries the fragment, and loads the next: each finds every OCA failed.
    for (const n of [2, 3, 4, 5]) expect(await loadThrough(s, down, s.url(`video/v1/seg-0000${n}.m4s`))).toBe("error 503");
    // The session's own play, then one renewal's.
    expect(cp.plays()).toBe(2);
    expect(s.renewals).toEqual([]);
    await s.close();
  });
});

describe("a steering poll out when the session closes", () => {
  it("is abandoned at once, and reports nothing after `stopped`", async () => {
    let pollSignal: AbortSignal | undefined;
    const cp = refusingRenewals(async (signal) => {
      pollSignal = signal;
      await sleep(300);
      return new Response("<html>bad gateway</html>", { status: 502 });
    });
    const s = await PlaySession.start(cp.client, "t", { reprobeIntervalMs: 0, flushIntervalMs: 60_000, steeringTtlBoundsS: [1, 1] });
    for (let i = 0; i < 100 && !pollSignal; i++) await sleep(5);
    expect(pollSignal).toBeDefined();
    let stopped = false;
    const afterStop: string[] = [];
    s.on(SessionEvents.STOPPED, () => (stopped = true));
    s.on(SessionEvents.ERROR, (e) => void (stopped && afterStop.push(e.errorName)));
    await s.close();
    expect(pollSignal?.aborted).toBe(true);
    await sleep(500);
    expect(afterStop).toEqual([]);
    // And no poll once closed.
    expect(await s.pollSteeringOnce()).toBeNull();
  });
});

describe("a play answer whose steering server is no URL", () => {
  it("is not polled: a poll resolves, rather than throw out of the poll's timer", async () => {
    const asked: string[] = [];
    for (const server of ["v1/steering/sess/steering.json", "javascript:alert(1)"]) {
      const play = { ...fakePlay(["a"]), steering: { server, hls: "", dash: "" } };
      const s = new PlaySession(probeRecordingClient(asked), play, { pollSteering: false, reprobeIntervalMs: 0 });
      await expect(s.pollSteeringOnce()).resolves.toBeNull();
      await s.close();
    }
    expect(asked).toEqual([]);
  });
});

describe("a `once` listener", () => {
  it("is taken off by `off` with the app's own function, as `on` listeners are", () => {
    const s = new PlaySession(probeRecordingClient([]), fakePlay(["a", "b"]), { pollSteering: false, reprobeIntervalMs: 0 });
    const heard: string[] = [];
    const fn = (e: SdkError) => heard.push(e.errorName);
    s.once(SessionEvents.ERROR, fn);
    s.off(SessionEvents.ERROR, fn);
    s.warn("CLIENT_NETWORK_DOWN");
    expect(heard).toEqual([]);
    // Still fires once when left on.
    s.once(SessionEvents.ERROR, fn);
    s.warn("CLIENT_NETWORK_DOWN");
    s.warn("CLIENT_NETWORK_DOWN");
    expect(heard).toEqual(["CLIENT_NETWORK_DOWN"]);
    void s.close();
  });
});

describe("answers that are not the API's", () => {
  const clientAnswering = (status: number, body: string) =>
    new VcdnClient({ baseUrl: "https://cdn.test", token: "member", fetch: (async () => fakeAnswer(status, body)) as FetchLike });

  const titlesError = (c: VcdnClient) =>
    c.titles().then(
      () => null,
      (e: unknown) => e,
    );

  it("a proxy's page or an empty body in a 200 of the titles list is an ApiCallError, not a SyntaxError or a page without titles", async () => {
    for (const body of ["<html>Sign in to the Wi-Fi</html>", "", "{}", "null"]) {
      const err = await titlesError(clientAnswering(200, body));
      expect(err).toBeInstanceOf(ApiCallError);
      expect(err).toMatchObject({ status: 200, code: "invalid_response" });
    }
    const page = await clientAnswering(200, JSON.stringify({ country: "US", total: 0, titles: [] })).titles();
    expect(page.titles).toEqual([]);
  });

  it("the titles call ends on its own when the server never answers, as a play request does", async () => {
    const signals: Array<AbortSignal | undefined> = [];
    const c = new VcdnClient({
      baseUrl: "https://cdn.test",
      token: "member",
      fetch: ((_url: string, init?: FetchInit) => {
        signals.push(init?.signal ?? undefined);
        return new Promise(() => {});
      }) as FetchLike,
    });
    void c.titles();
    expect(signals).toHaveLength(1);
    expect(signals[0]).toBeInstanceOf(AbortSignal);
    expect(signals[0]?.aborted).toBe(false);
  });

  it("an error body whose code is not the API's form carries the code http_error and a string message", async () => {
    const err = (await titlesError(clientAnswering(400, JSON.stringify({ error: { code: { $gt: 1 }, message: 42 } })))) as ApiCallError;
    expect(err).toBeInstanceOf(ApiCallError);
    expect([err.status, err.code, typeof err.message]).toEqual([400, "http_error", "string"]);
    const ok = (await titlesError(clientAnswering(429, JSON.stringify({ error: { code: "rate_limited", message: "slow down" } })))) as ApiCallError;
    expect([ok.status, ok.code, ok.message]).toEqual([429, "rate_limited", "slow down"]);
  });
});

describe("a play answer that lists many OCAs", () => {
  it("is taken up to the best-ranked MAX_SESSION_OCAS: the first probe round asks no more", async () => {
    const asked: string[] = [];
    const ids = Array.from({ length: 500 }, (_, i) => `o${i}`);
    // Listed in reverse rank order: the best-ranked are kept, whatever the order.
    const play = { ...fakePlay([]), ocas: ids.map((id, i) => fakeOca(id, i + 1)).reverse() };
    const s = new PlaySession(probeRecordingClient(asked), play, { pollSteering: false, reprobeIntervalMs: 0 });
    await s.reprobe(true);
    expect(asked).toHaveLength(MAX_SESSION_OCAS);
    expect(new Set(asked)).toEqual(new Set(ids.slice(0, MAX_SESSION_OCAS)));
    expect(s.ocas).toHaveLength(MAX_SESSION_OCAS);
    await s.close();
  });
});

describe("a probe answered with an empty body", () => {
  it("fails: a cache that sends no byte of its files is not picked ahead of origin", async () => {
    const fetch = (async (url: string) =>
      fakeAnswer(206, new URL(url).pathname.includes("/oca/s/a/") ? new Uint8Array(0) : new Uint8Array(1024))) as unknown as FetchLike;
    const client = { fetch, sendEvents: async () => {} } as unknown as VcdnClient;
    const play = { ...fakePlay([]), ocas: [fakeOca("a", 1), { ...fakeOca("o", 2), tier: "origin" as const }] };
    const s = new PlaySession(client, play, { pollSteering: false, reprobeIntervalMs: 0 });
    await s.reprobe(true);
    expect(s.probes.find((p) => p.ocaId === "a")).toMatchObject({ ok: false, bytes: 0 });
    expect(s.current.ocaId).toBe("o");
    await s.close();
  });
});

describe("an OCA whose measurement is NaN", () => {
  it("does not win the hysteresis against a well-measured current OCA", () => {
    const sel = new OcaSelector([fakeOca("a", 1), fakeOca("b", 2)], { minDwellMs: 0 });
    let moved: string | null = null;
    for (let round = 1; round <= 4 && !moved; round++) {
      const at = round * 10_000;
      sel.recordProbe({ ocaId: "a", ok: true, at, ttfbMs: Number.NaN, throughputBps: Number.NaN, bytes: 262_144 });
      sel.recordProbe({ ocaId: "b", ok: true, at, ttfbMs: 20, throughputBps: 50_000_000, bytes: 262_144 });
      moved = sel.evaluate("b", at).switchTo;
    }
    expect(moved).toBeNull();
    expect(sel.ranking(50_000).every((r) => Number.isFinite(r.score))).toBe(true);
  });
});

describe("the headless fetcher on a media playlist with no segment", () => {
  it("fails with PLAYLIST_INVALID rather than wait to start forever", async () => {
    const master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\nvideo/v1/index.m3u8\n";
    const fetch: FetchLike = async (url) => {
      if (url.includes("master.m3u8")) return fakeAnswer(200, master);
      if (url.includes("index.m3u8")) return fakeAnswer(200, "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-ENDLIST\n");
      return fakeAnswer(200, new Uint8Array(1000));
    };
    const client = { fetch, sendEvents: async () => {} } as unknown as VcdnClient;
    const s = new PlaySession(client, fakePlay(["a"]), { pollSteering: false, reprobeIntervalMs: 0, flushIntervalMs: 3_600_000, cmcd: false });
    const fetcher = new SegmentFetcher(s, { tickMs: 20 });
    const ran = await Promise.race([fetcher.run(), sleep(2_000).then(() => null)]);
    if (ran === null) fetcher.stop();
    expect(ran?.phase).toBe("failed");
    expect(ran?.errors[0]).toMatch(/^3002 PLAYLIST_INVALID/);
  });
});
