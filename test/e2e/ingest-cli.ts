import { spawn } from "node:child_process";
import path from "node:path";

/** The repository root: the CLI runs from there, as `npm run ingest` does. */
const ROOT = path.resolve(import.meta.dirname, "../..");

/** The publish and R2 settings a developer's shell may hold, which would change what a run does. */
const SHELL_PUBLISH_ENV = ["ADMIN_TOKEN", "VCDN_BASE_URL", "R2_ACCOUNT_ID", "R2_ENDPOINT", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"];

/** How a run of the ingest CLI ended and all it wrote. */
export interface IngestCliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** How {@link runIngestCli} starts and stops the CLI. */
export interface IngestCliOptions {
  /** Variables set on top of this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Leave out the publish and R2 variables of the shell (`env` may still set them): the run sees only what the test gives it. */
  withoutShellPublishEnv?: boolean;
  /** SIGKILL the run after this long, so a run that hangs ends as a failed run (signal SIGKILL, code null); no limit by default. */
  timeoutMs?: number;
}

/**
 * The ingest CLI as a user runs it (`ingest/cli.ts` under tsx, from the repository root) with `args`: resolves
 * once it has exited and its stdout and stderr are read to the end; rejects only if it cannot be started.
 */
export function runIngestCli(args: string[], opts: IngestCliOptions = {}): Promise<IngestCliRun> {
  const base = { ...process.env };
  if (opts.withoutShellPublishEnv) for (const name of SHELL_PUBLISH_ENV) delete base[name];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "ingest/cli.ts", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...base, ...opts.env },
    });
    let stdout = "";
    let stderr = "";
    // decoded as a stream, so a character split across two reads is not garbled
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // "close", not "exit": the last output may still be in the pipes when the process exits
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
