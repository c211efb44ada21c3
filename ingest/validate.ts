/**
 * Stage 1: validation. The container and streams are probed, then the whole source is decoded
 * once (video and its audio, single ffmpeg process) while we
 *   - count decoder and demuxer errors,
 *   - follow every decoded video frame's timestamp (missing frames = a jump of more than 1.5
 *     frame durations, duplicated frames = no progress),
 *   - let `freezedetect` and `blackdetect` report frozen and black stretches longer than the
 *     thresholds,
 *   - measure where video and each audio track really start and end.
 * Extra audio files are decoded the same way; subtitles are parsed. Every problem found becomes
 * a reason; one reason rejects the source.
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { iso639_2, normaliseLanguage } from "./audio";
import { ffmpegPath } from "./ffmpeg-path";
import { run } from "./exec";
import type { Pool } from "./pool";
import {
  type InterlacedFieldOrder,
  interlacedFieldOrder,
  type ProbedStream,
  ProbeError,
  probeSource,
  scanVideoPackets,
  type Rational,
  type SourceProbe,
  topFieldFirst,
} from "./probe";
import { parseSubtitles } from "./vtt";

export interface ValidationThresholds {
  /** longest frozen stretch allowed (s) */
  maxFreezeS: number;
  /** longest black stretch allowed (s) */
  maxBlackS: number;
  /** largest difference allowed between where video and an audio track start or end (s) */
  maxAvDiffS: number;
  /** frame difference below which freezedetect calls two frames identical (dB) */
  freezeNoiseDb: number;
  /** share of dark pixels for blackdetect to call a picture black */
  blackPictureRatio: number;
  minWidth: number;
  minHeight: number;
  minDurationS: number;
}

export const DEFAULT_THRESHOLDS: ValidationThresholds = {
  maxFreezeS: 8,
  maxBlackS: 4,
  maxAvDiffS: 0.5,
  freezeNoiseDb: -60,
  blackPictureRatio: 0.98,
  minWidth: 64,
  minHeight: 36,
  minDurationS: 1,
};

export type ReasonCode =
  | "unreadable"
  | "no_video"
  | "no_audio"
  | "too_small"
  | "too_short"
  | "unsupported_frame_rate"
  | "hdr"
  | "truncated"
  | "container_errors"
  | "decode_errors"
  | "frame_gaps"
  | "duplicate_frames"
  | "frozen"
  | "black"
  | "av_duration_mismatch"
  | "audio_unreadable"
  | "audio_ambiguous"
  | "subtitles_invalid"
  | "duplicate_language";

export interface Reason {
  code: ReasonCode;
  message: string;
  details?: Record<string, unknown>;
}

export interface VideoFacts {
  streamIndex: number;
  codec: string;
  width: number;
  height: number;
  /** width after the sample aspect ratio (what the picture should be shown at) */
  displayWidth: number;
  fps: Rational;
  /** frames decoded */
  frameCount: number;
  /** frameCount / fps */
  durationS: number;
  /** indices of keyframes (in presentation order), from the packet scan */
  keyframes: number[];
  /** where the video starts, relative to the container start (s) */
  startS: number;
  /** the field order when the video is interlaced (it is then deinterlaced wherever it is decoded), else null */
  interlaced: InterlacedFieldOrder | null;
}

export interface AudioFacts {
  language: string;
  path: string;
  /** absolute stream index in `path` */
  streamIndex: number;
  codec: string;
  sampleRate: number;
  channels: number;
  /** start relative to the video start (main source) or to the file start (extra file) */
  startS: number;
  durationS: number;
}

export interface SubtitleFacts {
  language: string;
  path: string;
  cues: number;
}

export interface Stretch {
  startS: number;
  endS: number;
  durationS: number;
}

export interface ValidationReport {
  ok: boolean;
  source: string;
  reasons: Reason[];
  warnings: string[];
  thresholds: ValidationThresholds;
  container?: { format: string; durationS: number | null; bytes: number | null };
  video?: VideoFacts;
  audio: AudioFacts[];
  subtitles: SubtitleFacts[];
  decode?: {
    videoFrames: number;
    declaredFrames: number | null;
    decodeErrors: number;
    containerErrors: number;
    missingFrames: number;
    duplicatedFrames: number;
    frozen: Stretch[];
    black: Stretch[];
  };
  elapsedS: number;
}

export interface ValidateInput {
  source: string;
  /** language of the source's own (first) audio stream */
  sourceLanguage: string;
  audio: Array<{ language: string; path: string }>;
  subtitles: Array<{ language: string; path: string }>;
  thresholds?: Partial<ValidationThresholds>;
  pool?: Pool;
  onProgress?: (fraction: number) => void;
}

interface StreamTrack {
  type: "video" | "audio";
  tb: Rational;
  frames: number;
  firstPts: number | null;
  end: number | null;
  lastPts: number | null;
  /** the first 20 gaps (gapCount counts them all) */
  gaps: Array<{ atS: number; missing: number }>;
  gapCount: number;
  dups: Array<{ atS: number }>;
  missing: number;
  duplicated: number;
}

interface DecodeResult {
  tracks: StreamTrack[];
  decodeErrors: number;
  containerErrors: number;
  errorSamples: Map<string, number>;
  containerErrorSamples: Map<string, number>;
  frozen: Stretch[];
  black: Stretch[];
}

const fmtS = (s: number) => `${s.toFixed(2)} s`;

/** ISO 639-2/B codes (as Matroska files often tag) of the languages whose /T code differs; a Map, as the tag comes from the file. */
const ISO639_2B = new Map(Object.entries({ ger: "deu", fre: "fra", dut: "nld", chi: "zho", cze: "ces", gre: "ell", rum: "ron" }));

/** Whether an audio stream's language tag names `language` (a normalised BCP 47 tag); false when untagged. */
function taggedAs(stream: ProbedStream, language: string): boolean {
  if (!stream.language) return false;
  const tag = stream.language.toLowerCase();
  const want = iso639_2(language);
  if (want !== "und" && (ISO639_2B.get(tag) ?? tag) === want) return true;
  try {
    return normaliseLanguage(stream.language).split("-")[0] === language.split("-")[0];
  } catch {
    return false;
  }
}

/**
 * The audio stream of a file that is `language`: the only one, or the first tagged with it. A file of
 * several languages (a multi-language master) with none tagged so gives null: taking the first would
 * publish another language under this one's name.
 */
function audioStreamFor(streams: ProbedStream[], language: string): ProbedStream | null {
  if (streams.length <= 1) return streams[0] ?? null;
  return streams.find((s) => taggedAs(s, language)) ?? null;
}

const streamList = (streams: ProbedStream[]) => streams.map((s) => `#${s.index} ${s.language ?? "untagged"}`).join(", ");

/**
 * Decodes the whole file once. Output stream 0 is the video (when `videoFps` is given), then the
 * mapped audio streams. framecrc gives every decoded frame's timestamp without writing pictures.
 */
async function decodePass(
  path: string,
  opts: {
    videoFps: Rational | null;
    /** the video stream to decode (`0:N`), with `videoFps` */
    videoMap?: string;
    audioMap: string | null;
    thresholds: ValidationThresholds;
    durationHintS: number | null;
    onProgress?: (f: number) => void;
  },
): Promise<DecodeResult> {
  const t = opts.thresholds;
  const args = ["-nostdin", "-hide_banner", "-loglevel", "level+info", "-i", path];
  if (opts.videoFps) {
    // by index: `0:v:0` would be cover art (an attached picture) that a file lists before its video
    args.push("-map", opts.videoMap ?? "0:v:0");
    // freezedetect/blackdetect only report stretches at least d seconds long
    args.push(
      "-vf",
      `freezedetect=n=${t.freezeNoiseDb}dB:d=${Math.max(0.1, t.maxFreezeS)},blackdetect=d=${Math.max(0.1, t.maxBlackS)}:pic_th=${t.blackPictureRatio}`,
    );
  }
  if (opts.audioMap) args.push("-map", opts.audioMap);
  args.push("-vsync", "passthrough", "-f", "framecrc", "-");

  const tracks: StreamTrack[] = [];
  const tbs = new Map<number, Rational>();
  const types = new Map<number, string>();
  const frameDur = new Map<number, number>(); // expected video frame duration in tb units
  let decodeErrors = 0;
  let containerErrors = 0;
  const errorSamples = new Map<string, number>();
  const containerErrorSamples = new Map<string, number>();
  const frozen: Stretch[] = [];
  const black: Stretch[] = [];
  let freezeStart: number | null = null;
  let lastProgress = 0;

  const track = (i: number): StreamTrack => {
    if (!tracks[i]) {
      const type = types.get(i) === "audio" ? "audio" : "video";
      tracks[i] = {
        type,
        tb: tbs.get(i) ?? { num: 1, den: 1000 },
        frames: 0,
        firstPts: null,
        end: null,
        lastPts: null,
        gaps: [],
        gapCount: 0,
        dups: [],
        missing: 0,
        duplicated: 0,
      };
      if (type === "video" && opts.videoFps) {
        const tb = tracks[i].tb;
        frameDur.set(i, (tb.den * opts.videoFps.den) / (tb.num * opts.videoFps.num));
      }
    }
    return tracks[i];
  };

  const onStdoutLine = (line: string) => {
    if (line.startsWith("#")) {
      const tb = /^#tb (\d+): (\d+)\/(\d+)/.exec(line);
      if (tb) tbs.set(Number(tb[1]), { num: Number(tb[2]), den: Number(tb[3]) });
      const mt = /^#media_type (\d+): (\w+)/.exec(line);
      if (mt) types.set(Number(mt[1]), mt[2]);
      return;
    }
    const parts = line.split(",").map((p) => p.trim());
    if (parts.length < 5) return;
    const idx = Number(parts[0]);
    const pts = Number(parts[2]);
    const dur = Number(parts[3]);
    if (!Number.isFinite(idx) || !Number.isFinite(pts)) return;
    const tr = track(idx);
    const toS = (v: number) => (v * tr.tb.num) / tr.tb.den;
    if (tr.type === "video") {
      const d = frameDur.get(idx) ?? (dur || 1);
      if (tr.lastPts !== null) {
        const delta = pts - tr.lastPts;
        if (delta > 1.5 * d) {
          const missing = Math.round(delta / d) - 1;
          tr.missing += missing;
          tr.gapCount++;
          if (tr.gaps.length < 20) tr.gaps.push({ atS: toS(tr.lastPts + d), missing });
        } else if (delta < 0.5 * d) {
          tr.duplicated++;
          if (tr.dups.length < 20) tr.dups.push({ atS: toS(pts) });
        }
      }
      tr.lastPts = pts;
      tr.end = Math.max(tr.end ?? -Infinity, pts + (dur > 0 ? dur : d));
      if (opts.onProgress && opts.durationHintS) {
        const f = Math.min(1, toS(pts) / opts.durationHintS);
        if (f - lastProgress >= 0.01) {
          lastProgress = f;
          opts.onProgress(f);
        }
      }
    } else {
      tr.end = Math.max(tr.end ?? -Infinity, pts + Math.max(0, dur));
      if (!opts.videoFps && opts.onProgress && opts.durationHintS) {
        const f = Math.min(1, toS(pts) / opts.durationHintS);
        if (f - lastProgress >= 0.01) {
          lastProgress = f;
          opts.onProgress(f);
        }
      }
    }
    tr.frames++;
    if (tr.firstPts === null || pts < tr.firstPts) tr.firstPts = pts;
  };

  const onStderrLine = (line: string) => {
    if (/^Fontconfig/.test(line)) return;
    const fz = /lavfi\.freezedetect\.freeze_(start|end): ([\d.]+)/.exec(line);
    if (fz) {
      if (fz[1] === "start") freezeStart = Number(fz[2]);
      else if (freezeStart !== null) {
        frozen.push({ startS: freezeStart, endS: Number(fz[2]), durationS: Number(fz[2]) - freezeStart });
        freezeStart = null;
      }
      return;
    }
    const bd = /black_start:\s*([\d.]+)\s+black_end:\s*([\d.]+)/.exec(line);
    if (bd) {
      black.push({ startS: Number(bd[1]), endS: Number(bd[2]), durationS: Number(bd[2]) - Number(bd[1]) });
      return;
    }
    if (!/\[(error|fatal|panic)\]/.test(line)) return;
    const msg = line
      .replace(/ @ 0x[0-9a-f]+/, "")
      .replace(/offset 0x[0-9a-f]+/, "offset …")
      .trim();
    let samples = errorSamples;
    if (/partial file|Invalid data found when processing input|corrupt input packet|moov atom|truncat/i.test(line) && !/Error while decoding/.test(line)) {
      containerErrors++;
      samples = containerErrorSamples;
    } else decodeErrors++;
    if (samples.size < 8 || samples.has(msg)) samples.set(msg, (samples.get(msg) ?? 0) + 1);
  };

  const res = await run(ffmpegPath, args, { timeoutMs: 6 * 3600_000, onStdoutLine, onStderrLine });
  if (res.code !== 0 && tracks.length === 0) {
    throw new ProbeError(
      res.stderr
        .split("\n")
        .filter((l) => /\[(error|fatal)\]/.test(l))
        .slice(-3)
        .join("; ") || `ffmpeg exit ${res.code}`,
    );
  }
  if (freezeStart !== null && tracks[0]?.type === "video" && tracks[0].end !== null) {
    // frozen until the end of the video
    const endS = (tracks[0].end * tracks[0].tb.num) / tracks[0].tb.den;
    frozen.push({ startS: freezeStart, endS, durationS: endS - freezeStart });
  }
  return { tracks, decodeErrors, containerErrors, errorSamples, containerErrorSamples, frozen, black };
}

const toSeconds = (tr: StreamTrack, v: number | null) => (v === null ? 0 : (v * tr.tb.num) / tr.tb.den);

function errorDetails(d: DecodeResult, which: "decode" | "container" | "all" = "decode"): string {
  const entries =
    which === "decode" ? [...d.errorSamples] : which === "container" ? [...d.containerErrorSamples] : [...d.errorSamples, ...d.containerErrorSamples];
  return entries
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([m, n]) => `${n}× ${m.replace(/^\[[^\]]*\]\s*/, "").replace(/^\[(error|fatal)\]\s*/, "")}`)
    .join("; ");
}

/** Runs every check; returns a report with all reasons (never throws for a broken source). */
export async function validateSource(input: ValidateInput): Promise<ValidationReport> {
  const t0 = Date.now();
  const thresholds: ValidationThresholds = { ...DEFAULT_THRESHOLDS, ...input.thresholds };
  const reasons: Reason[] = [];
  const warnings: string[] = [];
  const report: ValidationReport = { ok: false, source: input.source, reasons, warnings, thresholds, audio: [], subtitles: [], elapsedS: 0 };
  const inPool = <T>(fn: () => Promise<T>) => (input.pool ? input.pool.run(fn) : fn());
  const finish = () => {
    report.ok = reasons.length === 0;
    report.elapsedS = (Date.now() - t0) / 1000;
    return report;
  };

  // --- container and streams
  let probe: SourceProbe;
  try {
    probe = await probeSource(input.source);
  } catch (err) {
    const why = err instanceof ProbeError ? err.message : String(err);
    reasons.push({
      code: "unreadable",
      message: `the container cannot be read: ${why}${/moov atom not found|End of file|Invalid data/i.test(why) ? " (truncated or incomplete file?)" : ""}`,
    });
    return finish();
  }
  report.container = { format: probe.formatName, durationS: probe.durationS, bytes: probe.sizeBytes };
  const v = probe.video;
  if (!v?.width || !v.height) {
    reasons.push({ code: "no_video", message: "no video stream" });
    return finish();
  }
  if (v.width < thresholds.minWidth || v.height < thresholds.minHeight) {
    reasons.push({ code: "too_small", message: `picture ${v.width}x${v.height} is below the minimum ${thresholds.minWidth}x${thresholds.minHeight}` });
  }
  const fps = v.frameRate ?? v.avgFrameRate;
  const fpsValue = fps ? fps.num / fps.den : 0;
  if (!fps || fpsValue < 10 || fpsValue > 120) {
    reasons.push({ code: "unsupported_frame_rate", message: `frame rate ${fps ? `${fps.num}/${fps.den}` : "unknown"} is outside 10-120 fps` });
  }
  // The ladder is 8-bit SDR, made without tone mapping: PQ or HLG pictures would play washed out and dim.
  const hdr = v.colorTransfer === "smpte2084" ? "PQ (SMPTE 2084)" : v.colorTransfer === "arib-std-b67" ? "HLG (ARIB STD-B67)" : null;
  if (hdr) reasons.push({ code: "hdr", message: `video is HDR (${hdr} transfer); only SDR (BT.709) is encoded: give an SDR master or grade` });
  const interlaced = interlacedFieldOrder(v.fieldOrder);
  if (interlaced)
    warnings.push(
      `video is interlaced (${interlaced}: ${topFieldFirst(interlaced) ? "top" : "bottom"} field first); ` +
        `it is deinterlaced (bwdif) to one progressive frame per frame before it is encoded`,
    );
  // the source's own track: the one tagged with its language when it has several (else the first, as before)
  const mainAudio = audioStreamFor(probe.audio, input.sourceLanguage) ?? probe.audio[0];
  if (!mainAudio && input.audio.length === 0) reasons.push({ code: "no_audio", message: "no audio stream in the source and no --audio file given" });
  if (probe.audio.length > 1) {
    const fromSource = new Set([
      mainAudio.index,
      ...input.audio.filter((a) => a.path === input.source).map((a) => audioStreamFor(probe.audio, a.language)?.index),
    ]);
    const unused = probe.audio.filter((s) => !fromSource.has(s.index));
    if (unused.length)
      warnings.push(
        `the source has ${probe.audio.length} audio streams; ${streamList(unused)} not used (add one with --audio LANG=${input.source}, which takes the stream tagged LANG)`,
      );
  }
  const langs = [...(mainAudio ? [input.sourceLanguage] : []), ...input.audio.map((a) => a.language)];
  const dupLang = langs.find((l, i) => langs.indexOf(l) !== i);
  if (dupLang) reasons.push({ code: "duplicate_language", message: `audio language "${dupLang}" is given twice` });
  const subLangs = input.subtitles.map((s) => s.language);
  const dupSub = subLangs.find((l, i) => subLangs.indexOf(l) !== i);
  if (dupSub) reasons.push({ code: "duplicate_language", message: `subtitle language "${dupSub}" is given twice` });
  if (!fps || fpsValue < 10 || fpsValue > 120) return finish();

  // --- packet scan (keyframes) and the one decode of the whole source
  const declaredS = v.durationS ?? probe.durationS;
  const [packets, decoded] = await Promise.all([
    inPool(() => scanVideoPackets(input.source, v.index, probe.startS)).catch(() => null),
    inPool(() =>
      decodePass(input.source, {
        videoFps: fps,
        videoMap: `0:${v.index}`,
        audioMap: mainAudio ? `0:${mainAudio.index}` : null,
        thresholds,
        durationHintS: declaredS,
        onProgress: input.onProgress,
      }),
    ).catch((err: Error) => err),
  ]);
  if (decoded instanceof Error) {
    reasons.push({ code: "unreadable", message: `the source cannot be decoded: ${decoded.message}` });
    return finish();
  }
  const vt = decoded.tracks[0];
  if (vt?.type !== "video" || vt.frames === 0) {
    reasons.push({ code: "unreadable", message: "no video frame could be decoded" });
    return finish();
  }
  const frameCount = vt.frames;
  const durationS = (frameCount * fps.den) / fps.num;
  const videoStartS = toSeconds(vt, vt.firstPts);
  const videoEndS = toSeconds(vt, vt.end);
  report.decode = {
    videoFrames: frameCount,
    declaredFrames: v.declaredFrames,
    decodeErrors: decoded.decodeErrors,
    containerErrors: decoded.containerErrors,
    missingFrames: vt.missing,
    duplicatedFrames: vt.duplicated,
    frozen: decoded.frozen,
    black: decoded.black,
  };
  // keyframe indices: packet order == frame order when no frame is missing
  const keyframes = packets && packets.pts.length === frameCount ? packets.keyframes : [0];
  if (packets && packets.pts.length !== frameCount) warnings.push(`container has ${packets.pts.length} video packets but ${frameCount} frames decoded`);
  report.video = {
    streamIndex: v.index,
    codec: v.codecName,
    width: v.width,
    height: v.height,
    displayWidth: v.displayWidth ?? v.width,
    fps,
    frameCount,
    durationS,
    keyframes,
    startS: videoStartS,
    interlaced,
  };

  if (durationS < thresholds.minDurationS)
    reasons.push({ code: "too_short", message: `only ${fmtS(durationS)} of video (minimum ${fmtS(thresholds.minDurationS)})` });

  // truncation: the decode ends well before what the container declares
  const expectedFrames = v.declaredFrames ?? (declaredS ? Math.round(declaredS * fpsValue) : null);
  const shortBy = declaredS !== null ? declaredS - videoEndS : 0;
  if (declaredS !== null && shortBy > Math.max(2 / fpsValue, 0.1)) {
    reasons.push({
      code: "truncated",
      message:
        `the file ends after ${fmtS(videoEndS)} of the ${fmtS(declaredS)} its container declares` +
        (expectedFrames ? ` (${frameCount} of ${expectedFrames} video frames decoded)` : "") +
        (decoded.containerErrors ? `; the demuxer reported ${decoded.containerErrors} read error(s)` : ""),
      details: { decodedEndS: videoEndS, declaredS, frames: frameCount, declaredFrames: expectedFrames },
    });
  } else if (decoded.containerErrors) {
    reasons.push({ code: "container_errors", message: `${decoded.containerErrors} demuxer error(s) while reading: ${errorDetails(decoded, "container")}` });
  }
  if (decoded.decodeErrors) {
    reasons.push({
      code: "decode_errors",
      message: `${decoded.decodeErrors} decode error(s): ${errorDetails(decoded)}`,
      details: { count: decoded.decodeErrors, samples: Object.fromEntries(decoded.errorSamples) },
    });
  }
  if (vt.missing) {
    const where = vt.gaps
      .slice(0, 5)
      .map((g) => `${g.missing} at ${fmtS(g.atS)}`)
      .join(", ");
    // Many one- or two-frame gaps are a variable-frame-rate recording (a phone slowing down in low light), not lost frames.
    const vfr = vt.gaps.length >= 5 && vt.gaps.every((g) => g.missing <= 2);
    const nominal = Number((fps.num / fps.den).toFixed(3));
    reasons.push({
      code: "frame_gaps",
      message:
        `${vt.missing} frame(s) missing in ${vt.gapCount} timestamp gap(s) at ${fps.num}/${fps.den} fps: ${where}${vt.gapCount > 5 ? ", …" : ""}` +
        (vfr
          ? `; this looks like a variable frame rate (e.g. a phone recording): make it constant first, e.g. ffmpeg -i SOURCE -vf fps=${nominal} -c:a copy OUT.mp4`
          : ""),
      details: { missing: vt.missing, gaps: vt.gaps },
    });
  }
  if (vt.duplicated) {
    reasons.push({
      code: "duplicate_frames",
      message: `${vt.duplicated} frame(s) with a repeated or backward timestamp, first at ${vt.dups
        .map((d) => fmtS(d.atS))
        .slice(0, 3)
        .join(", ")}`,
      details: { duplicated: vt.duplicated, at: vt.dups },
    });
  }
  // a black stretch is also a frozen one: report it once, as black
  const overlapsBlack = (f: Stretch) => decoded.black.some((b) => Math.min(f.endS, b.endS) - Math.max(f.startS, b.startS) > 0.8 * f.durationS);
  const longFreezes = decoded.frozen.filter((f) => f.durationS > thresholds.maxFreezeS && !overlapsBlack(f));
  if (longFreezes.length) {
    reasons.push({
      code: "frozen",
      message: `frozen picture for ${longFreezes.map((f) => `${fmtS(f.durationS)} from ${fmtS(f.startS)}`).join(", ")} (limit ${fmtS(thresholds.maxFreezeS)})`,
      details: { stretches: longFreezes },
    });
  }
  const longBlacks = decoded.black.filter((b) => b.durationS > thresholds.maxBlackS);
  if (longBlacks.length) {
    reasons.push({
      code: "black",
      message: `black picture for ${longBlacks.map((b) => `${fmtS(b.durationS)} from ${fmtS(b.startS)}`).join(", ")} (limit ${fmtS(thresholds.maxBlackS)})`,
      details: { stretches: longBlacks },
    });
  }

  // --- audio: the source's own track, then each extra file
  // compare with the span the video's timestamps cover (missing frames are reported on their own)
  const videoSpanS = videoEndS - videoStartS;
  const checkAudio = (a: AudioFacts, where: string) => {
    const startDiff = a.startS;
    const endDiff = a.startS + a.durationS - videoSpanS;
    if (Math.abs(startDiff) > thresholds.maxAvDiffS || Math.abs(endDiff) > thresholds.maxAvDiffS) {
      reasons.push({
        code: "av_duration_mismatch",
        message:
          `audio "${a.language}"${where} runs ${fmtS(a.startS)}–${fmtS(a.startS + a.durationS)} (${fmtS(a.durationS)}) but the video lasts ${fmtS(videoSpanS)}` +
          ` (differs by ${fmtS(Math.max(Math.abs(startDiff), Math.abs(endDiff)))} > ${fmtS(thresholds.maxAvDiffS)})`,
        details: { language: a.language, audioStartS: a.startS, audioDurationS: a.durationS, videoDurationS: videoSpanS },
      });
    }
  };
  if (mainAudio) {
    const at = decoded.tracks[1];
    if (!at || at.frames === 0) {
      reasons.push({ code: "audio_unreadable", message: `audio stream #${mainAudio.index} of the source decodes to nothing` });
    } else {
      const a: AudioFacts = {
        language: input.sourceLanguage,
        path: input.source,
        streamIndex: mainAudio.index,
        codec: mainAudio.codecName,
        sampleRate: mainAudio.sampleRate ?? 48000,
        channels: mainAudio.channels ?? 2,
        startS: toSeconds(at, at.firstPts) - videoStartS,
        durationS: toSeconds(at, at.end) - toSeconds(at, at.firstPts),
      };
      report.audio.push(a);
      checkAudio(a, "");
    }
  }
  for (const extra of input.audio) {
    let p: SourceProbe;
    try {
      p = await probeSource(extra.path);
    } catch (err) {
      reasons.push({ code: "audio_unreadable", message: `audio "${extra.language}" (${extra.path}) cannot be read: ${(err as Error).message}` });
      continue;
    }
    const s = audioStreamFor(p.audio, extra.language);
    if (!s) {
      if (p.audio.length) {
        reasons.push({
          code: "audio_ambiguous",
          message: `audio "${extra.language}" (${extra.path}) has ${p.audio.length} audio streams (${streamList(p.audio)}) and none is tagged "${extra.language}": tag it, or give a file of that track alone`,
        });
      } else reasons.push({ code: "audio_unreadable", message: `audio "${extra.language}" (${extra.path}) has no audio stream` });
      continue;
    }
    const d = await inPool(() =>
      decodePass(extra.path, { videoFps: null, audioMap: `0:${s.index}`, thresholds, durationHintS: s.durationS ?? p.durationS }),
    ).catch((err: Error) => err);
    if (d instanceof Error || !d.tracks[0] || d.tracks[0].frames === 0) {
      reasons.push({
        code: "audio_unreadable",
        message: `audio "${extra.language}" (${extra.path}) does not decode${d instanceof Error ? `: ${d.message}` : ""}`,
      });
      continue;
    }
    const at = d.tracks[0];
    if (d.decodeErrors || d.containerErrors) {
      reasons.push({
        code: "decode_errors",
        message: `audio "${extra.language}" (${extra.path}): ${d.decodeErrors + d.containerErrors} error(s): ${errorDetails(d, "all")}`,
      });
    }
    const a: AudioFacts = {
      language: extra.language,
      path: extra.path,
      streamIndex: s.index,
      codec: s.codecName,
      sampleRate: s.sampleRate ?? 48000,
      channels: s.channels ?? 2,
      startS: 0,
      durationS: toSeconds(at, at.end) - toSeconds(at, at.firstPts),
    };
    const declared = s.durationS ?? p.durationS;
    if (declared !== null && declared - a.durationS > 0.25) {
      reasons.push({
        code: "truncated",
        message: `audio "${extra.language}" (${extra.path}) ends after ${fmtS(a.durationS)} of the ${fmtS(declared)} its container declares`,
      });
    }
    report.audio.push(a);
    checkAudio(a, ` (${extra.path})`);
  }

  // --- subtitles
  for (const sub of input.subtitles) {
    let bytes: Buffer;
    try {
      bytes = await readFile(sub.path);
    } catch (err) {
      reasons.push({
        code: "subtitles_invalid",
        message: `subtitles "${sub.language}" (${sub.path}) cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`,
      });
      continue;
    }
    // WebVTT is UTF-8: read as UTF-8, a Latin-1 or UTF-16 file's accented letters would be published as U+FFFD
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
      reasons.push({
        code: "subtitles_invalid",
        message: `subtitles "${sub.language}" (${sub.path}) are not UTF-8 text (${utf16 ? "UTF-16" : "Latin-1 / Windows-1252?"}): save them as UTF-8`,
      });
      continue;
    }
    const kind = extname(sub.path).toLowerCase() === ".srt" ? "srt" : "vtt";
    const parsed = parseSubtitles(text, kind, durationS);
    if (parsed.problems.length) {
      reasons.push({ code: "subtitles_invalid", message: `subtitles "${sub.language}" (${sub.path}): ${parsed.problems.slice(0, 5).join("; ")}` });
    }
    report.subtitles.push({ language: sub.language, path: sub.path, cues: parsed.cues.length });
  }
  input.onProgress?.(1);
  return finish();
}

/** A human report: one line per reason, or a one-line OK with the facts. */
export function formatValidationReport(r: ValidationReport): string {
  const lines: string[] = [];
  if (r.ok) {
    const v = r.video!;
    lines.push(
      `OK ${r.source}: ${v.codec} ${v.width}x${v.height} ${(v.fps.num / v.fps.den).toFixed(3)} fps, ${v.frameCount} frames (${v.durationS.toFixed(3)} s), ` +
        `${v.keyframes.length} keyframes; audio ${r.audio.map((a) => `${a.language} ${a.durationS.toFixed(2)} s`).join(", ") || "none"}; ` +
        `subtitles ${r.subtitles.map((s) => `${s.language} (${s.cues} cues)`).join(", ") || "none"}`,
    );
  } else {
    lines.push(`REJECTED ${r.source}: ${r.reasons.length} problem(s)`);
    for (const reason of r.reasons) lines.push(`  - [${reason.code}] ${reason.message}`);
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join("\n");
}
