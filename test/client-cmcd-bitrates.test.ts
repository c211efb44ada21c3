import { fromCmcdQuery } from "@svta/cml-cmcd";
import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { SegmentFetcher } from "../client/fetcher";
import { PlaySession } from "../client/session";
import type { FetchLike } from "../client/types";
import { fakeAnswer, fakePlay } from "./client-fixtures";

const ok = (body: string | Uint8Array) => fakeAnswer(200, body);

// CTA-5004: `br` is the object's encoded bitrate, the playlist's average when it declares both peak
// and average; `tb` the top rung the client may play. Both must be the same measure: the SDK's masters
// declare AVERAGE-BANDWIDTH (video and audio) beside the peak, while the play response's renditions
// carry the catalogue's video-only figure, so the top rung's br never equalled tb.

const MASTER = [
  "#EXTM3U",
  '#EXT-X-STREAM-INF:BANDWIDTH=1100000,AVERAGE-BANDWIDTH=800000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360',
  "video/v0/index.m3u8",
  '#EXT-X-STREAM-INF:BANDWIDTH=3300000,AVERAGE-BANDWIDTH=2500000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720',
  "video/v1/index.m3u8",
  "",
].join("\n");
const INDEX = `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI="init.mp4"\n${[1, 2, 3, 4].map((i) => `#EXTINF:1,\nseg-0000${i}.m4s\n`).join("")}#EXT-X-ENDLIST\n`;

describe("the SDK's CMCD bitrates", () => {
  it("are the playlist's average bitrates, br and tb alike, so the top rung's br is tb", async () => {
    const sent: Array<{ path: string; cmcd: Record<string, unknown> }> = [];
    const fetch: FetchLike = async (url) => {
      const u = new URL(url);
      const path = u.pathname.replace(/^\/oca\/s\/a\/t\/1\//, "");
      sent.push({ path, cmcd: fromCmcdQuery(u.searchParams) as Record<string, unknown> });
      if (path === "master.m3u8") return ok(MASTER);
      if (path.endsWith("index.m3u8")) return ok(INDEX);
      return ok(new Uint8Array(path.endsWith(".m4s") ? 40_000 : 500));
    };
    const play = fakePlay(["a"]);
    const video = [
      { id: "v0", codec: "avc1.64001e", width: 640, height: 360, bandwidth: 700_000 },
      { id: "v1", codec: "avc1.64001f", width: 1280, height: 720, bandwidth: 2_400_000 },
    ];
    const session = new PlaySession(
      { fetch, sendEvents: async () => {} } as unknown as VcdnClient,
      { ...play, renditions: { ...play.renditions, video } },
      { flushIntervalMs: 3_600_000, reprobeIntervalMs: 0, pollSteering: false, cmcd: "query" },
    );
    const st = await new SegmentFetcher(session, { targetBufferS: 2, tickMs: 20 }).run();
    expect(st.phase).toBe("ended");
    const segs = sent.filter((s) => s.path.endsWith(".m4s"));
    for (const s of segs) {
      expect(s.cmcd.tb, s.path).toBe(2500);
      expect(s.cmcd.br, s.path).toBe(s.path.startsWith("video/v1/") ? 2500 : 800);
    }
    // Loopback downloads are fast: it reached the top rung, whose br says so.
    expect(segs.some((s) => s.path.startsWith("video/v1/") && s.cmcd.br === s.cmcd.tb)).toBe(true);
    expect(sent.find((s) => s.path === "video/v1/init.mp4")?.cmcd.br).toBe(2500);
  });
});
