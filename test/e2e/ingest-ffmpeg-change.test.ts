import { chmod, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpegPath } from "../../ingest/ffmpeg-path";
import { runIngestCli } from "./ingest-cli";
import { tinySource } from "./tiny-source";

/**
 * Chunks a run left in the work dir are reused only when the same ffmpeg build would make them: after an
 * upgrade in place (same path, another `-version`) or another ffmpeg on PATH, a rerun encodes afresh,
 * instead of stitching chunks of two encoder builds (or failing to package them, every time).
 */

let dir: string;
let source: string;
let wrapper: string;
let versionFile: string;

/** `ingest --until encode --json` with FFMPEG_PATH set; the parsed result. */
async function encodeWith(ffmpeg: string): Promise<{ code: number | null; json: { encode?: { tasks: number; reused: number } }; stderr: string }> {
  const { code, stdout, stderr } = await runIngestCli(
    [
      ...[source, "--title-id", "ffmpeg-change", "--title", "Ffmpeg Change", "--heights", "90", "--segment-seconds", "1", "--chunk-seconds", "1"],
      ...["--until", "encode", "--json", "--progress", "plain", "--out", path.join(dir, "work")],
    ],
    { env: { FFMPEG_PATH: ffmpeg } },
  );
  try {
    return { code, json: JSON.parse(stdout), stderr };
  } catch {
    throw new Error(`exit ${code}, stdout not JSON: ${stdout}\n${stderr}`);
  }
}

beforeAll(async () => {
  ({ dir, source } = await tinySource("ingest-ffmpeg-change-"));
  // An ffmpeg "upgraded in place": the same path, the real binary behind it, the version it reports read from a file.
  versionFile = path.join(dir, "version.txt");
  wrapper = path.join(dir, "bin", "ffmpeg");
  await writeFile(versionFile, "ffmpeg version 6.1.1 Copyright (c) 2000-2023 the FFmpeg developers\n");
  await mkdir(path.dirname(wrapper), { recursive: true });
  await writeFile(wrapper, `#!/bin/sh\nif [ "$1" = "-version" ]; then cat '${versionFile}'; exit 0; fi\nexec '${ffmpegPath}' "$@"\n`);
  await chmod(wrapper, 0o755);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a rerun after the ffmpeg changed", () => {
  it("encodes afresh after an upgrade in place or another binary, and reuses chunks of the same build", async () => {
    const first = await encodeWith(wrapper);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.encode).toMatchObject({ tasks: 2, reused: 0 });

    const again = await encodeWith(wrapper);
    expect(again.json.encode).toMatchObject({ tasks: 2, reused: 2 });

    await writeFile(versionFile, "ffmpeg version 7.1 Copyright (c) 2000-2024 the FFmpeg developers\n");
    const upgraded = await encodeWith(wrapper);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(upgraded.json.encode).toMatchObject({ tasks: 2, reused: 0 });
    // the audio encode is named by the same fingerprint: made again too
    expect(await readdir(path.join(dir, "work", "audio"))).toHaveLength(2);

    const otherBinary = await encodeWith(ffmpegPath);
    expect(otherBinary.code, otherBinary.stderr).toBe(0);
    expect(otherBinary.json.encode).toMatchObject({ tasks: 2, reused: 0 });
  });
});
