import type { catalogueDb } from "../shared/catalogue-db";
import { newestBookmark } from "../shared/replica-reads";
import { coloPut, coloRead } from "../shared/colo-shared-text";

/**
 * The catalogue's change look, shared by the isolates of a colo through the Cache API. Each isolate
 * asks D1 once per CATALOGUE_TTL_S which titles changed since the state it last saw; at a national
 * peak thousands of isolates asking would pass a D1 database's rate (docs/capacity.md). Isolates that
 * saw the same state ask the same question, so its answer is put in the colo cache under that state
 * and a window of half the TTL: the first isolate of a colo to look in a window asks D1, the others
 * read its answer. An answer is at most one window old when read, which the catalogue's cadence
 * allows for (see `sync` in catalogue-cache.ts: its bound stays 2 × TTL). Where the Cache API keeps
 * nothing (a workers.dev route) every isolate asks D1, as before.
 *
 * An answer carries the D1 bookmark its asker had read up to: an isolate that takes it reads no older
 * than that from then on (`sessionsFrom`). Without it, an isolate whose own bookmark is behind (a fresh
 * one, or one whose replica lags) would take the state, then load a title from a replica that has not
 * reached it and keep, and share under that state, the title as it was before: no later look names it.
 */

/** One look's answer: D1's newest change, the live topology's version, and the titles changed since the state asked about. */
export type ChangeLook = Awaited<ReturnType<typeof catalogueDb.changedSince>>;
/** The state an isolate last saw (null: it has seen none, a first look). */
export type SeenState = { latest: number; mark: number } | null;
/** A look's answer as the colo shares it: with the bookmark its asker had read up to (null: D1 without sessions). */
export type SharedAnswer = ChangeLook & { bookmark: string | null };

/** A D1 bookmark is a short token; anything longer in the cache is not one this module wrote. */
const MAX_BOOKMARK_CHARS = 256;

/** A shared answer lists at most this many titles (the look's own LIMIT: past 10,000 an isolate starts afresh). */
const MAX_CHANGED = 10_001;

/** How long one shared answer serves a colo, ms: half the TTL (0: nothing shared, every look asks D1). */
export function lookWindowMs(ttlMs: number): number {
  return ttlMs / 2;
}

/** Where the answer for `seen` in the window holding `now` sits; the window's length is part of the key, so TTLs never mix. */
export function lookEntryUrl(ns: string, ttlMs: number, now: number, seen: SeenState): string {
  const w = lookWindowMs(ttlMs);
  const start = Math.floor(now / w) * w;
  return `https://catalogue-look.invalid/v2/${ns}/${w}/${start}/${seen ? `${seen.latest}.${seen.mark}` : "first"}`;
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

/** An entry as this module writes it, else null: anything else in the cache is ignored, not trusted. */
function parse(text: string): SharedAnswer | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const { latest, mark, topologyVersion, changed, bookmark } = v as Record<string, unknown>;
  if (!isInt(latest) || !isInt(mark) || !isInt(topologyVersion) || !Array.isArray(changed) || changed.length > MAX_CHANGED) return null;
  if (bookmark !== null && !(typeof bookmark === "string" && bookmark.length > 0 && bookmark.length <= MAX_BOOKMARK_CHARS)) return null;
  const rows: ChangeLook["changed"] = [];
  for (const c of changed) {
    if (!Array.isArray(c) || typeof c[0] !== "string" || !isInt(c[1]) || !isInt(c[2])) return null;
    rows.push({ id: c[0], view_stamp: c[1], view_changed_at: c[2] });
  }
  return { latest, mark, topologyVersion, changed: rows, bookmark };
}

/**
 * The answer another isolate of this colo got from D1 for `seen` in the current window, or null (none
 * yet, sharing off at TTL 0, or the cache failing: the caller asks D1 itself).
 */
export async function sharedLook(ns: string, ttlMs: number, now: number, seen: SeenState): Promise<SharedAnswer | null> {
  if (!(ttlMs > 0)) return null;
  return coloRead(lookEntryUrl(ns, ttlMs, now, seen), "catalogue look", async (hit) => parse(await hit.text()));
}

/**
 * Puts D1's answer for `seen`, asked at `askedAt`, where the colo's other isolates look in that window,
 * with `bookmark`, the newest its asker has read (its readers read no older). It lives a little past its
 * window (the next window has its own key). A failed put is logged and dropped: the others ask D1 themselves.
 */
export async function shareLook(ns: string, ttlMs: number, askedAt: number, seen: SeenState, look: ChangeLook, bookmark: string | null = null): Promise<void> {
  // A bookmark too long to be D1's is not shared without it: its readers would take the state unfloored.
  if (!(ttlMs > 0) || (bookmark !== null && bookmark.length > MAX_BOOKMARK_CHARS)) return;
  const body = JSON.stringify({
    latest: look.latest,
    mark: look.mark,
    topologyVersion: look.topologyVersion,
    changed: look.changed.map((c) => [c.id, c.view_stamp, c.view_changed_at]),
    bookmark,
  });
  await coloPut(lookEntryUrl(ns, ttlMs, askedAt, seen), body, Math.ceil(lookWindowMs(ttlMs) / 1000) + 1, "catalogue look");
}

/**
 * `db` with its sessions starting no older than `floor` (a bookmark taken with a colo's answer): a
 * session asked from no bookmark, or from an older one, starts from `floor` (a replica behind it waits
 * for it); one asked of the primary stays so. `db` itself where there is no floor, no sessions, or the
 * isolate has read past the floor already (bookmarks sort oldest first, as `readReplica` compares them).
 */
export function sessionsFrom(db: D1Database, floor: string | null): D1Database {
  if (floor === null || typeof db.withSession !== "function" || (newestBookmark() ?? "") >= floor) return db;
  return new Proxy(db, {
    get(target, key) {
      if (key === "withSession")
        return (from?: string) =>
          target.withSession(from === undefined || from === "first-unconstrained" || (!from.startsWith("first-") && from < floor) ? floor : from);
      const value = Reflect.get(target, key) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
