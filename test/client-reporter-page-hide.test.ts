import { describe, expect, it } from "vitest";
import { EventReporter } from "../client/reporter";
import type { QoeEvent } from "../client/types";

// A page going away (pagehide) flushes with `final`: the browser cancels the requests it has out that
// lack keepalive, so a routine batch in flight then must leave again, under its own batch id (the
// server counts an id once), or its events (the media bytes of its progress) are lost.

interface Try {
  batchId: string;
  final: boolean;
  types: string[];
}

/** A reporter whose routine (non-final) requests hang until `cancel()`: the browser's abort on unload. */
function unloading() {
  const tries: Try[] = [];
  const lost: string[][] = [];
  const hanging: Array<(err: unknown) => void> = [];
  const r = new EventReporter({
    flushIntervalMs: 3_600_000,
    send: (events, { batchId, final }) => {
      tries.push({ batchId, final, types: events.map((e) => e.type) });
      if (final) return Promise.resolve();
      return new Promise<void>((_, reject) => hanging.push(reject));
    },
    onSendError: (_e, events) => lost.push(events.map((e) => e.type)),
  });
  const cancel = () => {
    for (const reject of hanging.splice(0)) reject(new TypeError("Failed to fetch"));
  };
  return { r, tries, lost, cancel };
}

const flushed = () => new Promise((r) => setTimeout(r, 10));

describe("a final flush on page hide", () => {
  it("sends the batch in flight again with keepalive, under its own batch id", async () => {
    const { r, tries, lost, cancel } = unloading();
    r.addBytes(500_000);
    r.push({ type: "start", startupMs: 800 } as QoeEvent);
    await flushed();
    expect(tries).toHaveLength(1);
    const inflight = tries[0];
    expect(inflight.final).toBe(false);
    r.push({ type: "rebuffer", durationMs: 300 });
    r.push({ type: "stop", reason: "pagehide" });
    const last = r.flush(true);
    // The page is gone: its ordinary request is cancelled.
    cancel();
    await last;
    await flushed();
    const finals = tries.filter((t) => t.final);
    expect(finals.find((t) => t.batchId === inflight.batchId)?.types).toEqual(inflight.types);
    expect(finals.find((t) => t.batchId !== inflight.batchId)?.types).toEqual(["rebuffer", "stop"]);
    // Counted once on this side too, and nothing said lost.
    expect(r.sent.map((e) => e.type).sort()).toEqual(["progress", "rebuffer", "start", "stop"]);
    expect(lost).toEqual([]);
    // The cancelled request is not tried again.
    await new Promise((res) => setTimeout(res, 400));
    expect(tries.filter((t) => !t.final)).toHaveLength(1);
    await r.close();
  });

  it("counts a batch once when both its request and the resend get through", async () => {
    const sent: Array<{ batchId: string; final: boolean }> = [];
    const answer: Array<() => void> = [];
    const batches: number[] = [];
    const r = new EventReporter({
      flushIntervalMs: 3_600_000,
      send: (_events, { batchId, final }) => {
        sent.push({ batchId, final });
        return final ? Promise.resolve() : new Promise<void>((res) => answer.push(res));
      },
      onSent: (events) => batches.push(events.length),
    });
    r.push({ type: "start", startupMs: 800 } as QoeEvent);
    await flushed();
    await r.flush(true);
    // The page stayed (back/forward cache): its first request answers too.
    for (const res of answer) res();
    await flushed();
    expect(sent.map((s) => s.batchId)).toEqual([sent[0].batchId, sent[0].batchId]);
    expect(r.sent.map((e) => e.type)).toEqual(["start"]);
    expect(batches).toEqual([1]);
    await r.close();
  });
});
