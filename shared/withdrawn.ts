import { isCountryCode, isSafeId } from "./ids";

/**
 * Origin's list of what stops being served, and when: titles taken down or whose last licence anywhere
 * ends, and a title's licence in one country stopping while it plays on elsewhere (its end, or a
 * registration that dropped the country, ended it early or moved its start later). It holds those that
 * stopped within the last session lifetime (after that no token for them is valid) and those about to
 * stop (a licence's end is known ahead). Written by the control plane from the catalogue at each
 * registration and takedown and hourly, read by the data plane (`workers/edge/withdrawn.ts`), which
 * refuses their files with 410 from that time on: `taken_down` for the title, `not_licensed` for the
 * sessions a country's licence had granted before it stopped (a later licence's sessions play on).
 * Kept in origin because origin is what the data plane reads.
 */
export interface WithdrawnDoc {
  /** Title ids and when each stops (ms). */
  titles: Array<{ id: string; at: number }>;
  /**
   * A title's licence in one country stopping (ms): from `at`, the sessions it granted before
   * `grantedBefore` (absent: `at`) stop. A registration's stop reaches past its own moment by the time
   * play's views take to learn of it, so a session granted from a view that had not yet does not escape.
   */
  licences: Array<{ id: string; country: string; at: number; grantedBefore?: number }>;
  writtenAt: number;
}

/** A licence's stop: from `at`, the sessions granted before `grantedBefore` (ms). */
export interface LicenceStop {
  at: number;
  grantedBefore: number;
}

/** The list as the data plane holds it: when each title stops, and each (title, country) licence's stops (key `${id}/${country}`). */
export interface Withdrawn {
  titles: Map<string, number>;
  licences: Map<string, LicenceStop[]>;
}

/** Stops kept per licence (the list is written newest first): a handful within a session lifetime. */
const STOPS_PER_LICENCE_MAX = 64;
const isTime = (at: unknown): at is number => typeof at === "number" && Number.isFinite(at);

/** The list read from its JSON; anything that is not a safe id, a country code or a time is left out. */
export function parseWithdrawn(text: string): Withdrawn {
  const out: Withdrawn = { titles: new Map(), licences: new Map() };
  let doc: Partial<WithdrawnDoc> | null;
  try {
    doc = JSON.parse(text);
  } catch {
    return out;
  }
  const titles = doc?.titles;
  if (Array.isArray(titles)) for (const t of titles) if (typeof t?.id === "string" && isSafeId(t.id) && isTime(t.at)) out.titles.set(t.id, t.at);
  const licences = doc?.licences;
  if (Array.isArray(licences)) {
    for (const l of licences) {
      if (!(typeof l?.id === "string" && isSafeId(l.id) && typeof l.country === "string" && isCountryCode(l.country) && isTime(l.at))) continue;
      const stop = { at: l.at, grantedBefore: isTime(l.grantedBefore) ? l.grantedBefore : l.at };
      const key = `${l.id}/${l.country}`;
      const stops = out.licences.get(key);
      if (!stops) out.licences.set(key, [stop]);
      else if (stops.length < STOPS_PER_LICENCE_MAX) stops.push(stop);
    }
  }
  return out;
}

/** True when one of a licence's stops applies at `now` to a session it granted at `grantedAt` (ms). */
export const stoppedBy = (stops: readonly LicenceStop[] | undefined, grantedAt: number, now: number): boolean =>
  stops?.some((s) => s.at <= now && grantedAt < s.grantedBefore) ?? false;

/**
 * Why a session of `titleId`, granted at `issuedAt` (ms) under `country`'s licence, is not served at
 * `now` (ms), or null while it is: the title stopped, or a stop of that licence applies to it.
 */
export function stopReason(list: Withdrawn, titleId: string, country: string, issuedAt: number, now: number): "taken_down" | "not_licensed" | null {
  const titleAt = list.titles.get(titleId);
  if (titleAt !== undefined && titleAt <= now) return "taken_down";
  return stoppedBy(list.licences.get(`${titleId}/${country}`), issuedAt, now) ? "not_licensed" : null;
}
