import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPLEX_VIDEO, SIMPLE_VIDEO, makeSource } from "../../ingest/fixtures";
import { bitrateFactor, chooseLadder, ladderHeights, ladderSizes, probeComplexity, type LadderChoice } from "../../ingest/ladder";
import { validateSource, type VideoFacts } from "../../ingest/validate";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-ladder-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ladderOf(name: string, video: string): Promise<{ choice: LadderChoice; complexity: number; facts: VideoFacts }> {
  const src = await makeSource(path.join(dir, `${name}.mp4`), { width: 640, height: 360, seconds: 3, video });
  const v = await validateSource({ source: src, sourceLanguage: "en", audio: [], subtitles: [] });
  expect(v.ok).toBe(true);
  const probe = await probeComplexity(src, v.video!);
  return { choice: chooseLadder(probe, v.video!, { codecs: ["h264", "vp9"] }), complexity: probe.complexity, facts: v.video! };
}

describe("the per-title ladder", () => {
  it("gives simple content lower bitrates than noisy content at every rung, and says why", async () => {
    const simple = await ladderOf("simple", SIMPLE_VIDEO(640, 360, 25));
    const complex = await ladderOf("complex", COMPLEX_VIDEO(640, 360, 25));
    expect(simple.complexity).toBeLessThan(0.6);
    expect(complex.complexity).toBeGreaterThan(1.5);
    // same rungs (240p and 360p for a 360p source), in H.264 and VP9
    expect(simple.choice.ladder.map((r) => r.id)).toEqual(["avc-240p", "avc-360p", "vp9-240p", "vp9-360p"]);
    expect(complex.choice.ladder.map((r) => r.id)).toEqual(simple.choice.ladder.map((r) => r.id));
    simple.choice.ladder.forEach((rung, i) => {
      expect(rung.bitrate, rung.id).toBeLessThan(complex.choice.ladder[i].bitrate / 2);
    });
    expect(simple.choice.reason).toMatch(/simple content/);
    expect(complex.choice.reason).toMatch(/complex content/);
    expect(complex.choice.reason).toMatch(/CRF 23/);
  });

  it("scales the reference bitrates by complexity^0.75 within bounds, and VP9 below H.264", () => {
    const facts = { width: 1920, height: 1080, displayWidth: 1920, fps: { num: 25, den: 1 } };
    const probe = (complexity: number) => ({ complexity, bpp: 0.06 * complexity, referenceBpp: 0.06, width: 640, height: 360, crf: 23, samples: [] });
    const typical = chooseLadder(probe(1), facts, { codecs: ["h264", "vp9"] });
    expect(typical.ladder.filter((r) => r.codec === "h264").map((r) => [r.height, r.bitrate])).toEqual([
      [240, 460_000],
      [360, 850_000],
      [480, 1_300_000],
      [720, 2_400_000],
      [1080, 4_400_000],
    ]);
    for (const r of typical.ladder.filter((x) => x.codec === "vp9")) {
      const h264 = typical.ladder.find((x) => x.codec === "h264" && x.height === r.height)!;
      expect(r.bitrate).toBeLessThan(h264.bitrate);
    }
    expect(bitrateFactor(0.01)).toBe(0.2);
    expect(bitrateFactor(100)).toBe(2.5);
    expect(bitrateFactor(2)).toBeCloseTo(2 ** 0.75, 6);
    // a picture smaller than every standard rung gets itself and its half
    expect(ladderHeights(180)).toEqual([90, 180]);
    expect(ladderHeights(720, [240, 480, 720, 1080])).toEqual([240, 480, 720]);
  });

  it("fits a source wider than 16:9 to each class's 16:9 frame by width: a scope film's top rung is its own 1920x800, not 1728x720", () => {
    const probe = { complexity: 1, bpp: 0.06, referenceBpp: 0.06, width: 640, height: 266, crf: 23, samples: [] };
    const sizes = (width: number, height: number, displayWidth = width, heights?: number[]) =>
      chooseLadder(probe, { width, height, displayWidth, fps: { num: 24, den: 1 } }, { codecs: ["h264"], heights }).ladder.map(
        (r) => `${r.id} ${r.width}x${r.height}`,
      );
    expect(sizes(1920, 800)).toEqual(["avc-178p 426x178", "avc-266p 640x266", "avc-356p 854x356", "avc-534p 1280x534", "avc-800p 1920x800"]);
    // Between two classes: its own size tops the ladder (in place of the class within a quarter below it, else above it).
    expect(sizes(960, 400)).toEqual(["avc-178p 426x178", "avc-266p 640x266", "avc-400p 960x400"]);
    expect(sizes(2048, 858).slice(-2)).toEqual(["avc-536p 1280x536", "avc-858p 2048x858"]);
    expect(sizes(1200, 500).slice(-2)).toEqual(["avc-356p 854x356", "avc-500p 1200x500"]);
    // A strip: no rung under 36 px high.
    expect(sizes(2000, 64)).toEqual(["avc-40p 1280x40", "avc-64p 2000x64"]);
    // Anamorphic: stored 1440 wide, shown 1920 (the display width counts, as for every rung).
    expect(sizes(1440, 800, 1920).at(-1)).toBe("avc-800p 1920x800");
    // 16:9 and narrower sources keep the classes by height.
    expect(sizes(1920, 1080)).toEqual(["avc-240p 426x240", "avc-360p 640x360", "avc-480p 854x480", "avc-720p 1280x720", "avc-1080p 1920x1080"]);
    expect(sizes(1440, 1080).at(-1)).toBe("avc-1080p 1440x1080");
    // Heights asked for are heights, whatever the shape.
    expect(sizes(1920, 800, 1920, [480, 720])).toEqual(["avc-480p 1152x480", "avc-720p 1728x720"]);
    // The registration's count predicted before the encode is the ladder's.
    expect(ladderSizes({ width: 1920, height: 800, displayWidth: 1920 })).toHaveLength(5);
  });
});
