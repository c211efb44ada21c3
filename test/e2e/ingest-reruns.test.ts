import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_ENCODE_SETTINGS, encodeTaskArgs, planChunks } from "../../ingest/encode";
import type { Rung } from "../../ingest/ladder";
import { sha256File } from "../../ingest/package";
import { audioCacheFile, type ChunkInputs, chunkFingerprint } from "../../ingest/pipeline";
import type { AudioFacts } from "../../ingest/validate";

/**
 * A rerun of ingest reuses the chunks and audio an earlier run made only when they are what this run
 * would make: the chunks' fingerprint covers every input of the encoder's arguments, and an audio
 * encode's name covers the contents of its file. (Pure: no ffmpeg runs here.)
 */

const LADDER: Rung[] = [
  { id: "avc-240p", codec: "h264", width: 426, height: 240, bitrate: 400_000 },
  { id: "vp9-240p", codec: "vp9", width: 426, height: 240, bitrate: 280_000 },
];

// An 8-second title at 24 fps with one keyframe: 4 s segments in 4 s chunks and 2 s segments in 4 s
// chunks cut it alike, into two chunks.
const FOUR_S = planChunks({ frameCount: 192, keyframes: [0], segmentFrames: 96, chunkSegments: 1 });
const TWO_S = planChunks({ frameCount: 192, keyframes: [0], segmentFrames: 48, chunkSegments: 2 });

const BASE: ChunkInputs = {
  source: "/media/source.mp4",
  sourceSha256: "a".repeat(64),
  ladder: LADDER,
  plan: FOUR_S,
  settings: DEFAULT_ENCODE_SETTINGS,
  fps: { num: 24, den: 1 },
  startS: 0,
  ffmpeg: { path: "/usr/local/bin/ffmpeg", version: "ffmpeg version 6.1.1 Copyright (c) 2000-2023 the FFmpeg developers" },
};

/** The ffmpeg arguments of every task a run with these inputs makes, as encodeAll builds them. */
function argsOf(i: ChunkInputs): string[][] {
  const codecs = [...new Set(i.ladder.map((r) => r.codec))];
  return i.plan.chunks.flatMap((chunk) =>
    codecs.map((codec) => {
      const rungs = i.ladder.filter((r) => r.codec === codec);
      const outputs = Object.fromEntries(rungs.map((r) => [r.id, `chunks/${r.id}.mp4.part`]));
      return encodeTaskArgs(
        {
          source: i.source,
          videoStreamIndex: 0,
          videoStartS: i.startS,
          fps: i.fps,
          chunk,
          codec,
          rungs,
          gopFrames: i.plan.segmentFrames,
          settings: i.settings,
          outputs,
        },
        outputs,
      );
    }),
  );
}

describe("an ingest rerun's reuse of encoded chunks", () => {
  it("two segment lengths can cut the same chunks", () => {
    expect(FOUR_S.chunks).toHaveLength(2);
    expect(TWO_S.chunks).toEqual(FOUR_S.chunks);
  });

  it.each<[string, Partial<ChunkInputs>]>([
    ["another --segment-seconds (the encoder's GOP), same chunks", { plan: TWO_S }],
    ["another encoder preset", { settings: { ...DEFAULT_ENCODE_SETTINGS, x264Preset: "medium" } }],
    ["another rung bitrate", { ladder: [{ ...LADDER[0], bitrate: 500_000 }, LADDER[1]] }],
    ["another frame rate", { fps: { num: 25, den: 1 } }],
    ["another video start", { startS: 0.5 }],
  ])("is refused after %s", (_, change) => {
    const rerun = { ...BASE, ...change };
    // The encoder would be asked for other bytes…
    expect(argsOf(rerun)).not.toEqual(argsOf(BASE));
    // …so the chunks made before must not count as this run's.
    expect(chunkFingerprint(rerun)).not.toBe(chunkFingerprint(BASE));
  });

  it("is refused for a source whose contents changed under the same path", () => {
    expect(chunkFingerprint({ ...BASE, sourceSha256: "b".repeat(64) })).not.toBe(chunkFingerprint(BASE));
  });

  it.each<[string, ChunkInputs["ffmpeg"]]>([
    ["another ffmpeg on PATH (or FFMPEG_PATH)", { ...BASE.ffmpeg, path: "/opt/homebrew/bin/ffmpeg" }],
    ["an ffmpeg upgraded in place", { ...BASE.ffmpeg, version: "ffmpeg version 7.1 Copyright (c) 2000-2024 the FFmpeg developers" }],
  ])("is refused after %s: the same arguments, another encoder build", (_, ffmpeg) => {
    expect(chunkFingerprint({ ...BASE, ffmpeg })).not.toBe(chunkFingerprint(BASE));
  });

  it("is kept when nothing that decides the chunks changed", () => {
    expect(chunkFingerprint(structuredClone(BASE))).toBe(chunkFingerprint(BASE));
  });
});

describe("an ingest rerun's reuse of an extra audio file's encode", () => {
  const facts: AudioFacts = {
    language: "es",
    path: "/tmp/dub-es.m4a",
    streamIndex: 0,
    codec: "aac",
    sampleRate: 48_000,
    channels: 2,
    startS: 0,
    durationS: 4,
  };
  const name = (sha256: string) => audioCacheFile("/work", { key: "k".repeat(64), facts, durationS: 4, sha256 });

  it("is refused when the file was replaced by another of the same length and streams", async () => {
    writeFileSync(facts.path, "the first dub.");
    const first = await sha256File(facts.path);
    writeFileSync(facts.path, "the other dub.");
    const replaced = await sha256File(facts.path);
    expect(replaced).not.toBe(first);
    expect(name(replaced)).not.toBe(name(first));
  });

  it("is kept for the same file", () => {
    expect(name("c".repeat(64))).toBe(name("c".repeat(64)));
    expect(name("c".repeat(64))).toMatch(/^\/work\/audio\/es-[0-9a-f]{16}\.mp4$/);
  });
});
