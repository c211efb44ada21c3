import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCli, UsageError } from "../../ingest/cli";
import { planChunks } from "../../ingest/encode";
import { runIngestCli } from "./ingest-cli";
import { makeSource } from "../../ingest/fixtures";
import { ladderHeights, ladderSizes, rungSize } from "../../ingest/ladder";
import { ingest, type IngestResult } from "../../ingest/pipeline";
import { createReporter } from "../../ingest/progress";
import { LOCK_FILE } from "../../ingest/work-dir-lock";

/**
 * What a review of the ingest pipeline found an operator would hit: a source one frame past a chunk
 * refused by the self-check; BANDWIDTH inflated by a short last segment; a codec or a country named
 * twice (a raw ENOENT mid-encode; a registration refused after the upload); a source of odd size
 * upscaled by a pixel; a Ctrl-C during the self-check leaving a copy of every rendition in the temp dir.
 */

let dir: string;
/** A file to name as the source where only the flags are parsed (parseCli wants a regular file). */
let anyFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-review-"));
  anyFile = path.join(dir, "any.mp4");
  await writeFile(anyFile, "");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every segment of a media playlist with its duration (EXTINF) and its size on disk. */
async function segmentsOf(playlist: string): Promise<Array<{ durationS: number; bytes: number }>> {
  const lines = (await readFile(playlist, "utf8")).split("\n");
  const out: Array<{ durationS: number; bytes: number }> = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^#EXTINF:([\d.]+),/.exec(lines[i]);
    if (m) out.push({ durationS: Number(m[1]), bytes: (await stat(path.join(path.dirname(playlist), lines[i + 1]))).size });
  }
  return out;
}

/** RFC 8216's peak segment bit rate, written out plainly: the fastest run of segments lasting 0.5 to 1.5 target durations. */
function rfcPeak(segments: Array<{ durationS: number; bytes: number }>, target: number): number {
  let peak = 0;
  for (let i = 0; i < segments.length; i++)
    for (let j = i + 1; j <= segments.length; j++) {
      const run = segments.slice(i, j);
      const s = run.reduce((n, x) => n + x.durationS, 0);
      if (s >= 0.5 * target && s <= 1.5 * target) peak = Math.max(peak, (run.reduce((n, x) => n + x.bytes, 0) * 8) / s);
    }
  return peak;
}

describe("a source one frame longer than its chunks (201 frames: 8 s and one frame at 25 fps)", () => {
  let result: IngestResult;

  beforeAll(async () => {
    const source = await makeSource(path.join(dir, "tail.mp4"), { width: 320, height: 180, seconds: 8.04, gop: 50 });
    // Before, this threw in the self-check: "frame 200 at a chunk join has PSNR 40.8 dB, its neighbours 47.5 dB".
    result = await ingest({
      source,
      titleId: "review-tail",
      title: "Tail",
      countries: ["US", "CA", "US"],
      workDir: path.join(dir, "work-tail"),
      until: "check",
      reporter: createReporter({ mode: "none" }),
    });
  }, 180_000);

  it("passes its self-check: the frame past the last whole chunk is not a chunk of its own", () => {
    expect(result.status).toBe("packaged");
    expect(result.check?.ok, result.check?.problems.join("\n")).toBe(true);
    expect(result.plan!.chunks.map((c) => c.frameCount)).toEqual([201]);
    expect(result.packaged!.segmentCount).toBe(3); // 4 s, 4 s and the one frame: the segments are unchanged
  });

  it("has each rendition's BANDWIDTH the peak segment bit rate of RFC 8216, not the one-frame last segment's rate", async () => {
    const master = await readFile(path.join(result.packageDir, "master.m3u8"), "utf8");
    const audio = await segmentsOf(path.join(result.packageDir, "audio", "aac-en", "index.m3u8"));
    for (const v of result.packaged!.video) {
      const segments = await segmentsOf(path.join(result.packageDir, v.dir, "index.m3u8"));
      expect(segments.at(-1)!.durationS).toBeCloseTo(0.04, 6);
      expect(v.peakBandwidth).toBe(Math.ceil(rfcPeak(segments, 4)));
      // the last segment alone (one keyframe in 40 ms) runs far faster than the rendition
      expect((segments.at(-1)!.bytes * 8) / 0.04).toBeGreaterThan(1.5 * v.peakBandwidth);
      const line = master.split("\n").find((_l, i, all) => all[i + 1] === `${v.dir}/index.m3u8`)!;
      const bandwidth = Number(/BANDWIDTH=(\d+)/.exec(line)![1]);
      const expected = Math.ceil(rfcPeak(segments, 4)) + Math.ceil(rfcPeak(audio, 4));
      expect(Math.abs(bandwidth - expected), line).toBeLessThanOrEqual(1);
    }
    const reg = result.registration!.renditions.filter((r) => r.kind === "video");
    for (const r of reg) expect(r.bandwidth).toBe(result.packaged!.video.find((v) => v.id === r.id)!.peakBandwidth);
  });

  it("registers a country named twice once (the catalogue refuses a licence listed twice)", () => {
    expect(result.registration!.licences.map((l) => l.country)).toEqual(["US", "CA"]);
  });
});

describe("a codec named twice", () => {
  it("makes its rungs once (before: two encodes into the same files, a raw ENOENT mid-encode)", async () => {
    const source = await makeSource(path.join(dir, "codecs.mp4"), { width: 160, height: 90, seconds: 2, gop: 25 });
    const result = await ingest({
      source,
      titleId: "review-codecs",
      title: "Codecs",
      codecs: ["vp9", "h264", "vp9"],
      workDir: path.join(dir, "work-codecs"),
      until: "ladder",
      reporter: createReporter({ mode: "none" }),
    });
    const ids = result.ladder!.ladder.map((r) => r.id);
    expect(ids).toEqual(["avc-46p", "avc-90p", "vp9-46p", "vp9-90p"]);
  });

  it("is taken once by the CLI, as are countries", async () => {
    const { options } = parseCli([anyFile, "--title-id", "x", "--title", "X", "--codecs", "vp9,VP9", "--countries", "us,CA,US", "--no-publish"], {});
    expect(options.codecs).toEqual(["vp9"]);
    expect(options.countries).toEqual(["US", "CA"]);
  });
});

describe("dates the registration would refuse after the upload", () => {
  const args = (...more: string[]) => [anyFile, "--title-id", "x", "--title", "X", "--no-publish", ...more];

  it("refuses a --release-year the catalogue does not take, before any work", () => {
    expect(() => parseCli(args("--release-year", "20240"), {})).toThrow(UsageError);
    expect(() => parseCli(args("--release-year", "20240"), {})).toThrow(/--release-year: 20240/);
    expect(parseCli(args("--release-year", "2024"), {}).options.releaseYear).toBe(2024);
  });

  it("takes --available-from as an ISO date of a real day, not whatever Date.parse makes of it", () => {
    // Date.parse: 2 March, December 2001, a year PUT /admin/titles refuses
    for (const bad of ["2026-02-30", "12", "10000-01-01", "Dec 25 2026"]) expect(() => parseCli(args("--available-from", bad), {}), bad).toThrow(UsageError);
    expect(() => parseCli(args("--available-from", "2026-02-30"), {})).toThrow(/--available-from: no such day/);
    expect(parseCli(args("--available-from", "2026-03-01"), {}).options.availableFrom).toBe("2026-03-01T00:00:00.000Z");
    expect(parseCli(args("--available-from", "2026-03-01T12:30:00Z"), {}).options.availableFrom).toBe("2026-03-01T12:30:00.000Z");
    expect(parseCli(args("--available-from", "2026-03-01T12:30:00+02:00"), {}).options.availableFrom).toBe("2026-03-01T10:30:00.000Z");
  });
});

describe("a source of odd size (321x239)", () => {
  const odd = { width: 321, height: 239, displayWidth: 321 };

  it("gets no rung larger than itself (before: a 322x240 top rung, every picture resampled up a pixel)", () => {
    const sizes = ladderSizes(odd);
    expect(sizes).toEqual([
      { width: 162, height: 120 },
      { width: 320, height: 238 },
    ]);
    for (const s of sizes) expect(s.width <= odd.width && s.height <= odd.height).toBe(true);
  });

  it("keeps a wanted height of its own odd height, and an odd width, within it", () => {
    expect(ladderHeights(239, [120, 239])).toEqual([120, 238]);
    expect(rungSize({ width: 321, height: 240, displayWidth: 321 }, 240)).toEqual({ width: 320, height: 240 });
    // a scope source between two classes tops the ladder at its own size: its own, not a pixel more
    expect(ladderSizes({ width: 2049, height: 857, displayWidth: 2049 }).at(-1)).toEqual({ width: 2048, height: 856 });
  });
});

describe("the chunk plan", () => {
  it("leaves no chunk shorter than a segment at the end, wherever the keyframes are", () => {
    for (const keyframes of [[0], [0, 100, 200, 300, 400], [0, 399]]) {
      const plan = planChunks({ frameCount: 401, keyframes, segmentFrames: 100, chunkSegments: 2 });
      expect(plan.chunks.reduce((n, c) => n + c.frameCount, 0)).toBe(401);
      for (const c of plan.chunks) {
        expect(c.startFrame % 100).toBe(0);
        expect(c.frameCount).toBeGreaterThanOrEqual(100);
      }
    }
  });
});

describe("a run interrupted (Ctrl-C) during its self-check", () => {
  it("leaves no scratch copy of the renditions in the temp dir, nor its lock in the work dir", async () => {
    const source = await makeSource(path.join(dir, "interrupted.mp4"), { width: 480, height: 270, seconds: 16, gop: 50 });
    const scratch = path.join(dir, "tmp");
    await mkdir(scratch, { recursive: true });
    const workDir = path.join(dir, "work-interrupted");
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "ingest/cli.ts",
        source,
        "--title-id",
        "review-sigint",
        "--title",
        "Interrupted",
        "--no-publish",
        "--progress",
        "plain",
        "--out",
        workDir,
      ],
      { cwd: path.resolve(import.meta.dirname, "../.."), stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TMPDIR: scratch } },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdout.resume();
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const checkDirs = async () => (await readdir(scratch)).filter((n) => n.startsWith("ingest-check-"));
    // the self-check's scratch dir exists for a few hundred ms: interrupt the run while it does
    let seen = false;
    for (let i = 0; i < 6000 && child.exitCode === null; i++) {
      if ((await checkDirs()).length) {
        seen = true;
        child.kill("SIGINT");
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const code = await closed;
    expect(seen, stderr).toBe(true);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted \(SIGINT\)/);
    expect(await checkDirs()).toEqual([]);
    expect(existsSync(path.join(workDir, LOCK_FILE))).toBe(false);
    // what the next run reuses is kept
    expect(existsSync(path.join(workDir, "chunks", "key.txt"))).toBe(true);
  }, 180_000);
});

describe("reruns of one title with other flags", () => {
  it("keep one audio encode per language in the work dir once packaged, not one per run", async () => {
    const source = await makeSource(path.join(dir, "reruns.mp4"), { width: 160, height: 90, seconds: 2, gop: 25 });
    const workDir = path.join(dir, "work-reruns");
    for (const heights of [[90], [46, 90], [90]])
      await ingest({
        source,
        titleId: "review-reruns",
        title: "Reruns",
        heights,
        segmentSeconds: 1,
        workDir,
        until: "package",
        reporter: createReporter({ mode: "none" }),
      });
    // a run's audio file: the same for the same flags, so the third run reused it and the second's is gone
    const files = await readdir(path.join(workDir, "audio"));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^en-[0-9a-f]{16}\.mp4$/);
  });
});

describe("encoder settings this ffmpeg refuses", () => {
  it("are a usage error before the source is read, not a stack trace after the validation and the ladder probe", async () => {
    const source = await makeSource(path.join(dir, "settings.mp4"), { width: 160, height: 90, seconds: 2, gop: 25 });
    for (const [flags, said] of [
      [["--x264-preset", "bogus"], /error: --x264-preset bogus: .*cannot encode h264 so \(.*invalid preset 'bogus'/],
      [["--codecs", "vp9", "--vp9-speed", "99"], /error: --vp9-speed 99: .*cannot encode vp9 so \(.*out of range/],
    ] as const) {
      const out = path.join(dir, `work-settings-${flags.at(-1)}`);
      const run = await runIngestCli(
        [source, "--title-id", "review-settings", "--title", "Settings", ...flags, "--no-publish", "--progress", "plain", "--out", out],
        {
          withoutShellPublishEnv: true,
          timeoutMs: 120_000,
        },
      );
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(said);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(run.stderr).not.toMatch(/\[validate\]/); // refused before the source was read
      expect(existsSync(path.join(out, "chunks"))).toBe(false);
    }
  });
});

describe("--out naming a dir that is not an ingest's", () => {
  it("is refused before any work, and nothing in it is touched (before: its package/ was emptied)", async () => {
    const source = await makeSource(path.join(dir, "out.mp4"), { width: 160, height: 90, seconds: 2, gop: 25 });
    const project = path.join(dir, "project");
    await mkdir(path.join(project, "package"), { recursive: true });
    await writeFile(path.join(project, "package", "notes.txt"), "mine");
    await writeFile(path.join(project, "poster.jpg"), "mine");
    const run = await runIngestCli([source, "--title-id", "review-out", "--title", "Out", "--no-publish", "--progress", "plain", "--out", project], {
      withoutShellPublishEnv: true,
      timeoutMs: 120_000,
    });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/error: --out: .*project is not an ingest work dir \(it is not one an ingest made\)/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await readFile(path.join(project, "package", "notes.txt"), "utf8")).toBe("mine");
    expect(await readFile(path.join(project, "poster.jpg"), "utf8")).toBe("mine");
    expect((await readdir(project)).sort()).toEqual(["package", "poster.jpg"]);
  });

  it("takes a new dir, an empty one, and the work dir an earlier run left (rerun)", async () => {
    const source = path.join(dir, "out.mp4");
    const workDir = path.join(dir, "work-out");
    await mkdir(workDir);
    const opts = { source, titleId: "review-out", title: "Out", workDir, until: "encode" as const, reporter: createReporter({ mode: "none" }) };
    await ingest(opts);
    await ingest(opts);
    // a dir that holds files of its own besides
    await writeFile(path.join(workDir, "notes.txt"), "mine");
    await expect(ingest(opts)).rejects.toThrow(/is not an ingest work dir \(it holds notes\.txt\)/);
  });
});
