import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
/** wrangler's CLI, run on the Node that runs us (Node 22 from the `node` dev dependency under npm scripts). */
export const WRANGLER_JS = path.join(path.dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");

/**
 * The environment of every wrangler we run: no metrics, and no fetch of a `Request.cf` object from
 * workers.cloudflare.com (miniflare's default, at every start): locally the client's location is what
 * X-Client-Geo says, or miniflare's fixed placeholder, never the network location of this machine.
 */
export function wranglerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...extra };
}

/** Runs a wrangler command to completion; rejects with its output when it fails. */
export function wrangler(args: string[], opts: { quiet?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER_JS, ...args], { cwd: PROJECT_ROOT, env: wranglerEnv() });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`wrangler ${args.join(" ")} exited ${code}:\n${out}`))));
    if (!opts.quiet) child.stdout.pipe(process.stdout);
  });
}

export interface LocalWorker {
  url: string;
  child: ChildProcess;
  /** Everything wrangler printed, for diagnosing a failed start. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `wrangler dev` (workerd with local R2, D1 and Durable Objects) after applying the D1
 * migrations to the same local state, and resolves once the Worker answers.
 */
/** A free TCP port on loopback (free when asked: another process may take it before it is used). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Whether a socket already listens on 127.0.0.1:`port` (binding it fails with EADDRINUSE). */
export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", (err: NodeJS.ErrnoException) => (err.code === "EADDRINUSE" ? resolve(true) : reject(err)));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(false)));
  });
}

const PORT_ATTEMPTS = 5;

/** The refusal of a port something already listens on, with the way out. */
export function portTaken(port: number): Error {
  return new Error(
    `port ${port} on 127.0.0.1 is already in use (an earlier \`npm start\` or another \`wrangler dev\` still running?): stop it, or choose another port, e.g. PORT=${port === 8788 ? 8789 : 8788} npm start`,
  );
}

/** `npm start`'s default port, wrangler dev's own. */
export const DEFAULT_PORT = 8787;

/**
 * The port `npm start` listens on from `$PORT`: unset or empty is the default; anything but a whole
 * number from 1 to 65535 is refused with a message (0 would start wrangler dev on a port nobody then
 * finds, "abc" failed only after the catalogue build, with Node's own words).
 */
export function portFromEnv(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return DEFAULT_PORT;
  const port = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || port < 1 || port > 65535)
    throw new Error(`PORT=${JSON.stringify(raw.slice(0, 40))} is not a TCP port (1-65535): unset it for ${DEFAULT_PORT}, or e.g. PORT=8788 npm start`);
  return port;
}

/**
 * What wrangler printed, bounded: the log is kept for diagnosing a failed start, but wrangler dev goes on
 * printing a line per request for as long as the Worker runs (`npm start` for days, a benchmark's
 * millions of requests), and all of it was kept.
 */
export const WORKER_LOG_MAX_CHARS = 64 * 1024;

interface WorkerOptions {
  persistTo?: string;
  vars?: Record<string, string>;
  inheritOutput?: boolean;
  timeoutMs?: number;
}

/**
 * `wrangler dev` on `opts.port`, or without one on a free port: a port found free can be taken by
 * another socket before wrangler binds it (a CI run lost one that way), so that case tries another.
 */
export async function startLocalWorker(opts: WorkerOptions & { port?: number }): Promise<LocalWorker> {
  const persist = opts.persistTo ? ["--persist-to", opts.persistTo] : [];
  // Checked first: wrangler dev on a taken port fails only after seconds, and meanwhile whatever holds
  // the port (often an earlier `npm start`, or another project's `wrangler dev` on the same default)
  // would answer the readiness check below as if it were this Worker.
  if (opts.port !== undefined && (await portInUse(opts.port))) throw portTaken(opts.port);
  await wrangler(["d1", "migrations", "apply", "DB", "--local", ...persist], { quiet: true });
  if (opts.port !== undefined) return launch(opts.port, persist, opts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(await freePort(), persist, opts);
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !/Address already in use/.test(String(err))) throw err;
    }
  }
}

/** Stops of the `wrangler dev` processes started here that have not exited yet. */
const liveWorkers = new Set<() => Promise<void>>();

/**
 * Stops every `wrangler dev` this process started, also one still starting: for a SIGINT/SIGTERM
 * handler, since the children do not die with their parent (only a terminal's Ctrl-C reaches them all).
 */
export async function stopLocalWorkers(): Promise<void> {
  await Promise.all([...liveWorkers].map((stop) => stop()));
}

async function launch(port: number, persist: string[], opts: WorkerOptions): Promise<LocalWorker> {
  const vars = Object.entries(opts.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const child = spawn(
    process.execPath,
    [WRANGLER_JS, "dev", "--port", String(port), "--ip", "127.0.0.1", "--show-interactive-dev-session=false", "--test-scheduled", ...persist, ...vars],
    { cwd: PROJECT_ROOT, env: wranglerEnv({ CI: "true" }), stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  const keep = (d: Buffer) => {
    log += d;
    // The tail is what explains a failure; trimmed in steps of a quarter so a busy Worker does not copy the log per line.
    if (log.length > WORKER_LOG_MAX_CHARS) log = log.slice(-Math.floor((WORKER_LOG_MAX_CHARS * 3) / 4));
  };
  child.stdout!.on("data", (d: Buffer) => {
    keep(d);
    if (opts.inheritOutput) process.stdout.write(d);
  });
  child.stderr!.on("data", (d: Buffer) => {
    keep(d);
    if (opts.inheritOutput) process.stderr.write(d);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
      setTimeout(() => child.exitCode === null && child.kill("SIGKILL"), 5000).unref();
    });
  liveWorkers.add(stop);
  child.once("exit", () => liveWorkers.delete(stop));
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${log}`);
    // Someone took the port after it was found free: whoever answers there is not this Worker.
    if (/Address already in use/.test(log)) {
      await stop();
      throw new Error(`wrangler dev could not listen on ${port}: Address already in use\n${log}`);
    }
    // wrangler dev keeps watching after a build error; fail fast instead of waiting out the timeout.
    if (/\[ERROR\]/.test(log) && /Could not resolve|Build failed|error TS/.test(log)) {
      await stop();
      throw new Error(`wrangler dev could not build the Worker:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/v1`);
      if (res.ok) return { url, child, log: () => log, stop };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not answer on ${url} in time:\n${log}`);
}
