import { describe, expect, it } from "vitest";
import { steeredHlsPlaylist } from "../workers/control/content-steering";
import { filterHlsMultivariant } from "../workers/shared/manifest-filter";

/**
 * A plan's height cap on a multivariant playlist, read as a stock player reads it (RFC 8216 §4.2: a
 * quoted string runs to its closing quote, commas and "=" included): no variant the OCA would refuse is
 * left in it, whatever its tag says or omits; a group only removed variants used goes with them; what a
 * player needs of the playlist (EXT-X-VERSION, EXT-X-INDEPENDENT-SEGMENTS, CRLF line ends) stays; and no
 * reference makes the filter throw (a 5xx for the viewer) or leave the title.
 */

/** The URI lines of a playlist (each variant's), in order. */
const uriLines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));

const HEAD = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n";
const LOW = '#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=426x240\nvideo/avc-240p/index.m3u8\n';

describe("a capped multivariant playlist", () => {
  it("reads RESOLUTION as an attribute, not from inside another attribute's quoted string", () => {
    const text = `${HEAD}#EXT-X-STREAM-INF:BANDWIDTH=8000000,STABLE-VARIANT-ID="RESOLUTION=1x1",CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1920x1080\nvideo/avc-1080p/index.m3u8\n${LOW}`;
    expect(uriLines(filterHlsMultivariant(text, 720))).toEqual(["video/avc-240p/index.m3u8"]);
  });

  it("drops a variant without RESOLUTION whose URI is a video folder above the cap (the OCA refuses its files)", () => {
    const text = `${HEAD}#EXT-X-STREAM-INF:BANDWIDTH=8000000,CODECS="avc1.640028,mp4a.40.2"\nvideo/avc-1080p/index.m3u8\n${LOW}#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="video/avc-1080p/iframes.m3u8"\n`;
    const capped = filterHlsMultivariant(text, 720);
    expect(uriLines(capped)).toEqual(["video/avc-240p/index.m3u8"]);
    expect(capped).not.toContain("avc-1080p");
  });

  it("drops a variant's URI line, not the tag between it and its EXT-X-STREAM-INF", () => {
    const text = `${HEAD}#EXT-X-STREAM-INF:BANDWIDTH=8000000,RESOLUTION=1920x1080\n#EXT-X-SESSION-DATA:DATA-ID="com.example.title",VALUE="Orbit"\nvideo/avc-1080p/index.m3u8\n${LOW}`;
    const capped = filterHlsMultivariant(text, 720);
    expect(uriLines(capped)).toEqual(["video/avc-240p/index.m3u8"]);
    expect(capped).toContain('#EXT-X-SESSION-DATA:DATA-ID="com.example.title",VALUE="Orbit"\n');
  });

  it("removes an EXT-X-MEDIA group only removed variants used, and keeps one no variant ever named", () => {
    const text = `${HEAD}#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="atmos",NAME="Atmos",URI="audio/ec3-en/index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",URI="audio/aac-en/index.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",URI="subs/en.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="spare",NAME="Spare",URI="audio/spare/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=16000000,CODECS="hvc1.2.4.L150.B0,ec-3",RESOLUTION=3840x2160,AUDIO="atmos",SUBTITLES="subs"
video/hevc-2160p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=426x240,AUDIO="aac",SUBTITLES="subs"
video/avc-240p/index.m3u8
`;
    const capped = filterHlsMultivariant(text, 720);
    expect(capped).not.toContain('GROUP-ID="atmos"');
    expect(capped).toContain('GROUP-ID="aac"');
    expect(capped).toContain('GROUP-ID="subs"');
    expect(capped).toContain('GROUP-ID="spare"');
  });

  it("keeps the URI after a quoted string holding ',URI=\"' within the title", () => {
    const text = `${HEAD}#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Mix,URI=",URI="../../../other-title/audio.m3u8"\n${LOW}`;
    const capped = filterHlsMultivariant(text, 720);
    expect(capped).toContain('NAME="Mix,URI=",URI="other-title/audio.m3u8"');
  });

  it("keeps EXT-X-VERSION, EXT-X-INDEPENDENT-SEGMENTS and CRLF line ends, dropping the variant above the cap", () => {
    const text = `${HEAD}#EXT-X-STREAM-INF:BANDWIDTH=8000000,RESOLUTION=1920x1080\nvideo/avc-1080p/index.m3u8\n${LOW}`.replace(/\n/g, "\r\n");
    const capped = filterHlsMultivariant(text, 720);
    expect(capped).toBe(`${HEAD}${LOW}`.replace(/\n/g, "\r\n"));
  });

  it("never throws on a reference a URL parser reads as an invalid host (a 5xx for the viewer)", () => {
    for (const bad of ["/\\[/index.m3u8", "/\t/[/index.m3u8"]) {
      const text = `${HEAD}#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=426x240\n${bad}\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="A",URI="${bad}"\n`;
      expect(() => filterHlsMultivariant(text, 720)).not.toThrow();
    }
  });

  it("reads a URI attribute with blanks around it as a URL parser does, so the steered playlist made from it is served", () => {
    const text = `${HEAD}#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="s",NAME="S",URI=" //"\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="A",URI=" /audio/aac-en/index.m3u8 "\n${LOW}`;
    const capped = filterHlsMultivariant(text, 720);
    expect(capped).toContain('URI="audio/aac-en/index.m3u8"');
    const pathways = [{ siteId: "s1", ocaId: "a", url: "https://cdn.test/oca/s1/a/tok/t1/" }];
    expect(() => steeredHlsPlaylist(capped, pathways, "https://cdn.test/v1/steering/st/t1/steering.json")).not.toThrow();
  });

  it("keeps a reference with backslashes, which a browser reads as another host, within the title", () => {
    const text = `${HEAD}#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=426x240\n\\\\evil.example/index.m3u8\n`;
    const base = "https://cdn.test/oca/s1/a/tok/t1/master.m3u8";
    const uri = uriLines(filterHlsMultivariant(text, 720))[0];
    expect(new URL(uri, base).href.startsWith("https://cdn.test/oca/s1/a/tok/t1/")).toBe(true);
  });

  it("costs time in step with its size for a huge playlist (one pass per line)", () => {
    const rung = '#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1920x1080\n';
    const huge = `${HEAD}${rung.repeat(20_000)}${" ".repeat(200_000)}x${" ".repeat(200_000)}y\n`;
    const t0 = performance.now();
    filterHlsMultivariant(huge, 720);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});
