import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingest, IngestError } from "../../ingest/pipeline";
import { createReporter } from "../../ingest/progress";
import { LOCK_FILE, lockWorkDir } from "../../ingest/work-dir-lock";
import { runIngestCli } from "./ingest-cli";
import { tinySource } from "./tiny-source";

/**
 * Two ingests of one title (two people, a retry started while the first still runs) share its work dir.
 * Before, they encoded, renamed and packaged the same files under each other: one died of a raw
 * `ENOENT ... rename ...part` stack trace, or both went on with chunks the other was rewriting. Now the
 * second is refused at once, naming the first's pid; a lock left by a run that died is taken over.
 */

let dir: string;
let source: string;
let holder: ChildProcess | undefined;

beforeAll(async () => {
  ({ dir, source } = await tinySource("ingest-lock-"));
});

afterAll(async () => {
  holder?.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

const cliRun = (out: string) =>
  runIngestCli([source, "--title-id", "locked", "--title", "Locked", "--no-publish", "--progress", "plain", "--out", out], {
    withoutShellPublishEnv: true,
    timeoutMs: 120_000,
  });

describe("one ingest at a time in a work dir", () => {
  it("two runs at once: the second is refused naming the first, the first packages the title", async () => {
    const workDir = path.join(dir, "together");
    const run = () => ingest({ source, titleId: "together", title: "Together", workDir, reporter: createReporter({ mode: "none" }), jobs: 1 });
    const [a, b] = await Promise.allSettled([run(), run()]);
    const done = [a, b].filter((r) => r.status === "fulfilled");
    const refused = [a, b].filter((r) => r.status === "rejected");
    expect(refused.map((r) => String(r.reason))).toEqual([expect.stringMatching(`another ingest \\(pid ${process.pid}\\) is working in ${workDir}`)]);
    expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(IngestError);
    expect(done.map((r) => r.value.status)).toEqual(["packaged"]);
    expect(existsSync(path.join(workDir, LOCK_FILE))).toBe(false);
  });

  it("a live run's lock: the CLI exits 1 at once with one line, no stack trace, and leaves the dir alone", async () => {
    const workDir = path.join(dir, "held");
    await mkdir(workDir, { recursive: true });
    // a process standing for the other run: alive while this one starts
    holder = spawn("sleep", ["60"], { stdio: "ignore" });
    await writeFile(path.join(workDir, LOCK_FILE), `${holder.pid}\n${hostname()}\n`);
    const r = await cliRun(workDir);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `ingest failed in validate: another ingest \\(pid ${holder.pid}\\) is working in ${workDir}: wait for it to finish, or give this run another --out`,
      ),
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(workDir, "package"))).toBe(false);
    expect(existsSync(path.join(workDir, LOCK_FILE))).toBe(true);
    holder.kill("SIGKILL");
  });

  it("a dead run's lock is taken over: the run packages the title and removes the lock", async () => {
    const workDir = path.join(dir, "stale");
    await mkdir(workDir, { recursive: true });
    const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim(); // a pid that has exited
    await writeFile(path.join(workDir, LOCK_FILE), `${gone}\n${hostname()}\n`);
    const r = await cliRun(workDir);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(workDir, "package", "master.m3u8"))).toBe(true);
    expect(existsSync(path.join(workDir, LOCK_FILE))).toBe(false);
  });

  it("a lock naming this very process that it does not hold (an earlier process with the same pid, as in a restarted container) is taken over", async () => {
    const workDir = path.join(dir, "same-pid");
    await mkdir(workDir, { recursive: true });
    await writeFile(path.join(workDir, LOCK_FILE), `${process.pid}\n${hostname()}\n`);
    const release = await lockWorkDir(workDir);
    // Held now by this process: a second run in it is refused.
    await expect(lockWorkDir(workDir)).rejects.toThrow(/another ingest \(pid \d+\) is working/);
    await release();
    expect(existsSync(path.join(workDir, LOCK_FILE))).toBe(false);
  });
});
