import type { catalogueDb } from "../shared/catalogue-db";
import type { SeenState } from "./colo-look";
import { coloPut, coloRead } from "../shared/colo-shared-text";

/**
 * Catalogue entries an isolate loads from D1 (a title's context for play, a title version's view for
 * steering, a country's browse list, the plans), shared by the isolates of a colo through the Cache API. One change of a title makes every
 * isolate that caches it read it again; at a national peak that is thousands of reads a change
 * (docs/capacity.md). An entry is keyed by the catalogue state its loader had seen (colo-look.ts): it
 * was read from D1 after that state, and every change since would have moved the state, so an isolate
 * that saw the same state reads it as if from D1 (a browse list, which time changes too, and the plans,
 * which only migrations change, only within the window they were loaded in). Unknown titles are not shared (made-up ids must not
 * fill the colo's cache).
 */

/** How long a shared entry is kept, s: a state seldom lasts longer at peak, and a colo reloads it at most this often. */
const KEPT_S = 300;

/** What is shared, and how it goes in and out of JSON (`decode`: null for anything it would not have written). */
export interface SharedLoad<T> {
  /** The entry's name under the state: kind and ids, URL-safe. */
  what: string;
  encode: (value: NonNullable<T>) => unknown;
  decode: (json: unknown) => NonNullable<T> | null;
}

/** v2: an entry of v1 may have been loaded from a replica behind the state it is keyed by (see colo-look.ts). */
const entryUrl = (ns: string, seen: NonNullable<SeenState>, what: string) => `https://catalogue-load.invalid/v2/${ns}/${seen.latest}.${seen.mark}/${what}`;

/** Loads shared by the colo (tests). */
export const sharedLoads = { hits: 0 };

/** The colo's entry for `what` loaded at state `seen`, or null (none, no state seen yet, or the cache failing). */
export async function sharedEntry<T>(ns: string, seen: SeenState, shared: SharedLoad<T>): Promise<NonNullable<T> | null> {
  if (!seen) return null;
  return coloRead(entryUrl(ns, seen, shared.what), "catalogue load", async (hit) => {
    const value = shared.decode(await hit.json());
    if (value !== null) sharedLoads.hits++;
    return value;
  });
}

/** Puts an entry loaded at state `seen` for the colo's other isolates (failures logged and dropped). */
export async function shareEntry<T>(ns: string, seen: SeenState, shared: SharedLoad<T>, value: T): Promise<void> {
  if (!seen || value === null || value === undefined) return;
  // Encoded inside the put's guard: a value that will not encode is not shared, and the load still answers.
  await coloPut(entryUrl(ns, seen, shared.what), () => JSON.stringify(shared.encode(value as NonNullable<T>)), KEPT_S, "catalogue load");
}

type TitleContext = NonNullable<Awaited<ReturnType<typeof catalogueDb.titleContext>>>;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isRows = (v: unknown): v is Record<string, unknown>[] => Array.isArray(v) && v.every(isObject);

/** A title's context (play): its row, renditions, licences by country and candidates. */
export function titleContextShare(titleId: string): SharedLoad<TitleContext | null> {
  return {
    what: `title/${encodeURIComponent(titleId)}`,
    encode: (ctx) => ({ title: ctx.title, renditions: ctx.renditions, licences: [...ctx.licences.values()], candidates: ctx.candidates }),
    decode: (j) => {
      if (!isObject(j) || !isObject(j.title) || j.title.id !== titleId || !isRows(j.renditions) || !isRows(j.licences) || !isRows(j.candidates)) return null;
      const licences = j.licences as unknown as Array<{ country: string }>;
      return {
        title: j.title,
        renditions: j.renditions,
        licences: new Map(licences.map((l) => [l.country, l])),
        candidates: j.candidates,
      } as unknown as TitleContext;
    },
  };
}

/** A title version's rows (steering): its candidates, the title's state, licences and licence stops, as D1's batch returns them. */
export function versionRowsShare(titleId: string, version: number): SharedLoad<unknown[][]> {
  return {
    what: `version/${encodeURIComponent(titleId)}/${version}`,
    encode: (rows) => rows,
    decode: (j) => (Array.isArray(j) && j.length === 4 && j.every(isRows) ? (j as unknown[][]) : null),
  };
}

type Browse = Awaited<ReturnType<typeof catalogueDb.browse>>;

/**
 * A country's browse list as loaded in the half-TTL window `window` (time matters too: licences start and
 * end); sorted by its reader, as its own load would be.
 */
export function browseShare(country: string, window: number): SharedLoad<Browse> {
  return {
    what: `browse/${encodeURIComponent(country)}/${window}`,
    encode: (rows) => rows,
    decode: (j) => (isRows(j) ? (j as unknown as Browse) : null),
  };
}

type Plans = Awaited<ReturnType<typeof catalogueDb.plans>>;

/** The plans (a handful of rows, changed only by migrations) as loaded in the window `window` of their keeping time. */
export function plansShare(window: number): SharedLoad<Plans> {
  return {
    what: `plans/${window}`,
    encode: (plans) => [...plans.values()],
    decode: (j) => {
      if (!isRows(j)) return null;
      const rows = j as unknown as Array<{ id: string; max_height: number; max_streams: number }>;
      if (!rows.every((r) => typeof r.id === "string" && Number.isSafeInteger(r.max_height) && Number.isSafeInteger(r.max_streams))) return null;
      return new Map(rows.map((r) => [r.id, r]));
    },
  };
}
