/**
 * Stage 2b: chunked, parallel encoding.
 *
 * The title is cut into chunks on the output segment grid (every chunk is a whole number of
 * segments, so no segment straddles two chunks), choosing among grid points those where the
 * source has a keyframe: a chunk then starts decoding exactly at its first frame. (A source
 * whose keyframes are off the grid still works: that chunk decodes from the previous keyframe
 * and drops the pre-roll frames; the plan says how many chunks needed that.)
 *
 * One task = one chunk x one codec: a single ffmpeg decodes the chunk's frames once and encodes
 * every rung of that codec, single-threaded, into one fragmented MP4 per rung. Tasks run on the
 * pool (one slot each), so a 2-core machine runs 2 chunks at a time. Each chunk output is written
 * to a temporary name and renamed when complete, so a re-run after a crash reuses finished chunks.
 * The packager stitches the chunks back together (package.ts).
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ffmpegPath } from "./ffmpeg-path";
import { meaningfulStderr, run, runChecked } from "./exec";
import type { Rung, VideoCodec } from "./ladder";
import type { Pool } from "./pool";
import { deinterlaceFilter, type InterlacedFieldOrder, type Rational } from "./probe";

export interface Chunk {
  index: number;
  /** first frame (presentation order) of the chunk */
  startFrame: number;
  frameCount: number;
  /** true when the source has a keyframe at startFrame */
  atKeyframe: boolean;
  /** the source keyframe decoding starts from (== startFrame when atKeyframe) */
  decodeFromFrame: number;
}

export interface ChunkPlan {
  chunks: Chunk[];
  segmentFrames: number;
  /** nominal chunk length in frames */
  chunkFrames: number;
  atKeyframes: number;
}

/**
 * Chunk boundaries on the segment grid, preferring grid points where the source has a keyframe
 * (nearest to the nominal chunk length, between half and twice of it).
 */
export function planChunks(opts: { frameCount: number; keyframes: number[]; segmentFrames: number; chunkSegments: number }): ChunkPlan {
  const { frameCount, segmentFrames } = opts;
  const chunkSegments = Math.max(1, Math.round(opts.chunkSegments));
  const chunkFrames = chunkSegments * segmentFrames;
  const keys = [...new Set(opts.keyframes)].sort((a, b) => a - b);
  const keySet = new Set(keys);
  const lastKeyAtOrBefore = (f: number) => {
    let best = 0;
    for (const k of keys) {
      if (k <= f) best = k;
      else break;
    }
    return best;
  };
  const chunks: Chunk[] = [];
  let pos = 0;
  while (pos < frameCount) {
    let end: number;
    if (pos + chunkFrames >= frameCount) end = frameCount;
    else {
      const target = pos + chunkFrames;
      const lo = pos + Math.max(1, Math.floor(chunkSegments / 2)) * segmentFrames;
      const hi = Math.min(frameCount - 1, pos + 2 * chunkFrames);
      let best: number | null = null;
      for (let g = lo; g <= hi; g += segmentFrames) {
        if (keySet.has(g) && (best === null || Math.abs(g - target) < Math.abs(best - target))) best = g;
      }
      end = best ?? target;
      // No chunk of less than a segment at the end: a chunk of a frame or two is a task of its own whose
      // first picture (at the encoder's first guess of quantiser) has no frames after it, and the
      // self-check refused it as a glitch at the join (a 201-frame source failed). The last chunk takes them.
      if (frameCount - end < segmentFrames) end = frameCount;
    }
    const atKeyframe = keySet.has(pos);
    chunks.push({ index: chunks.length, startFrame: pos, frameCount: end - pos, atKeyframe, decodeFromFrame: atKeyframe ? pos : lastKeyAtOrBefore(pos) });
    pos = end;
  }
  return { chunks, segmentFrames, chunkFrames, atKeyframes: chunks.filter((c) => c.atKeyframe).length };
}

/** MP4 timescale for a frame rate: a multiple of its numerator, at least 10000, so every frame lasts a whole number of ticks. */
export function videoTimescale(fps: Rational): number {
  return fps.num * Math.ceil(10000 / fps.num);
}

export interface EncodeSettings {
  /** x264 preset (speed/efficiency) */
  x264Preset: string;
  /** libvpx-vp9 -cpu-used */
  vp9Speed: number;
  /** libaom -cpu-used */
  av1Speed: number;
}

export const DEFAULT_ENCODE_SETTINGS: EncodeSettings = { x264Preset: "veryfast", vp9Speed: 5, av1Speed: 8 };

function encoderArgs(codec: VideoCodec, rung: Rung, gop: number, s: EncodeSettings): string[] {
  const k = (b: number) => `${Math.round(b / 1000)}k`;
  const rate = ["-b:v", k(rung.bitrate), "-maxrate", k(rung.bitrate * 1.5), "-bufsize", k(rung.bitrate * 2)];
  const gopArgs = ["-g", String(gop), "-keyint_min", String(gop)];
  switch (codec) {
    case "h264":
      return [
        "-c:v",
        "libx264",
        "-preset",
        s.x264Preset,
        "-profile:v",
        "high",
        ...rate,
        ...gopArgs,
        "-sc_threshold",
        "0",
        "-x264-params",
        `keyint=${gop}:min-keyint=${gop}:scenecut=0:open-gop=0`,
        "-threads",
        "1",
      ];
    case "vp9":
      return [
        "-c:v",
        "libvpx-vp9",
        ...rate,
        ...gopArgs,
        "-deadline",
        "good",
        "-cpu-used",
        String(s.vp9Speed),
        "-tile-columns",
        "0",
        "-frame-parallel",
        "0",
        "-row-mt",
        "0",
        "-threads",
        "1",
      ];
    case "av1":
      return ["-c:v", "libaom-av1", "-strict", "experimental", ...rate, ...gopArgs, "-cpu-used", String(s.av1Speed), "-threads", "1"];
  }
}

/** The flag that sets a codec's encoder setting, with its value: what a refusal of it names. */
const SETTING_FLAG = new Map<VideoCodec, (s: EncodeSettings) => string>([
  ["h264", (s) => `--x264-preset ${s.x264Preset}`],
  ["vp9", (s) => `--vp9-speed ${s.vp9Speed}`],
  ["av1", (s) => `--av1-speed ${s.av1Speed}`],
]);

/**
 * Why this ffmpeg cannot encode `codec` with `settings` (a preset x264 does not know, a speed out of the
 * encoder's range, an encoder the build lacks), or null: one frame encoded with the very arguments of the
 * encode. Asked before the source is read, as the encode found it only after validation and the ladder
 * probe (hours into a feature) and said it with a stack trace.
 */
export async function encoderProblem(codec: VideoCodec, settings: EncodeSettings, bin: string = ffmpegPath): Promise<string | null> {
  const rung: Rung = { id: "preflight", codec, width: 64, height: 64, bitrate: 100_000 };
  const res = await run(
    bin,
    [
      "-nostdin",
      "-hide_banner",
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "color=c=gray:s=64x64:r=25:d=1",
      "-frames:v",
      "1",
      "-pix_fmt",
      "yuv420p",
      ...encoderArgs(codec, rung, 25, settings),
      "-f",
      "null",
      "-",
    ],
    { timeoutMs: 120_000 },
  );
  if (res.code === 0) return null;
  const why = meaningfulStderr(res.stderr)
    .split("\n")
    .filter((l) => !/^Error initializing output stream|^Conversion failed/.test(l))
    .slice(0, 2)
    .join("; ");
  return `${SETTING_FLAG.get(codec)?.(settings) ?? codec}: this ffmpeg (${bin}) cannot encode ${codec} so (${why || `exit ${res.code ?? res.signal}`})`;
}

/** The ffmpeg build the encode runs: its path and the first line of its `-version` (part of the chunks' fingerprint). */
export interface FfmpegIdentity {
  path: string;
  version: string;
}

/** Asks the ffmpeg the encode will run which build it is (once per run: an upgrade in place changes the answer, not the path). */
export async function ffmpegIdentity(bin: string = ffmpegPath): Promise<FfmpegIdentity> {
  const res = await run(bin, ["-version"], { timeoutMs: 60_000 });
  const first = res.stdout.split("\n")[0].trim();
  return { path: bin, version: res.code === 0 && first ? first : `-version failed (exit ${res.code ?? res.signal})` };
}

export interface EncodeTaskInput {
  source: string;
  /** the source's video stream (ffprobe's index): the first video stream may be cover art */
  videoStreamIndex: number;
  /** video start relative to the container start (s) */
  videoStartS: number;
  fps: Rational;
  chunk: Chunk;
  codec: VideoCodec;
  rungs: Rung[];
  gopFrames: number;
  settings: EncodeSettings;
  /** the source's field order when it is interlaced: its frames are deinterlaced before the split */
  interlaced?: InterlacedFieldOrder | null;
  /** output path per rung id */
  outputs: Record<string, string>;
  onFrames?: (frames: number) => void;
}

/** Frames a chunk of an interlaced source decodes before its first one, for the deinterlacer (see encodeTaskArgs). */
export const DEINTERLACE_PREROLL_FRAMES = 1;

/** The ffmpeg arguments of one task (exported for tests and the README). */
export function encodeTaskArgs(t: EncodeTaskInput, tmpOutputs: Record<string, string>): string[] {
  const frameS = t.fps.den / t.fps.num;
  const args = ["-nostdin", "-hide_banner", "-y", "-v", "error", "-nostats", "-progress", "pipe:1", "-threads", "1"];
  // Deinterlaced once, before the split: every rung gets the same progressive pictures. bwdif makes a
  // frame from its neighbours too, and the first frame it gets has none before it (it comes out softer):
  // a chunk after the first decodes one frame early and drops it, so its first frame is the one a
  // continuous decode makes (no step in quality at a join; the self-check compares with that decode).
  const deint = deinterlaceFilter(t.interlaced);
  const preroll = deint && t.chunk.startFrame > 0 ? DEINTERLACE_PREROLL_FRAMES : 0;
  // Accurate input seek half a frame before the chunk's first frame (or its pre-roll): ffmpeg seeks to the
  // keyframe at or before it and drops anything earlier, so the first output frame is exactly chunk.startFrame.
  if (t.chunk.startFrame > 0) args.push("-ss", (t.videoStartS + (t.chunk.startFrame - preroll - 0.5) * frameS).toFixed(6));
  args.push("-i", t.source);
  const n = t.rungs.length;
  const deinterlace = deint ? `${deint},${preroll ? `trim=start_frame=${preroll},` : ""}` : "";
  const graph =
    `[0:${t.videoStreamIndex}]${deinterlace}settb=${t.fps.den}/${t.fps.num},setpts=N,split=${n}${t.rungs.map((_, i) => `[s${i}]`).join("")};` +
    t.rungs.map((r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1,format=yuv420p[o${i}]`).join(";");
  args.push("-filter_complex", graph);
  t.rungs.forEach((r, i) => {
    args.push(
      "-map",
      `[o${i}]`,
      "-an",
      "-sn",
      "-frames:v",
      String(t.chunk.frameCount),
      "-vsync",
      "passthrough",
      ...encoderArgs(t.codec, r, t.gopFrames, t.settings),
      "-video_track_timescale",
      String(videoTimescale(t.fps)),
      "-movflags",
      "frag_keyframe+empty_moov+default_base_moof",
      "-f",
      "mp4",
      tmpOutputs[r.id],
    );
  });
  return args;
}

export async function encodeTask(t: EncodeTaskInput): Promise<{ skipped: boolean }> {
  if (t.rungs.every((r) => existsSync(t.outputs[r.id]))) return { skipped: true };
  const tmp = Object.fromEntries(t.rungs.map((r) => [r.id, `${t.outputs[r.id]}.part`]));
  for (const p of Object.values(t.outputs)) await mkdir(join(p, ".."), { recursive: true });
  let reported = 0;
  await runChecked(ffmpegPath, encodeTaskArgs(t, tmp), `encode of chunk ${t.chunk.index} (${t.codec})`, {
    timeoutMs: 6 * 3600_000,
    onStdoutLine: (line) => {
      const m = /^frame=(\d+)/.exec(line);
      if (m && t.onFrames) {
        const f = Number(m[1]);
        if (f > reported) t.onFrames(f - reported);
        reported = Math.max(reported, f);
      }
    },
  });
  if (t.onFrames && reported < t.chunk.frameCount) t.onFrames(t.chunk.frameCount - reported);
  for (const r of t.rungs) await rename(tmp[r.id], t.outputs[r.id]);
  return { skipped: false };
}

export interface EncodeAllInput {
  source: string;
  /** the source's video stream (see EncodeTaskInput) */
  videoStreamIndex: number;
  videoStartS: number;
  fps: Rational;
  plan: ChunkPlan;
  ladder: Rung[];
  settings: EncodeSettings;
  /** the source's field order when it is interlaced (see EncodeTaskInput) */
  interlaced?: InterlacedFieldOrder | null;
  workDir: string;
  pool: Pool;
  /** a fingerprint of everything that determines the chunk outputs; a different one wipes old chunks */
  key: string;
  onProgress?: (framesDone: number, framesTotal: number) => void;
}

export interface EncodeResult {
  /** chunk file per rung id, in chunk order */
  chunkFiles: Record<string, string[]>;
  tasks: number;
  reused: number;
  elapsedS: number;
}

export function chunkFile(workDir: string, rungId: string, chunkIndex: number): string {
  return join(workDir, "chunks", rungId, `chunk-${String(chunkIndex).padStart(5, "0")}.mp4`);
}

export async function encodeAll(input: EncodeAllInput): Promise<EncodeResult> {
  const t0 = Date.now();
  const keyFile = join(input.workDir, "chunks", "key.txt");
  const oldKey = await readFile(keyFile, "utf8").catch(() => null);
  if (oldKey !== input.key) {
    await rm(join(input.workDir, "chunks"), { recursive: true, force: true });
    await mkdir(join(input.workDir, "chunks"), { recursive: true });
    await writeFile(keyFile, input.key);
  }
  const codecs = [...new Set(input.ladder.map((r) => r.codec))];
  const tasks = input.plan.chunks.flatMap((chunk) => codecs.map((codec) => ({ chunk, codec })));
  const framesTotal = input.plan.chunks.reduce((n, c) => n + c.frameCount, 0) * codecs.length;
  let framesDone = 0;
  const onFrames = (f: number) => {
    framesDone += f;
    input.onProgress?.(Math.min(framesDone, framesTotal), framesTotal);
  };
  const chunkFiles: Record<string, string[]> = Object.fromEntries(
    input.ladder.map((r) => [r.id, input.plan.chunks.map((c) => chunkFile(input.workDir, r.id, c.index))]),
  );
  // longest tasks first keeps the pool busy to the end (the last chunk is often shorter)
  tasks.sort((a, b) => b.chunk.frameCount - a.chunk.frameCount || a.chunk.index - b.chunk.index);
  const results = await input.pool.map(tasks, ({ chunk, codec }) => {
    const rungs = input.ladder.filter((r) => r.codec === codec);
    return encodeTask({
      source: input.source,
      videoStreamIndex: input.videoStreamIndex,
      videoStartS: input.videoStartS,
      fps: input.fps,
      chunk,
      codec,
      rungs,
      gopFrames: input.plan.segmentFrames,
      settings: input.settings,
      interlaced: input.interlaced,
      outputs: Object.fromEntries(rungs.map((r) => [r.id, chunkFile(input.workDir, r.id, chunk.index)])),
      onFrames,
    }).then((r) => {
      if (r.skipped) onFrames(chunk.frameCount);
      return r;
    });
  });
  return { chunkFiles, tasks: tasks.length, reused: results.filter((r) => r.skipped).length, elapsedS: (Date.now() - t0) / 1000 };
}
