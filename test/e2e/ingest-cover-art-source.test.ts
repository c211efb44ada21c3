import { execFileSync } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpegPath, ffprobePath } from "../../ingest/ffmpeg-path";
import { ingest } from "../../ingest/pipeline";
import { createReporter } from "../../ingest/progress";
import { tinySource } from "./tiny-source";

/**
 * A tagged MP4 (a shop's download, a file a tagging tool gave artwork) carries its cover as an attached
 * picture: ffprobe lists it as a one-frame video stream, first when the tags come before the tracks. The
 * title is the file's real video, not its cover: every step that decodes the source must take that stream.
 */

let dir: string;
let tagged: string;

/** The boxes directly inside `buf[start, end)`: type, offset and size (32-bit sizes, as ffmpeg writes them). */
function boxes(buf: Buffer, start: number, end: number): Array<{ type: string; start: number; size: number }> {
  const out: Array<{ type: string; start: number; size: number }> = [];
  for (let at = start; at < end; ) {
    const size = buf.readUInt32BE(at);
    out.push({ type: buf.toString("latin1", at + 4, at + 8), start: at, size });
    at += size;
  }
  return out;
}

/**
 * `file` with its `moov/udta` (the tags, the cover among them) moved before the tracks: ffmpeg's demuxer
 * then lists the cover as stream 0. Same bytes, same moov size, so the media offsets stay right.
 */
async function tagsFirst(file: string, to: string): Promise<void> {
  const buf = await readFile(file);
  const moov = boxes(buf, 0, buf.length).find((b) => b.type === "moov")!;
  const kids = boxes(buf, moov.start + 8, moov.start + moov.size);
  const udta = kids.find((b) => b.type === "udta")!;
  const [mvhd, ...rest] = kids.filter((b) => b !== udta);
  const order = [mvhd, udta, ...rest];
  const out = Buffer.from(buf);
  Buffer.concat(order.map((b) => buf.subarray(b.start, b.start + b.size))).copy(out, moov.start + 8);
  await writeFile(to, out);
}

beforeAll(async () => {
  let source: string;
  ({ dir, source } = await tinySource("ingest-cover-art-"));
  const cover = path.join(dir, "cover.png");
  execFileSync(ffmpegPath, ["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=red:s=96x96", "-frames:v", "1", cover]);
  const withCover = path.join(dir, "with-cover.mp4");
  execFileSync(ffmpegPath, [
    ...["-v", "error", "-y", "-i", source, "-i", cover],
    ...["-map", "0:v", "-map", "0:a", "-map", "1", "-c", "copy", "-c:v:1", "png", "-disposition:v:1", "attached_pic", withCover],
  ]);
  tagged = path.join(dir, "tagged.mp4");
  await tagsFirst(withCover, tagged);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Each stream of `file` as ffprobe lists it: index, codec and whether it is an attached picture. */
function streamsOf(file: string): string[] {
  const out = execFileSync(ffprobePath, ["-v", "error", "-show_entries", "stream=index,codec_name:stream_disposition=attached_pic", "-of", "json", file], {
    encoding: "utf8",
  });
  return (JSON.parse(out).streams as Array<{ index: number; codec_name: string; disposition: { attached_pic: number } }>).map(
    (s) => `${s.index}:${s.codec_name}${s.disposition.attached_pic ? " (cover)" : ""}`,
  );
}

describe("a source whose cover art is listed before its video", () => {
  it("is validated, encoded and checked from its video stream, not its cover", async () => {
    expect(streamsOf(tagged)).toEqual(["0:png (cover)", "1:h264", "2:aac"]);
    const r = await ingest({
      source: tagged,
      titleId: "cover-art",
      title: "Cover Art",
      sourceLanguage: "en",
      workDir: path.join(dir, "work"),
      reporter: createReporter({ mode: "none" }),
      until: "check",
      jobs: 2,
    });
    // before: the validation decoded the one-frame cover ("too_short", "truncated", "av_duration_mismatch")
    expect(r.validation.reasons).toEqual([]);
    expect(r.validation.video).toMatchObject({ streamIndex: 1, width: 160, height: 90, frameCount: 50 });
    expect(r.ladder!.ladder.map((rung) => `${rung.width}x${rung.height}`)).toEqual(["82x46", "160x90"]);
    expect(r.check?.problems).toEqual([]);
    expect(r.check?.ok).toBe(true);
    // the top rendition holds the source's 50 frames, counted apart from the self-check
    const top = path.join(r.packageDir, "video", "avc-90p");
    const joined = path.join(dir, "top.mp4");
    await writeFile(joined, Buffer.concat([await readFile(path.join(top, "init.mp4")), await readFile(path.join(top, "seg-00001.m4s"))]));
    const frames = execFileSync(ffprobePath, ["-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", joined], {
      encoding: "utf8",
    });
    expect(Number(frames.trim())).toBe(50);
  });
});
