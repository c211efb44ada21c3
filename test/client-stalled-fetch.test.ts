import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { SegmentFetcher } from "../client/fetcher";
import { probeUrl } from "../client/probe";
import { PlaySession } from "../client/session";
import type { FetchLike, ResponseLike } from "../client/types";
import { fakeAnswer, fakePlay } from "./client-fixtures";

// The SDK's fetch may be the app's own (a polyfill, a native bridge) and ignore its abort signal. A
// probe or a segment whose body then stalls must still end at its timeout: the probe as failed, the
// segment by failing over to the next OCA, rather than hang the start or the playback for good.

const never = new Promise<never>(() => {});
/** An answer whose headers came but whose body never arrives, whatever the signal says. */
const stalledBody = (status: number): ResponseLike =>
  ({
    ok: status < 300,
    status,
    headers: { get: () => null },
    body: { getReader: () => ({ read: () => never, cancel: () => never }), cancel: () => never },
    json: () => never,
    text: () => never,
    arrayBuffer: () => never,
  }) as unknown as ResponseLike;
const hung = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<"hung">((r) => setTimeout(() => r("hung"), ms))]);

describe("a fetch that ignores its abort signal", () => {
  it("fails the probe at its timeout when the body stalls", async () => {
    const r = await hung(
      probeUrl(async () => stalledBody(206), "a", "https://cdn.test/oca/s/a/x.m4s", { timeoutMs: 200 }),
      3_000,
    );
    expect(r).not.toBe("hung");
    expect(r).toMatchObject({ ocaId: "a", ok: false, error: "timeout after 200 ms" });
  });

  it("fails the probe at its timeout when the headers never come", async () => {
    const r = await hung(
      probeUrl(() => never, "a", "https://cdn.test/oca/s/a/x.m4s", { timeoutMs: 200 }),
      3_000,
    );
    expect(r).toMatchObject({ ok: false, error: "timeout after 200 ms" });
  });

  it("times out a stalled segment and fails over to the next OCA", async () => {
    const MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nvideo/v1/index.m3u8\n";
    const INDEX = `#EXTM3U\n#EXT-X-TARGETDURATION:1\n${[1, 2, 3].map((i) => `#EXTINF:1,\nseg-${i}.m4s\n`).join("")}#EXT-X-ENDLIST\n`;
    const fetch: FetchLike = async (url) => {
      const u = new URL(url);
      const [, , , ocaId] = u.pathname.split("/");
      const path = u.pathname.replace(/^\/oca\/s\/[ab]\/t\/1\//, "");
      if (u.searchParams.has("probe")) return fakeAnswer(206, new Uint8Array(1024));
      if (path === "master.m3u8") return fakeAnswer(200, MASTER);
      if (path.endsWith(".m3u8")) return fakeAnswer(200, INDEX);
      // OCA a stalls on the second segment.
      if (ocaId === "a" && path.endsWith("seg-2.m4s")) return stalledBody(200);
      return fakeAnswer(200, new Uint8Array(10_000));
    };
    const session = new PlaySession({ fetch, sendEvents: async () => {} } as unknown as VcdnClient, fakePlay(["a", "b"]), {
      flushIntervalMs: 3_600_000,
      reprobeIntervalMs: 0,
      pollSteering: false,
      cmcd: false,
    });
    const st = await hung(new SegmentFetcher(session, { targetBufferS: 2, tickMs: 20, requestTimeoutMs: 300 }).run(), 4_000);
    expect(st).not.toBe("hung");
    if (st === "hung") return;
    expect(st.phase).toBe("ended");
    expect(st.segmentLog.map((s) => s.ocaId)).toEqual(["a", "b", "b"]);
    session.close();
  });
});
