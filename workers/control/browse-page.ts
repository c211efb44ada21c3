import { z } from "zod";
import { b64url, fromB64url } from "../shared/hmac";
import { queryInt } from "./validation";

/**
 * Pages of the browse list (`GET /v1/titles`). A country's licensed catalogue runs to thousands of
 * titles, so an answer carries at most a page; the cursor names the last title given (its name and
 * id, the list's order), not a position, so a title published or taken down between two pages neither
 * repeats one nor skips one that stays.
 */

/** Titles in a page when the client names no limit, and the most it may ask for. */
export const BROWSE_PAGE_DEFAULT = 50;
export const BROWSE_PAGE_MAX = 200;
/** A cursor longer than this was not made here (a title's name is at most 200 characters). */
const CURSOR_MAX_CHARS = 2048;

export const browseQuery = z.object({
  // Decimal digits only: coercion read `?limit=1e2` as 100, `0x10` as 16 and ` 5` as 5.
  limit: queryInt(1, BROWSE_PAGE_MAX, BROWSE_PAGE_DEFAULT),
  cursor: z.string().min(1).max(CURSOR_MAX_CHARS).optional(),
});

/** Where a page starts: after the title with this name and id. */
export interface BrowseCursor {
  name: string;
  id: string;
}

/** The browse list's order: by name, then id (names repeat). Plain code-unit order, the same in every isolate. */
export function compareBrowse(a: BrowseCursor, b: BrowseCursor): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The opaque cursor after `last`. */
export function encodeBrowseCursor(last: BrowseCursor): string {
  return b64url(new TextEncoder().encode(JSON.stringify([last.name, last.id])));
}

/** The position a cursor names, or null when it is not one this API made. */
export function decodeBrowseCursor(cursor: string): BrowseCursor | null {
  const bytes = fromB64url(cursor);
  if (!bytes) return null;
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return null;
  }
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== "string" || typeof v[1] !== "string") return null;
  return { name: v[0], id: v[1] };
}

/**
 * One page of a list sorted by `compareBrowse`: the titles after `after` (from the start without it),
 * at most `limit`, and the cursor of the next page when more remain.
 */
export function browsePage<T extends BrowseCursor>(sorted: readonly T[], after: BrowseCursor | undefined, limit: number): { items: T[]; next?: string } {
  let lo = 0;
  if (after) {
    // The first title past the cursor (binary search: the list is sorted).
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBrowse(sorted[mid], after) <= 0) lo = mid + 1;
      else hi = mid;
    }
  }
  const items = sorted.slice(lo, lo + limit);
  const last = items.at(-1);
  return lo + limit < sorted.length && last ? { items, next: encodeBrowseCursor(last) } : { items };
}
