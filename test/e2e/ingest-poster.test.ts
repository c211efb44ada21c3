import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpegPath, ffprobePath } from "../../ingest/ffmpeg-path";
import { runIngestCli } from "./ingest-cli";
import { tinySource } from "./tiny-source";

/**
 * Ingest makes the title's poster: a JPEG at most 640 px wide at the source's display aspect (its
 * sample aspect ratio and display rotation applied, as the renditions have them), packaged as
 * `poster.jpg` and registered as the title's `poster`. A frame at 10 % of the duration by default,
 * `--poster-at SECONDS` another, `--poster FILE` an image of one's own, `--no-poster` none.
 */

let dir: string;
let source: string;

beforeAll(async () => {
  ({ dir, source } = await tinySource("ingest-poster-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ff = (args: string[]) => execFileSync(ffmpegPath, ["-v", "error", "-y", ...args]);

/** `ingest --no-publish --out` of `src` into `dir`/`name`, with `extra` flags. */
async function ingestCli(src: string, name: string, extra: string[] = []): Promise<{ code: number | null; stderr: string; out: string }> {
  const out = path.join(dir, name);
  const { code, stderr } = await runIngestCli([src, "--title-id", name, "--title", name, "--no-publish", "--progress", "none", "--out", out, ...extra]);
  return { code, stderr, out };
}

/** Codec, size and sample aspect ratio of an image as ffprobe reads it. */
function imageOf(file: string): { codec: string; width: number; height: number; sar: string } {
  const out = execFileSync(ffprobePath, ["-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json", file], { encoding: "utf8" });
  const s = JSON.parse(out).streams[0];
  return { codec: s.codec_name, width: s.width, height: s.height, sar: s.sample_aspect_ratio ?? "1:1" };
}

/** What the run registered: the registration ingest wrote to its work dir's result.json. */
async function registered(out: string): Promise<{ poster?: string; files: Array<{ path: string }> }> {
  return JSON.parse(await readFile(path.join(out, "result.json"), "utf8")).registration;
}

/** The picture of `file` (at `atS` for a video) as 8-bit gray pixels at `width`x`height`. */
function grayPixels(file: string, width: number, height: number, atS?: number): Buffer {
  return execFileSync(ffmpegPath, [
    ...["-v", "error", ...(atS !== undefined ? ["-ss", String(atS)] : []), "-i", file, "-frames:v", "1"],
    ...["-vf", `scale=${width}:${height},format=gray`, "-f", "rawvideo", "-"],
  ]);
}

const meanDifference = (a: Buffer, b: Buffer) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

describe("an ingested title's poster", () => {
  it("is a JPEG of a frame at the source's display aspect, packaged as poster.jpg and registered as the poster", async () => {
    // 120×90 pixels shown 4:3 wider each: a 16:9 picture, 160×90 on screen
    const anamorphic = path.join(dir, "anamorphic.mp4");
    ff(["-i", source, "-vf", "scale=120:90,setsar=4/3", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "copy", anamorphic]);
    const run = await ingestCli(anamorphic, "poster-anamorphic");
    expect(run.code, run.stderr).toBe(0);
    const poster = path.join(run.out, "package", "poster.jpg");
    expect((await readFile(poster)).subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(imageOf(poster)).toEqual({ codec: "mjpeg", width: 160, height: 90, sar: "1:1" });
    const reg = await registered(run.out);
    expect(reg.poster).toBe("poster.jpg");
    expect(reg.files.map((f) => f.path)).toContain("poster.jpg");
  });

  it("of a source with a display rotation is upright", async () => {
    const rotated = path.join(dir, "rotated.mp4");
    ff(["-i", source, "-c", "copy", "-metadata:s:v:0", "rotate=90", rotated]);
    const run = await ingestCli(rotated, "poster-rotated");
    expect(run.code, run.stderr).toBe(0);
    expect(imageOf(path.join(run.out, "package", "poster.jpg"))).toMatchObject({ width: 90, height: 160 });
  });

  it("is at most 640 px wide, and --poster-at takes the frame at that time", async () => {
    const wide = path.join(dir, "wide.mp4");
    ff(["-i", source, "-vf", "scale=1280:720", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "copy", wide]);
    const run = await ingestCli(wide, "poster-at", ["--heights", "144", "--poster-at", "1.5"]);
    expect(run.code, run.stderr).toBe(0);
    const poster = path.join(run.out, "package", "poster.jpg");
    expect(imageOf(poster)).toMatchObject({ width: 640, height: 360 });
    // testsrc2 moves every frame: the poster is the frame at 1.5 s, not the default one at 0.2 s
    const got = grayPixels(poster, 160, 90);
    const at = meanDifference(got, grayPixels(wide, 160, 90, 1.5));
    const byDefault = meanDifference(got, grayPixels(wide, 160, 90, 0.2));
    expect(at).toBeLessThan(byDefault / 2);
  });

  it("is made from the image --poster gives, scaled to 640 px wide", async () => {
    const image = path.join(dir, "art.png");
    ff(["-f", "lavfi", "-i", "testsrc2=s=1000x500", "-frames:v", "1", image]);
    const run = await ingestCli(source, "poster-given", ["--poster", image]);
    expect(run.code, run.stderr).toBe(0);
    expect(imageOf(path.join(run.out, "package", "poster.jpg"))).toEqual({ codec: "mjpeg", width: 640, height: 320, sar: "1:1" });
  });

  it("is left out with --no-poster", async () => {
    const run = await ingestCli(source, "poster-none", ["--no-poster"]);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(path.join(run.out, "package", "poster.jpg"))).toBe(false);
    const reg = await registered(run.out);
    expect(reg.poster).toBeUndefined();
    expect(reg.files.map((f) => f.path)).not.toContain("poster.jpg");
  });

  it("is a usage error at a time past the source's end, or with two poster flags, before anything is encoded", async () => {
    const late = await ingestCli(source, "poster-late", ["--poster-at", "5"]);
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/--poster-at: 5 s is not within the source's 2\.000 s/);
    expect(existsSync(path.join(late.out, "package"))).toBe(false);
    const both = await ingestCli(source, "poster-both", ["--poster-at", "1", "--no-poster"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--poster-at and --no-poster: give one/);
  });
});
