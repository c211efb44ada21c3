import { describe, expect, it } from "vitest";
import { filterDashMpd } from "../workers/shared/manifest-filter";

/**
 * A height cap on an MPD whose Representations take their height from their AdaptationSet (ISO/IEC
 * 23009-1 5.3.7: common attributes are inherited; GPAC writes one height on a set of one height): a set
 * above the cap goes whole, one within it stays, and a Representation's own height still decides for it.
 */

const mpd = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Period>
    <AdaptationSet contentType="video" mimeType="video/mp4" codecs="avc1.64001f" width="1280" height="720">
      <Representation id="avc-720p-hi" bandwidth="3000000"/>
      <Representation id="avc-720p-lo" bandwidth="2000000"/>
    </AdaptationSet>
    <AdaptationSet contentType="video" mimeType="video/mp4" codecs="avc1.64001e" width="854" height="480">
      <Representation id="avc-480p" bandwidth="1200000"/>
      <Representation id="avc-1080p" bandwidth="5000000" width="1920" height="1080"/>
    </AdaptationSet>
    <AdaptationSet contentType="audio" mimeType="audio/mp4" codecs="mp4a.40.2" lang="en">
      <Representation id="aac-en" bandwidth="128000"/>
    </AdaptationSet>
  </Period>
</MPD>
`;

describe("a height cap on Representations that inherit their set's height", () => {
  it("drops a set whose height is above the cap, keeps one within it, and judges a Representation by its own height first", () => {
    const capped = filterDashMpd(mpd, 480);
    expect(capped).not.toContain("avc-720p-hi");
    expect(capped).not.toContain("avc-720p-lo");
    expect(capped).not.toContain('height="720"');
    expect(capped).toContain('<Representation id="avc-480p"');
    expect(capped).not.toContain("avc-1080p");
    expect(capped).toContain('<Representation id="aac-en"');
  });

  it("leaves everything within the cap as it was", () => {
    expect(filterDashMpd(mpd, 1080)).toBe(mpd);
  });
});
