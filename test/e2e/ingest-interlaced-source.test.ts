import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ENCODE_SETTINGS, encodeTaskArgs, planChunks } from "../../ingest/encode";
import { ffmpegPath, ffprobePath } from "../../ingest/ffmpeg-path";
import type { Rung } from "../../ingest/ladder";
import { probeComplexity } from "../../ingest/ladder";
import { type ChunkInputs, chunkFingerprint } from "../../ingest/pipeline";
import type { InterlacedFieldOrder } from "../../ingest/probe";
import { validateSource } from "../../ingest/validate";
import { type IngestCliRun, runIngestCli } from "./ingest-cli";

/**
 * An interlaced source (a 1080i broadcast master; here 352×288 at 25 frames a second, each woven from two
 * fields 1/50 s apart, coded as interlaced and tagged top field first) is deinterlaced with bwdif, one frame
 * per frame: without it every rung would show combing wherever something moves. ffmpeg's `idet` filter,
 * which finds combing in the pictures themselves, sees it in every frame of the source and in (nearly) none
 * of the full-height rendition.
 */

const BWDIF_TFF = "bwdif=mode=send_frame:parity=tff:deint=all";
let dir: string;
let source: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-interlaced-"));
  source = path.join(dir, "interlaced.mp4");
  // 50 progressive frames a second woven into 25 interlaced ones: the fields show moments 1/50 s apart
  execFileSync(ffmpegPath, [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=352x288:r=50,trim=end_frame=200,interlace=scan=tff:lowpass=0,format=yuv420p"],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4"],
    ...["-map", "0:v", "-map", "1:a", "-c:a", "aac", "-b:a", "96k"],
    ...["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-g", "25", "-flags", "+ilme+ildct", "-top", "1", "-field_order", "tt", source],
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Share of the frames of `file` that ffmpeg's idet (multi-frame detection) finds interlaced, and how many it looked at. */
function combedShare(file: string): { interlaced: number; frames: number } {
  // idet prints its summary on stderr, at the info level
  const res = spawnSync(ffmpegPath, ["-hide_banner", "-nostdin", "-nostats", "-i", file, "-map", "0:v:0", "-vf", "idet", "-f", "null", "-"], {
    encoding: "utf8",
  });
  const m = /Multi frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+) Undetermined:\s*(\d+)/.exec(res.stderr);
  if (res.status !== 0 || !m) throw new Error(`idet of ${file} (exit ${res.status}): ${res.stderr}`);
  const [tff, bff, progressive, undetermined] = m.slice(1).map(Number);
  const frames = tff + bff + progressive + undetermined;
  return { interlaced: (tff + bff) / frames, frames };
}

/** `ingest --no-publish --json` of the source with 1 s segments and chunks (3 joins) into `out`. */
function ingestCli(out: string): Promise<IngestCliRun> {
  return runIngestCli([
    ...[source, "--title-id", "interlaced", "--title", "Interlaced"],
    ...["--heights", "144,288", "--segment-seconds", "1", "--chunk-seconds", "1", "--no-publish", "--json", "--progress", "plain", "--out", out],
  ]);
}

const RUNGS: Rung[] = [
  { id: "avc-144p", codec: "h264", width: 176, height: 144, bitrate: 300_000 },
  { id: "avc-288p", codec: "h264", width: 352, height: 288, bitrate: 800_000 },
];
const PLAN = planChunks({ frameCount: 100, keyframes: [0, 25, 50, 75], segmentFrames: 25, chunkSegments: 1 });

/** The filter graph and input seek of the encode of chunk `index` of a source with this field order. */
function taskOf(index: number, interlaced: InterlacedFieldOrder | null): { graph: string; seekS: number | null } {
  const outputs = Object.fromEntries(RUNGS.map((r) => [r.id, `${r.id}.mp4.part`]));
  const args = encodeTaskArgs(
    {
      source: "in.mp4",
      videoStreamIndex: 0,
      videoStartS: 0,
      fps: { num: 25, den: 1 },
      chunk: PLAN.chunks[index],
      codec: "h264",
      rungs: RUNGS,
      gopFrames: 25,
      settings: DEFAULT_ENCODE_SETTINGS,
      interlaced,
      outputs,
    },
    outputs,
  );
  const ss = args.indexOf("-ss");
  return { graph: args[args.indexOf("-filter_complex") + 1], seekS: ss < 0 ? null : Number(args[ss + 1]) };
}

describe("the encode of an interlaced source", () => {
  it("deinterlaces with bwdif, one frame per frame, in the field order probed, before the rungs are split", () => {
    expect(taskOf(0, "tt").graph).toMatch(new RegExp(`^\\[0:0\\]${BWDIF_TFF},settb=1/25,setpts=N,split=2`));
    expect(taskOf(0, "bt").graph).toContain(BWDIF_TFF);
    expect(taskOf(0, "bb").graph).toContain("bwdif=mode=send_frame:parity=bff:deint=all");
    expect(taskOf(0, "tb").graph).toContain("parity=bff");
  });

  it("leaves a progressive source's pictures as they are", () => {
    expect(taskOf(0, null).graph).not.toContain("bwdif");
    expect(taskOf(1, null).graph).toMatch(/^\[0:0\]settb=1\/25,setpts=N,split=2/);
    expect(taskOf(1, null).seekS).toBeCloseTo(24.5 / 25, 6);
  });

  it("starts a later chunk one frame early and drops that frame, so the deinterlacer has the frame before its first", () => {
    expect(taskOf(1, "tt").seekS).toBeCloseTo(23.5 / 25, 6);
    expect(taskOf(1, "tt").graph).toMatch(new RegExp(`^\\[0:0\\]${BWDIF_TFF},trim=start_frame=1,settb=1/25,setpts=N,split=2`));
  });

  it("does not reuse chunks an earlier run encoded without deinterlacing, and keeps a progressive title's", () => {
    const base: ChunkInputs = {
      source: "in.mp4",
      sourceSha256: "a".repeat(64),
      ladder: RUNGS,
      plan: PLAN,
      settings: DEFAULT_ENCODE_SETTINGS,
      fps: { num: 25, den: 1 },
      startS: 0,
      ffmpeg: { path: "/usr/bin/ffmpeg", version: "ffmpeg version 6.1.1" },
    };
    expect(chunkFingerprint({ ...base, interlaced: "tt" })).not.toBe(chunkFingerprint(base));
    expect(chunkFingerprint({ ...base, interlaced: "bb" })).not.toBe(chunkFingerprint({ ...base, interlaced: "tt" }));
    expect(chunkFingerprint({ ...base, interlaced: null })).toBe(chunkFingerprint(base));
  });
});

describe("ingest of an interlaced source", () => {
  it("says it deinterlaces it, and packages renditions whose pictures are not combed", async () => {
    const probed = execFileSync(ffprobePath, ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=field_order", "-of", "csv=p=0", source], {
      encoding: "utf8",
    });
    expect(probed.trim()).toBe("tt");
    const sourceCombing = combedShare(source);
    expect(sourceCombing.interlaced).toBeGreaterThan(0.9);

    const run = await ingestCli(path.join(dir, "work"));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("video is interlaced (tt: top field first); it is deinterlaced (bwdif)");
    const result = JSON.parse(run.stdout) as {
      validation: { video: { interlaced: string | null; frameCount: number } };
      packageDir: string;
      check: { ok: boolean; renditions: Array<{ id: string; frames?: number; psnrMedian?: number; psnrJoinMarginDb?: number | null }> };
    };
    expect(result.validation.video.interlaced).toBe("tt");
    expect(result.validation.video.frameCount).toBe(100);
    expect(result.check.ok).toBe(true);

    // the full-height rung: a smaller one is scaled, which blurs combing away with or without deinterlacing
    const top = path.join(result.packageDir, "video", "avc-288p");
    const names = (await readFile(path.join(top, "index.m3u8"), "utf8")).split("\n").filter((l) => l.endsWith(".m4s"));
    const joined = path.join(dir, "avc-288p.mp4");
    await writeFile(joined, Buffer.concat(await Promise.all(["init.mp4", ...names].map((n) => readFile(path.join(top, n))))));
    const renditionCombing = combedShare(joined);
    expect(renditionCombing.frames).toBe(100);
    expect(renditionCombing.interlaced).toBeLessThan(0.1);

    // one frame per frame, and the self-check compared like with like: deinterlaced renditions against
    // the deinterlaced source (against the combed one the median would be ~30 dB), no step at a join
    const check = result.check.renditions.find((r) => r.id === "avc-288p")!;
    expect(check.frames).toBe(100);
    expect(check.psnrMedian).toBeGreaterThan(38);
    expect(check.psnrJoinMarginDb).toBeGreaterThan(-2);
  });

  it("sizes the ladder for the deinterlaced pictures, which cost fewer bits than combed ones", async () => {
    const v = await validateSource({ source, sourceLanguage: "en", audio: [], subtitles: [] });
    expect(v.ok).toBe(true);
    expect(v.video!.interlaced).toBe("tt");
    const deinterlaced = await probeComplexity(source, v.video!);
    const combed = await probeComplexity(source, { ...v.video!, interlaced: null });
    expect(deinterlaced.complexity).toBeLessThan(combed.complexity * 0.9);
  });
});
