import { setBounded } from "../../workers/shared/bounded-map";
import { syncEveryMs } from "../../workers/shared/sync-pace";

/**
 * The isolates a site's object has heard from lately (each sync names its isolate), and the interval
 * it asks of them in return (`syncEveryMs`). In memory only: an evicted object starts again at one
 * second and climbs back within one window. An isolate counts while it has synced within twice the
 * current interval (a live one syncs at least once per interval).
 */
export class IsolatesHeard {
  /** Last sync per isolate id, oldest first (a Map: ids arrive over RPC). */
  private readonly lastSync = new Map<string, number>();
  private everyMs = syncEveryMs(0);

  constructor(private readonly maxTracked = 50_000) {}

  /** Notes a sync from `isolate` (ignored unless a short id) and answers the interval to ask of every isolate. */
  note(isolate: unknown, now: number): number {
    if (typeof isolate === "string" && isolate.length > 0 && isolate.length <= 64) setBounded(this.lastSync, isolate, now, this.maxTracked);
    const since = now - 2 * this.everyMs - 1_000;
    for (const [id, at] of this.lastSync) {
      if (at >= since) break;
      this.lastSync.delete(id);
    }
    this.everyMs = syncEveryMs(this.lastSync.size);
    return this.everyMs;
  }

  /** Isolates heard within the window and the interval asked of them, for operators. */
  pace(now: number): { isolates: number; everyMs: number } {
    const everyMs = this.note(null, now);
    return { isolates: this.lastSync.size, everyMs };
  }
}
