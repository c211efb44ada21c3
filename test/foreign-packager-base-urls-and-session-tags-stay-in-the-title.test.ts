import { describe, expect, it } from "vitest";
import { steeredDashMpd, steeredHlsPlaylist } from "../workers/control/content-steering";
import { filterDashMpd, filterHlsMultivariant } from "../workers/shared/manifest-filter";

/**
 * What other packagers leave in a title's top manifests: BaseURLs already in the MPD (relative, at every
 * level, the MPD's own included), tags of the multivariant playlist as a whole that name a file
 * (EXT-X-SESSION-KEY, EXT-X-SESSION-DATA). Steered or capped, each resolves (ISO/IEC 23009-1 §5.6,
 * RFC 3986 §5.2) within the title on the pathway's own OCA, the title's root standing for the root.
 */

const PATHWAYS = [
  { siteId: "s1", ocaId: "a", url: "https://cdn.test/oca/s1/a/tok/t1/" },
  { siteId: "s2", ocaId: "b", url: "https://cdn.test/oca/s2/b/tok/t1/" },
];
const SERVER = "https://cdn.test/v1/steering/st/t1/steering.json";
const STEERED_MPD_URL = "https://cdn.test/v1/steering/st/t1/manifest.mpd";
const OCA_MPD_URL = `${PATHWAYS[0].url}manifest.mpd`;

/** An MPD whose BaseURLs nest one per level (one Representation), the MPD's own relative ("dash/"). */
const nested = (period: string, set: string, rep: string) => `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <BaseURL>dash/</BaseURL>
  <Period id="0">
    <BaseURL>${period}</BaseURL>
    <AdaptationSet contentType="video" mimeType="video/mp4">
      <BaseURL>${set}</BaseURL>
      <SegmentTemplate initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/seg-$Number%05d$.m4s" duration="4" startNumber="1"/>
      <Representation id="avc-720p" bandwidth="2500000" width="1280" height="720" codecs="avc1.64001f">
        <BaseURL>${rep}</BaseURL>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
`;

/** The BaseURL a player ends on for each MPD-level base: the chain of BaseURLs (one per level here) resolved in turn. */
function resolvedBases(mpd: string, mpdUrl: string): Array<{ location: string | null; url: string }> {
  const all = [...mpd.matchAll(/<BaseURL\b([^>]*)>([^<]*)<\/BaseURL>/g)].map((m) => ({
    location: /serviceLocation="([^"]*)"/.exec(m[1])?.[1] ?? null,
    text: m[2].trim(),
  }));
  const tops = all.filter((b) => b.location !== null || b === all[0]);
  const below = all.slice(all.findIndex((b) => !tops.includes(b)));
  return tops.map((t) => ({ location: t.location, url: below.reduce((base, b) => new URL(b.text, base).href, new URL(t.text, mpdUrl).href) }));
}

describe("a steered MPD whose own BaseURLs are relative", () => {
  it("puts the MPD level's relative BaseURL into each pathway's, leaving none to resolve against the steering server's URL", () => {
    const text = steeredDashMpd(nested("p/", "video/", "avc-720p/"), PATHWAYS, SERVER);
    for (const p of PATHWAYS) expect(text).toContain(`<BaseURL serviceLocation="${p.ocaId}">${p.url}dash/</BaseURL>`);
    expect(text).not.toContain("<BaseURL>dash/</BaseURL>");
    expect(resolvedBases(text, STEERED_MPD_URL)).toEqual(PATHWAYS.map((p) => ({ location: p.ocaId, url: `${p.url}dash/p/video/avc-720p/` })));
  });

  it("keeps Period, AdaptationSet and Representation BaseURLs that climb out or start at the root within the title", () => {
    const text = steeredDashMpd(nested("/period/", "../../../video/", "%2e%2e/avc-720p/"), PATHWAYS, SERVER);
    expect(resolvedBases(text, STEERED_MPD_URL)).toEqual(PATHWAYS.map((p) => ({ location: p.ocaId, url: `${p.url}avc-720p/` })));
  });

  it("leaves plain relative BaseURLs and absolute ones as written", () => {
    const mpd = nested("./", "video/", "https://elsewhere.example/avc-720p/");
    const text = steeredDashMpd(mpd, PATHWAYS, SERVER);
    expect(text).toContain("<BaseURL>video/</BaseURL>");
    expect(text).toContain("<BaseURL>./</BaseURL>");
    expect(text).toContain("<BaseURL>https://elsewhere.example/avc-720p/</BaseURL>");
  });
});

describe("an OCA's capped MPD whose BaseURLs are relative", () => {
  it("keeps every BaseURL within the title, the MPD level's included, and a plain one as written", () => {
    const capped = filterDashMpd(nested("/period/", "../../../video/", "%2e%2e/avc-720p/"), 720);
    expect(capped).toContain("<BaseURL>dash/</BaseURL>");
    expect(resolvedBases(capped, OCA_MPD_URL)).toEqual([{ location: null, url: `${PATHWAYS[0].url}avc-720p/` }]);
    const top = filterDashMpd(nested("/", "../video/", "avc-720p/"), 720);
    expect(resolvedBases(top, OCA_MPD_URL)).toEqual([{ location: null, url: `${PATHWAYS[0].url}video/avc-720p/` }]);
    const plain = nested("p/", "video/", "avc-720p/");
    expect(filterDashMpd(plain, 720)).toBe(plain);
  });
});

describe("a steered HLS playlist's tags of the whole playlist", () => {
  const master = `#EXTM3U
#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://key-1",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"
#EXT-X-SESSION-KEY:METHOD=AES-128,URI="keys/key.bin",KEYFORMAT="identity"
#EXT-X-SESSION-DATA:DATA-ID="com.example.chapters",URI="/meta/../chapters.json"
#EXT-X-SESSION-DATA:DATA-ID="com.example.title",VALUE="Orbit City"
#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=426x240
video/avc-240p/index.m3u8
`;

  it("resolves a relative EXT-X-SESSION-KEY or EXT-X-SESSION-DATA URI into the first pathway's OCA, within the title", () => {
    const text = steeredHlsPlaylist(master, PATHWAYS, SERVER);
    expect(text).toContain(`#EXT-X-SESSION-KEY:METHOD=AES-128,URI="${PATHWAYS[0].url}keys/key.bin",KEYFORMAT="identity"`);
    expect(text).toContain(`#EXT-X-SESSION-DATA:DATA-ID="com.example.chapters",URI="${PATHWAYS[0].url}chapters.json"`);
    expect(text).toContain('#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://key-1",');
    expect(text).toContain('#EXT-X-SESSION-DATA:DATA-ID="com.example.title",VALUE="Orbit City"\n');
  });

  it("keeps an OCA's capped master's URIs within the title", () => {
    const capped = filterHlsMultivariant(`${master}#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360\n/video/avc-360p/../avc-360p/index.m3u8\n`, 720);
    const base = PATHWAYS[0].url;
    const uris = [...capped.matchAll(/URI="([^"]*)"/g)].map((m) => m[1]).concat(capped.split("\n").filter((l) => l && !l.startsWith("#")));
    expect(uris.map((u) => new URL(u, `${base}master.m3u8`).href)).toEqual([
      "skd://key-1",
      `${base}keys/key.bin`,
      `${base}chapters.json`,
      `${base}video/avc-240p/index.m3u8`,
      `${base}video/avc-360p/index.m3u8`,
    ]);
    expect(capped).toContain("\nvideo/avc-240p/index.m3u8\n");
  });
});
