import { mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPackage } from "../../ingest/check";
import type { PackagedMediaRendition } from "../../ingest/manifests";
import type { PackageResult } from "../../ingest/package";

/**
 * The self-check decodes each rendition as one file (init + every segment). A rendition of a feature
 * film is gigabytes (2 h of 1080p at 4.4 Mbit/s: 4 GB), so that file must be written a piece at a
 * time, not gathered in memory. Here one rendition of 3 segments of 128 MiB (sparse files: made at
 * once, no disk) goes through the check while the process's buffer memory is sampled.
 */

const SEGMENTS = 3;
const SEGMENT_BYTES = 128 * 1024 * 1024;
let dir: string;
let packaged: PackageResult;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-check-memory-"));
  const rdir = path.join(dir, "audio", "aac-en");
  await mkdir(rdir, { recursive: true });
  await writeFile(path.join(rdir, "init.mp4"), Buffer.alloc(1024));
  const segments: PackagedMediaRendition["segments"] = [];
  for (let k = 1; k <= SEGMENTS; k++) {
    const uri = `seg-${String(k).padStart(5, "0")}.m4s`;
    const fh = await open(path.join(rdir, uri), "w");
    await fh.truncate(SEGMENT_BYTES);
    await fh.close();
    segments.push({ uri, durationS: 4, ticks: 4 * 48000, bytes: SEGMENT_BYTES });
  }
  const audio: PackagedMediaRendition = {
    id: "aac-en",
    kind: "audio",
    dir: "audio/aac-en",
    codec: "mp4a.40.2",
    timescale: 48000,
    segmentDuration: 4 * 48000,
    language: "en",
    name: "English",
    sampleRate: 48000,
    segments,
    peakBandwidth: 1,
    averageBandwidth: 1,
  };
  packaged = { video: [], audio: [audio], subtitles: [], files: [], durationS: 4 * SEGMENTS, segmentCount: SEGMENTS, segmentSeconds: 4, elapsedS: 0 };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the self-check of a long title", () => {
  it("joins a rendition's segments without holding them in memory", async () => {
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }, 2);
    try {
      // the bytes are zeros, not AAC: the check reports (or throws) that; only its memory matters here
      await checkPackage({
        outDir: dir,
        source: path.join(dir, "none.mp4"),
        videoStreamIndex: 0,
        videoStartS: 0,
        fps: { num: 25, den: 1 },
        frameCount: 100 * SEGMENTS,
        plan: { chunks: [], segmentFrames: 100, chunkFrames: 200, atKeyframes: 0 },
        packaged,
      }).catch(() => undefined);
    } finally {
      clearInterval(timer);
    }
    // gathering the rendition holds all of it (384 MiB), twice over while it is concatenated
    expect((peak - before) / (1024 * 1024)).toBeLessThan(160);
  });
});
