import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpegPath } from "../../ingest/ffmpeg-path";
import { validateSource } from "../../ingest/validate";

/**
 * The ladder is 8-bit SDR and ingest does no tone mapping, so an HDR master (PQ or HLG) would be
 * published with its pictures washed out and dim, and the self-check would not see it (it compares
 * with the source decoded the same way). Validation refuses it, saying why; SDR passes.
 */

let dir: string;

/** 2 s of 160×90 H.264 + AAC whose video is tagged with `transfer` (BT.2020 primaries for HDR) */
function taggedSource(name: string, transfer: string): string {
  const file = path.join(dir, `${name}.mp4`);
  const primaries = transfer === "bt709" ? "bt709" : "bt2020";
  const matrix = transfer === "bt709" ? "bt709" : "bt2020nc";
  execFileSync(ffmpegPath, [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=2", "-f", "lavfi", "-i", "sine=sample_rate=48000:duration=2"],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-c:a", "aac"],
    ...["-color_primaries", primaries, "-color_trc", transfer, "-colorspace", matrix, file],
  ]);
  return file;
}

let pq: string;
let hlg: string;
let sdr: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-hdr-"));
  pq = taggedSource("pq", "smpte2084");
  hlg = taggedSource("hlg", "arib-std-b67");
  sdr = taggedSource("sdr", "bt709");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const validate = (source: string) => validateSource({ source, sourceLanguage: "en", audio: [], subtitles: [] });

describe("an HDR source", () => {
  it("is refused with a reason naming its transfer, PQ or HLG, instead of being published washed out", async () => {
    for (const [source, transfer] of [
      [pq, "PQ"],
      [hlg, "HLG"],
    ]) {
      const r = await validate(source);
      expect(r.ok, transfer).toBe(false);
      expect(r.reasons.map((x) => x.code)).toEqual(["hdr"]);
      expect(r.reasons[0].message).toContain(`video is HDR (${transfer}`);
      expect(r.reasons[0].message).toContain("give an SDR master");
    }
  });

  it("but a 10-bit SDR (BT.709) source of the same kind passes", async () => {
    const r = await validate(sdr);
    expect(r.reasons).toEqual([]);
    expect(r.ok).toBe(true);
  });
});
