import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffprobePath } from "../../ingest/ffmpeg-path";
import { run } from "../../ingest/exec";
import { makeSource } from "../../ingest/fixtures";
import { ingest, type IngestResult } from "../../ingest/pipeline";
import { Pool } from "../../ingest/pool";
import { createReporter } from "../../ingest/progress";

let dir: string;
let source: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-parallel-"));
  // 8 s at 25 fps = 200 frames, keyframes every 2 s; B-frames (x264 default) exercise reordering
  source = await makeSource(path.join(dir, "source.mp4"), { width: 320, height: 180, seconds: 8, gop: 50 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function encode(name: string, src: string, jobs: number, chunkSeconds: number): Promise<{ result: IngestResult; pool: Pool }> {
  const pool = new Pool(jobs);
  const result = await ingest({
    source: src,
    titleId: name,
    title: name,
    segmentSeconds: 2,
    chunkSeconds,
    pool,
    workDir: path.join(dir, name),
    until: "check",
    reporter: createReporter({ mode: "none" }),
  });
  return { result, pool };
}

/** Every frame's presentation time (s) of a packaged rendition, read back with ffprobe. */
async function frameTimes(r: IngestResult, id: string): Promise<number[]> {
  const v = r.packaged!.video.find((x) => x.id === id)!;
  const playlist = path.join(r.packageDir, v.dir, "index.m3u8");
  const res = await run(ffprobePath, ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0", playlist]);
  expect(res.code).toBe(0);
  return res.stdout
    .split("\n")
    .filter(Boolean)
    .map(Number)
    .sort((a, b) => a - b);
}

describe("chunked parallel encoding", () => {
  it("gives the same frames and duration as one serial encode of the whole title", async () => {
    const parallel = await encode("parallel", source, 2, 2);
    const serial = await encode("serial", source, 1, 8);
    expect(parallel.result.status).toBe("packaged");
    expect(serial.result.status).toBe("packaged");
    expect(parallel.result.plan!.chunks.map((c) => [c.startFrame, c.frameCount])).toEqual([
      [0, 50],
      [50, 50],
      [100, 50],
      [150, 50],
    ]);
    expect(parallel.result.plan!.atKeyframes).toBe(4);
    expect(serial.result.plan!.chunks).toHaveLength(1);
    // the chunks really ran side by side
    expect(parallel.pool.peak).toBe(2);

    for (const { result } of [parallel, serial]) {
      expect(result.check!.ok).toBe(true);
      expect(result.packaged!.durationS).toBe(8);
      for (const v of result.check!.renditions.filter((x) => x.kind === "video")) {
        expect(v.frames, v.id).toBe(200);
        expect(v.durationS, v.id).toBeCloseTo(8, 6);
      }
    }
    const ids = parallel.result.packaged!.video.map((v) => v.id);
    expect(serial.result.packaged!.video.map((v) => v.id)).toEqual(ids);
    for (const id of ids) {
      const p = parallel.result.packaged!.video.find((v) => v.id === id)!;
      const s = serial.result.packaged!.video.find((v) => v.id === id)!;
      expect(p.segments.map((x) => x.durationS)).toEqual(s.segments.map((x) => x.durationS));
      // frame for frame the same timeline, one frame every 40 ms (ffprobe shifts both by the B-frame delay)
      const [pt, st] = [await frameTimes(parallel.result, id), await frameTimes(serial.result, id)];
      expect(pt).toHaveLength(200);
      expect(pt).toEqual(st);
      expect(pt.every((t, i) => Math.abs(t - pt[0] - i * 0.04) < 1e-6)).toBe(true);
    }
    // no glitch at the 3 joins: each join frame is within a few dB of its neighbours
    for (const v of parallel.result.check!.renditions.filter((x) => x.kind === "video")) {
      expect(v.psnrJoinMarginDb!, v.id).toBeGreaterThan(-6);
    }
  });

  it("stays frame-exact when the source's keyframes are off the segment grid (chunks decode from an earlier keyframe)", async () => {
    // keyframes every 1.2 s: only 0 and 6 s of the 2 s grid are source keyframes
    const offGrid = await makeSource(path.join(dir, "off-grid.mp4"), { width: 320, height: 180, seconds: 8, gop: 30 });
    const { result } = await encode("off-grid", offGrid, 2, 2);
    expect(result.plan!.chunks.length).toBeGreaterThan(1);
    expect(result.plan!.atKeyframes).toBeLessThan(result.plan!.chunks.length);
    const preroll = result.plan!.chunks.filter((c) => !c.atKeyframe);
    expect(preroll.every((c) => c.decodeFromFrame < c.startFrame && c.decodeFromFrame % 30 === 0)).toBe(true);
    expect(result.check!.ok).toBe(true);
    for (const v of result.check!.renditions.filter((x) => x.kind === "video")) expect(v.frames).toBe(200);
  });
});
