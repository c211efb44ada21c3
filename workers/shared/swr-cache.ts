import { setBounded } from "./bounded-map";

/**
 * A per-isolate cache with stale-while-revalidate and stale-if-error, for reads that many requests
 * share (catalogue, candidates): within `freshMs` an entry is served as is; up to `2 × freshMs` it is
 * served while one background load refreshes it; older, a request waits for a load, and if that load
 * fails the entry is still served up to `staleIfErrorMs` (a database that is down does not take the
 * hot path with it). Bounded: least recently used entries go first.
 */
export class SwrCache<V> {
  private readonly entries = new Map<string, { value: V; at: number; refreshing?: Promise<void> }>();

  constructor(private readonly opts: { max: number; staleIfErrorMs: number }) {}

  /** The value for `key`, loading it with `load` when missing or too old. */
  async get(key: string, freshMs: number, load: () => Promise<V>, waitUntil?: (p: Promise<unknown>) => void, now = Date.now()): Promise<V> {
    const e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      this.entries.set(key, e);
      const age = now - e.at;
      if (age < freshMs) return e.value;
      if (age < 2 * freshMs) {
        if (!e.refreshing) {
          e.refreshing = load()
            .then((v) => this.set(key, v))
            .catch(() => {})
            .finally(() => {
              e.refreshing = undefined;
            });
          waitUntil?.(e.refreshing);
        }
        return e.value;
      }
    }
    try {
      const v = await load();
      this.set(key, v);
      return v;
    } catch (err) {
      if (e && now - e.at < this.opts.staleIfErrorMs) return e.value;
      throw err;
    }
  }

  /** Forgets every entry (tests, and a write this isolate made itself). */
  clear(): void {
    this.entries.clear();
  }

  private set(key: string, value: V): void {
    setBounded(this.entries, key, { value, at: Date.now() }, this.opts.max);
  }
}
