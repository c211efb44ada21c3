/**
 * Stage 4: the packager checks its own output before anything is published.
 *
 *   - the HLS multivariant and every media playlist parse with hls-parser (strict mode), carry
 *     CODECS, RESOLUTION, BANDWIDTH, AVERAGE-BANDWIDTH, FRAME-RATE and audio/subtitle groups per
 *     language, and every URI they name is a packaged file;
 *   - the MPD parses with mpd-parser (the parser of video.js) into the same renditions and
 *     segments;
 *   - every rendition decodes: one ffmpeg decodes the source and every video rendition (init +
 *     all segments) and computes the PSNR of each frame against the source scaled to the rung;
 *     frame counts must equal the source's, and frames at chunk joins must not be much worse than
 *     the frames around them (a wrong, repeated or missing frame at a join shows up as a PSNR
 *     drop), nor any chunk far from its source pictures; audio
 *     renditions decode and last as long as the video; subtitles parse.
 */
/// <reference path="./parsers.d.ts" />
import { createReadStream, createWriteStream, rmSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import HLS from "hls-parser";
import { parse as parseMpd } from "mpd-parser";
import { ffmpegPath, ffprobePath } from "./ffmpeg-path";
import { meaningfulStderr, run } from "./exec";
import { onInterrupt } from "./interrupt-cleanup";
import type { ChunkPlan } from "./encode";
import type { PackagedMediaRendition } from "./manifests";
import type { FileEntry, PackageResult } from "./package";
import type { Pool } from "./pool";
import { deinterlaceFilter, type InterlacedFieldOrder, type Rational } from "./probe";
import { parseSubtitles } from "./vtt";

export interface RenditionCheck {
  id: string;
  kind: "video" | "audio" | "subtitle";
  frames?: number;
  durationS: number;
  /** video: median PSNR against the source (dB) */
  psnrMedian?: number;
  /** video: lowest PSNR over the frames either side of a chunk join */
  psnrMinAtJoins?: number | null;
  /** video: 5th percentile PSNR of the other frames */
  psnrP5?: number;
  /** video: worst (join frame PSNR - median PSNR of the frames around it), dB */
  psnrJoinMarginDb?: number | null;
  ok: boolean;
}

export interface CheckReport {
  ok: boolean;
  problems: string[];
  renditions: RenditionCheck[];
  hls: { variants: number; audio: string[]; subtitles: string[] };
  dash: { representations: number; audio: string[]; subtitles: string[] };
  elapsedS: number;
}

export interface CheckInput {
  outDir: string;
  source: string;
  /** the source's video stream (ffprobe's index): the first video stream may be cover art */
  videoStreamIndex: number;
  videoStartS: number;
  fps: Rational;
  frameCount: number;
  /** the source's field order when it is interlaced: the reference is deinterlaced as the encode was */
  interlaced?: InterlacedFieldOrder | null;
  plan: ChunkPlan;
  packaged: PackageResult;
  pool?: Pool;
  onProgress?: (done: number, total: number) => void;
}

const BASE = "https://title.invalid/";
/** below this a chunk is not the source's pictures any more (misaligned or broken) */
const MIN_CHUNK_PSNR_DB = 20;

function checkPlaylists(input: CheckInput, files: Map<string, FileEntry>, texts: Map<string, string>, problems: string[]): CheckReport["hls"] {
  const { packaged } = input;
  const need = (path: string, from: string) => {
    if (!files.has(path)) problems.push(`${from} names ${path}, which is not packaged`);
  };
  HLS.setOptions({ strictMode: true, silent: true });
  const master = HLS.parse(texts.get("master.m3u8") ?? "");
  if (!master.isMasterPlaylist) {
    problems.push("master.m3u8 is not a multivariant playlist");
    return { variants: 0, audio: [], subtitles: [] };
  }
  const audioLangs = new Set<string>();
  const subLangs = new Set<string>();
  const mediaUris = new Set<string>();
  for (const v of master.variants) {
    const rend = packaged.video.find((r) => `${r.dir}/index.m3u8` === v.uri);
    if (!rend) {
      problems.push(`HLS variant ${v.uri} is not a packaged rendition`);
      continue;
    }
    mediaUris.add(v.uri);
    if (!v.codecs?.includes(rend.codec)) problems.push(`HLS variant ${v.uri}: CODECS ${v.codecs} lacks ${rend.codec}`);
    if (!v.resolution || v.resolution.width !== rend.width || v.resolution.height !== rend.height) problems.push(`HLS variant ${v.uri}: RESOLUTION wrong`);
    if (!v.averageBandwidth || !(v.bandwidth >= v.averageBandwidth)) problems.push(`HLS variant ${v.uri}: BANDWIDTH/AVERAGE-BANDWIDTH missing or inconsistent`);
    if (!v.frameRate || Math.abs(v.frameRate - input.fps.num / input.fps.den) > 0.001) problems.push(`HLS variant ${v.uri}: FRAME-RATE ${v.frameRate}`);
    if (packaged.audio.length && v.audio.length !== packaged.audio.length) problems.push(`HLS variant ${v.uri}: ${v.audio.length} audio renditions`);
    if (packaged.subtitles.length && v.subtitles.length !== packaged.subtitles.length)
      problems.push(`HLS variant ${v.uri}: ${v.subtitles.length} subtitle renditions`);
    for (const a of v.audio) {
      if (a.language) audioLangs.add(a.language);
      if (a.uri) mediaUris.add(a.uri);
    }
    for (const s of v.subtitles) {
      if (s.language) subLangs.add(s.language);
      if (s.uri) mediaUris.add(s.uri);
    }
  }
  if (master.variants.length !== packaged.video.length)
    problems.push(`HLS has ${master.variants.length} variants for ${packaged.video.length} video renditions`);
  for (const uri of mediaUris) {
    need(uri, "master.m3u8");
    const text = texts.get(uri);
    if (text === undefined) continue;
    let media: ReturnType<typeof HLS.parse>;
    try {
      media = HLS.parse(text);
    } catch (err) {
      problems.push(`${uri} does not parse: ${(err as Error).message}`);
      continue;
    }
    if (media.isMasterPlaylist) {
      problems.push(`${uri} is not a media playlist`);
      continue;
    }
    const dir = uri.slice(0, uri.lastIndexOf("/") + 1);
    let total = 0;
    for (const seg of media.segments) {
      need(dir + seg.uri, uri);
      if (seg.map?.uri) need(dir + seg.map.uri, uri);
      total += seg.duration;
    }
    if (!media.endlist || media.playlistType !== "VOD") problems.push(`${uri}: not a complete VOD playlist`);
    if (Math.abs(total - packaged.durationS) > 0.1) problems.push(`${uri}: segments last ${total.toFixed(3)} s, title ${packaged.durationS.toFixed(3)} s`);
  }
  for (const a of packaged.audio) if (!audioLangs.has(a.language!)) problems.push(`HLS lacks an audio rendition for ${a.language}`);
  for (const s of packaged.subtitles) if (!subLangs.has(s.language)) problems.push(`HLS lacks subtitles for ${s.language}`);
  return { variants: master.variants.length, audio: [...audioLangs], subtitles: [...subLangs] };
}

function checkMpd(input: CheckInput, files: Map<string, FileEntry>, texts: Map<string, string>, problems: string[]): CheckReport["dash"] {
  const { packaged } = input;
  const rel = (u: string) => (u.startsWith(BASE) ? u.slice(BASE.length) : u);
  const mpd = parseMpd(texts.get("manifest.mpd") ?? "", { manifestUri: `${BASE}manifest.mpd` });
  if (Math.abs(mpd.duration - packaged.durationS) > 0.01) problems.push(`MPD duration ${mpd.duration} != ${packaged.durationS}`);
  const checkSegments = (
    name: string,
    segs: Array<{ resolvedUri: string; map?: { resolvedUri: string }; duration: number }>,
    expected: PackagedMediaRendition,
  ) => {
    if (segs.length !== expected.segments.length) problems.push(`MPD ${name}: ${segs.length} segments, packaged ${expected.segments.length}`);
    for (const s of segs) {
      if (!files.has(rel(s.resolvedUri))) problems.push(`MPD ${name} names ${rel(s.resolvedUri)}, which is not packaged`);
      if (s.map && !files.has(rel(s.map.resolvedUri))) problems.push(`MPD ${name} names ${rel(s.map.resolvedUri)}, which is not packaged`);
    }
  };
  for (const v of packaged.video) {
    const p = mpd.playlists.find((x) => x.attributes.NAME === v.id);
    if (!p) {
      problems.push(`MPD lacks Representation ${v.id}`);
      continue;
    }
    if (p.attributes.CODECS !== v.codec || p.attributes.RESOLUTION?.height !== v.height) problems.push(`MPD ${v.id}: codecs/resolution wrong`);
    checkSegments(v.id, p.segments, v);
  }
  if (mpd.playlists.length !== packaged.video.length)
    problems.push(`MPD has ${mpd.playlists.length} video Representations for ${packaged.video.length} renditions`);
  const audio: string[] = [];
  for (const group of Object.values(mpd.mediaGroups.AUDIO)) {
    for (const entry of Object.values(group)) {
      audio.push(entry.language);
      const a = packaged.audio.find((x) => x.language === entry.language);
      if (!a) problems.push(`MPD audio ${entry.language} is not packaged`);
      else checkSegments(a.id, entry.playlists[0]?.segments ?? [], a);
    }
  }
  for (const a of packaged.audio) if (!audio.includes(a.language!)) problems.push(`MPD lacks audio ${a.language}`);
  const subtitles: string[] = [];
  for (const group of Object.values(mpd.mediaGroups.SUBTITLES)) {
    for (const entry of Object.values(group)) {
      subtitles.push(entry.language);
      for (const s of entry.playlists[0]?.segments ?? [])
        if (!files.has(rel(s.resolvedUri))) problems.push(`MPD subtitles ${entry.language}: ${rel(s.resolvedUri)} not packaged`);
    }
  }
  for (const s of packaged.subtitles) if (!subtitles.includes(s.language)) problems.push(`MPD lacks subtitles ${s.language}`);
  return { representations: mpd.playlists.length, audio, subtitles };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};

/** Packet count and time span (s) of the first stream of a file, without decoding. */
export async function packetSpan(path: string): Promise<{ count: number; startS: number; endS: number }> {
  let count = 0;
  let start = Infinity;
  let end = -Infinity;
  // Line by line: run() keeps only the tail of a long stdout (a long title lists millions of characters).
  const res = await run(ffprobePath, ["-v", "error", "-select_streams", "0", "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", path], {
    timeoutMs: 600_000,
    onStdoutLine: (line) => {
      if (!line) return;
      const [pts, dur] = line.split(",").map(Number);
      count++;
      start = Math.min(start, pts);
      end = Math.max(end, pts + (Number.isFinite(dur) ? dur : 0));
    },
  });
  if (res.code !== 0) throw new Error(`ffprobe ${path}: ${meaningfulStderr(res.stderr)}`);
  return { count, startS: start, endS: end };
}

export async function checkPackage(input: CheckInput): Promise<CheckReport> {
  const t0 = Date.now();
  const problems: string[] = [];
  const { packaged } = input;
  const files = new Map(packaged.files.map((f) => [f.path, f]));
  const texts = new Map<string, string>();
  for (const f of packaged.files) if (/\.(m3u8|mpd)$/.test(f.path)) texts.set(f.path, await readFile(join(input.outDir, f.path), "utf8"));
  const total = packaged.video.length + packaged.audio.length + 2;
  let done = 0;
  const tick = () => input.onProgress?.(++done, total);

  let hls: CheckReport["hls"] = { variants: 0, audio: [], subtitles: [] };
  let dash: CheckReport["dash"] = { representations: 0, audio: [], subtitles: [] };
  try {
    hls = checkPlaylists(input, files, texts, problems);
  } catch (err) {
    problems.push(`HLS does not parse: ${(err as Error).message}`);
  }
  try {
    dash = checkMpd(input, files, texts, problems);
  } catch (err) {
    problems.push(`MPD does not parse: ${(err as Error).message}`);
  }
  tick();

  const tmp = await mkdtemp(join(tmpdir(), "ingest-check-"));
  // a copy of every rendition: not left in the temp dir by a run interrupted during the check
  const forget = onInterrupt(() => rmSync(tmp, { recursive: true, force: true, maxRetries: 3 }));
  const renditions: RenditionCheck[] = [];
  try {
    // each media rendition as one file: init + every segment
    const joined = new Map<string, string>();
    for (const r of [...packaged.video, ...packaged.audio]) {
      const p = join(tmp, `${r.id}.mp4`);
      // streamed: a rendition of a feature film is gigabytes
      const names = ["init.mp4", ...r.segments.map((s) => s.uri)];
      await pipeline(async function* () {
        for (const name of names) yield* createReadStream(join(input.outDir, r.dir, name));
      }, createWriteStream(p));
      joined.set(r.id, p);
    }
    const fpsS = `${input.fps.den}/${input.fps.num}`;
    const joins = new Set(input.plan.chunks.slice(1).flatMap((c) => [c.startFrame - 1, c.startFrame]));
    // video: one decode of the source, PSNR of every rendition against it (one slot: it is one process)
    const runVideo = async () => {
      if (!packaged.video.length) return;
      const n = packaged.video.length;
      const args = ["-nostdin", "-hide_banner", "-v", "error", "-i", input.source];
      for (const v of packaged.video) args.push("-i", joined.get(v.id)!);
      // the renditions are of the deinterlaced pictures: compared with combed ones every frame would look worse
      const deint = deinterlaceFilter(input.interlaced);
      const graph = [
        `[0:${input.videoStreamIndex}]${deint ? `${deint},` : ""}settb=${fpsS},setpts=N,split=${n}${packaged.video.map((_, i) => `[s${i}]`).join("")}`,
        ...packaged.video.map(
          (v, i) =>
            `[s${i}]scale=${v.width}:${v.height}:flags=bicubic,format=yuv420p[ref${i}];` +
            `[${i + 1}:v:0]settb=${fpsS},setpts=N,format=yuv420p[dec${i}];` +
            `[dec${i}][ref${i}]psnr=stats_file=psnr-${i}.log:shortest=1[out${i}]`,
        ),
      ].join(";");
      args.push("-filter_complex", graph);
      for (let i = 0; i < n; i++) args.push("-map", `[out${i}]`);
      args.push("-f", "null", "-");
      const res = await run(ffmpegPath, args, { timeoutMs: 6 * 3600_000, cwd: tmp });
      const err = meaningfulStderr(res.stderr);
      if (res.code !== 0 || err) problems.push(`decoding the video renditions failed (exit ${res.code}): ${err.split("\n").slice(-3).join(" ")}`);
      for (let i = 0; i < n; i++) {
        const v = packaged.video[i];
        const span = await packetSpan(joined.get(v.id)!);
        const stats = await readFile(join(tmp, `psnr-${i}.log`), "utf8").catch(() => "");
        const psnr = stats
          .split("\n")
          .filter(Boolean)
          .map((l) => {
            const m = /psnr_avg:(inf|[\d.]+)/.exec(l);
            return m ? (m[1] === "inf" ? 100 : Number(m[1])) : NaN;
          });
        const decoded = psnr.length;
        const others = psnr.filter((_, f) => !joins.has(f));
        const atJoins = psnr.filter((_, f) => joins.has(f));
        const med = median(psnr);
        const p5 = percentile(others.length ? others : psnr, 0.05);
        const minJoin = atJoins.length ? Math.min(...atJoins) : null;
        const rc: RenditionCheck = {
          id: v.id,
          kind: "video",
          frames: span.count,
          durationS: span.endS - span.startS,
          psnrMedian: med,
          psnrMinAtJoins: minJoin,
          psnrP5: p5,
          ok: true,
        };
        const fail = (m: string) => {
          rc.ok = false;
          problems.push(`${v.id}: ${m}`);
        };
        if (span.count !== input.frameCount) fail(`${span.count} frames, source has ${input.frameCount}`);
        if (decoded !== input.frameCount) fail(`${decoded} frames decoded and compared, source has ${input.frameCount}`);
        if (Math.abs(rc.durationS - packaged.durationS) > 0.001) fail(`lasts ${rc.durationS.toFixed(4)} s, source ${packaged.durationS.toFixed(4)} s`);
        // A glitch at a join (a wrong, repeated, grey or missing frame) is a frame there much worse
        // than its neighbours: compare each join frame with the median of the 8 frames around it.
        let minJoinMargin = Infinity;
        for (const f of joins) {
          if (f >= psnr.length) continue;
          const around = [];
          for (let k = f - 5; k <= f + 5; k++) if (k >= 0 && k < psnr.length && !joins.has(k)) around.push(psnr[k]);
          const local = median(around);
          minJoinMargin = Math.min(minJoinMargin, psnr[f] - local);
          if (psnr[f] < local - 6) fail(`frame ${f} at a chunk join has PSNR ${psnr[f].toFixed(2)} dB, its neighbours ${local.toFixed(2)} dB`);
        }
        rc.psnrJoinMarginDb = Number.isFinite(minJoinMargin) ? minJoinMargin : null;
        // a chunk out of step (shifted frames) or broken altogether is far from its source
        for (const c of input.plan.chunks) {
          const cm = median(psnr.slice(c.startFrame, c.startFrame + c.frameCount));
          if (cm < MIN_CHUNK_PSNR_DB)
            fail(`chunk ${c.index} (frames ${c.startFrame}-${c.startFrame + c.frameCount - 1}) has median PSNR ${cm.toFixed(2)} dB (< ${MIN_CHUNK_PSNR_DB})`);
        }
        renditions.push(rc);
        tick();
      }
    };
    const runAudio = async (a: PackagedMediaRendition) => {
      const res = await run(ffmpegPath, ["-nostdin", "-hide_banner", "-v", "error", "-i", joined.get(a.id)!, "-map", "0:a:0", "-f", "null", "-"], {
        timeoutMs: 3600_000,
      });
      const err = meaningfulStderr(res.stderr);
      const span = await packetSpan(joined.get(a.id)!);
      const rc: RenditionCheck = { id: a.id, kind: "audio", durationS: span.endS - span.startS, frames: span.count, ok: true };
      if (res.code !== 0 || err) {
        rc.ok = false;
        problems.push(`${a.id} does not decode: ${err}`);
      }
      // AAC comes in 1024-sample frames, plus the encoder's priming frame: allow two frames
      if (Math.abs(rc.durationS - packaged.durationS) > 2048 / (a.sampleRate ?? 48000) + 0.001) {
        rc.ok = false;
        problems.push(`${a.id} lasts ${rc.durationS.toFixed(3)} s, video ${packaged.durationS.toFixed(3)} s`);
      }
      renditions.push(rc);
      tick();
    };
    const inPool = <T>(fn: () => Promise<T>) => (input.pool ? input.pool.run(fn) : fn());
    await Promise.all([inPool(runVideo), ...packaged.audio.map((a) => inPool(() => runAudio(a)))]);
    for (const s of packaged.subtitles) {
      const parsed = parseSubtitles(await readFile(join(input.outDir, s.vttPath), "utf8"), "vtt", packaged.durationS);
      const ok = parsed.problems.length === 0;
      if (!ok) problems.push(`${s.vttPath}: ${parsed.problems.join("; ")}`);
      renditions.push({ id: s.id, kind: "subtitle", durationS: packaged.durationS, ok });
    }
    tick();
  } finally {
    forget();
    await rm(tmp, { recursive: true, force: true });
  }
  return { ok: problems.length === 0, problems, renditions, hls, dash, elapsedS: (Date.now() - t0) / 1000 };
}
