import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { probeUrl } from "../client/probe";
import { EventReporter } from "../client/reporter";
import { OcaSelector, type ProbeResult } from "../client/scoring";
import { PlaySession, retryAfterS, belowFloors } from "../client/session";
import type { FetchLike, QoeEvent, ResponseLike } from "../client/types";
import { fakeOca, fakePlay } from "./client-fixtures";

// The SDK's own measurement logic, driven with a scripted fetch and clock: no network is involved,
// because what is under test is how the SDK counts, not the transport.

function response(status: number, body: Uint8Array | string = "", headers: Record<string, string> = {}): ResponseLike {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  let sent = false;
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: { get: (n) => headers[n] ?? headers[n.toLowerCase()] ?? null },
    body: {
      getReader: () => ({
        read: async () => (sent ? { done: true } : ((sent = true), { done: false, value: bytes })),
        cancel: async () => {},
      }),
      cancel: async () => {},
    },
    json: async () => JSON.parse(new TextDecoder().decode(bytes)),
    text: async () => new TextDecoder().decode(bytes),
    arrayBuffer: async () => bytes.buffer as ArrayBuffer,
  };
}

function session(fetch: FetchLike, ids = ["a", "b", "c"], opts: ConstructorParameters<typeof PlaySession>[2] = {}) {
  let t = 1_000;
  const events: QoeEvent[] = [];
  const client = { fetch, sendEvents: async () => {}, requestPlay: async () => fakePlay(ids) } as unknown as VcdnClient;
  const s = new PlaySession(client, fakePlay(ids), { flushIntervalMs: 3_600_000, onEvent: (e) => events.push(e), ...opts }, undefined, { now: () => t });
  return { s, events, advance: (ms: number) => (t += ms) };
}

describe("the probe", () => {
  it("measures throughput over the whole transfer: a body that arrives in one chunk does not score an absurd rate", async () => {
    const body = new Uint8Array(65_536);
    let t = 0;
    // Headers after 100 ms; the whole body in one chunk at the same instant.
    const fetch: FetchLike = async () => {
      t = 100;
      return response(206, body);
    };
    const r = await probeUrl(fetch, "a", "https://cdn.test/x", { bytes: body.byteLength, now: () => t });
    expect(r.ok).toBe(true);
    // 64 KiB in 100 ms is 5.2 Mbit/s (the old clock, started at the first chunk, said 524 Mbit/s).
    expect(r.throughputBps).toBeCloseTo((65_536 * 8000) / 100, 0);
  });

  it("asks for 256 KiB unless told otherwise", async () => {
    let range = "";
    await probeUrl(
      async (_url, init) => {
        range = init?.headers?.Range ?? "";
        return response(206, new Uint8Array(10));
      },
      "a",
      "https://cdn.test/x",
    );
    expect(range).toBe("bytes=0-262143");
  });
});

describe("the OCA selector", () => {
  it("declares a throughput collapse once; the next needs a streak of its own", () => {
    const sel = new OcaSelector([fakeOca("a", 1), fakeOca("b", 2)]);
    const low = () => sel.noteThroughput("a", 100_000, 1_000_000);
    expect([low(), low(), low(), low()]).toEqual([false, true, false, true]);
  });

  it("does not leave the current OCA on one lost probe; the second in a row leaves it", () => {
    const sel = new OcaSelector([fakeOca("a", 1), fakeOca("b", 2)]);
    const ok = (ocaId: string, at: number): ProbeResult => ({ ocaId, ok: true, at, status: 206, ttfbMs: 20, throughputBps: 50e6, bytes: 262_144 });
    sel.recordProbe(ok("a", 0));
    sel.recordProbe(ok("b", 0));
    sel.noteMove(-60_000);
    sel.recordProbe({ ocaId: "a", ok: false, at: 100, error: "timeout after 2000 ms" });
    expect(sel.evaluate("a", 100).switchTo).toBeNull();
    sel.recordProbe({ ocaId: "a", ok: false, at: 10_100, error: "timeout after 2000 ms" });
    expect(sel.evaluate("a", 10_100)).toMatchObject({ switchTo: "b", reason: "probe_failed" });
  });
});

describe("a client-side outage", () => {
  it("is charged to no OCA: the second OCA unreachable in a row lifts the first one's penalty and backs off", () => {
    const { s, events } = session(async () => {
      throw new TypeError("Failed to fetch");
    });
    expect(s.clientOutageBackoffMs("a")).toBe(0); // one OCA unreachable: its own fault, for now
    expect(s.reportFailure("a", "network: Failed to fetch")?.ocaId).toBe("b");
    const wait = s.clientOutageBackoffMs("b");
    expect(wait).toBeGreaterThan(0);
    expect(s.selector.exclusion("a", s.now())).toBeNull();
    expect(s.selector.exclusion("b", s.now())).toBeNull();
    expect(events.some((e) => e.type === "error" && e.reason === "1004 CLIENT_NETWORK_DOWN")).toBe(true);
    // Retries back off, doubling, up to a cap.
    const waits = [s.clientOutageBackoffMs("b"), s.clientOutageBackoffMs("b"), s.clientOutageBackoffMs("b")];
    expect(waits[1]).toBeGreaterThan(waits[0]);
    expect(Math.max(...[1, 2, 3, 4, 5, 6].map(() => s.clientOutageBackoffMs("b")))).toBeLessThanOrEqual(8_000);
    // A download that gets through ends the outage.
    s.noteDownload("b", 1000, 10);
    expect(s.clientOutageBackoffMs("c")).toBe(0);
    void s.close();
  });

  it("after a minute is the OCAs' after all", () => {
    const { s, advance } = session(async () => {
      throw new TypeError("offline");
    });
    s.clientOutageBackoffMs("a");
    expect(s.clientOutageBackoffMs("b")).toBeGreaterThan(0);
    advance(61_000);
    expect(s.clientOutageBackoffMs("b")).toBe(0);
    void s.close();
  });
});

describe("the steering poll", () => {
  it("gives up on a server that never answers, so polling goes on", async () => {
    const { s } = session(
      (_url, init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        }),
      ["a", "b"],
      { steeringTimeoutMs: 50 },
    );
    const t0 = Date.now();
    expect(await s.pollSteeringOnce()).toBeNull();
    expect(Date.now() - t0).toBeLessThan(2_000);
    await s.close();
  });

  it("waits as long as the server's Retry-After asks", async () => {
    const { s } = session(async () => response(429, '{"error":"rate_limited"}', { "Retry-After": "30" }), ["a", "b"]);
    expect(await s.pollSteeringOnce()).toBe(30);
    await s.close();
    expect(retryAfterS(new Date(Date.UTC(2026, 0, 1, 0, 1)).toUTCString(), Date.UTC(2026, 0, 1))).toBe(60);
    expect(retryAfterS("soon", 0)).toBeNull();
  });
});

describe("the last QoE batch", () => {
  it("leaves at once on page hide, not queued behind a request the browser cancels", async () => {
    const calls: Array<{ final: boolean; types: string[] }> = [];
    const r = new EventReporter({
      send: (events, { final }) => {
        calls.push({ final, types: events.map((e) => e.type) });
        // The first request hangs (the browser will cancel it as the page goes).
        return calls.length === 1 ? new Promise<void>(() => {}) : Promise.resolve();
      },
      flushIntervalMs: 3_600_000,
    });
    r.push({ type: "start" });
    await new Promise((resolve) => setTimeout(resolve, 0)); // its request is out, and hangs
    r.push({ type: "stop", reason: "pagehide" }); // urgent, but waits behind the hung request...
    void r.flush(true); // ...until the page-hide flush takes it, and the hung batch again beside it
    expect(calls).toHaveLength(3);
    expect(calls[0]).toEqual({ final: false, types: ["start"] });
    expect(calls.slice(1)).toContainEqual({ final: true, types: ["stop"] });
    expect(calls.slice(1)).toContainEqual({ final: true, types: ["start"] });
  });
});

describe("background work", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** A session re-probing every 20 ms in the background, and how many requests it has made. */
  function busySession(pollSteering: boolean) {
    const count = { requests: 0 };
    const { s } = session(
      async () => {
        count.requests++;
        return response(206, new Uint8Array(1000));
      },
      ["a", "b"],
      // Under the test hook: a re-probe every 20 ms (the floor is 1 s).
      belowFloors({ reprobeIntervalMs: 20, pollSteering }),
    );
    s.startBackground();
    return { s, count };
  }

  it("stops while the viewer has paused and starts again on resume", async () => {
    const { s, count } = busySession(false);
    await sleep(120);
    expect(count.requests).toBeGreaterThan(0);
    s.pause();
    await sleep(20); // a round already under way may finish
    const paused = count.requests;
    await sleep(150);
    expect(count.requests).toBe(paused);
    s.resume();
    await sleep(120);
    expect(count.requests).toBeGreaterThan(paused);
    await s.close();
  });

  it("ends for good when the session closes (after a stop or a fatal error)", async () => {
    const { s, count } = busySession(true);
    await sleep(60);
    await s.close();
    await sleep(20);
    const at = count.requests;
    await sleep(150);
    expect(count.requests).toBe(at);
    s.resume(); // a late 'playing' event must not wake a closed session
    await sleep(100);
    expect(count.requests).toBe(at);
  });
});

describe("the probe's clock", () => {
  it("times a body that streams in from the response headers to its last byte, every byte counted", async () => {
    let t = 0;
    const chunks = [new Uint8Array(100_000), new Uint8Array(100_000), new Uint8Array(62_144)];
    const fetch: FetchLike = async () => {
      t = 50; // headers
      let i = 0;
      const res = response(206);
      res.body = {
        getReader: () => ({
          read: async () => {
            if (i >= chunks.length) return { done: true };
            t += 20; // each chunk 20 ms after the previous one
            return { done: false, value: chunks[i++] };
          },
          cancel: async () => {},
        }),
      };
      return res;
    };
    const r = await probeUrl(fetch, "a", "https://cdn.test/x", { now: () => t });
    // 262,144 bytes from the headers (50 ms) to the last chunk (110 ms): 60 ms, the first chunk's wait included.
    expect(r.throughputBps).toBeCloseTo((262_144 * 8000) / 60, 0);
    expect(r.ttfbMs).toBe(50);
  });
});
