/**
 * Stage 3: packaging. Stitches each rung's chunk files into one CMAF track (init.mp4 + numbered
 * .m4s segments on the segment grid), segments the audio tracks on the same grid, writes the
 * subtitles, the media playlists, the HLS multivariant playlist and the DASH MPD, and lists every
 * file with its size and SHA-256.
 *
 * Stitching is exact: chunk k's frames get decode times (startFrame + i) * frameDuration, so the
 * rendition has exactly the source's frame count and duration, and a join is only a segment
 * boundary (every chunk starts with a keyframe on the grid).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { AUDIO_SAMPLE_RATE, languageName } from "./audio";
import type { ChunkPlan } from "./encode";
import { videoTimescale } from "./encode";
import type { Rung } from "./ladder";
import {
  dashMpd,
  masterPlaylist,
  mediaPlaylist,
  peakSegmentBitrate,
  subtitlePlaylist,
  type PackagedMediaRendition,
  type PackagedSegment,
  type PackagedSubtitle,
} from "./manifests";
import {
  buildMediaSegment,
  findAv1SequenceHeader,
  fixAv1Init,
  isSyncSample,
  normaliseConstantFrameRate,
  parseFragmentedMp4,
  planSegments,
  type Sample,
} from "./mp4";
import { POSTER_PATH } from "./poster";
import type { Rational } from "./probe";
import { normalisedWebvtt, parseSubtitles, type Cue } from "./vtt";

export interface FileEntry {
  /** relative to the title dir, forward slashes */
  path: string;
  bytes: number;
  sha256: string;
}

export interface PackageInput {
  outDir: string;
  fps: Rational;
  frameCount: number;
  plan: ChunkPlan;
  ladder: Rung[];
  chunkFiles: Record<string, string[]>;
  audio: Array<{ language: string; file: string }>;
  subtitles: Array<{ language: string; cues: Cue[] } | { language: string; path: string }>;
  /** the poster made for the title (a JPEG), packaged as `poster.jpg` */
  poster?: string | null;
  onProgress?: (done: number, total: number) => void;
}

export interface PackageResult {
  video: PackagedMediaRendition[];
  audio: PackagedMediaRendition[];
  subtitles: PackagedSubtitle[];
  files: FileEntry[];
  durationS: number;
  segmentCount: number;
  segmentSeconds: number;
  elapsedS: number;
}

const segName = (n: number) => `seg-${String(n).padStart(5, "0")}.m4s`;

/** A rendition's BANDWIDTH (the peak segment bit rate, as HLS defines it) and AVERAGE-BANDWIDTH. */
export function bandwidths(segments: PackagedSegment[]): { peakBandwidth: number; averageBandwidth: number } {
  const totalS = segments.reduce((n, s) => n + s.durationS, 0);
  const totalBytes = segments.reduce((n, s) => n + s.bytes, 0);
  return {
    peakBandwidth: peakSegmentBitrate(segments),
    averageBandwidth: Math.ceil((totalBytes * 8) / totalS),
  };
}

/** Stitches one rung's chunks into init + segments. */
async function packageVideoRung(input: PackageInput, rung: Rung): Promise<PackagedMediaRendition> {
  const dir = `video/${rung.id}`;
  const abs = join(input.outDir, ...dir.split("/"));
  await mkdir(abs, { recursive: true });
  const timescale = videoTimescale(input.fps);
  const frameDur = (timescale * input.fps.den) / input.fps.num;
  const segFrames = input.plan.segmentFrames;
  const segments: PackagedSegment[] = [];
  let sampleDescription: Buffer | null = null;
  let codec = "";
  let width = 0;
  let height = 0;
  let trackId = 0;
  let av1SeqHeader: Buffer | null = null;
  const files = input.chunkFiles[rung.id];
  for (const chunk of input.plan.chunks) {
    const buf = await readFile(files[chunk.index]);
    const parsed = parseFragmentedMp4(buf);
    if (parsed.track.handler !== "vide") throw new Error(`${rung.id} chunk ${chunk.index}: not a video track`);
    if (parsed.track.timescale !== timescale) throw new Error(`${rung.id} chunk ${chunk.index}: timescale ${parsed.track.timescale}, expected ${timescale}`);
    if (parsed.samples.length !== chunk.frameCount) {
      throw new Error(`${rung.id} chunk ${chunk.index}: ${parsed.samples.length} frames, expected ${chunk.frameCount}`);
    }
    const first = parsed.samples[0];
    const firstBytes = buf.subarray(first.dataOffset, first.dataOffset + first.size);
    // AV1 carries its configuration in the sequence header: it must be the same in every chunk
    const seqHeader = parsed.track.codec.startsWith("av01") ? (findAv1SequenceHeader(firstBytes)?.obu ?? null) : null;
    if (!sampleDescription) {
      sampleDescription = parsed.track.sampleDescription;
      codec = parsed.track.codec;
      width = parsed.track.width ?? 0;
      height = parsed.track.height ?? 0;
      trackId = parsed.track.trackId;
      av1SeqHeader = seqHeader;
      let init = parsed.init;
      const av1 = codec.startsWith("av01") ? fixAv1Init(init, firstBytes) : null;
      if (av1) {
        init = av1.init;
        codec = av1.codec;
      }
      await writeFile(join(abs, "init.mp4"), init);
    } else if (
      !sampleDescription.equals(parsed.track.sampleDescription) ||
      parsed.track.trackId !== trackId ||
      (av1SeqHeader && (!seqHeader || !av1SeqHeader.equals(seqHeader)))
    ) {
      throw new Error(
        `${rung.id} chunk ${chunk.index}: codec configuration differs from chunk 0 (${parsed.track.codec} vs ${codec}); chunks cannot be stitched`,
      );
    }
    // exact timeline: frame i of the chunk is source frame startFrame + i
    const samples: Sample[] = normaliseConstantFrameRate(parsed.samples, frameDur).map((s) => ({
      ...s,
      decodeTime: s.decodeTime + chunk.startFrame * frameDur,
    }));
    for (let i = 0; i < samples.length; ) {
      const global = chunk.startFrame + i;
      if (global % segFrames !== 0) throw new Error(`${rung.id}: chunk ${chunk.index} starts off the segment grid`);
      const n = Math.min(segFrames, samples.length - i);
      const seg = samples.slice(i, i + n);
      if (!isSyncSample(seg[0].flags)) throw new Error(`${rung.id}: segment at frame ${global} does not start with a keyframe`);
      const number = global / segFrames + 1;
      const data = buildMediaSegment(buf, trackId, number, seg);
      await writeFile(join(abs, segName(number)), data);
      segments.push({ uri: segName(number), durationS: (n * frameDur) / timescale, ticks: n * frameDur, bytes: data.length });
      i += n;
    }
  }
  const r: PackagedMediaRendition = {
    id: rung.id,
    kind: "video",
    dir,
    codec,
    timescale,
    segmentDuration: segFrames * frameDur,
    width,
    height,
    frameRate: input.fps,
    segments,
    ...bandwidths(segments),
  };
  if (width !== rung.width || height !== rung.height) throw new Error(`${rung.id}: encoded ${width}x${height}, expected ${rung.width}x${rung.height}`);
  await writeFile(join(abs, "index.m3u8"), mediaPlaylist(r));
  return r;
}

async function packageAudio(
  input: PackageInput,
  a: { language: string; file: string },
  segmentCount: number,
  segmentS: number,
): Promise<PackagedMediaRendition> {
  const id = `aac-${a.language}`;
  const dir = `audio/${id}`;
  const abs = join(input.outDir, ...dir.split("/"));
  await mkdir(abs, { recursive: true });
  const parsed = parseFragmentedMp4(await readFile(a.file));
  if (parsed.track.handler !== "soun") throw new Error(`${id}: not an audio track`);
  const { timescale } = parsed.track;
  const segmentDuration = Math.round(segmentS * timescale);
  const plans = planSegments(parsed.samples, segmentDuration, segmentCount, false);
  await writeFile(join(abs, "init.mp4"), parsed.init);
  const segments: PackagedSegment[] = [];
  for (let k = 0; k < plans.length; k++) {
    const data = buildMediaSegment(parsed.source, parsed.track.trackId, k + 1, plans[k].samples);
    await writeFile(join(abs, segName(k + 1)), data);
    segments.push({ uri: segName(k + 1), durationS: plans[k].duration / timescale, ticks: plans[k].duration, bytes: data.length });
  }
  const r: PackagedMediaRendition = {
    id,
    kind: "audio",
    dir,
    codec: parsed.track.codec,
    timescale,
    segmentDuration,
    language: a.language,
    name: languageName(a.language),
    channels: parsed.track.channels,
    sampleRate: parsed.track.sampleRate ?? AUDIO_SAMPLE_RATE,
    segments,
    ...bandwidths(segments),
  };
  await writeFile(join(abs, "index.m3u8"), mediaPlaylist(r));
  return r;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

export async function listFiles(root: string): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const data = await readFile(p);
        out.push({ path: relative(root, p).split(sep).join("/"), bytes: data.length, sha256: createHash("sha256").update(data).digest("hex") });
      }
    }
  };
  await walk(root);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export async function packageTitle(input: PackageInput): Promise<PackageResult> {
  const t0 = Date.now();
  await mkdir(input.outDir, { recursive: true });
  const segFrames = input.plan.segmentFrames;
  const segmentS = (segFrames * input.fps.den) / input.fps.num;
  const segmentCount = Math.ceil(input.frameCount / segFrames);
  const durationS = (input.frameCount * input.fps.den) / input.fps.num;
  const total = input.ladder.length + input.audio.length + input.subtitles.length + 1;
  let done = 0;
  const tick = () => input.onProgress?.(++done, total);

  const video: PackagedMediaRendition[] = [];
  for (const rung of input.ladder) {
    video.push(await packageVideoRung(input, rung));
    tick();
  }
  const audio: PackagedMediaRendition[] = [];
  for (const a of input.audio) {
    audio.push(await packageAudio(input, a, segmentCount, segmentS));
    tick();
  }
  const subtitles: PackagedSubtitle[] = [];
  for (const s of input.subtitles) {
    const cues = "cues" in s ? s.cues : parseSubtitles(await readFile(s.path, "utf8"), s.path.toLowerCase().endsWith(".srt") ? "srt" : "vtt").cues;
    const id = `sub-${s.language}`;
    const vtt = normalisedWebvtt(cues);
    await mkdir(join(input.outDir, "subs"), { recursive: true });
    await writeFile(join(input.outDir, "subs", `${id}.vtt`), vtt);
    await writeFile(join(input.outDir, "subs", `${id}.m3u8`), subtitlePlaylist(durationS, `${id}.vtt`));
    const bytes = Buffer.byteLength(vtt);
    subtitles.push({
      id,
      language: s.language,
      name: languageName(s.language),
      vttPath: `subs/${id}.vtt`,
      playlistPath: `subs/${id}.m3u8`,
      bytes,
      bandwidth: (bytes * 8) / durationS,
    });
    tick();
  }
  await writeFile(join(input.outDir, "master.m3u8"), masterPlaylist(video, audio, subtitles));
  await writeFile(join(input.outDir, "manifest.mpd"), dashMpd(durationS, video, audio, subtitles));
  if (input.poster) await copyFile(input.poster, join(input.outDir, POSTER_PATH));
  tick();
  const files = await listFiles(input.outDir);
  return { video, audio, subtitles, files, durationS, segmentCount, segmentSeconds: segmentS, elapsedS: (Date.now() - t0) / 1000 };
}
