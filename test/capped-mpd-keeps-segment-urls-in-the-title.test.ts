import { describe, expect, it } from "vitest";
import { steeredDashMpd } from "../workers/control/content-steering";
import { filterDashMpd } from "../workers/shared/manifest-filter";

/**
 * A plan's height cap on an MPD, read as an XML parser reads it (either quote, blanks around "=",
 * character references, CDATA, comments): no Representation the OCA would refuse is left; the segment
 * URLs (SegmentTemplate `media`/`initialization`, SegmentURL, Initialization) resolve within the title as
 * its BaseURLs do, capped or steered; nothing an MPD holds makes the filter throw (a 5xx for the viewer).
 */

const OCA = "https://cdn.test/oca/s1/a/tok/t1/";
const PATHWAYS = [
  { siteId: "s1", ocaId: "a", url: OCA },
  { siteId: "s2", ocaId: "b", url: "https://cdn.test/oca/s2/b/tok/t1/" },
];
const SERVER = "https://cdn.test/v1/steering/st/t1/steering.json";

const mpd = (sets: string, top = "") => `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S" profiles="urn:mpeg:dash:profile:isoff-live:2011">${top}
  <Period id="0">
${sets}
  </Period>
</MPD>
`;

/** Every segment URL attribute's value, entities read. */
const segmentUrls = (text: string) => [...text.matchAll(/\b(?:media|initialization|sourceURL)="([^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, "&"));

describe("an MPD's segment URLs, capped or steered", () => {
  const sets = `    <AdaptationSet contentType="video" mimeType="video/mp4">
      <SegmentTemplate initialization="/video/$RepresentationID$/init.mp4" media="../../video/$RepresentationID$/seg-$Number%05d$.m4s" duration="4" startNumber="1"/>
      <Representation id="avc-240p" bandwidth="400000" width="426" height="240" codecs="avc1.64001e"/>
    </AdaptationSet>
    <AdaptationSet contentType="audio" mimeType="audio/mp4">
      <Representation id="aac-en" bandwidth="128000" codecs="mp4a.40.2">
        <SegmentList duration="4">
          <Initialization sourceURL="%2e%2e/audio/aac-en/init.mp4"/>
          <SegmentURL media="/audio/aac-en/seg-00001.m4s"/>
        </SegmentList>
      </Representation>
    </AdaptationSet>`;

  it("resolves each within the title on the OCA, a template's $identifiers$ as written", () => {
    const capped = filterDashMpd(mpd(sets), 720);
    const urls = segmentUrls(capped);
    expect(urls).toEqual([
      "video/$RepresentationID$/init.mp4",
      "video/$RepresentationID$/seg-$Number%05d$.m4s",
      "audio/aac-en/init.mp4",
      "audio/aac-en/seg-00001.m4s",
    ]);
    for (const u of urls) expect(new URL(u, `${OCA}manifest.mpd`).href.startsWith(OCA)).toBe(true);
  });

  it("resolves each within the title under every pathway's BaseURL of a steered MPD", () => {
    const steered = steeredDashMpd(filterDashMpd(mpd(sets, "\n  <BaseURL>dash/</BaseURL>"), 720), PATHWAYS, SERVER);
    for (const p of PATHWAYS) {
      const base = `${p.url}dash/`;
      expect(steered).toContain(`<BaseURL serviceLocation="${p.ocaId}">${base}</BaseURL>`);
      for (const u of segmentUrls(steered)) expect(new URL(u, base).href.startsWith(p.url)).toBe(true);
    }
  });

  it("reads a BaseURL's character references and CDATA as a player's XML parser does, keeping it within the title", () => {
    for (const top of ["<BaseURL>&#46;&#46;/&#x2e;&#x2E;/other-title/</BaseURL>", "<BaseURL><![CDATA[../../other-title/]]></BaseURL>"]) {
      const capped = filterDashMpd(mpd(sets, `\n  ${top}`), 720);
      const base = /<BaseURL>([^<]*)<\/BaseURL>/
        .exec(capped)![1]
        .replace(/&#(x?)([0-9a-f]+);/gi, (_x, x: string, d: string) => String.fromCharCode(Number.parseInt(d, x ? 16 : 10)));
      expect(new URL(base, `${OCA}manifest.mpd`).href).toBe(`${OCA}other-title/`);
    }
  });

  it("never throws on a BaseURL or segment URL a URL parser reads as an invalid host", () => {
    const bad = mpd(sets.replace('media="../../', 'media="/\\[/'), "\n  <BaseURL>/\n/[</BaseURL>");
    expect(() => filterDashMpd(bad, 720)).not.toThrow();
  });
});

describe("a capped MPD's Representations", () => {
  it("reads heights written with single quotes or blanks around '=', as XML allows", () => {
    const sets = `    <AdaptationSet contentType='video' mimeType='video/mp4' maxWidth='1920' maxHeight = '1080'>
      <Representation id='avc-1080p' bandwidth='5000000' width='1920' height='1080'/>
      <Representation id="avc-900p" bandwidth="4000000" width="1600" height = "900"/>
      <Representation id='avc-240p' bandwidth='400000' width='426' height='240'/>
    </AdaptationSet>`;
    const capped = filterDashMpd(mpd(sets), 720);
    expect(capped).not.toContain("avc-1080p");
    expect(capped).not.toContain("avc-900p");
    expect(capped).toContain("<Representation id='avc-240p'");
    expect(capped).toContain('maxWidth="426" maxHeight = "240"');
  });

  it("drops one without a height whose segments are in a video folder above the cap (the OCA refuses them)", () => {
    const sets = `    <AdaptationSet contentType="video" mimeType="video/mp4">
      <SegmentTemplate initialization="video/$RepresentationID$/init.mp4" media="video/$RepresentationID$/seg-$Number$.m4s" duration="4"/>
      <Representation id="avc-1080p" bandwidth="5000000" codecs="avc1.640028"/>
      <Representation id="avc-240p" bandwidth="400000" codecs="avc1.64001e"/>
    </AdaptationSet>
    <AdaptationSet contentType="video" mimeType="video/mp4">
      <Representation id="hevc" bandwidth="9000000" codecs="hvc1.2.4.L150.B0">
        <BaseURL>video/hevc-2160p/</BaseURL>
      </Representation>
    </AdaptationSet>`;
    const capped = filterDashMpd(mpd(sets), 720);
    expect(capped).not.toContain('id="avc-1080p"');
    expect(capped).toContain('id="avc-240p"');
    expect(capped).not.toContain("hevc");
    expect(capped.match(/<AdaptationSet\b/g)).toHaveLength(1);
  });

  it("drops a set whose only Representation left is one in a comment (an empty set is not valid DASH)", () => {
    const sets = `    <AdaptationSet contentType="video" mimeType="video/mp4">
      <!-- <Representation id="old-240p" height="240"/> -->
      <Representation id="avc-1080p" bandwidth="5000000" height="1080"/>
    </AdaptationSet>
    <AdaptationSet contentType="audio" mimeType="audio/mp4">
      <Representation id="aac-en" bandwidth="128000"/>
    </AdaptationSet>`;
    const capped = filterDashMpd(mpd(sets), 720);
    expect(capped.match(/<AdaptationSet\b/g)).toHaveLength(1);
    expect(capped).toContain('id="aac-en"');
  });

  it("costs time in step with its size when its sets, comments or CDATA sections are never closed", () => {
    for (const piece of [
      '    <AdaptationSet mimeType="video/mp4"><Representation id="r" height="1080">\n',
      "    <!-- <AdaptationSet>\n",
      "    <BaseURL><![CDATA[video/\n",
    ]) {
      const huge = mpd(piece.repeat(40_000));
      const t0 = performance.now();
      filterDashMpd(huge, 720);
      expect(performance.now() - t0, piece).toBeLessThan(2_000);
    }
  });
});
