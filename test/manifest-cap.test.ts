import { describe, expect, it } from "vitest";
import { dashMpd, type PackagedMediaRendition } from "../ingest/manifests";
import { filterDashMpd } from "../workers/shared/manifest-filter";

/**
 * A plan's height cap applied to the MPD ingest writes: the Representations above it go, and what the
 * MPD says of the set (its `maxWidth`/`maxHeight`) must be what is left, not the full ladder's; a codec
 * family left with nothing goes whole (an AdaptationSet without a Representation is not valid DASH).
 */

const segments = [{ uri: "seg-00001.m4s", durationS: 4, ticks: 4 * 90_000, bytes: 100_000 }];

function video(codec: string, family: string, width: number, height: number): PackagedMediaRendition {
  return {
    id: `${family}-${height}p`,
    kind: "video",
    dir: `video/${family}-${height}p`,
    codec,
    timescale: 90_000,
    segmentDuration: 4,
    width,
    height,
    frameRate: { num: 24, den: 1 },
    segments,
    peakBandwidth: height * 5_000,
    averageBandwidth: height * 4_000,
  } as PackagedMediaRendition;
}

const audio = {
  id: "aac-en",
  kind: "audio",
  dir: "audio/aac-en",
  codec: "mp4a.40.2",
  timescale: 48_000,
  segmentDuration: 4,
  language: "en",
  name: "English",
  channels: 2,
  sampleRate: 48_000,
  segments,
  peakBandwidth: 128_000,
  averageBandwidth: 128_000,
} as PackagedMediaRendition;

const ladder = [
  video("avc1.64001e", "avc", 426, 240),
  video("avc1.64001f", "avc", 1280, 720),
  video("avc1.640028", "avc", 1920, 1080),
  video("av01.0.08M.08", "av1", 1920, 1080),
  video("av01.0.12M.08", "av1", 2560, 1440),
];
const full = dashMpd(8, ladder, [audio], []);

/** Each AdaptationSet's start tag. */
const setTags = (mpd: string) => [...mpd.matchAll(/<AdaptationSet\b[^>]*>/g)].map((m) => m[0]);

describe("a DASH manifest capped to a plan's height", () => {
  it("says the remaining Representations' largest width and height on their set, not the full ladder's", () => {
    expect(setTags(full)[0]).toContain('maxWidth="1920" maxHeight="1080"');
    const capped = filterDashMpd(full, 720);
    const avc = setTags(capped).find((t) => t.includes('contentType="video"'))!;
    expect(avc).toContain('maxWidth="1280" maxHeight="720"');
    expect(capped).toContain('id="avc-720p"');
    expect(capped).not.toContain('id="avc-1080p"');
  });

  it("drops a codec family's set when none of its Representations is under the cap, and keeps audio as it was", () => {
    const capped = filterDashMpd(full, 720);
    expect(capped).not.toContain("av01");
    expect(setTags(capped).filter((t) => t.includes('contentType="video"'))).toHaveLength(1);
    const audioSet = (mpd: string) => /<AdaptationSet\b[^>]*contentType="audio"[\s\S]*?<\/AdaptationSet>/.exec(mpd)?.[0];
    expect(audioSet(capped)).toBe(audioSet(full));
    expect(capped.match(/<AdaptationSet\b/g)).toHaveLength(capped.match(/<\/AdaptationSet>/g)!.length);
  });

  it("keeps segment templates' $Number$ patterns as written", () => {
    const capped = filterDashMpd(full, 720);
    expect(capped).toContain("$Number%05d$");
    expect(capped.split("$Number").length).toBe(full.split("$Number").length - 3);
  });

  it("leaves a manifest with nothing above the cap byte for byte as it was", () => {
    expect(filterDashMpd(full, 1440)).toBe(full);
    expect(filterDashMpd(full, 1080)).not.toContain("av1-1440p");
    expect(setTags(filterDashMpd(full, 1080)).find((t) => t.includes('id="1"'))).toContain('maxWidth="1920" maxHeight="1080"');
  });
});
