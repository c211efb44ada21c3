import { describe, expect, it, vi } from "vitest";
import type { VcdnClient } from "../client/api";
import { attachDashjs } from "../client/player/dash-adapter";
import { PlaySession } from "../client/session";
import { fakeDashPlayer, fakeOca, fakePlay } from "./client-fixtures";

// dash.js hands its response interceptors a `resourceTiming` it may not have filled in. A segment
// download with no duration says nothing about the network: it must not reach the throughput
// estimate (the start rung, CMCD `mtp`, `_HLS_throughput`), though its bytes still count.

const client = {
  fetch: async () => {
    throw new Error("unused");
  },
  sendEvents: async () => {},
} as unknown as VcdnClient;

const SEGMENT = `${fakeOca("a", 1).url}video/v1/seg-00001.m4s`;
const MB2 = 2_000_000;

function newSession() {
  const session = new PlaySession(client, fakePlay(["a", "b"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
  // A measured download first: 2 MB in 2 s, 8 Mbit/s.
  session.noteDownload("a", MB2, 2000);
  return session;
}

describe("a dash.js segment download with no timing", () => {
  it("leaves the throughput estimate as it was when dash.js gave no resource timing", async () => {
    const session = newSession();
    const dash = fakeDashPlayer(SEGMENT, MB2);
    attachDashjs(dash.player, session);
    await dash.answer(undefined);
    expect(session.throughput.sampleCount).toBe(1);
    expect(session.throughput.estimate()).toBeCloseTo(8e6, -3);
    await session.close();
  });

  it("leaves the throughput estimate as it was when the resource timing has no duration", async () => {
    const session = newSession();
    const dash = fakeDashPlayer(SEGMENT, MB2);
    attachDashjs(dash.player, session);
    await dash.answer({ startTime: 100, encodedBodySize: MB2 });
    expect(session.throughput.sampleCount).toBe(1);
    expect(session.throughput.estimate()).toBeCloseTo(8e6, -3);
    await session.close();
  });

  it("still counts the untimed download's bytes, and a timed download after it feeds the estimate", async () => {
    const session = newSession();
    const dash = fakeDashPlayer(SEGMENT, MB2);
    attachDashjs(dash.player, session);
    const counted = vi.spyOn(session.reporter, "addBytes");
    await dash.answer(undefined);
    expect(counted).toHaveBeenCalledWith(MB2);
    // 2 MB in 1 s: 16 Mbit/s; harmonic mean with 8 Mbit/s is 10.67 Mbit/s.
    await dash.answer({ startTime: 100, duration: 1000, encodedBodySize: MB2 });
    expect(session.throughput.sampleCount).toBe(2);
    expect(session.throughput.estimate()).toBeCloseTo(32e6 / 3, -3);
    await session.close();
  });
});
