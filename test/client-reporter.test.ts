import { describe, expect, it } from "vitest";
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
