/**
 * Stage 2a: the per-title ladder.
 *
 * A quick complexity probe encodes a few short samples of the source at constant quality
 * (x264 CRF 23, veryfast, at 360p or the source height if smaller) and measures how many bits per
 * pixel that quality costs. Content that is cheap to code at constant quality (flat animation,
 * slides, test cards) needs fewer bits for the same quality at every rung than noisy or fast
 * content, so every rung's bitrate is the reference bitrate for its resolution times a factor of
 * the title's complexity c (its bits per pixel over the reference's): c^0.75 (busy pictures mask
 * coding artefacts, so the need grows a little slower than the bits), clamped to [0.2, 2.5].
 * VP9 and AV1 rungs get the same resolutions at 70% and 55% of the H.264 bitrate.
 */
import { ffmpegPath } from "./ffmpeg-path";
import { runChecked } from "./exec";
import type { Pool } from "./pool";
import { deinterlaceFilter } from "./probe";
import type { VideoFacts } from "./validate";

export type VideoCodec = "h264" | "vp9" | "av1";
export const VIDEO_CODECS: readonly VideoCodec[] = ["h264", "vp9", "av1"];
/** codec id used in rendition ids and paths: video/{id}-{height}p/ */
export const CODEC_PATH_ID: Record<VideoCodec, string> = { h264: "avc", vp9: "vp9", av1: "av1" };
/** bitrate relative to H.264 at the same quality */
export const CODEC_EFFICIENCY: Record<VideoCodec, number> = { h264: 1, vp9: 0.7, av1: 0.55 };

export interface Rung {
  /** e.g. "avc-720p" */
  id: string;
  codec: VideoCodec;
  width: number;
  height: number;
  /** target bitrate, bits/s */
  bitrate: number;
}

export interface ComplexitySample {
  startS: number;
  frames: number;
  bytes: number;
  /** bits per pixel per frame at the probe's constant quality */
  bpp: number;
}

export interface ComplexityProbe {
  encoder: string;
  crf: number;
  width: number;
  height: number;
  samples: ComplexitySample[];
  /** bits per pixel over all samples */
  bpp: number;
  /** bpp of typical content at the probe resolution */
  referenceBpp: number;
  /** bpp / referenceBpp */
  complexity: number;
  elapsedS: number;
}

/** Standard rung heights; a source gets those not above its own height. */
export const STANDARD_HEIGHTS = [240, 360, 480, 720, 1080, 1440, 2160];

/**
 * Bits per pixel per frame that typical content needs for good quality with H.264 at a picture
 * of `pixels`: 0.104 at 720p (2.4 Mb/s at 25 fps), more for small pictures (less spatial
 * redundancy), less for large ones.
 */
export function referenceBitsPerPixel(pixels: number): number {
  return 0.104 * (pixels / (1280 * 720)) ** -0.25;
}

/** Bits per pixel of the CRF-23 probe for typical content, by probe picture size (calibrated on the demo sources). */
export function referenceProbeBitsPerPixel(pixels: number): number {
  return PROBE_REF_BPP_360P * (pixels / (640 * 360)) ** -0.25;
}
const PROBE_REF_BPP_360P = 0.06;

export const PROBE_CRF = 23;
export const PROBE_HEIGHT = 360;

const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));
/** The even size at or below `n`: a rung at a source's odd size (321x239) is not rounded up past it (an upscale). */
const evenAtMost = (n: number) => Math.max(2, 2 * Math.floor(n / 2));

/** A rung's picture size at `height`, the source's shape, never larger than the source (see evenAtMost). */
export function rungSize(video: Pick<VideoFacts, "width" | "height" | "displayWidth">, height: number): { width: number; height: number } {
  const displayWidth = video.displayWidth || video.width;
  const aspect = displayWidth / video.height;
  return { width: Math.min(even(height * aspect), evenAtMost(displayWidth)), height: Math.min(even(height), evenAtMost(video.height)) };
}

/** Where the probe's samples start: `n` windows of `seconds`, spread evenly over the title. */
export function sampleStarts(durationS: number, n: number, seconds: number): number[] {
  const count = Math.max(1, Math.min(n, Math.floor(durationS / seconds)));
  const len = Math.min(seconds, durationS);
  return Array.from({ length: count }, (_, k) => Math.max(0, Math.min(durationS - len, ((k + 0.5) * durationS) / count - len / 2)));
}

export async function probeComplexity(
  source: string,
  video: VideoFacts,
  opts: { pool?: Pool; samples?: number; sampleSeconds?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<ComplexityProbe> {
  const t0 = Date.now();
  const fps = video.fps.num / video.fps.den;
  const size = rungSize(video, Math.min(PROBE_HEIGHT, video.height));
  const seconds = opts.sampleSeconds ?? 2;
  const starts = sampleStarts(video.durationS, opts.samples ?? 3, seconds);
  const frames = Math.max(1, Math.min(Math.round(seconds * fps), video.frameCount));
  // the ladder is sized for the pictures the encode makes: combing would cost bits the rungs never spend
  const deint = deinterlaceFilter(video.interlaced);
  let done = 0;
  const encodeSample = async (startS: number): Promise<ComplexitySample> => {
    const ss = video.startS + startS;
    const res = await runChecked(
      ffmpegPath,
      [
        "-nostdin",
        "-hide_banner",
        "-v",
        "error",
        "-threads",
        "1",
        ...(ss > 0 ? ["-ss", ss.toFixed(6)] : []),
        "-i",
        source,
        "-map",
        `0:${video.streamIndex}`,
        "-frames:v",
        String(frames),
        "-vf",
        `${deint ? `${deint},` : ""}scale=${size.width}:${size.height}:flags=bicubic,format=yuv420p`,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        String(PROBE_CRF),
        "-threads",
        "1",
        "-f",
        "h264",
        "pipe:1",
      ],
      "complexity probe",
      { timeoutMs: 600_000, binaryStdout: true },
    );
    const bytes = res.stdoutBytes ?? 0;
    opts.onProgress?.(++done, starts.length);
    return { startS, frames, bytes, bpp: (bytes * 8) / (size.width * size.height * frames) };
  };
  const samples = opts.pool ? await opts.pool.map(starts, encodeSample) : await Promise.all(starts.map(encodeSample));
  const totalBits = samples.reduce((n, s) => n + s.bytes * 8, 0);
  const totalPixels = samples.reduce((n, s) => n + s.frames * size.width * size.height, 0);
  const bpp = totalBits / totalPixels;
  const referenceBpp = referenceProbeBitsPerPixel(size.width * size.height);
  return {
    encoder: "libx264 veryfast",
    crf: PROBE_CRF,
    width: size.width,
    height: size.height,
    samples,
    bpp,
    referenceBpp,
    complexity: bpp / referenceBpp,
    elapsedS: (Date.now() - t0) / 1000,
  };
}

export interface LadderChoice {
  ladder: Rung[];
  /** complexity used for the bitrates (clamped) */
  factor: number;
  reason: string;
}

export const MIN_FACTOR = 0.2;
export const MAX_FACTOR = 2.5;
export const COMPLEXITY_EXPONENT = 0.75;

/** The bitrate factor of a title of complexity c: c^0.75, clamped to [0.2, 2.5]. */
export function bitrateFactor(complexity: number): number {
  return Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, complexity ** COMPLEXITY_EXPONENT));
}

function roundBitrate(b: number): number {
  const step = b >= 1_000_000 ? 50_000 : 10_000;
  return Math.max(30_000, Math.round(b / step) * step);
}

/**
 * Heights of the ladder: the wanted ones (rounded to even, as rungSize makes them) up to the source's,
 * else the standard ones up to the source's, or the source and its half when it is smaller than all.
 */
export function ladderHeights(sourceHeight: number, wanted?: number[]): number[] {
  if (wanted?.length) {
    // Deduplicated after rounding: 241 and 242 are both a 242p rung, and two would write the same files.
    const ok = [...new Set(wanted.filter((h) => h <= sourceHeight).map((h) => Math.min(even(h), evenAtMost(sourceHeight))))].sort((a, b) => a - b);
    if (ok.length) return ok;
  }
  const std = STANDARD_HEIGHTS.filter((h) => h <= sourceHeight);
  if (std.length) return std;
  const half = even(sourceHeight / 2);
  return half >= 36 ? [half, evenAtMost(sourceHeight)] : [evenAtMost(sourceHeight)];
}

/** The lowest rung a class fitted by width may have (the height rule's smallest half is the same). */
const MIN_FITTED_HEIGHT = 36;

/** The frame a rung class fits in: 16:9, as players and plans name resolutions (a 1080p class is 1920x1080). */
const CLASS_ASPECT = 16 / 9;

/**
 * The rungs' picture sizes. A source wider than 16:9 (a scope film, 1920x800) gets each standard class
 * fitted to its 16:9 frame by width, up to the source's width: 1920x800 at the 1080p class, 1280x534 at
 * 720p. Fitted by height, as the others are, its top rung was 1728x720, a tenth of its width lost for
 * the sake of a name; a source between two classes tops the ladder at its own size. Wanted heights
 * (`--heights`) are heights, whatever the shape.
 */
export function ladderSizes(video: Pick<VideoFacts, "width" | "height" | "displayWidth">, wanted?: number[]): Array<{ width: number; height: number }> {
  const displayWidth = video.displayWidth || video.width;
  const aspect = displayWidth / video.height;
  if (!wanted?.length && aspect > CLASS_ASPECT * 1.01) {
    const fitted = STANDARD_HEIGHTS.map((h) => even(h * CLASS_ASPECT))
      .filter((w) => w <= displayWidth)
      .map((w) => ({ width: w, height: Math.min(even(w / aspect), evenAtMost(video.height)) }))
      // Not a rung a player would pick: a strip (2000x64) keeps its own size and the class below it.
      .filter((r) => r.height >= MIN_FITTED_HEIGHT);
    if (fitted.length) {
      // A source between two classes (960x400, a 2K scope 2048x858) tops the ladder at its own size: in
      // place of the class just below when within a quarter of it, else above it.
      const top = fitted[fitted.length - 1];
      const own = { width: evenAtMost(displayWidth), height: evenAtMost(video.height) };
      if (own.width > top.width * 1.01) fitted.splice(own.width < top.width * 1.25 ? -1 : fitted.length, own.width < top.width * 1.25 ? 1 : 0, own);
      return fitted;
    }
  }
  return ladderHeights(video.height, wanted).map((h) => rungSize(video, h));
}

export function chooseLadder(
  probe: Pick<ComplexityProbe, "complexity" | "bpp" | "referenceBpp" | "width" | "height" | "samples" | "crf">,
  video: Pick<VideoFacts, "width" | "height" | "displayWidth" | "fps">,
  opts: { codecs: VideoCodec[]; heights?: number[] },
): LadderChoice {
  const factor = bitrateFactor(probe.complexity);
  const fps = video.fps.num / video.fps.den;
  const ladder: Rung[] = [];
  for (const codec of opts.codecs) {
    for (const size of ladderSizes(video, opts.heights)) {
      const pixels = size.width * size.height;
      const bitrate = roundBitrate(referenceBitsPerPixel(pixels) * pixels * fps * factor * CODEC_EFFICIENCY[codec]);
      ladder.push({ id: `${CODEC_PATH_ID[codec]}-${size.height}p`, codec, ...size, bitrate });
    }
  }
  const kind = factor < 0.6 ? "simple" : factor > 1.5 ? "complex" : "typical";
  const raw = probe.complexity ** COMPLEXITY_EXPONENT;
  const clamped = Math.abs(factor - raw) > 1e-9 ? `, clamped to ${factor.toFixed(2)}` : "";
  const h264 = ladder.filter((r) => r.codec === "h264");
  const reason =
    `constant-quality probe (x264 CRF ${probe.crf} at ${probe.width}x${probe.height}, ${probe.samples.length} sample(s)) needed ` +
    `${probe.bpp.toFixed(4)} bits/pixel vs ${probe.referenceBpp.toFixed(4)} for typical content: complexity ${probe.complexity.toFixed(2)}, ${kind} content; ` +
    `every rung gets complexity^${COMPLEXITY_EXPONENT} = ${raw.toFixed(2)}${clamped} x the reference bitrate for its resolution` +
    ` (H.264 ${h264.map((r) => `${r.height}p ${Math.round(r.bitrate / 1000)}k`).join(", ")})` +
    (opts.codecs.length > 1
      ? `; ${opts.codecs
          .filter((c) => c !== "h264")
          .map((c) => `${c.toUpperCase()} at ${CODEC_EFFICIENCY[c]}x of H.264`)
          .join(", ")}`
      : "");
  return { ladder, factor, reason };
}
