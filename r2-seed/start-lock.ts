import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { processAlive } from "../ingest/exec";
import { PROJECT_ROOT } from "./local-worker";

/** Held by a running `npm start` of this checkout, beside the local state it serves. */
export const START_LOCK_FILE = path.join(PROJECT_ROOT, ".wrangler", "npm-start.lock");

/**
 * Takes the checkout's `npm start` lock for this process, or throws naming the `npm start` that holds
 * it. One checkout has one local state (.wrangler/state): a second `npm start` on another port would
 * serve the same R2, D1 and Durable Object files from a second workerd, and one started while the first
 * is still building the catalogue (its port not yet taken) would build it again beside it. A lock left
 * by a process that is gone is taken over. `release` removes it (only if still this process's).
 */
export function takeStartLock(port: number, file = START_LOCK_FILE): { release(): void } {
  mkdirSync(path.dirname(file), { recursive: true });
  const mine = JSON.stringify({ pid: process.pid, port });
  // A few tries: another start may take over the same stale lock between this one's removal and write.
  for (let attempt = 1; ; attempt++) {
    try {
      writeFileSync(file, mine, { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw err;
    }
    let holder: { pid?: unknown; port?: unknown } = {};
    try {
      holder = JSON.parse(readFileSync(file, "utf8")) as typeof holder;
    } catch {
      /* unreadable or half-written: taken for stale */
    }
    if (typeof holder.pid === "number" && holder.pid !== process.pid && processAlive(holder.pid))
      throw new Error(
        `another \`npm start\` (pid ${holder.pid}, port ${String(holder.port)}) is running in this checkout, on the same local state (.wrangler/state): stop it first (Ctrl-C in its terminal), or remove ${path.relative(PROJECT_ROOT, file)} if pid ${holder.pid} is no npm start`,
      );
    rmSync(file, { force: true });
  }
  return {
    release() {
      try {
        if (readFileSync(file, "utf8") === mine) rmSync(file, { force: true });
      } catch {
        /* already gone */
      }
    },
  };
}
