import { afterEach, describe, expect, it } from "vitest";
import { VcdnClient } from "../client/api";
import { SdkError } from "../client/errors";
import { type FetcherOptions, SegmentFetcher } from "../client/fetcher";
import { type PlayOptions, PlaySession } from "../client/session";
import type { FetchInit, FetchLike, PlayResponse, ResponseLike } from "../client/types";
import { fakeAnswer, fakePlay } from "./client-fixtures";

// Options and server answers an integrating team meets, each of which broke the SDK quietly: a steering
// poll in a tight loop, a player that never ends or downloads without end, a play answer that left a
// timer and a stream slot behind, a Retry-After the app never saw, a client sending to a wrong URL.
// The control plane and the OCAs are one scripted fetch: what is under test is the SDK's handling.

const QUIET: PlayOptions = { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 };
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts the intervals set and not cleared from now on (the SDK's QoE flush and playback clock). */
function liveIntervals() {
  const live = new Set<unknown>();
  const set = globalThis.setInterval;
  const clear = globalThis.clearInterval;
  globalThis.setInterval = ((fn: () => void, ms?: number) => {
    const id = set(fn, ms);
    live.add(id);
    return id;
  }) as typeof setInterval;
  globalThis.clearInterval = ((id: Parameters<typeof clearInterval>[0]) => {
    live.delete(id);
    clear(id);
  }) as typeof clearInterval;
  const restore = () => {
    for (const id of live) clear(id as Parameters<typeof clearInterval>[0]);
    globalThis.setInterval = set;
    globalThis.clearInterval = clear;
  };
  return { live, restore };
}
let restoreTimers: (() => void) | null = null;
afterEach(() => {
  restoreTimers?.();
  restoreTimers = null;
});

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

/** A client whose control plane answers plays with `play()`, events 202 (noted), and OCAs 206 to probes. */
function scripted(play: () => Response, steering?: () => Response) {
  const calls = { plays: 0, events: [] as Array<{ sessionId: string; events: Array<{ type: string }> }>, steering: 0, other: [] as string[] };
  const fetch = async (url: string, init?: FetchInit) => {
    if (url.endsWith("/v1/play")) {
      calls.plays++;
      return play();
    }
    if (url.endsWith("/v1/events")) {
      calls.events.push(JSON.parse(init?.body ?? "{}"));
      return new Response("{}", { status: 202 });
    }
    if (url.includes("/v1/steering/")) {
      calls.steering++;
      return steering ? steering() : json({ VERSION: 1, TTL: 300 });
    }
    calls.other.push(url);
    return new Response(new Uint8Array(1024), { status: 206 });
  };
  return { client: new VcdnClient({ baseUrl: "https://cp.test", token: "t", fetch }), calls };
}

describe("steering polls", () => {
  const CASES: Array<[string, () => Response, boolean]> = [
    ["a TTL of 0", () => json({ VERSION: 1, TTL: 0, "PATHWAY-PRIORITY": ["a", "b"] }), false],
    ["a 503 with Retry-After: 0", () => json({ error: { code: "unavailable" } }, 503, { "Retry-After": "0" }), true],
  ];
  it.each(CASES)("come at most once a second under TTL bounds from 0, on %s", async (_name, answer, failing) => {
    const { client, calls } = scripted(() => json(fakePlay(["a", "b"])), answer);
    // Bounds from 0 are taken (configure() takes them too); before, a TTL or Retry-After of 0 under
    // them scheduled the next poll at 0 ms: hundreds of polls a second, for as long as the session played.
    const s = await client.play("t", { ...QUIET, pollSteering: true, steeringTtlBoundsS: [0, 300] });
    const errors: string[] = [];
    s.on("error", (e) => errors.push(e.errorName));
    await wait(400);
    const polls = calls.steering;
    await s.close();
    expect(polls).toBe(1);
    // The refusal is said once, as a clear error event, not once per spin.
    expect(errors).toEqual(failing ? ["STEERING_POLL_FAILED"] : []);
  });

  it("survive an empty, huge or unknown PATHWAY-PRIORITY and a missing TTL", async () => {
    const s = new PlaySession(scripted(() => json(fakePlay(["a", "b"]))).client, fakePlay(["a", "b"]), QUIET);
    const from = s.current.ocaId;
    s.applySteering({ VERSION: 1, TTL: 10, "PATHWAY-PRIORITY": [] });
    s.applySteering({ VERSION: 1, TTL: 10, "PATHWAY-PRIORITY": Array.from({ length: 100_000 }, (_, i) => `x${i}`) });
    s.applySteering({ VERSION: 1 } as unknown as Parameters<PlaySession["applySteering"]>[0]);
    expect(s.current.ocaId).toBe(from);
    expect(s.selector.serverPriority).toEqual([]);
    await s.close();
  });
});

describe("a play answer the session cannot use", () => {
  const ANSWERS: Array<[string, (p: PlayResponse) => unknown]> = [
    ["without renditions", (p) => ({ ...p, renditions: undefined })],
    ["without a video rendition", (p) => ({ ...p, renditions: { ...p.renditions, video: [] } })],
    ["without OCAs", (p) => ({ ...p, ocas: undefined })],
    ["with an OCA without url", (p) => ({ ...p, ocas: [{ ...p.ocas[0], url: undefined }] })],
  ];
  it.each(ANSWERS)("%s: play() fails with PLAY_REQUEST_FAILED, frees the slot it took, and leaves no timer", async (_name, broken) => {
    const timers = liveIntervals();
    restoreTimers = timers.restore;
    const { client, calls } = scripted(() => json(broken(fakePlay(["a", "b"]))));
    const got = await client.play("t", QUIET).catch((e: unknown) => e);
    if (got instanceof PlaySession) await got.close();
    // Before: a TypeError (or a session whose probes threw), the QoE flush's interval left running,
    // and the stream slot held until the server's silence release.
    expect(got).toBeInstanceOf(SdkError);
    expect((got as SdkError).errorName).toBe("PLAY_REQUEST_FAILED");
    expect(calls.events.flatMap((b) => b.events.map((e) => `${b.sessionId} ${e.type}`))).toContain("sess stop");
    expect(timers.live.size).toBe(0);
    expect(calls.other).toEqual([]);
  });

  it("a 429's Retry-After reaches the app on PLAY_REQUEST_FAILED", async () => {
    const { client } = scripted(() => json({ error: { code: "rate_limited", message: "slow down" } }, 429, { "Retry-After": "30" }));
    const got = await client.play("t", QUIET).catch((e: unknown) => e);
    expect(got).toMatchObject({ errorName: "PLAY_REQUEST_FAILED", data: { status: 429, apiCode: "rate_limited", retryAfterS: 30 } });
  });
});

describe("the headless fetcher's options", () => {
  const session = () => new PlaySession(scripted(() => json(fakePlay(["a"]))).client, fakePlay(["a", "b"]), QUIET);
  const BAD: Array<[string, Record<string, unknown>, string]> = [
    // Buffer never "full": the whole title (with loop, for ever) downloaded as fast as the OCA serves.
    ["a NaN buffer target", { targetBufferS: Number.NaN }, "targetBufferS"],
    ["an infinite buffer target", { targetBufferS: Number.POSITIVE_INFINITY }, "targetBufferS"],
    ["a buffer target as a string", { targetBufferS: "10" }, "targetBufferS"],
    // Capped before the first segment: playback never started and run() never resolved.
    ["maxPlayS of 0", { maxPlayS: 0 }, "maxPlayS"],
    ["negative maxPlayS", { maxPlayS: -5 }, "maxPlayS"],
    // Every download aborted at once ("0 = no timeout" elsewhere): every OCA failed, a renewal spent.
    ["a request timeout of 0", { requestTimeoutMs: 0 }, "requestTimeoutMs"],
    ["a NaN request timeout", { requestTimeoutMs: Number.NaN }, "requestTimeoutMs"],
    // A clock timer and a wait loop at 0-1 ms.
    ["a tick of 0", { tickMs: 0 }, "tickMs"],
    ["a NaN tick", { tickMs: Number.NaN }, "tickMs"],
    ["an ABR safety of NaN", { abr: { safety: Number.NaN } }, "abr.safety"],
    ["an unknown ABR parameter", { abr: { agressive: 1 } }, "abr.agressive"],
    ["loop as a string", { loop: "yes" }, "loop"],
    ["an unknown option", { bufferS: 10 }, "bufferS"],
  ];
  it.each(BAD)("are refused at construction with INVALID_OPTION naming the key: %s", async (_name, bad, key) => {
    const s = session();
    let got: unknown;
    try {
      new SegmentFetcher(s, bad as FetcherOptions);
    } catch (e) {
      got = e;
    }
    await s.close();
    expect(got).toBeInstanceOf(SdkError);
    expect((got as SdkError).errorName).toBe("INVALID_OPTION");
    expect((got as SdkError).data.detail).toMatch(new RegExp(`^${key.replace(".", "\\.")}: `));
  });

  it("take what the tests and soak runs use", async () => {
    const s = session();
    expect(
      () => new SegmentFetcher(s, { targetBufferS: 1e9, tickMs: 20, requestTimeoutMs: 300, loop: true, maxPlayS: 1.5, abr: { safety: 0.9 } }),
    ).not.toThrow();
    await s.close();
  });

  it("run once: a second run() is the first, and no timer outlives the stop", async () => {
    const timers = liveIntervals();
    restoreTimers = timers.restore;
    // The master playlist never answers: playback is held at its start until the stop aborts it.
    const fetch: FetchLike = async (url, init) => {
      if (url.includes("master.m3u8"))
        return new Promise<ResponseLike>((_, reject) => init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
      return fakeAnswer(206, new Uint8Array(1024));
    };
    const client = { fetch, sendEvents: async () => {} } as unknown as VcdnClient;
    const s = new PlaySession(client, fakePlay(["a", "b"]), QUIET);
    const fetcher = new SegmentFetcher(s, { tickMs: 20 });
    const first = fetcher.run();
    const second = fetcher.run();
    await wait(50);
    fetcher.stop();
    fetcher.stop();
    const [a, b] = await Promise.all([first, second]);
    // Before: two runs, each setting the playback clock's interval into one field; the first's leaked.
    expect(a.errors).toEqual([]);
    expect(second).toBe(first);
    expect(a.phase).toBe("stopped");
    expect(b.phase).toBe("stopped");
    expect(timers.live.size).toBe(0);
  });
});

describe("the client's options", () => {
  const fetch: FetchLike = async () => fakeAnswer(200, "{}");
  const BAD: Array<[string, Record<string, unknown>, string]> = [
    ["a base URL with a query", { baseUrl: "https://api.example.com/?env=prod", token: "t" }, "baseUrl"],
    ["a base URL without scheme", { baseUrl: "api.example.com", token: "t" }, "baseUrl"],
    ["no base URL", { token: "t" }, "baseUrl"],
    ["an empty token", { baseUrl: "https://api.example.com", token: "  " }, "token"],
    ["no token", { baseUrl: "https://api.example.com" }, "token"],
    ["a token with a line break inside", { baseUrl: "https://api.example.com", token: "ab\ncd" }, "token"],
    ["a geo on two lines", { baseUrl: "https://api.example.com", token: "t", geo: "country=US\nX: y" }, "geo"],
    ["fetch not a function", { baseUrl: "https://api.example.com", token: "t", fetch: "fetch" }, "fetch"],
  ];
  it.each(BAD)("are refused at construction with INVALID_OPTION naming the key: %s", (_name, bad, key) => {
    expect(() => new VcdnClient({ fetch, ...bad } as unknown as ConstructorParameters<typeof VcdnClient>[0])).toThrow(
      new RegExp(`5001 INVALID_OPTION: ${key}: `),
    );
  });

  it("take a base URL with a path prefix and a trailing slash, and a token with whitespace around it", async () => {
    const seen: Array<{ url: string; auth?: string }> = [];
    const client = new VcdnClient({
      baseUrl: "https://api.example.com/cdn/",
      token: " tok\n",
      fetch: async (url, init) => {
        seen.push({ url, auth: init?.headers?.Authorization });
        return fakeAnswer(200, JSON.stringify({ country: "US", total: 0, titles: [] }));
      },
    });
    await client.titles({ limit: 10 });
    expect(seen).toEqual([{ url: "https://api.example.com/cdn/v1/titles?limit=10", auth: "Bearer tok" }]);
  });

  it.each([Number.NaN, 0, 201, 2.5, "10"])("titles() refuses a limit of %s without a request", async (limit) => {
    const seen: string[] = [];
    const client = new VcdnClient({ baseUrl: "https://api.example.com", token: "t", fetch: async (url) => (seen.push(url), fakeAnswer(400, "{}")) });
    const got = await client.titles({ limit: limit as number }).catch((e: unknown) => e);
    // Before: `?limit=NaN` went to the server, and its 400 came back as an ApiCallError.
    expect(got).toMatchObject({ errorName: "INVALID_OPTION", data: { detail: "limit: expected a whole number from 1 to 200" } });
    expect(seen).toEqual([]);
  });
});
