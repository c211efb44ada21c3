import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { SegmentFetcher } from "../client/fetcher";
import { PlaySession } from "../client/session";
import type { FetchLike, ResponseLike } from "../client/types";
import { fakeAnswer, fakePlay } from "./client-fixtures";

// The headless fetcher's downloads end with playback: a stop, a fatal error on a sibling file or the
// session closing under it leaves no download running to time out, fail over and report afterwards.

const MASTER =
  '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",LANGUAGE="en",NAME="English",DEFAULT=YES,URI="audio/en/index.m3u8"\n' +
  '#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,AUDIO="aud"\nvideo/v1/index.m3u8\n';
const INDEX = `#EXTM3U\n#EXT-X-TARGETDURATION:1\n${[1, 2, 3, 4, 5].map((i) => `#EXTINF:1,\nseg-0000${i}.m4s\n`).join("")}#EXT-X-ENDLIST\n`;

/** A request that never answers: it ends only when its signal aborts (as fetch does). */
function hang(signal: AbortSignal | undefined, aborted: string[], what: string): Promise<ResponseLike> {
  return new Promise((_, reject) =>
    signal?.addEventListener("abort", () => {
      aborted.push(what);
      reject(new DOMException("aborted", "AbortError"));
    }),
  );
}

/** Two OCAs (a, b) serving the title; `special` answers some files (path on the OCA) its own way. */
function harness(special: (path: string, signal: AbortSignal | undefined) => Promise<ResponseLike> | null) {
  const requests: string[] = [];
  const fetch: FetchLike = async (url, init) => {
    const u = new URL(url);
    const [, , , ocaId, , , ...rest] = u.pathname.split("/");
    const path = rest.join("/");
    requests.push(`${ocaId}:${path}`);
    const own = special(path, init?.signal ?? undefined);
    if (own) return own;
    if (path === "master.m3u8") return fakeAnswer(200, MASTER);
    if (path.endsWith("index.m3u8")) return fakeAnswer(200, INDEX);
    return fakeAnswer(200, new Uint8Array(20_000));
  };
  const client = { fetch, sendEvents: async () => {}, requestPlay: async () => fakePlay(["a", "b"]) } as unknown as VcdnClient;
  const session = new PlaySession(client, fakePlay(["a", "b"]), { flushIntervalMs: 3_600_000, reprobeIntervalMs: 0, pollSteering: false, cmcd: false });
  const afterStop: string[] = [];
  let stopped = false;
  session.on("stopped", () => (stopped = true));
  for (const name of ["error", "ocaSwitch", "failover"] as const) session.on(name, () => void (stopped && afterStop.push(name)));
  return { session, requests, afterStop };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the headless fetcher's downloads", () => {
  it("end when another file of the segment is refused, and fail over on nothing after the session stopped", async () => {
    const aborted: string[] = [];
    const { session, requests, afterStop } = harness((path, signal) => {
      if (path === "video/v1/seg-00001.m4s") return Promise.resolve(fakeAnswer(403, '{"error":"forbidden"}'));
      if (path === "audio/en/seg-00001.m4s") return hang(signal, aborted, path);
      return null;
    });
    const st = await new SegmentFetcher(session, { requestTimeoutMs: 300, tickMs: 20 }).run();
    expect(st.phase).toBe("failed");
    const asked = requests.length;
    // Past the sibling's timeout: it must neither fail over to b nor report an error after `stopped`.
    await wait(700);
    expect(aborted).toEqual(["audio/en/seg-00001.m4s"]);
    expect(requests.slice(asked)).toEqual([]);
    expect(requests.some((r) => r.startsWith("b:"))).toBe(false);
    expect(afterStop).toEqual([]);
    expect(session.switches).toEqual([]);
  });

  it("end at once on stop(), charging the OCA nothing and moving nowhere", async () => {
    const aborted: string[] = [];
    let fetcher: SegmentFetcher | null = null;
    const { session, requests, afterStop } = harness((path, signal) => {
      if (path !== "video/v1/seg-00002.m4s") return null;
      // The viewer presses stop while this segment is on its way.
      setTimeout(() => fetcher?.stop(), 50);
      return hang(signal, aborted, path);
    });
    fetcher = new SegmentFetcher(session, { requestTimeoutMs: 3_000, tickMs: 20 });
    const t0 = Date.now();
    const st = await fetcher.run();
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(st.phase).toBe("stopped");
    expect(st.errors).toEqual([]);
    expect(aborted).toEqual(["video/v1/seg-00002.m4s"]);
    expect(requests.some((r) => r.startsWith("b:"))).toBe(false);
    expect(session.switches).toEqual([]);
    expect(session.selector.penalised("a", session.now())).toBe(false);
    await wait(100);
    expect(afterStop).toEqual([]);
  });

  it("end when the app closes the session under them", async () => {
    const aborted: string[] = [];
    const { session, requests } = harness((path, signal) => {
      if (path !== "video/v1/seg-00002.m4s") return null;
      setTimeout(() => void session.close(), 50);
      return hang(signal, aborted, path);
    });
    const t0 = Date.now();
    const st = await new SegmentFetcher(session, { requestTimeoutMs: 3_000, tickMs: 20 }).run();
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(st.phase).toBe("stopped");
    expect(aborted).toEqual(["video/v1/seg-00002.m4s"]);
    expect(requests.some((r) => r.startsWith("b:"))).toBe(false);
  });
});
