import type { LoaderStats } from "hls.js";
import { describe, expect, it, vi } from "vitest";
import type { VcdnClient } from "../client/api";
import { attachDashjs } from "../client/player/dash-adapter";
import { noteFragment } from "../client/player/hls-hook";
import { type ShakaResponseFilter, ShakaRequestType, attachShaka } from "../client/player/shaka-adapter";
import { PlaySession } from "../client/session";
import { fakeDashPlayer, fakeOca, fakePlay } from "./client-fixtures";

// Segments are immutable and the browser caches them: a seek back or a replay reads them from its
// HTTP cache in a millisecond or so. Such a read is no measurement of the network, and fed to the
// throughput estimate it reads as gigabits per second (the start rung, CMCD `mtp` and
// `_HLS_throughput` follow). Neither player runs in workerd: the web player's hls.js hook, dash.js's
// interceptors and Shaka's filters are called the way the players call them.

const client = {
  fetch: async () => {
    throw new Error("unused");
  },
  sendEvents: async () => {},
} as unknown as VcdnClient;

const OCA = fakeOca("a", 1);
const SEGMENT = `${OCA.url}video/v1/seg-00001.m4s`;
const MB2 = 2_000_000;
/** The estimate after the one measured download every test starts with: 2 MB in 2 s. */
const MEASURED_BPS = 8e6;

function newSession() {
  const session = new PlaySession(client, fakePlay(["a", "b"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
  session.noteDownload("a", MB2, 2000);
  return session;
}

/** hls.js's stats of a `bytes` fragment that loaded in `ms`, as the loader hands them to the web player's monitor. */
function fragmentStats(bytes: number, ms: number): LoaderStats {
  return { total: bytes, loaded: bytes, loading: { start: 1000, first: 1000 + ms / 2, end: 1000 + ms } } as unknown as LoaderStats;
}

/** What the web player's monitor does with a main-rendition fragment the loader served (its `onServed` hook). */
const served = (session: PlaySession, sn: number, bytes: number, ms: number) =>
  noteFragment(session, OCA, { type: "main", sn }, fragmentStats(bytes, ms), 600_000);

function shakaPlayer() {
  let onResponse: ShakaResponseFilter | undefined;
  const engine = {
    registerRequestFilter: () => {},
    unregisterRequestFilter: () => {},
    registerResponseFilter: (f: ShakaResponseFilter) => {
      onResponse = f;
    },
    unregisterResponseFilter: () => {},
  };
  const answer = (timeMs: number, fromCache = false) =>
    onResponse?.(ShakaRequestType.SEGMENT, { uri: SEGMENT, originalUri: SEGMENT, data: new ArrayBuffer(MB2), timeMs, fromCache });
  return { player: { getNetworkingEngine: () => engine }, answer };
}

describe("downloads read from the browser's cache", () => {
  it("hls.js: a fragment loaded in 1 ms leaves the throughput estimate as it was, and its bytes still count", async () => {
    const session = newSession();
    const counted = vi.spyOn(session.reporter, "addBytes");
    served(session, 1, MB2, 1);
    expect(session.throughput.sampleCount).toBe(1);
    expect(session.throughput.estimate()).toBeCloseTo(MEASURED_BPS, -3);
    expect(counted).toHaveBeenCalledWith(MB2);
    await session.close();
  });

  it("hls.js: a replay of cached fragments does not fill the estimate's window, and the next network download still counts", async () => {
    const session = newSession();
    // Four fragments read back from the cache, one of them from disk (2 MB in 12 ms: 1.3 Gbit/s).
    for (const [sn, ms] of [
      [1, 1],
      [2, 2],
      [3, 12],
      [4, 0],
    ])
      served(session, sn, MB2, ms);
    expect(session.throughput.estimate()).toBeCloseTo(MEASURED_BPS, -3);
    // 2 MB in 1 s over the network: 16 Mbit/s, harmonic mean with 8 Mbit/s 10.67 Mbit/s.
    served(session, 5, MB2, 1000);
    expect(session.throughput.estimate()).toBeCloseTo(32e6 / 3, -3);
    await session.close();
  });

  it("dash.js: a segment its Resource Timing entry shows came from the cache (no bytes transferred) leaves the estimate as it was", async () => {
    const session = newSession();
    const dash = fakeDashPlayer(SEGMENT, MB2);
    attachDashjs(dash.player, session);
    // 40 ms for 2 MB (400 Mbit/s) is plausible for a network; the entry says nothing crossed it.
    await dash.answer({ startTime: 100, duration: 40, encodedBodySize: MB2 }, { transferSize: 0, decodedBodySize: MB2 });
    expect(session.throughput.sampleCount).toBe(1);
    expect(session.throughput.estimate()).toBeCloseTo(MEASURED_BPS, -3);
    await session.close();
  });

  it("dash.js: a segment loaded in 2 ms leaves the estimate as it was", async () => {
    const session = newSession();
    const dash = fakeDashPlayer(SEGMENT, MB2);
    attachDashjs(dash.player, session);
    await dash.answer({ startTime: 100, duration: 2, encodedBodySize: MB2 });
    expect(session.throughput.estimate()).toBeCloseTo(MEASURED_BPS, -3);
    // One that transferred its bytes in 1 s does feed it.
    await dash.answer({ startTime: 200, duration: 1000, encodedBodySize: MB2 }, { transferSize: MB2 + 300, decodedBodySize: MB2 });
    expect(session.throughput.estimate()).toBeCloseTo(32e6 / 3, -3);
    await session.close();
  });

  it("Shaka: a segment loaded in 1 ms that Shaka did not flag as cached leaves the estimate as it was", async () => {
    const session = newSession();
    const shaka = shakaPlayer();
    attachShaka(shaka.player, session);
    shaka.answer(1);
    shaka.answer(5, true);
    expect(session.throughput.estimate()).toBeCloseTo(MEASURED_BPS, -3);
    shaka.answer(1000);
    expect(session.throughput.estimate()).toBeCloseTo(32e6 / 3, -3);
    await session.close();
  });
});
