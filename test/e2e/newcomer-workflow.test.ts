import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSource } from "../../ingest/fixtures";
import { freePort } from "../../r2-seed/local-stack";

/**
 * The README's workflow exactly as a newcomer runs it, with no secret passed by hand: `npm start` in
 * one terminal, the curl it prints, then `npm run ingest` in a second terminal (its admin token comes
 * from the `.dev.vars` that `npm start` wrote), then a play of the new title.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const DEV_VARS = path.join(ROOT, ".dev.vars");
let port: number;
let start: ChildProcess;
let startLog = "";
let work: string;
let savedDevVars: string | null = null;

/** Environment without any secret: what a shell in a fresh clone has. */
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const k of ["ADMIN_TOKEN", "MEMBER_JWT_SECRET", "URL_SIGNING_KEYS", "VCDN_BASE_URL"]) delete env[k];
  return env;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "vcdn-newcomer-"));
  // `npm start` writes .dev.vars in the project; keep a developer's own file out of harm's way.
  if (existsSync(DEV_VARS)) {
    savedDevVars = await readFile(DEV_VARS, "utf8");
    await rm(DEV_VARS);
  }
  port = await freePort();
  start = spawn("npm", ["start"], { cwd: ROOT, env: plainEnv({ PORT: String(port) }), stdio: ["ignore", "pipe", "pipe"], detached: true });
  start.stdout?.on("data", (d) => (startLog += d));
  start.stderr?.on("data", (d) => (startLog += d));
  const deadline = Date.now() + 540_000;
  while (!startLog.includes("Ready:")) {
    if (start.exitCode !== null) throw new Error(`npm start exited ${start.exitCode}:\n${startLog.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`npm start not ready in time:\n${startLog.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}, 600_000);

afterAll(async () => {
  if (start?.pid) {
    try {
      process.kill(-start.pid, "SIGTERM");
    } catch {
      /* already gone */
    }
    await new Promise((r) => setTimeout(r, 2000));
    try {
      process.kill(-start.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  if (savedDevVars !== null) await writeFile(DEV_VARS, savedDevVars, { mode: 0o600 });
  else await rm(DEV_VARS, { force: true });
  await rm(work, { recursive: true, force: true });
});

/** The curl `npm start` prints, run as printed (URL, headers, body). */
function printedCurl(): { url: string; headers: Record<string, string>; body: string } {
  const from = startLog.indexOf("curl -s -X POST");
  const block = startLog.slice(from, startLog.indexOf("\n\n", from));
  const url = /curl -s -X POST (\S+)/.exec(block)![1];
  const headers: Record<string, string> = {};
  for (const m of block.matchAll(/-H '([^:]+): ([^']*)'/g)) headers[m[1]] = m[2];
  const body = /-d '([^']*)'/.exec(block)![1];
  return { url, headers, body };
}

describe("the README's workflow from a fresh clone", () => {
  it("npm start prints a curl that presses play, and its HLS URL serves the playlist", async () => {
    const { url, headers, body } = printedCurl();
    expect(url).toBe(`http://127.0.0.1:${port}/v1/play`);
    const res = await fetch(url, { method: "POST", headers, body });
    expect(res.status, await res.clone().text()).toBe(200);
    const play = (await res.json()) as { hls: string; ocas: Array<{ tier: string }> };
    expect(play.ocas[0].tier).toBe("embedded");
    const master = await fetch(play.hls);
    expect(master.status).toBe(200);
    expect(await master.text()).toContain("#EXT-X-STREAM-INF");
  });

  it("npm run ingest in a second terminal publishes with the admin token from .dev.vars, and the title plays", async () => {
    const source = await makeSource(path.join(work, "movie.mp4"), { seconds: 4 });
    const ingest = await run(
      "npm",
      [
        "run",
        "ingest",
        "--",
        source,
        "--title-id",
        "newcomer-movie",
        "--title",
        "Newcomer Movie",
        "--countries",
        "US",
        "--base-url",
        `http://127.0.0.1:${port}`,
        "--progress",
        "plain",
      ],
      plainEnv(),
    );
    expect(ingest.code, ingest.out.slice(-3000)).toBe(0);
    expect(ingest.out).toMatch(/newcomer-movie: published/);
    const { headers } = printedCurl();
    const res = await fetch(`http://127.0.0.1:${port}/v1/play`, { method: "POST", headers, body: JSON.stringify({ titleId: "newcomer-movie" }) });
    expect(res.status).toBe(200);
    const play = (await res.json()) as { hls: string };
    expect((await fetch(play.hls)).status).toBe(200);
  });

  it("npm start points at the operator dashboard and the API reference, and the admin token it prints opens the overview", async () => {
    const dash = /Operator dashboard: (\S+) \(admin token: (\S+)\)/.exec(startLog);
    expect(dash, startLog.slice(-2000)).not.toBeNull();
    const page = await fetch(dash![1]);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("operations");
    const overview = await fetch(`http://127.0.0.1:${port}/admin/ops/overview`, { headers: { Authorization: `Bearer ${dash![2]}` } });
    expect(overview.status).toBe(200);
    expect(((await overview.json()) as { sites: unknown[] }).sites.length).toBeGreaterThan(0);
    const docs = /API reference: (\S+)/.exec(startLog)!;
    expect((await fetch(docs[1])).status).toBe(200);
  });
});
