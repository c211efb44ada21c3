import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSource } from "../../ingest/fixtures";
import { LOCK_FILE } from "../../ingest/work-dir-lock";
import { runIngestCli } from "./ingest-cli";

/**
 * How the ingest CLI ends when it is stopped, and what it refuses before it starts. A service manager
 * (systemd, Kubernetes, `timeout`) stops a run with SIGTERM and reads its exit code: the CLI answered
 * 130, the code of a Ctrl-C (SIGINT), for both. Each signal now gives 128 + its number, and cleans up
 * alike: ffmpeg killed, the work dir's lock removed, finished chunks kept. `--jobs` and
 * `--upload-concurrency` had a minimum and no maximum: `--jobs 800` (a typo of 8) started an ffmpeg
 * per chunk at once; now a value past the bound is a usage error (exit 2) before any work.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
let dir: string;
let source: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-signals-"));
  // Long enough that the encode shows progress well before it ends on a 2-core machine.
  source = await makeSource(path.join(dir, "source.mp4"), { width: 480, height: 270, seconds: 24, gop: 50 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Processes but `except` whose command line names `text` (the run's ffmpeg children name its work dir), by pid. */
async function processesNaming(text: string, except?: number): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === except) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmd.includes(text)) found.push(Number(pid));
  }
  return found;
}

describe("a run stopped by a signal once it shows progress", () => {
  it.each([
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const)(
    "on %s exits %i, its ffmpeg killed and the work dir's lock removed, the finished chunks kept",
    async (signal, exitCode) => {
      const workDir = path.join(dir, `work-${signal}`);
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          "ingest/cli.ts",
          source,
          "--title-id",
          `signals-${signal.toLowerCase()}`,
          "--title",
          "Stopped",
          "--no-publish",
          "--progress",
          "plain",
          "--out",
          workDir,
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      let stderr = "";
      child.stdout.resume();
      const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on("close", (code, sig) => resolve({ code, signal: sig })),
      );
      // Stopped as soon as the encode reports frames done: its chunk encodes are running then.
      const progressed = new Promise<boolean>((resolve) => {
        child.stderr.setEncoding("utf8").on("data", (d: string) => {
          stderr += d;
          if (/\[encode\] \d+\/\d+ frames/.test(stderr)) resolve(true);
        });
        child.on("close", () => resolve(false));
      });
      expect(await progressed, stderr).toBe(true);
      expect(existsSync(path.join(workDir, LOCK_FILE)), "the run holds its lock while it encodes").toBe(true);
      // Its children are found by their command lines in /proc (Linux); elsewhere only the exit and the files are checked.
      const procfs = existsSync("/proc/self/cmdline");
      if (procfs) expect((await processesNaming(workDir, child.pid)).length, "its ffmpeg encodes run").toBeGreaterThan(0);
      child.kill(signal);
      const ended = await closed;
      expect(ended, stderr).toEqual({ code: exitCode, signal: null });
      expect(stderr).toContain(`interrupted (${signal}); finished chunks are kept in the work dir`);
      expect(existsSync(path.join(workDir, LOCK_FILE))).toBe(false);
      expect(existsSync(path.join(workDir, "chunks", "key.txt"))).toBe(true);
      // SIGKILL'd children go at once; allow the kernel a moment to reap them.
      let left = await processesNaming(workDir);
      for (let i = 0; i < 50 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        left = await processesNaming(workDir);
      }
      expect(left).toEqual([]);
    },
    180_000,
  );
});

describe("--jobs and --upload-concurrency past their bounds", () => {
  it.each([
    [["--jobs", "257"], /^error: --jobs: at most 256 \(ffmpeg processes at once\), got 257$/m],
    [["--jobs", "100000"], /^error: --jobs: at most 256 \(ffmpeg processes at once\), got 100000$/m],
    [["--upload-concurrency", "65"], /^error: --upload-concurrency: at most 64 \(uploads in flight\), got 65$/m],
    // A bad value is refused also when the run would not publish (it was ignored then).
    [["--upload-concurrency", "1000", "--no-publish"], /^error: --upload-concurrency: at most 64 \(uploads in flight\), got 1000$/m],
    [["--upload-concurrency", "0", "--no-publish"], /^error: --upload-concurrency: bad number "0"$/m],
    [["--jobs", "0"], /^error: --jobs: bad number "0"$/m],
  ])("refuses %j as a usage error (exit 2, the usage printed) before any work", async (flags, message) => {
    const workDir = path.join(dir, `bounds-${flags.join("-")}`);
    const run = await runIngestCli([source, "--title-id", "signals-bounds", "--title", "Bounds", "--admin-token", "t", "--out", workDir, ...flags], {
      withoutShellPublishEnv: true,
      timeoutMs: 60_000,
    });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain("usage: npm run ingest --");
    expect(run.stdout).toBe("");
    // Nothing started: no work dir, so no lock.
    expect(existsSync(workDir)).toBe(false);
  });

  it("takes the bounds themselves (the run goes on to validate)", async () => {
    const workDir = path.join(dir, "bounds-at-limit");
    const run = await runIngestCli(
      [
        source,
        "--title-id",
        "signals-at-limit",
        "--title",
        "At limit",
        "--no-publish",
        "--until",
        "validate",
        "--progress",
        "plain",
        "--out",
        workDir,
        "--jobs",
        "256",
        "--upload-concurrency",
        "64",
      ],
      { withoutShellPublishEnv: true, timeoutMs: 120_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("[validate]");
  });

  it("says the bounds in --help", async () => {
    const run = await runIngestCli(["--help"], { withoutShellPublishEnv: true, timeoutMs: 60_000 });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/--jobs N\s+parallel encodes \(default: cores, or INGEST_JOBS; at most 256\)/);
    expect(run.stderr).toMatch(/--upload-concurrency N\s+uploads in flight \(default 8, at most 64\)/);
    expect(run.stderr).toMatch(/exit codes: 0 ok, 1 failed, 2 usage, 3 source rejected, 130 interrupted \(SIGINT\), 143 stopped \(SIGTERM\)/);
  });
});
