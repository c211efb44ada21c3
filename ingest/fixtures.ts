/**
 * Small generated sources for the ingest tests and benchmark: a clean one and the kinds of
 * breakage validation must catch. All made with ffmpeg lavfi in well under a second each.
 */
import { readFile, writeFile } from "node:fs/promises";
import { ffmpegPath } from "./ffmpeg-path";
import { runChecked } from "./exec";

export interface SourceSpec {
  width?: number;
  height?: number;
  fps?: number;
  seconds?: number;
  /** keyframe interval of the source, frames */
  gop?: number;
  /** lavfi video graph; default testsrc2 (moving, moderately complex) */
  video?: string;
  /** audio duration (s); default = video; 0 = no audio */
  audioSeconds?: number;
  /** put the index (moov) first, as a streaming-friendly delivery would */
  faststart?: boolean;
}

const ff = (args: string[], what: string) => runChecked(ffmpegPath, ["-hide_banner", "-nostdin", "-y", "-v", "error", ...args], what, { timeoutMs: 300_000 });

/** A clean H.264/AAC MP4 source. */
export async function makeSource(path: string, spec: SourceSpec = {}): Promise<string> {
  const w = spec.width ?? 320;
  const h = spec.height ?? 180;
  const fps = spec.fps ?? 25;
  const seconds = spec.seconds ?? 4;
  const gop = spec.gop ?? 2 * fps;
  const video = spec.video ?? `testsrc2=s=${w}x${h}:r=${fps}`;
  const audioS = spec.audioSeconds ?? seconds;
  const args = ["-f", "lavfi", "-i", `${video},trim=end_frame=${Math.round(seconds * fps)},format=yuv420p`];
  if (audioS > 0) args.push("-f", "lavfi", "-i", `sine=frequency=440:beep_factor=2:sample_rate=48000:duration=${audioS}`);
  args.push("-map", "0:v", ...(audioS > 0 ? ["-map", "1:a", "-c:a", "aac", "-b:a", "96k"] : []));
  args.push("-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0");
  if (spec.faststart) args.push("-movflags", "+faststart");
  args.push(path);
  await ff(args, `source ${path}`);
  return path;
}

/** The source cut off after `fraction` of its bytes (an interrupted transfer). */
export async function truncateFile(from: string, to: string, fraction = 0.6): Promise<string> {
  const data = await readFile(from);
  await writeFile(to, data.subarray(0, Math.floor(data.length * fraction)));
  return to;
}

/** Overwrites a stretch of the file (from `at` for `length` of its bytes) with pseudo-random bytes. */
export async function corruptFile(from: string, to: string, at = 0.55, length = 0.1, seed = 7): Promise<string> {
  const data = Buffer.from(await readFile(from));
  let x = seed >>> 0 || 1;
  const start = Math.floor(data.length * at);
  const end = Math.min(data.length, start + Math.floor(data.length * length));
  for (let i = start; i < end; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  await writeFile(to, data);
  return to;
}

/** A source with `missing` frames dropped at `atS`, timestamps kept (a frame-rate gap). */
export async function makeFrameGapSource(path: string, spec: SourceSpec & { atS?: number; missing?: number } = {}): Promise<string> {
  const w = spec.width ?? 320;
  const h = spec.height ?? 180;
  const fps = spec.fps ?? 25;
  const seconds = spec.seconds ?? 4;
  const first = Math.round((spec.atS ?? 1.5) * fps);
  const last = first + (spec.missing ?? 12) - 1;
  await ff(
    [
      "-f",
      "lavfi",
      "-i",
      `testsrc2=s=${w}x${h}:r=${fps}:d=${seconds},select='not(between(n\\,${first}\\,${last}))',format=yuv420p`,
      "-f",
      "lavfi",
      "-i",
      `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      "-map",
      "0:v",
      "-map",
      "1:a",
      "-vsync",
      "passthrough",
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-crf",
      "18",
      "-g",
      String(2 * fps),
      "-c:a",
      "aac",
      "-b:a",
      "96k",
      path,
    ],
    `frame-gap source ${path}`,
  );
  return path;
}

/** Flat, slow content: a test card with a small moving box (cheap to code). */
export const SIMPLE_VIDEO = (w: number, h: number, fps: number) =>
  `smptebars=s=${w}x${h}:r=${fps}[b];color=c=white:s=${Math.max(8, Math.round(w / 16))}x${Math.max(8, Math.round(h / 16))}:r=${fps}[c];[b][c]overlay=x='mod(t*20\\,W-w)':y=H/2`;

/** Noisy, fast content: temporal noise over a moving pattern (expensive to code). */
export const COMPLEX_VIDEO = (w: number, h: number, fps: number) => `testsrc2=s=${w}x${h}:r=${fps},noise=alls=40:allf=t+u`;
