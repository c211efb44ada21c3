import { describe, expect, it } from "vitest";
import { parseAttributes, parseMediaPlaylist, parseMultivariant } from "../client/hls-playlist";

const BASE = "http://127.0.0.1:8787/oca/lumen-nyc/lumen-nyc-1/v5.k1.s.1.1.720.1.lumen-nyc.US.0123abcd.mac/sintel-sunrise/";

const MASTER = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",LANGUAGE="en",NAME="English",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/aac-en/index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",LANGUAGE="es",NAME="Spanish",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="audio/aac-es/index.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en",NAME="English",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="subs/sub-en.m3u8"

#EXT-X-STREAM-INF:BANDWIDTH=592469,AVERAGE-BANDWIDTH=527453,CODECS="avc1.640015,mp4a.40.2",RESOLUTION=426x240,FRAME-RATE=25.000,AUDIO="aud",SUBTITLES="subs"
video/avc-240p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3565943,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,AUDIO="aud",SUBTITLES="subs"
video/avc-720p/index.m3u8
`;

const STEERED = `#EXTM3U
#EXT-X-CONTENT-STEERING:SERVER-URI="/v1/steering/abc/steering.json",PATHWAY-ID="lumen-nyc-1"
#EXT-X-STREAM-INF:BANDWIDTH=592469,CODECS="avc1.640015,mp4a.40.2",RESOLUTION=426x240,AUDIO="aud-lumen-nyc-1",PATHWAY-ID="lumen-nyc-1"
http://h/oca/lumen-nyc/lumen-nyc-1/t/x/video/avc-240p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=592469,CODECS="avc1.640015,mp4a.40.2",RESOLUTION=426x240,AUDIO="aud-ixp-nyc-1",PATHWAY-ID="ixp-nyc-1"
http://h/oca/ixp-nyc/ixp-nyc-1/t/x/video/avc-240p/index.m3u8
`;

const MEDIA = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.000000,
seg-00001.m4s
#EXTINF:4.000000,
seg-00002.m4s
#EXTINF:2.500000,
seg-00003.m4s
#EXT-X-ENDLIST
`;

describe("HLS playlist parsing", () => {
  it("parses attribute lists with quoted commas", () => {
    expect(parseAttributes('BANDWIDTH=1,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1x2')).toEqual({
      BANDWIDTH: "1",
      CODECS: "avc1.64001f,mp4a.40.2",
      RESOLUTION: "1x2",
    });
  });

  it("reads variants, renditions and resolves URIs against the playlist", () => {
    const mv = parseMultivariant(MASTER, BASE + "master.m3u8");
    expect(mv.variants.map((v) => [v.bandwidth, v.height, v.pathwayId])).toEqual([
      [592469, 240, "."],
      [3565943, 720, "."],
    ]);
    expect(mv.variants[1].uri).toBe(BASE + "video/avc-720p/index.m3u8");
    expect(mv.variants[0].codecs).toBe("avc1.640015,mp4a.40.2");
    expect(mv.media.filter((m) => m.type === "AUDIO").map((m) => [m.language, m.default])).toEqual([
      ["en", true],
      ["es", false],
    ]);
    expect(mv.media[0].uri).toBe(BASE + "audio/aac-en/index.m3u8");
    expect(mv.steering).toBeUndefined();
  });

  it("reads Content Steering: the server URI and each variant's pathway", () => {
    const mv = parseMultivariant(STEERED, "http://h/v1/steering/abc/master.m3u8");
    expect(mv.steering).toEqual({ serverUri: "http://h/v1/steering/abc/steering.json", pathwayId: "lumen-nyc-1" });
    expect(mv.variants.map((v) => v.pathwayId)).toEqual(["lumen-nyc-1", "ixp-nyc-1"]);
  });

  it("reads a media playlist: init, segments with start times, end", () => {
    const pl = parseMediaPlaylist(MEDIA, BASE + "video/avc-720p/index.m3u8");
    expect(pl.initUri).toBe(BASE + "video/avc-720p/init.mp4");
    expect(pl.segments.map((s) => [s.uri.slice(BASE.length), s.startS, s.durationS])).toEqual([
      ["video/avc-720p/seg-00001.m4s", 0, 4],
      ["video/avc-720p/seg-00002.m4s", 4, 4],
      ["video/avc-720p/seg-00003.m4s", 8, 2.5],
    ]);
    expect(pl.totalS).toBe(10.5);
    expect(pl.endList).toBe(true);
    expect(pl.targetDurationS).toBe(4);
  });

  it("refuses what is not a playlist", () => {
    expect(() => parseMediaPlaylist("<html>", BASE)).toThrow(/EXTM3U/);
  });
});
