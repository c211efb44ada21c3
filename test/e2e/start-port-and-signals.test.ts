import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type LocalWorker, startLocalWorker } from "../../r2-seed/local-worker";

/**
 * How `npm start` (r2-seed/start.ts on r2-seed/local-worker.ts) starts and stops `wrangler dev`: on a
 * port something else holds, with no network but the npm registry, and when it is told to stop while
 * the Worker is still starting.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
let persistTo: string;
beforeAll(async () => {
  persistTo = await mkdtemp(path.join(tmpdir(), "start-signals-state-"));
});
afterAll(async () => {
  await rm(persistTo, { recursive: true, force: true });
});

/**
 * pids of the live wrangler and workerd processes of an `npm start` run with PORT=`port` (wrangler dev
 * starts two workerds, one of them on a port of its own: they are known by the PORT they inherited).
 */
function processesOnPort(port: number): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,stat=,args="], { encoding: "utf8" });
  const pids: number[] = [];
  for (const line of out.split("\n")) {
    const m = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!m || m[2].startsWith("Z") || !/wrangler|workerd/.test(m[3])) continue;
    let environ = "";
    try {
      environ = readFileSync(`/proc/${m[1]}/environ`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    if (environ.split("\0").includes(`PORT=${port}`)) pids.push(Number(m[1]));
  }
  return pids;
}

const VARS = { DEV_MODE: "true", ADMIN_TOKEN: "start-signals-admin-token-0123456789" };

describe("starting the local Worker", () => {
  it("refuses a port something else already listens on, rather than taking whoever answers there for the Worker", async () => {
    const port = await freePort();
    const other: Server = createServer((_req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end('{"another":"server"}'));
    await new Promise<void>((r) => other.listen(port, "127.0.0.1", r));
    let worker: LocalWorker | undefined;
    try {
      const started = startLocalWorker({ port, persistTo, vars: VARS }).then((w) => (worker = w));
      await expect(started).rejects.toThrow(new RegExp(`port ${port} .*already in use`));
    } finally {
      await worker?.stop();
      await new Promise((r) => other.close(r));
    }
  });

  it("does not reach for workers.cloudflare.com (miniflare's Request.cf fetch): locally the client's place is X-Client-Geo or a fixed placeholder", async () => {
    // as npm start runs it: miniflare never fetches under NODE_ENV=test, which vitest sets
    const nodeEnv = process.env.NODE_ENV;
    delete process.env.NODE_ENV;
    const worker = await startLocalWorker({ persistTo, vars: VARS }).finally(() => {
      if (nodeEnv !== undefined) process.env.NODE_ENV = nodeEnv;
    });
    try {
      expect((await fetch(`${worker.url}/v1`)).status).toBe(200);
      // miniflare's fetch runs beside the start and gives up after 3 s: long enough to have said so
      await new Promise((r) => setTimeout(r, 4000));
      expect(worker.log()).not.toMatch(/Request\.cf|workers\.cloudflare\.com/);
    } finally {
      await worker.stop();
    }
  });
});

describe("npm start told to stop (SIGTERM, as a process manager or an IDE's stop button sends it)", () => {
  let start: ChildProcess | undefined;
  let port = 0;
  // `npm start` writes .dev.vars in the project: left as it was found (absent on a fresh clone).
  const devVars = path.join(ROOT, ".dev.vars");
  let savedDevVars: string | null = null;
  beforeAll(() => {
    savedDevVars = existsSync(devVars) ? readFileSync(devVars, "utf8") : null;
  });
  afterAll(() => {
    start?.kill("SIGKILL");
    for (const pid of port ? processesOnPort(port) : []) process.kill(pid, "SIGKILL");
    if (savedDevVars !== null) writeFileSync(devVars, savedDevVars, { mode: 0o600 });
    else rmSync(devVars, { force: true });
  });

  it("while wrangler dev is still starting leaves no wrangler dev or workerd behind", async () => {
    port = await freePort();
    start = spawn(process.execPath, ["--import", "tsx", "r2-seed/start.ts"], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    start.stdout!.on("data", (d) => (log += d));
    start.stderr!.on("data", (d) => (log += d));
    // wrangler dev has started (its workerd coming up), the Worker not yet seeded
    const deadline = Date.now() + 300_000;
    const wranglerDev = () => execFileSync("ps", ["-eo", "args="], { encoding: "utf8" }).includes(` dev --port ${port} `);
    while (!wranglerDev()) {
      if (start.exitCode !== null) throw new Error(`npm start exited ${start.exitCode}:\n${log.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`wrangler dev never started:\n${log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(log).not.toContain("Ready:");
    start.kill("SIGTERM");
    const gone = Date.now() + 15_000;
    while (start.exitCode === null || processesOnPort(port).length > 0) {
      if (Date.now() > gone) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(start.exitCode !== null || start.signalCode !== null, "npm start still running").toBe(true);
    expect(processesOnPort(port), `left running on port ${port}:\n${log.slice(-2000)}`).toEqual([]);
  });
});
