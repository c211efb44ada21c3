import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { SegmentFetcher } from "../client/fetcher";
import { PlaySession } from "../client/session";
import type { FetchLike, ResponseLike } from "../client/types";
import { fakeAnswer, fakePlay } from "./client-fixtures";

// A segment arriving slowly (a top-rung segment on a link slower than the probe said) is no dead OCA:
// the fetcher's timeout is a no-progress one, the slow download completes, lowers the throughput
// estimate, and the next segment goes down a rung, on the same OCA. A trickle is still bounded.

const MASTER =
  "#EXTM3U\n" +
  "#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=640x360\nvideo/low/index.m3u8\n" +
  "#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\nvideo/top/index.m3u8\n";
const INDEX = `#EXTM3U\n#EXT-X-TARGETDURATION:1\n${[1, 2, 3, 4].map((i) => `#EXTINF:1,\nseg-${i}.m4s\n`).join("")}#EXT-X-ENDLIST\n`;

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A 200 whose body comes as `chunks` chunks of `chunkBytes`, one every `gapMs` (a real stream; it stops when cancelled). */
function trickle(chunks: number, chunkBytes: number, gapMs: number): ResponseLike {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      await wait(gapMs);
      if (sent >= chunks) return c.close();
      sent++;
      c.enqueue(new Uint8Array(chunkBytes));
    },
  });
  return new Response(body, { status: 200 }) as unknown as ResponseLike;
}

/** OCAs a and b serve the title; `topSegment` answers the top rung's segments, everything else answers at once. */
function harness(topSegment: (ocaId: string, path: string) => ResponseLike | null) {
  const failures: string[] = [];
  /** When each failover came, ms after the harness was made. */
  const failedAt: number[] = [];
  const t0 = performance.now();
  const fetch: FetchLike = async (url) => {
    const u = new URL(url);
    const [, , , ocaId, , , ...rest] = u.pathname.split("/");
    const path = rest.join("/");
    if (path === "master.m3u8") return fakeAnswer(200, MASTER);
    if (path.endsWith(".m3u8")) return fakeAnswer(200, INDEX);
    if (path.startsWith("video/top/")) return topSegment(ocaId, path) ?? fakeAnswer(200, new Uint8Array(10_000));
    return fakeAnswer(200, new Uint8Array(10_000));
  };
  const client = { fetch, sendEvents: async () => {}, requestPlay: async () => fakePlay(["a", "b"]) } as unknown as VcdnClient;
  const session = new PlaySession(client, fakePlay(["a", "b"]), { flushIntervalMs: 3_600_000, reprobeIntervalMs: 0, pollSteering: false, cmcd: false });
  // What the start's probe of a fast link would have measured: playback starts on the top rung.
  session.throughput.reset(20_000_000);
  session.on("failover", ({ from, reason }) => {
    failures.push(`${from.ocaId}: ${reason}`);
    failedAt.push(performance.now() - t0);
  });
  return { session, failures, failedAt };
}

describe("a segment that arrives slowly", () => {
  it("completes past the request timeout, on the same OCA, and the next segment goes down a rung", async () => {
    // 10 chunks of 15 kB, one every 100 ms: 150 kB in about 1 s (1.2 Mbit/s for a 3 Mbit/s rung),
    // three times the 300 ms timeout, but never 300 ms without a byte.
    const { session, failures } = harness(() => trickle(10, 15_000, 100));
    const st = await new SegmentFetcher(session, { targetBufferS: 2, tickMs: 20, requestTimeoutMs: 300 }).run();
    expect(st.errors).toEqual([]);
    expect(st.phase).toBe("ended");
    expect(failures).toEqual([]);
    expect(st.segmentLog.map((s) => s.ocaId)).toEqual(["a", "a", "a", "a"]);
    // The first segment on the top rung (the probe was fast), the next one a rung lower.
    expect(st.segmentLog[0]).toMatchObject({ top: true, bitrate: 3_000_000 });
    expect(st.segmentLog[1]).toMatchObject({ top: false, bitrate: 400_000 });
    expect(st.bitrateSwitches[0]).toMatchObject({ from: 3_000_000, to: 400_000 });
    session.close();
  });

  it("that never ends is still bounded: the OCA is given up on at the timeout plus 4 times the segment's duration", async () => {
    // OCA a trickles for ever (a chunk every 100 ms); b serves at once.
    const { session, failures, failedAt } = harness((ocaId) => (ocaId === "a" ? trickle(1_000_000, 1_000, 100) : null));
    const st = await new SegmentFetcher(session, { targetBufferS: 2, tickMs: 20, requestTimeoutMs: 300 }).run();
    expect(st.phase).toBe("ended");
    expect(st.segmentLog[0]).toMatchObject({ ocaId: "b", top: true });
    // What did arrive measured the link (80 kbit/s): the next segment goes down, though b was fast.
    expect(st.segmentLog[1]).toMatchObject({ ocaId: "b", top: false });
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^a: timeout: too slow, \d+ bytes in \d+ ms/);
    // 300 ms + 4 × 1 s, not the 300 ms of a stalled body, and not for ever.
    expect(failedAt[0]).toBeGreaterThan(4_000);
    expect(failedAt[0]).toBeLessThan(6_000);
    session.close();
  });

  it("that stalls after its first bytes fails over at the no-progress timeout", async () => {
    // OCA a sends 3 chunks then nothing (the stream stays open).
    const stalled = () => {
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(c) {
            if (sent >= 3) return new Promise<void>(() => {});
            await wait(50);
            sent++;
            c.enqueue(new Uint8Array(1_000));
          },
        }),
        { status: 200 },
      ) as unknown as ResponseLike;
    };
    const { session, failures, failedAt } = harness((ocaId) => (ocaId === "a" ? stalled() : null));
    const st = await new SegmentFetcher(session, { targetBufferS: 2, tickMs: 20, requestTimeoutMs: 300 }).run();
    expect(st.phase).toBe("ended");
    expect(st.segmentLog[0].ocaId).toBe("b");
    expect(failures).toEqual(["a: timeout video/top/seg-1.m4s"]);
    // About 150 ms of chunks, then 300 ms without one.
    expect(failedAt[0]).toBeLessThan(1_500);
    session.close();
  });
});
