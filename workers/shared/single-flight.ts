/**
 * One run at a time of work a request starts for the whole isolate (refreshing a view every request
 * reads). In workerd a promise's I/O belongs to the request that started it: another request that
 * awaits that promise, or hands it to its own `waitUntil`, can be left with a continuation the
 * runtime drops, or runs where the I/O it reads is not allowed, and then fails outside any handler
 * (a bare 500, logged as "Promise will never complete."). So only the request that starts a run holds
 * its promise; others see that one is running, and a request that needs the result before it answers
 * runs the work itself. A run whose request was cut off never settles: after `staleAfterMs` (a number,
 * or read at each check when it depends on state, such as a site's sync interval) it no longer counts
 * as running.
 */
export class SingleFlight {
  private run = 0;
  private startedAt = 0;
  private running = false;

  constructor(private readonly staleAfterMs: number | (() => number)) {}

  /** True while a run started less than `staleAfterMs` ago has not settled. */
  busy(now = Date.now()): boolean {
    const stale = typeof this.staleAfterMs === "function" ? this.staleAfterMs() : this.staleAfterMs;
    return this.running && now - this.startedAt < stale;
  }

  /** Starts `work` unless a run is busy; the promise (null when none started) is the caller's alone to await or `waitUntil`. */
  start(work: () => Promise<void>, now = Date.now()): Promise<void> | null {
    if (this.busy(now)) return null;
    const run = ++this.run;
    this.running = true;
    this.startedAt = now;
    const settle = () => {
      if (this.run === run) this.running = false;
    };
    let running: Promise<void>;
    try {
      running = work();
    } catch (err) {
      // Work that throws before it returns its promise is a run that ended: it must not block the next for staleAfterMs.
      settle();
      return Promise.reject(err);
    }
    return running.finally(settle);
  }

  /** Starts `work` unless a run is busy, kept alive past the caller's response by the caller's own `waitUntil`. */
  startBehind(work: () => Promise<void>, waitUntil?: (p: Promise<unknown>) => void): void {
    const run = this.start(work);
    if (run) waitUntil?.(run);
  }
}
