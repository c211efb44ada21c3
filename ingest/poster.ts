/**
 * The title's poster: one picture, a JPEG at most POSTER_MAX_WIDTH wide at the display aspect, packaged
 * as `poster.jpg` and registered as the title's `poster` (apps show it in browse lists). Taken from the
 * source (a frame at POSTER_AT_SHARE of its duration, or at --poster-at) or made from a given image
 * (--poster FILE), both through the bundled ffmpeg, so whatever is given comes out the same kind of file.
 */
import { stat } from "node:fs/promises";
import { runChecked } from "./exec";
import { ffmpegPath } from "./ffmpeg-path";
import { deinterlaceFilter, probeSource } from "./probe";
import { UsageError } from "./usage";
import type { VideoFacts } from "./validate";
import { REGISTRATION_LIMITS } from "../shared/catalogue";

/** The path the poster has in the package (one of the root names registration takes). */
export const POSTER_PATH = "poster.jpg";
/** Widest poster made: a browse list's tile, kept small for lists of hundreds. */
export const POSTER_MAX_WIDTH = 640;
/** Where in the source the frame is taken when --poster-at does not say: past titles and fades in. */
export const POSTER_AT_SHARE = 0.1;

/** Where the poster comes from: a frame of the source (at a time, else POSTER_AT_SHARE), a given image, or none. */
export type PosterChoice = { atS?: number } | { file: string } | null;

/** The poster's size for a picture shown `displayWidth` x `height`: at most POSTER_MAX_WIDTH wide, aspect kept. */
export function posterSize(displayWidth: number, height: number): { width: number; height: number } {
  const width = Math.min(POSTER_MAX_WIDTH, displayWidth);
  return { width, height: Math.max(1, Math.round((width * height) / displayWidth)) };
}

/**
 * Writes the poster to `out`. The source's frame is taken as the encode sees it: upright (ffmpeg
 * applies a display rotation as it decodes), deinterlaced, and stretched by its sample aspect ratio
 * (the facts give the display width), so the poster has the aspect the title is shown at.
 */
export async function makePoster(opts: { source: string; video: VideoFacts; choice: { atS?: number } | { file: string }; out: string }): Promise<void> {
  const { video, choice, out } = opts;
  let input: string;
  let seek: string[] = [];
  let map: string;
  let size: { width: number; height: number };
  let deint: string | null = null;
  if ("file" in choice) {
    const probed = await probeSource(choice.file).catch((err: Error) => {
      throw new UsageError(`--poster: ${choice.file} is not an image ffmpeg reads (${err.message})`);
    });
    const v = probed.video ?? probed.streams.find((s) => s.codecType === "attachment" || s.codecType === "video");
    if (!v?.width || !v.height) throw new UsageError(`--poster: ${choice.file} has no picture`);
    input = choice.file;
    map = `0:${v.index}`;
    size = posterSize(v.displayWidth || v.width, v.height);
  } else {
    const atS = choice.atS ?? POSTER_AT_SHARE * video.durationS;
    if (atS < 0 || atS >= video.durationS) throw new UsageError(`--poster-at: ${atS} s is not within the source's ${video.durationS.toFixed(3)} s`);
    input = opts.source;
    seek = ["-ss", (video.startS + atS).toFixed(6)];
    map = `0:${video.streamIndex}`;
    size = posterSize(video.displayWidth || video.width, video.height);
    deint = deinterlaceFilter(video.interlaced);
  }
  await runChecked(
    ffmpegPath,
    [
      "-nostdin",
      "-hide_banner",
      "-v",
      "error",
      ...seek,
      "-i",
      input,
      "-map",
      map,
      "-frames:v",
      "1",
      "-vf",
      // setsar=1: the pixels are square at this size, so viewers show it as it is
      `${deint ? `${deint},` : ""}scale=${size.width}:${size.height}:flags=bicubic,setsar=1`,
      "-c:v",
      "mjpeg",
      "-q:v",
      "3",
      "-f",
      "image2",
      "-y",
      out,
    ],
    "poster",
    { timeoutMs: 120_000 },
  );
  // Seeking past the last frame writes no file: ffmpeg says so only as a warning.
  const bytes = (await stat(out).catch(() => ({ size: 0 }))).size;
  // A frame this size is some tens of KiB; the registration's limit is said here rather than as a 400 after the upload.
  if (bytes === 0) throw new Error(`poster: ffmpeg wrote an empty ${out} (no frame at that time?)`);
  if (bytes > REGISTRATION_LIMITS.posterBytes) throw new Error(`poster: ${bytes} bytes, more than a registration takes (${REGISTRATION_LIMITS.posterBytes})`);
}
