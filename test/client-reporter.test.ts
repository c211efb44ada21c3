import { afterEach, describe, expect, it, vi } from "vitest";
import { EventReporter } from "../client/reporter";
import type { QoeEvent } from "../client/types";

function harness(fail = 0, maxQueued = 50) {
  const batches: QoeEvent[][] = [];
  let failures = fail;
  const r = new EventReporter({
    send: async (events) => {
      if (failures-- > 0) throw new Error("network");
      batches.push(events);
    },
    flushIntervalMs: 60_000,
    maxQueued,
    clock: () => 1_700_000_000_000,
  });
  return { r, batches };
}

describe("EventReporter", () => {
  it("batches routine events and sends urgent ones at once, in order", async () => {
    const { r, batches } = harness();
    r.push({ type: "bitrate_switch", bitrate: 2, fromBitrate: 1 });
    r.push({ type: "rebuffer", durationMs: 300 });
    expect(batches).toHaveLength(0);
    expect(r.queued).toBe(2);
    r.push({ type: "oca_switch", ocaId: "b", fromOcaId: "a", reason: "http_503" });
    await r.flush();
    expect(batches).toHaveLength(1);
    expect(batches[0].map((e) => e.type)).toEqual(["bitrate_switch", "rebuffer", "oca_switch"]);
    expect(batches[0].every((e) => e.at === 1_700_000_000_000)).toBe(true);
    await r.close();
  });

  it("carries media bytes on a progress event with the owner's fields", async () => {
    const { r, batches } = harness();
    r.progressFields = () => ({ positionS: 12.5, bitrate: 3_000_000, ocaId: "a" });
    r.addBytes(1000);
    r.addBytes(234.4);
    await r.flush();
    expect(batches[0]).toEqual([{ type: "progress", at: 1_700_000_000_000, positionS: 12.5, bitrate: 3_000_000, ocaId: "a", bytes: 1234 }]);
    await r.flush();
    expect(batches).toHaveLength(1);
    await r.close();
  });

  it("flushes when the queue fills", async () => {
    const { r, batches } = harness(0, 3);
    for (let i = 0; i < 3; i++) r.push({ type: "progress", positionS: i });
    await r.flush();
    expect(batches.map((b) => b.length)).toEqual([3]);
    await r.close();
  });

  it("splits at 200 events per request and retries a failed send once", async () => {
    const { r, batches } = harness(1, 1000);
    for (let i = 0; i < 230; i++) r.push({ type: "progress", positionS: i });
    await r.close();
    expect(batches.map((b) => b.length)).toEqual([200, 30]);
    expect(r.sent).toHaveLength(230);
    r.push({ type: "stop" });
    expect(r.queued).toBe(0);
  });
});

/**
 * A session's last batch (its stop) when the events endpoint fails: the close gives it a second
 * (FINAL_BUDGET_MS), on a fake clock, so every try's time is exact.
 */
describe("EventReporter closing on a failing events endpoint", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A reporter whose sends fail as `fail(try)` says (an error to throw, or null: accepted), recording each try. */
  function closing(fail: (attempt: number) => unknown) {
    vi.useFakeTimers();
    const t0 = Date.now();
    const tries: Array<{ atMs: number; batchId: string; final: boolean; types: string[] }> = [];
    const lost: string[][] = [];
    const r = new EventReporter({
      flushIntervalMs: 60_000,
      now: () => Date.now(),
      send: async (events, { batchId, final }) => {
        tries.push({ atMs: Date.now() - t0, batchId, final, types: events.map((e) => e.type) });
        const err = fail(tries.length - 1);
        if (err) throw err;
      },
      onSendError: (_e, events) => lost.push(events.map((e) => e.type)),
    });
    return { r, tries, lost };
  }

  const unavailable = (retryAfterS?: number) => Object.assign(new Error("events_unavailable"), { status: 503, retryAfterS });

  it("tries the stop again within the close's second when a 503 asks for 5 s, under the same batch id", async () => {
    const { r, tries, lost } = closing((i) => (i === 0 ? unavailable(5) : null));
    r.push({ type: "progress", positionS: 12 });
    r.push({ type: "stop", reason: "user" });
    const closed = r.close();
    await vi.advanceTimersByTimeAsync(1_000);
    await closed;
    expect(tries.map((t) => t.atMs)).toEqual([0, 1_000]);
    expect(tries.every((t) => t.final && t.types.join() === "progress,stop")).toBe(true);
    expect(new Set(tries.map((t) => t.batchId)).size).toBe(1);
    expect(r.sent.map((e) => e.type)).toEqual(["progress", "stop"]);
    expect(lost).toEqual([]);
  });

  it("honours a Retry-After that fits in the close's second, and keeps trying until that second ends when requests fail", async () => {
    const short = closing((i) => (i === 0 ? unavailable(0) : null));
    short.r.push({ type: "stop", reason: "user" });
    const a = short.r.close();
    await vi.advanceTimersByTimeAsync(1_000);
    await a;
    expect(short.tries.map((t) => t.atMs)).toEqual([0, 250]);
    vi.useRealTimers();
    // No answer at all, three times: the fourth try still leaves within the second.
    const down = closing((i) => (i < 3 ? new TypeError("fetch failed") : null));
    down.r.push({ type: "stop", reason: "user" });
    const b = down.r.close();
    await vi.advanceTimersByTimeAsync(1_000);
    await b;
    expect(down.tries.map((t) => t.atMs)).toEqual([0, 250, 750, 1_000]);
    expect(new Set(down.tries.map((t) => t.batchId)).size).toBe(1);
    expect(down.r.sent.map((e) => e.type)).toEqual(["stop"]);
  });

  it("gives a last batch without a stop no try beyond what the answer's Retry-After allows", async () => {
    const { r, tries, lost } = closing(() => unavailable(5));
    r.push({ type: "error", reason: "pagehide, kept in the back/forward cache" });
    const closed = r.close();
    await vi.advanceTimersByTimeAsync(1_000);
    await closed;
    expect(tries.map((t) => t.atMs)).toEqual([0]);
    expect(lost).toEqual([["error"]]);
  });

  it("drops a stop once the close's second is spent", async () => {
    const { r, tries, lost } = closing(() => unavailable(5));
    r.push({ type: "stop", reason: "user" });
    const closed = r.close();
    await vi.advanceTimersByTimeAsync(2_000);
    await closed;
    expect(tries.map((t) => t.atMs)).toEqual([0, 1_000]);
    expect(lost).toEqual([["stop"]]);
  });
});
