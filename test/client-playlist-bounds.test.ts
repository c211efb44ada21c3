import { describe, expect, it } from "vitest";
import { PLAYLIST_LIMITS, PlaylistError, parseAttributes, parseMediaPlaylist, parseMultivariant } from "../client/hls-playlist";

// A playlist comes off the network: the headless player's parser refuses durations that are not a
// number of seconds in range, variants with no usable BANDWIDTH, and lists beyond its bounds, rather
// than feed NaN or 31-year segments to the playback clock and the ABR.

const BASE = "https://cdn.test/oca/s/a/t/1/";
const media = (...durations: string[]) =>
  `#EXTM3U\n#EXT-X-TARGETDURATION:4\n${durations.map((d, i) => `#EXTINF:${d},\nseg-${i + 1}.m4s\n`).join("")}#EXT-X-ENDLIST\n`;

describe("the playlist parser's bounds", () => {
  it("refuses a segment duration that is not a number of seconds in (0, 600]", () => {
    for (const bad of ["abc", "NaN", "-4", "0", "1e9", "4abc", "Infinity", ""]) {
      expect(() => parseMediaPlaylist(media("4", bad), BASE), bad).toThrow(PlaylistError);
    }
    expect(parseMediaPlaylist(media("4", "4.004", String(PLAYLIST_LIMITS.segmentS)), BASE).totalS).toBeCloseTo(608.004, 6);
  });

  it("refuses a media playlist of more segments than its bound", () => {
    const many = `#EXTM3U\n${"#EXTINF:1,\nseg.m4s\n".repeat(PLAYLIST_LIMITS.segments + 1)}`;
    expect(() => parseMediaPlaylist(many, BASE)).toThrow(/segments/);
  });

  it("refuses a playlist over its size bound", () => {
    expect(() => parseMediaPlaylist(`#EXTM3U\n#${"x".repeat(PLAYLIST_LIMITS.chars)}\n`, BASE)).toThrow(PlaylistError);
  });

  it("leaves out a variant whose BANDWIDTH is missing or not a positive whole number", () => {
    const master = [
      "#EXTM3U",
      "#EXT-X-STREAM-INF:RESOLUTION=640x360",
      "v/none.m3u8",
      "#EXT-X-STREAM-INF:BANDWIDTH=abc",
      "v/abc.m3u8",
      "#EXT-X-STREAM-INF:BANDWIDTH=-1",
      "v/neg.m3u8",
      "#EXT-X-STREAM-INF:BANDWIDTH=0",
      "v/zero.m3u8",
      "#EXT-X-STREAM-INF:BANDWIDTH=800000,AVERAGE-BANDWIDTH=x",
      "v/ok.m3u8",
      "",
    ].join("\n");
    const mv = parseMultivariant(master, BASE);
    expect(mv.variants.map((v) => [v.uri.slice(BASE.length), v.bandwidth, v.averageBandwidth])).toEqual([["v/ok.m3u8", 800_000, undefined]]);
  });

  it("refuses a multivariant playlist of more variants than its bound", () => {
    const many = `#EXTM3U\n${"#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n".repeat(PLAYLIST_LIMITS.variants + 1)}`;
    expect(() => parseMultivariant(many, BASE)).toThrow(/variants/);
  });

  it("takes no init segment or steering server from a tag without its URI", () => {
    const pl = parseMediaPlaylist(`#EXTM3U\n#EXT-X-MAP:BYTERANGE="1@0"\n#EXTINF:1,\nseg.m4s\n`, BASE);
    expect(pl.initUri).toBeUndefined();
    const mv = parseMultivariant(`#EXTM3U\n#EXT-X-CONTENT-STEERING:PATHWAY-ID="a"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n`, BASE);
    expect(mv.steering).toBeUndefined();
  });

  it("keeps attribute names off any prototype", () => {
    const a = parseAttributes("BANDWIDTH=1");
    expect(Object.getPrototypeOf(a)).toBeNull();
    expect(a.BANDWIDTH).toBe("1");
  });
});
