import { afterEach, describe, expect, it, vi } from "vitest";
import { EventReporter } from "../client/reporter";
import type { QoeEvent } from "../client/types";

// A network that answers nothing for minutes (a train in a tunnel): each request takes the SDK's call
// timeout (15 s) to fail. The QoE reporter keeps what it could not deliver and sends it, in order and
// under the batch ids already tried, when the network returns. On a fake clock, so the minutes are exact.

const CALL_TIMEOUT_MS = 15_000;

interface Try {
  atMs: number;
  batchId: string;
  tag: unknown;
  final: boolean;
  events: QoeEvent[];
  outcome?: "delivered" | "failed";
}

/** A reporter whose requests hang for the call timeout and fail while `net.down`, else answer as `answer` says. */
function onFlakyNetwork(opts: { fastFail?: boolean; maxQueued?: number; answer?: (t: Try) => unknown } = {}) {
  vi.useFakeTimers();
  const t0 = Date.now();
  const net = { down: true, tag: "A" as unknown };
  const tries: Try[] = [];
  const lost: QoeEvent[][] = [];
  const r = new EventReporter({
    now: () => Date.now(),
    clock: () => Date.now(),
    tag: () => net.tag,
    maxQueued: opts.maxQueued,
    send: async (events, { batchId, final, tag }) => {
      const t: Try = { atMs: Date.now() - t0, batchId, tag, final, events: [...events] };
      tries.push(t);
      if (net.down) {
        if (!opts.fastFail) await new Promise((res) => setTimeout(res, CALL_TIMEOUT_MS));
        t.outcome = "failed";
        throw new TypeError("fetch failed");
      }
      const err = opts.answer?.(t);
      if (err) {
        t.outcome = "failed";
        throw err;
      }
      t.outcome = "delivered";
    },
    onSendError: (_e, events) => lost.push(events),
  });
  const delivered = () => tries.filter((t) => t.outcome === "delivered");
  return { r, net, tries, lost, delivered, t0 };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the QoE reporter through a network outage", () => {
  it("keeps two minutes of batches and sends them in order, under the ids already tried, when the network returns", async () => {
    const { r, net, tries, lost, delivered } = onFlakyNetwork();
    // Two minutes of playback before the network went: a progress every 10 s (the reporter's pace), an
    // OCA switch (sent at once) and a rebuffer on the way.
    for (let s = 1; s <= 120; s++) {
      r.addBytes(1_000);
      if (s === 35) r.push({ type: "oca_switch", ocaId: "b", fromOcaId: "a", reason: "timeout" });
      if (s === 70) r.push({ type: "rebuffer", durationMs: 4_000 });
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(delivered()).toHaveLength(0);
    // One request at a time while the network is down, no burst.
    expect(tries.length).toBeLessThanOrEqual(12);
    net.down = false;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(lost).toEqual([]);
    const events = delivered().flatMap((t) => t.events);
    // Every byte reached the server, every event once, in the order they happened.
    expect(events.reduce((n, e) => n + (e.bytes ?? 0), 0)).toBe(120_000);
    expect(events.filter((e) => e.type === "oca_switch")).toHaveLength(1);
    expect(events.filter((e) => e.type === "rebuffer")).toHaveLength(1);
    const at = events.map((e) => e.at ?? 0);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    expect(new Set(delivered().map((t) => t.batchId)).size).toBe(delivered().length);
    // A batch tried during the outage is delivered under its own id (the server may have stored it).
    const failedIds = new Set(tries.filter((t) => t.outcome === "failed").map((t) => t.batchId));
    for (const id of failedIds) expect(delivered().map((t) => t.batchId)).toContain(id);
    // After the outage, few requests: what waited untried left as one batch.
    expect(delivered().length).toBeLessThanOrEqual(4);
    await r.close();
  });

  it("still drops a batch the server refuses (4xx) once the network is back, after one request, and sends the ones behind it", async () => {
    const { r, net, tries, delivered, lost } = onFlakyNetwork({
      fastFail: true,
      answer: (t) => (t.events.some((e) => e.reason === "bad") ? Object.assign(new Error("invalid"), { status: 400 }) : null),
    });
    r.push({ type: "error", reason: "bad" });
    await vi.advanceTimersByTimeAsync(30_000);
    r.push({ type: "oca_switch", ocaId: "b", fromOcaId: "a", reason: "timeout" });
    await vi.advanceTimersByTimeAsync(30_000);
    net.down = false;
    const before = tries.length;
    await vi.advanceTimersByTimeAsync(15_000);
    expect(tries.slice(before).map((t) => t.events.map((e) => e.type))).toEqual([["error"], ["oca_switch"]]);
    expect(lost.map((l) => l.map((e) => e.reason))).toEqual([["bad"]]);
    expect(delivered().flatMap((t) => t.events.map((e) => e.type))).toEqual(["oca_switch"]);
    await r.close();
  });

  it("keeps at most 1,000 events, the newest", async () => {
    const { r, net, delivered, lost } = onFlakyNetwork({ fastFail: true, maxQueued: 10_000 });
    // Formed at once (a large maxQueued), as six batches of 200 while the network is down.
    for (let i = 0; i < 1_200; i++) r.push({ type: "bitrate_switch", bitrate: i });
    void r.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    net.down = false;
    await vi.advanceTimersByTimeAsync(15_000);
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    expect(lost.flat().map((e) => e.bitrate)).toEqual(range(0, 200));
    expect(delivered().flatMap((t) => t.events.map((e) => e.bitrate))).toEqual(range(200, 1_000));
    await r.close();
  });

  it("keeps no batch older than an hour", async () => {
    const { r, net, delivered, lost } = onFlakyNetwork({ fastFail: true });
    r.push({ type: "error", reason: "at 0" });
    await vi.advanceTimersByTimeAsync(1_800_000);
    r.push({ type: "error", reason: "at 30 min" });
    await vi.advanceTimersByTimeAsync(1_860_000);
    net.down = false;
    await vi.advanceTimersByTimeAsync(15_000);
    expect(lost.flat().map((e) => e.reason)).toEqual(["at 0"]);
    expect(delivered().flatMap((t) => t.events.map((e) => e.reason))).toEqual(["at 30 min"]);
    await r.close();
  });

  it("drops the rest of a session the server says expired (410) after one request, and sends the next session's", async () => {
    const { r, net, tries, delivered, lost } = onFlakyNetwork({
      fastFail: true,
      answer: (t) => (t.tag === "A" ? Object.assign(new Error("session_expired"), { status: 410 }) : null),
    });
    r.push({ type: "error", reason: "a1" });
    await vi.advanceTimersByTimeAsync(5_000);
    r.push({ type: "stop", reason: "renewing" });
    // Renewed: the new session's events are formed under its own tag.
    net.tag = "B";
    r.push({ type: "start", reason: "renewed" });
    await vi.advanceTimersByTimeAsync(60_000);
    net.down = false;
    const before = tries.length;
    await vi.advanceTimersByTimeAsync(15_000);
    expect(tries.slice(before).filter((t) => t.tag === "A")).toHaveLength(1);
    expect(lost.flat().map((e) => e.reason)).toEqual(["a1", "renewing"]);
    expect(delivered().flatMap((t) => t.events.map((e) => e.reason))).toEqual(["renewed"]);
    await r.close();
  });

  it("waits out the Retry-After of a session over its events cap (429), then sends under the same id", async () => {
    let over = true;
    const { r, net, tries, delivered, lost } = onFlakyNetwork({
      answer: () => (over ? Object.assign(new Error("rate_limited"), { status: 429, retryAfterS: 60 }) : null),
    });
    net.down = false;
    r.push({ type: "oca_switch", ocaId: "b", fromOcaId: "a", reason: "timeout" });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(tries).toHaveLength(1);
    over = false;
    await vi.advanceTimersByTimeAsync(31_000);
    expect(tries).toHaveLength(2);
    expect(delivered().map((t) => t.batchId)).toEqual([tries[0].batchId]);
    expect(lost).toEqual([]);
    await r.close();
  });

  it("sends the backlog with the page's final flush, a batch already tried under its own id", async () => {
    const { r, tries, lost } = onFlakyNetwork({ fastFail: true });
    r.push({ type: "oca_switch", ocaId: "b", fromOcaId: "a", reason: "timeout" });
    await vi.advanceTimersByTimeAsync(5_000);
    r.push({ type: "rebuffer", durationMs: 300 });
    r.push({ type: "error", reason: "later" });
    const tried = tries[0].batchId;
    const before = tries.length;
    void r.flush(true);
    await vi.advanceTimersByTimeAsync(2_000);
    // Each batch's first final request, in order (a failed one is tried again within the flush's second).
    const finals = [
      ...new Map(
        tries
          .slice(before)
          .filter((t) => t.final)
          .map((t) => [t.batchId, t] as const),
      ).values(),
    ];
    expect(finals.map((t) => t.events.map((e) => e.type))).toEqual([["oca_switch"], ["rebuffer", "error"]]);
    expect(finals[0].batchId).toBe(tried);
    // The page stayed (back/forward cache) and the network is still down: nothing is given up.
    expect(lost).toEqual([]);
  });

  it("closing while the network answers nothing, tries every batch of the backlog, the stop too, without a call timeout for each in turn", async () => {
    const { r, tries, t0 } = onFlakyNetwork({ maxQueued: 10_000 });
    // A backlog of three batches (200 events is a batch's most), then the session's stop.
    for (let i = 0; i < 450; i++) r.push({ type: "bitrate_switch", bitrate: i });
    void r.flush();
    await vi.advanceTimersByTimeAsync(40_000);
    r.push({ type: "stop", reason: "user" });
    let closedAt = -1;
    const closing = r.close().then(() => {
      closedAt = Date.now() - t0;
    });
    const from = Date.now() - t0;
    await vi.advanceTimersByTimeAsync(60_000);
    await closing;
    const finals = tries.filter((t) => t.final);
    expect(finals.some((t) => t.events.some((e) => e.type === "stop"))).toBe(true);
    expect(new Set(finals.flatMap((t) => t.events.map((e) => e.bitrate ?? -1))).size).toBe(451);
    // Each final request leaves within its predecessor's second, so the close ends with the last timeout.
    expect(closedAt - from).toBeLessThan(25_000);
  });

  it("joins an outage's wordy batches only as far as a batch's 48 KiB, so each still leaves with a page's keepalive", async () => {
    const { r, net, lost, delivered } = onFlakyNetwork({ fastFail: true, maxQueued: 10_000 });
    // Batches of 30 events of about 450 bytes (13 KiB each) formed every 10 s for two minutes: joined whole, they would be 160 KiB.
    for (let s = 0; s < 12; s++) {
      for (let i = 0; i < 30; i++) r.push({ type: "error", reason: `${s}:${i} ${"x".repeat(400)}` });
      await vi.advanceTimersByTimeAsync(10_000);
    }
    net.down = false;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(lost).toEqual([]);
    const sent = delivered();
    expect(sent.flatMap((t) => t.events)).toHaveLength(360);
    const utf8 = new TextEncoder();
    for (const t of sent) expect(utf8.encode(JSON.stringify(t.events)).length).toBeLessThanOrEqual(48 * 1024);
    // Joined as far as they fit: fewer requests than batches formed.
    expect(sent.length).toBeLessThan(12);
  });
});
