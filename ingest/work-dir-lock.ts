/**
 * One ingest at a time in a work dir. Two runs of one title (two people, a retry started while the first
 * still runs) would encode, rename and package the same files under each other: one failed with a raw
 * ENOENT, or both went on with chunks the other was rewriting. A run that died leaves its lock behind;
 * its process is gone, so the next run takes the lock over.
 */
import { readFileSync, rmSync } from "node:fs";
import { mkdir, open, readFile, rm, rmdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { processAlive } from "./exec";
import { onInterrupt } from "./interrupt-cleanup";

/** The lock's file name in the work dir. */
export const LOCK_FILE = "ingest.lock";

/** Lock files this process holds (two runs in one process share its pid). */
const held = new Set<string>();

/** The work dir is in use by another live ingest (or one on another host): says which, and what to do. */
export class WorkDirBusyError extends Error {}

/** What a lock file says: the pid and host of its run, when it can be read. */
function holderOf(text: string): { pid: number; host: string } | null {
  const [pid, host] = text.split("\n");
  const n = Number(pid);
  return Number.isSafeInteger(n) && n > 0 && host ? { pid: n, host } : null;
}

/**
 * Takes the work dir's lock for this process (creating the dir), or throws WorkDirBusyError when a live
 * ingest holds it. A lock whose process is gone (killed, crashed), or that cannot be read, is taken over.
 * Returns the release, which removes the lock only while it is still this process's (and the dir, if empty).
 */
export async function lockWorkDir(workDir: string): Promise<() => Promise<void>> {
  await mkdir(workDir, { recursive: true });
  const file = join(workDir, LOCK_FILE);
  const mine = `${process.pid}\n${hostname()}\n`;
  // two tries: the second after removing a stale lock (another run may take it in between: then it is busy)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, "wx");
      await handle.writeFile(mine);
      await handle.close();
      held.add(file);
      // Ctrl-C ends the CLI without this release: the lock goes with it rather than wait for a takeover
      const forget = onInterrupt(() => {
        if (readFileSync(file, "utf8") === mine) rmSync(file, { force: true });
      });
      return async () => {
        forget();
        held.delete(file);
        if ((await readFile(file, "utf8").catch(() => null)) !== mine) return;
        await rm(file, { force: true });
        // a run refused before it wrote anything (a rejected source) leaves no empty work dir behind
        await rmdir(workDir).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = holderOf(await readFile(file, "utf8").catch(() => ""));
    if (holder && holder.host !== hostname())
      throw new WorkDirBusyError(
        `the work dir ${workDir} is locked by an ingest on ${holder.host} (pid ${holder.pid}): wait for it, or give another --out` +
          ` (if no ingest runs there, remove ${file})`,
      );
    // A lock naming this process that it does not hold is an earlier process's with the same pid (a
    // container restarted, its ingest pid 1 again).
    const live = holder && (holder.pid === process.pid ? held.has(file) : processAlive(holder.pid));
    if (holder && live)
      throw new WorkDirBusyError(`another ingest (pid ${holder.pid}) is working in ${workDir}: wait for it to finish, or give this run another --out`);
    await rm(file, { force: true });
  }
  throw new WorkDirBusyError(`another ingest took the work dir ${workDir} just now: wait for it to finish, or give this run another --out`);
}
