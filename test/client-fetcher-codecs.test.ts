import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { SegmentFetcher } from "../client/fetcher";
import { PlaySession } from "../client/session";
import type { FetchLike, PlayResponse } from "../client/types";
import { fakeAnswer, fakePlay } from "./client-fixtures";

const ok = (body: string | Uint8Array) => fakeAnswer(200, body);

// A title ingested with several codecs has one master listing every codec's ladder (the OCA cuts it
// by height only). The play response's renditions are the device's codecs: the headless player keeps
// to them, rather than mixing the ladders by bandwidth and fetching AV1 for an H.264-only device.

const MASTER = [
  "#EXTM3U",
  '#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360',
  "video/h264-360p/index.m3u8",
  '#EXT-X-STREAM-INF:BANDWIDTH=3000000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720',
  "video/h264-720p/index.m3u8",
  '#EXT-X-STREAM-INF:BANDWIDTH=400000,CODECS="av01.0.04M.08,mp4a.40.2",RESOLUTION=640x360',
  "video/av1-360p/index.m3u8",
  '#EXT-X-STREAM-INF:BANDWIDTH=1500000,CODECS="av01.0.08M.08,mp4a.40.2",RESOLUTION=1280x720',
  "video/av1-720p/index.m3u8",
  "",
].join("\n");
const INDEX = `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI="init.mp4"\n${[1, 2, 3].map((i) => `#EXTINF:1,\nseg-0000${i}.m4s\n`).join("")}#EXT-X-ENDLIST\n`;

describe("the headless fetcher on a title with several codecs", () => {
  it("plays only the ladder of the codecs the play response allows", async () => {
    const paths: string[] = [];
    const fetch: FetchLike = async (url) => {
      const path = new URL(url).pathname.replace(/^\/oca\/s\/a\/t\/1\//, "");
      paths.push(path);
      if (path === "master.m3u8") return ok(MASTER);
      if (path.endsWith("index.m3u8")) return ok(INDEX);
      return ok(new Uint8Array(20_000));
    };
    const play = fakePlay(["a"]);
    // An H.264-only device: the control plane answered its H.264 renditions only.
    const h264: PlayResponse["renditions"]["video"] = [
      { id: "h264-360p", codec: "avc1.64001e", width: 640, height: 360, bandwidth: 700_000 },
      { id: "h264-720p", codec: "avc1.64001f", width: 1280, height: 720, bandwidth: 2_800_000 },
    ];
    const session = new PlaySession(
      { fetch, sendEvents: async () => {} } as unknown as VcdnClient,
      { ...play, renditions: { ...play.renditions, video: h264 } },
      { flushIntervalMs: 3_600_000, reprobeIntervalMs: 0, pollSteering: false, cmcd: false },
    );
    const st = await new SegmentFetcher(session, { targetBufferS: 2, tickMs: 20 }).run();
    expect(st.phase).toBe("ended");
    const media = paths.filter((p) => p.startsWith("video/"));
    expect(media.length).toBeGreaterThan(0);
    expect(media.filter((p) => !p.startsWith("video/h264-"))).toEqual([]);
    expect(st.segmentLog.map((s) => s.bitrate).every((b) => b === 800_000 || b === 3_000_000)).toBe(true);
  });
});
