import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corruptFile, makeFrameGapSource, makeSource, truncateFile } from "../../ingest/fixtures";
import { validateSource, type ValidationReport } from "../../ingest/validate";
import { runIngestCli } from "./ingest-cli";

let dir: string;
let clean: string;

const validate = (source: string) => validateSource({ source, sourceLanguage: "en", audio: [], subtitles: [] });
const codes = (r: ValidationReport) => r.reasons.map((x) => x.code);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-validation-"));
  // 320x180, 4 s, 25 fps, index at the front (as a streaming-friendly delivery would be)
  clean = await makeSource(path.join(dir, "clean.mp4"), { faststart: true });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("validation of a source before anything is encoded", () => {
  it("accepts a clean source and reports its frames, keyframes and audio", async () => {
    const r = await validate(clean);
    expect(r.reasons).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.video).toMatchObject({ width: 320, height: 180, frameCount: 100, durationS: 4, fps: { num: 25, den: 1 } });
    expect(r.video!.keyframes).toEqual([0, 50]);
    expect(r.audio).toHaveLength(1);
    expect(Math.abs(r.audio[0].durationS - 4)).toBeLessThan(0.05);
  });

  it("rejects a truncated file: the decode ends before the duration its container declares", async () => {
    const r = await validate(await truncateFile(clean, path.join(dir, "truncated.mp4"), 0.6));
    expect(r.ok).toBe(false);
    expect(codes(r)).toContain("truncated");
    const t = r.reasons.find((x) => x.code === "truncated")!;
    expect(t.message).toMatch(/ends after .* of the 4\.00 s its container declares/);
    expect(t.details!.frames as number).toBeLessThan(100);
  });

  it("rejects a truncated file that lost its index as unreadable", async () => {
    const moovAtEnd = await makeSource(path.join(dir, "moov-at-end.mp4"));
    const r = await validate(await truncateFile(moovAtEnd, path.join(dir, "truncated-no-index.mp4"), 0.5));
    expect(codes(r)).toEqual(["unreadable"]);
    expect(r.reasons[0].message).toMatch(/truncated or incomplete/);
  });

  it("rejects a file with a corrupted stretch: decode errors and the frames they cost", async () => {
    const r = await validate(await corruptFile(clean, path.join(dir, "corrupted.mp4"), 0.55, 0.1));
    expect(r.ok).toBe(false);
    expect(codes(r)).toContain("decode_errors");
    expect(r.decode!.decodeErrors).toBeGreaterThan(0);
  });

  it("rejects a frame-rate gap as missing frames, saying where", async () => {
    const r = await validate(await makeFrameGapSource(path.join(dir, "gap.mp4"), { atS: 2, missing: 12 }));
    expect(codes(r)).toEqual(["frame_gaps"]);
    expect(r.reasons[0].message).toContain("12 frame(s) missing");
    expect(r.reasons[0].details).toMatchObject({ missing: 12, gaps: [{ atS: 2, missing: 12 }] });
  });

  it("rejects an audio track much shorter than the video", async () => {
    const r = await validate(await makeSource(path.join(dir, "short-audio.mp4"), { audioSeconds: 1.5 }));
    expect(codes(r)).toEqual(["av_duration_mismatch"]);
    expect(r.reasons[0].details).toMatchObject({ language: "en", videoDurationS: 4 });
    expect(r.reasons[0].details!.audioDurationS as number).toBeLessThan(1.6);
  });

  it("reports every problem of a source at once, frozen and black stretches included", async () => {
    // 2 s moving, 3 s frozen, 3 s black; audio stops after 2 s
    const src = path.join(dir, "many.mp4");
    await makeSource(src, {
      seconds: 8,
      audioSeconds: 2,
      video: "testsrc2=s=320x180:r=25:d=2[a];color=c=gray:s=320x180:r=25:d=3[b];color=c=black:s=320x180:r=25:d=3[c];[a][b][c]concat=n=3",
    });
    const r = await validateSource({ source: src, sourceLanguage: "en", audio: [], subtitles: [], thresholds: { maxFreezeS: 2, maxBlackS: 2 } });
    expect(codes(r).sort()).toEqual(["av_duration_mismatch", "black", "frozen"]);
  });

  it("the CLI exits 3 with a human report and --json, and never calls the admin API", async () => {
    let requests = 0;
    const server: Server = createServer((_req, res) => {
      requests++;
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const gap = path.join(dir, "gap.mp4");
      const out = await runIngestCli([
        ...[gap, "--title-id", "broken-gap", "--title", "Broken", "--base-url", url, "--admin-token", "x"],
        ...["--json", "--progress", "plain", "--out", path.join(dir, "work")],
      ]);
      expect(out.code).toBe(3);
      const json = JSON.parse(out.stdout) as { status: string; validation: ValidationReport };
      expect(json.status).toBe("rejected");
      expect(json.validation.reasons.map((r) => r.code)).toEqual(["frame_gaps"]);
      expect(out.stderr).toContain("REJECTED");
      expect(out.stderr).toContain("[frame_gaps] 12 frame(s) missing");
      expect(out.stderr).toContain("nothing was uploaded or registered");
      expect(requests).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
