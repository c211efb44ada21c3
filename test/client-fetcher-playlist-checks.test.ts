import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { SegmentFetcher } from "../client/fetcher";
import { PlaySession } from "../client/session";
import type { FetchLike, PlayResponse } from "../client/types";
import { fakeAnswer, fakePlay } from "./client-fixtures";

const ok = (body: string | Uint8Array) => fakeAnswer(200, body);

// The headless player keeps to what the session may play and fails clearly on a playlist it cannot
// play: a variant above the session's height cap (the OCA refuses its segments), a segment duration out
// of range, a rung whose playlist has fewer segments than the first.

const index = (n: number, durs: string[] = []) =>
  `#EXTM3U\n#EXT-X-TARGETDURATION:1\n${Array.from({ length: n }, (_, i) => `#EXTINF:${durs[i] ?? "1"},\nseg-${i + 1}.m4s\n`).join("")}#EXT-X-ENDLIST\n`;
const MASTER = [
  "#EXTM3U",
  "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360",
  "video/h264-360p/index.m3u8",
  "#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720",
  "video/h264-720p/index.m3u8",
  "",
].join("\n");

/** Plays a title whose files `serve` answers (by path below the OCA), with the session's `maxHeight`. */
async function playOut(serve: (path: string) => string | Uint8Array, maxHeight = 1080) {
  const paths: string[] = [];
  const fetch: FetchLike = async (url) => {
    const path = new URL(url).pathname.replace(/^\/oca\/s\/a\/t\/1\//, "");
    paths.push(path);
    return ok(serve(path));
  };
  const play: PlayResponse = { ...fakePlay(["a"]), maxHeight };
  const session = new PlaySession({ fetch, sendEvents: async () => {} } as unknown as VcdnClient, play, {
    flushIntervalMs: 3_600_000,
    reprobeIntervalMs: 0,
    pollSteering: false,
    cmcd: false,
  });
  const st = await new SegmentFetcher(session, { targetBufferS: 2, tickMs: 20 }).run();
  return { st, paths };
}

describe("the headless fetcher's playlist checks", () => {
  it("plays no variant above the session's height cap", async () => {
    // Throughput is plenty (segments arrive at once): the ABR would climb to 720p.
    const { st, paths } = await playOut((p) => (p === "master.m3u8" ? MASTER : p.endsWith(".m3u8") ? index(3) : new Uint8Array(20_000)), 480);
    expect(st.phase).toBe("ended");
    const media = paths.filter((p) => p.endsWith(".m4s"));
    expect(media.length).toBeGreaterThan(0);
    expect(media.filter((p) => !p.startsWith("video/h264-360p/"))).toEqual([]);
  });

  it("fails with PLAYLIST_INVALID on a negative segment duration (it ran the playback clock backwards)", async () => {
    const { st } = await playOut((p) => (p === "master.m3u8" ? MASTER : p.endsWith(".m3u8") ? index(3, ["1", "-1", "1"]) : new Uint8Array(20_000)));
    expect(st.phase).toBe("failed");
    expect(st.errors.join(" ")).toMatch(/PLAYLIST_INVALID/);
  });

  it("fails with PLAYLIST_INVALID, not an internal error, when a higher rung has fewer segments", async () => {
    const { st } = await playOut((p) =>
      p === "master.m3u8" ? MASTER : p === "video/h264-720p/index.m3u8" ? index(1) : p.endsWith(".m3u8") ? index(4) : new Uint8Array(20_000),
    );
    expect(st.phase).toBe("failed");
    expect(st.errors.join(" ")).toMatch(/PLAYLIST_INVALID/);
    expect(st.errors.join(" ")).not.toMatch(/internal/);
  });
});
