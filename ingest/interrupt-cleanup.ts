/**
 * What an interrupted run removes on its way out. The CLI ends at once on SIGINT / SIGTERM
 * (process.exit, after killing ffmpeg), so no `finally` runs: the self-check's scratch copy of every
 * rendition (the size of the whole package) stayed in the temp dir at each Ctrl-C, and the work
 * dir's lock stayed too. Each is registered while it exists; the cleanups are synchronous, as an
 * exiting process runs nothing else.
 */

const cleanups = new Set<() => void>();

/** Registers `fn` to run if the run is interrupted; returns its removal, for when the thing is gone anyway. */
export function onInterrupt(fn: () => void): () => void {
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}

/** Runs (once) every cleanup registered: called by the CLI's signal handler before it exits. */
export function runInterruptCleanups(): void {
  const all = [...cleanups];
  cleanups.clear();
  for (const fn of all) {
    try {
      fn();
    } catch {
      // best effort: one that fails (already removed, a permission) must not keep the others from running
    }
  }
}
