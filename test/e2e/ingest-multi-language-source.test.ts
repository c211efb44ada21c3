import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpegPath } from "../../ingest/ffmpeg-path";
import { validateSource } from "../../ingest/validate";

/**
 * A multi-language master carries one audio stream per language. `--audio de=master.mp4` (what the
 * warning about unused streams suggests) must take the master's German stream: it used to take the
 * first stream of the file, publishing the French audio a second time, labelled German.
 */

let dir: string;
let master: string;
let untagged: string;

/** 2 s of 160×90 video and one sine per entry of `tags` (each its own pitch), tagged with that language ("" = untagged) */
function multiAudio(name: string, tags: string[]): string {
  const file = path.join(dir, name);
  const inputs = tags.flatMap((_, i) => ["-f", "lavfi", "-i", `sine=frequency=${440 + 220 * i}:sample_rate=48000:duration=2`]);
  const maps = tags.flatMap((_, i) => ["-map", String(i + 1)]);
  const meta = tags.flatMap((t, i) => (t ? [`-metadata:s:a:${i}`, `language=${t}`] : []));
  execFileSync(ffmpegPath, [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=2", ...inputs, "-map", "0", ...maps],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", ...meta, file],
  ]);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-multi-language-"));
  master = multiAudio("master.mp4", ["fra", "deu"]);
  untagged = multiAudio("untagged.mp4", ["", ""]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const streams = (r: Awaited<ReturnType<typeof validateSource>>) => r.audio.map((a) => [a.language, a.streamIndex]);

describe("a source with an audio stream per language", () => {
  it("gives --audio LANG=<the source> the stream tagged LANG, not the first one again", async () => {
    const r = await validateSource({ source: master, sourceLanguage: "fr", audio: [{ language: "de", path: master }], subtitles: [] });
    expect(r.reasons).toEqual([]);
    expect(streams(r)).toEqual([
      ["fr", 1],
      ["de", 2],
    ]);
    expect(r.warnings.join("\n")).not.toMatch(/not used/);
  });

  it("takes the stream tagged --language as the source's own, and names the streams left unused", async () => {
    const r = await validateSource({ source: master, sourceLanguage: "de", audio: [], subtitles: [] });
    expect(streams(r)).toEqual([["de", 2]]);
    expect(r.warnings).toContain(`the source has 2 audio streams; #1 fra not used (add one with --audio LANG=${master}, which takes the stream tagged LANG)`);
  });

  it("refuses an --audio file of several untagged streams rather than guess which language is which", async () => {
    const r = await validateSource({ source: master, sourceLanguage: "fr", audio: [{ language: "es", path: untagged }], subtitles: [] });
    expect(r.ok).toBe(false);
    expect(r.reasons).toEqual([
      {
        code: "audio_ambiguous",
        message: `audio "es" (${untagged}) has 2 audio streams (#1 untagged, #2 untagged) and none is tagged "es": tag it, or give a file of that track alone`,
      },
    ]);
  });
});
