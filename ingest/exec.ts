/** Child-process helpers for ffmpeg/ffprobe (moved here from r2-seed/catalogue-exec.ts). */
import { spawn, type ChildProcess } from "node:child_process";
import { pathToFileURL } from "node:url";

/** Whether a process of this host with this id is running (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when the module at `url` (import.meta.url) is the script node was started with. */
export function isMainModule(url: string): boolean {
  try {
    return !!process.argv[1] && url === pathToFileURL(process.argv[1]).href;
  } catch {
    return false;
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** bytes written to stdout (always counted; with binaryStdout the bytes are not kept) */
  stdoutBytes?: number;
}

export interface RunOptions {
  /** called for each complete stdout line (e.g. `-progress pipe:1` output) */
  onStdoutLine?: (line: string) => void;
  /** called for each complete stderr line */
  onStderrLine?: (line: string) => void;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout is binary: count its bytes, keep nothing */
  binaryStdout?: boolean;
}

const activeChildren = new Set<ChildProcess>();

/** Kills (SIGKILL) every ffmpeg/ffprobe started by run() that is still running. */
export function killActiveChildren(): void {
  for (const child of activeChildren) child.kill("SIGKILL");
}

export function run(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: opts.env ?? process.env, cwd: opts.cwd });
    activeChildren.add(child);
    let stdout = "";
    let stderr = "";
    let pending = "";
    let stdoutBytes = 0;
    child.stderr.setEncoding("utf8");
    if (opts.binaryStdout) child.stdout.on("data", (chunk: Buffer) => void (stdoutBytes += chunk.length));
    else child.stdout.setEncoding("utf8");
    if (!opts.binaryStdout)
      child.stdout.on("data", (chunk: string) => {
        stdoutBytes += Buffer.byteLength(chunk);
        stdout += chunk;
        if (opts.onStdoutLine) {
          pending += chunk;
          let nl: number;
          while ((nl = pending.indexOf("\n")) >= 0) {
            opts.onStdoutLine(pending.slice(0, nl).trimEnd());
            pending = pending.slice(nl + 1);
          }
        }
        if (stdout.length > 4_000_000) stdout = stdout.slice(-1_000_000);
      });
    let pendingErr = "";
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
      if (opts.onStderrLine) {
        pendingErr += chunk;
        let nl: number;
        while ((nl = pendingErr.indexOf("\n")) >= 0) {
          opts.onStderrLine(pendingErr.slice(0, nl).replace(/\r$/, ""));
          pendingErr = pendingErr.slice(nl + 1);
        }
      }
      if (stderr.length > 1_000_000) stderr = stderr.slice(-200_000);
    });
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) {
      timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    }
    child.on("error", (err) => {
      activeChildren.delete(child);
      if (timer) clearTimeout(timer);
      reject(new Error(`failed to start ${bin}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      activeChildren.delete(child);
      if (opts.onStdoutLine && pending) opts.onStdoutLine(pending.trimEnd());
      if (opts.onStderrLine && pendingErr) opts.onStderrLine(pendingErr);
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, stdoutBytes });
    });
  });
}

/** stderr minus fontconfig's noisy config warnings (emitted by the static ffmpeg builds). */
export function meaningfulStderr(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && !/^Fontconfig (warning|error)/.test(l))
    .join("\n");
}

export async function runChecked(bin: string, args: string[], what: string, opts: RunOptions = {}): Promise<RunResult> {
  const res = await run(bin, args, opts);
  if (res.code !== 0) {
    const tail = meaningfulStderr(res.stderr).split("\n").slice(-25).join("\n");
    throw new Error(`${what} failed (exit ${res.code ?? res.signal}): ${bin} ${args.join(" ")}\n${tail}`);
  }
  return res;
}

/** Parses "num/den" (or a decimal) into a reduced fraction; null for 0/0, N/A, garbage. */
export function parseRational(s: string | undefined | null): { num: number; den: number } | null {
  if (!s) return null;
  const m = /^\s*(\d+)\s*[/:]\s*(\d+)\s*$/.exec(s);
  let num: number;
  let den: number;
  if (m) {
    num = Number(m[1]);
    den = Number(m[2]);
  } else if (/^\s*\d+(\.\d+)?\s*$/.test(s)) {
    const f = Number(s);
    den = 1000;
    num = Math.round(f * den);
  } else return null;
  if (!num || !den) return null;
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return Math.abs(a);
}
