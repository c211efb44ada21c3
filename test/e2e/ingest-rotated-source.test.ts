import { execFileSync } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpegPath, ffprobePath } from "../../ingest/ffmpeg-path";
import { ingest } from "../../ingest/pipeline";
import { createReporter } from "../../ingest/progress";
import { tinySource } from "./tiny-source";

/**
 * A phone records portrait video as a landscape picture with a display rotation in the container.
 * ffmpeg turns it upright as it decodes, so the ladder must be portrait too: the rotated 160×90 source
 * (shown 90×160) comes out as portrait renditions, not its upright picture squashed into 160×90.
 */

let dir: string;
let rotated: string;

beforeAll(async () => {
  let source: string;
  ({ dir, source } = await tinySource("ingest-rotated-"));
  rotated = path.join(dir, "rotated.mp4");
  // a stream copy with the rotate tag: the container gets a 90° display matrix, the pictures stay 160×90
  execFileSync(ffmpegPath, ["-v", "error", "-y", "-i", source, "-c", "copy", "-metadata:s:v:0", "rotate=90", rotated]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** width, height and display rotation of the first video stream of `file`, as ffprobe reads them */
function videoOf(file: string): { width: number; height: number; rotation: number } {
  const out = execFileSync(ffprobePath, ["-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json", file], { encoding: "utf8" });
  const s = JSON.parse(out).streams[0];
  const matrix = (s.side_data_list ?? []).find((d: { rotation?: number }) => typeof d.rotation === "number");
  return { width: s.width, height: s.height, rotation: matrix?.rotation ?? Number(s.tags?.rotate ?? 0) };
}

describe("a source with a display rotation (a phone's portrait video)", () => {
  it("is packaged upright: portrait renditions with no rotation left for the player to apply", async () => {
    expect(Math.abs(videoOf(rotated).rotation)).toBe(90);
    const r = await ingest({
      source: rotated,
      titleId: "rotated",
      title: "Rotated",
      sourceLanguage: "en",
      workDir: path.join(dir, "work"),
      reporter: createReporter({ mode: "none" }),
      until: "check",
      jobs: 2,
    });
    expect(r.status).not.toBe("rejected");
    expect(r.check?.ok).toBe(true);
    const ladder = r.ladder!.ladder.map((rung) => `${rung.width}x${rung.height}`);
    expect(ladder).toEqual(["46x80", "90x160"]);
    // what a player gets: the top rendition's init segment and first media segment
    const top = path.join(r.packageDir, "video", "avc-160p");
    const joined = path.join(dir, "top.mp4");
    await writeFile(joined, Buffer.concat([await readFile(path.join(top, "init.mp4")), await readFile(path.join(top, "seg-00001.m4s"))]));
    expect(videoOf(joined)).toEqual({ width: 90, height: 160, rotation: 0 });
  });
});
