import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCatalogue } from "../../r2-seed/build-catalogue";
import { freePort, type LocalStack, startLocalStack } from "../../r2-seed/local-stack";
import { readyMessage } from "../../r2-seed/ready-message";
import { START_LOCK_FILE, takeStartLock } from "../../r2-seed/start-lock";

/**
 * `npm start` as a newcomer meets it on a fresh clone: a PORT that is no port, a port already taken
 * while the first catalogue build is still ahead, Ctrl-C during that build, a cache it cannot write,
 * the message it ends with (the play request pasted as printed, ingest pointed at the right port), and
 * a Worker left running for long.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
/** wrangler dev's log kept by local-worker.ts (WORKER_LOG_MAX_CHARS), as a literal: the bound is the behaviour. */
const LOG_BOUND = 64 * 1024;

let dir: string;
// `npm start` writes .dev.vars in the project: left as it was found (absent on a fresh clone).
const devVars = path.join(ROOT, ".dev.vars");
let savedDevVars: string | null = null;
const started: ChildProcess[] = [];
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "start-review-"));
  savedDevVars = existsSync(devVars) ? readFileSync(devVars, "utf8") : null;
});
afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 2000));
  if (savedDevVars !== null) writeFileSync(devVars, savedDevVars, { mode: 0o600 });
  else rmSync(devVars, { force: true });
  await rm(dir, { recursive: true, force: true });
});

/** `npm start` (r2-seed/start.ts) with `env` added; its output gathered in `out()`. */
function npmStart(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "r2-seed/start.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  /** The exit code, or "running" when it has not exited within `ms`. */
  const exitWithin = (ms: number) => Promise.race([exited, new Promise<"running">((r) => setTimeout(() => r("running"), ms))]);
  return { child, out: () => log, exitWithin, exited };
}

describe("npm start refuses at once what it cannot use, before minutes of catalogue build", () => {
  it("a PORT that is not a TCP port (0, which wrangler dev took for a port nobody then found; or a word)", async () => {
    for (const raw of ["0", "abc"]) {
      const start = npmStart({ PORT: raw, CATALOGUE_DIR: path.join(dir, "port-cat") });
      const code = await start.exitWithin(20_000);
      expect(code, start.out().slice(-2000)).toBe(1);
      expect(start.out()).toContain(`PORT="${raw}" is not a TCP port (1-65535)`);
      expect(start.out()).not.toMatch(/building catalogue|starting wrangler dev/);
    }
  });

  it("a port something else already listens on (another project's wrangler dev)", async () => {
    const port = await freePort();
    const other: Server = createServer((_req, res) => res.writeHead(200).end("another server"));
    await new Promise<void>((r) => other.listen(port, "127.0.0.1", r));
    const cacheParent = path.join(dir, "taken");
    await mkdir(cacheParent);
    try {
      // an empty cache: the whole build would come first
      const start = npmStart({ PORT: String(port), CATALOGUE_DIR: path.join(cacheParent, "cat") });
      const code = await start.exitWithin(20_000);
      if (code === "running") start.child.kill("SIGTERM");
      expect(code, start.out().slice(-2000)).toBe(1);
      expect(start.out()).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(start.out()).not.toContain("building catalogue");
      await start.exited;
      expect(await readdir(cacheParent)).toEqual([]);
    } finally {
      await new Promise((r) => other.close(r));
    }
  });

  it("a catalogue cache it cannot write is said with the way out (CATALOGUE_DIR)", async () => {
    const file = path.join(dir, "not-a-dir");
    await writeFile(file, "");
    await expect(buildCatalogue({ cacheDir: path.join(file, "catalogue") })).rejects.toThrow(/set CATALOGUE_DIR \(or XDG_CACHE_HOME\) to a writable directory/);
  });
});

describe("npm start interrupted during the first catalogue build, and a second one meanwhile", () => {
  it("refuses the second npm start in the same checkout at once, and leaves no half-built catalogue, ffmpeg or lock when stopped", async () => {
    const cacheParent = path.join(dir, "interrupted");
    await mkdir(cacheParent);
    const start = npmStart({ PORT: String(await freePort()), CATALOGUE_DIR: path.join(cacheParent, "cat") });
    // the build has begun writing: a source generated
    const deadline = Date.now() + 120_000;
    while (!/source generated/.test(start.out())) {
      if (start.child.exitCode !== null) throw new Error(`npm start exited ${start.child.exitCode}:\n${start.out().slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`no source generated in time:\n${start.out().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await readdir(cacheParent)).some((n) => n.startsWith("cat.tmp-"))).toBe(true);
    // a second npm start in the same checkout, on another port, meanwhile: refused, not a second build
    const second = npmStart({ PORT: String(await freePort()), CATALOGUE_DIR: path.join(cacheParent, "cat") });
    const code = await second.exitWithin(20_000);
    if (code === "running") second.child.kill("SIGINT");
    expect(code, second.out().slice(-2000)).toBe(1);
    expect(second.out()).toContain(`another \`npm start\` (pid ${start.child.pid}, port `);
    expect((await readdir(cacheParent)).filter((n) => n.startsWith("cat.tmp-"))).toEqual([expect.stringMatching(`^cat\\.tmp-${start.child.pid}-`)]);
    start.child.kill("SIGINT");
    expect(await start.exitWithin(15_000)).not.toBe("running");
    expect(await readdir(cacheParent)).toEqual([]);
    const ffmpegs = execFileSync("ps", ["-eo", "args="], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.includes(cacheParent));
    expect(ffmpegs).toEqual([]);
    expect(existsSync(START_LOCK_FILE), "the start lock is left").toBe(false);
  });

  it("takes over the lock of an npm start that is gone (killed with SIGKILL, the machine restarted)", async () => {
    const file = path.join(dir, "stale.lock");
    // a pid no process has: beyond Linux's pid_max
    await writeFile(file, JSON.stringify({ pid: 2 ** 23, port: 8787 }));
    const lock = takeStartLock(8790, file);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ pid: process.pid, port: 8790 });
    lock.release();
    expect(existsSync(file)).toBe(false);
  });
});

describe("the Worker npm start leaves running", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack(undefined, { stateParent: dir });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("answers the play request of the ready message pasted into a shell as printed, and ingest is told the port", async () => {
    const tokenRes = await fetch(`${stack.worker.url}/v1/dev/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ memberId: "demo-member", plan: "premium" }),
    });
    const { token } = (await tokenRes.json()) as { token: string };
    const port = Number(new URL(stack.worker.url).port);
    const msg = readyMessage({ url: stack.worker.url, port, memberToken: token, titleId: stack.catalogue.titles[0].id, adminToken: stack.adminToken });
    const lines = msg.split("\n");
    const first = lines.findIndex((l) => l.startsWith("curl -s -X POST"));
    const last = lines.findIndex((l, i) => i > first && !l.endsWith("\\"));
    const curl = lines.slice(first, last + 1).join("\n");
    const play = JSON.parse(execFileSync("bash", ["-c", curl], { encoding: "utf8" })) as { hls: string };
    const hls = await fetch(play.hls);
    expect(hls.status).toBe(200);
    expect(await hls.text()).toMatch(/^#EXTM3U/);
    // ingest's default is 127.0.0.1:8787, which on another port is not this Worker
    expect(msg).toContain(`npm run ingest -- movie.mp4 --title-id my-movie --title 'My Movie' --base-url ${stack.worker.url}\n`);
    expect(readyMessage({ url: "http://127.0.0.1:8787", port: 8787, memberToken: token, titleId: "t", adminToken: "a" })).toContain("--title 'My Movie'\n");
    for (const p of ["/", "/ops/", "/v1/docs", "/v1/openapi.json"]) expect((await fetch(`${stack.worker.url}${p}`)).status, p).toBe(200);
  });

  it("keeps a bounded log of wrangler dev, which prints a line per request for as long as it runs", async () => {
    let next = 0;
    const requests = 3000;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next++ < requests) await (await fetch(`${stack.worker.url}/v1`)).arrayBuffer();
      }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const log = stack.worker.log();
    expect(log).toContain("GET /v1 200");
    expect(log.length).toBeLessThanOrEqual(LOG_BOUND);
  });
});
