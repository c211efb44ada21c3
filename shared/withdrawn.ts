import { isSafeId } from "./ids";

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
  /** A title's licence in one country, and when it stops there (ms): sessions granted before then stop then. */
  licences: Array<{ id: string; country: string; at: number }>;
  writtenAt: number;
}

/** The list as the data plane holds it: when each title stops, and each (title, country) licence's stops (key `${id}/${country}`). */
export interface Withdrawn {
  titles: Map<string, number>;
  licences: Map<string, number[]>;
}

const COUNTRY = /^[A-Z]{2}$/;
/**
 * Stops kept per licence: its end and the latest stop a registration made are all that matter (the list
 * is written newest first, and a later stop covers every session an earlier one did).
 */
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
      if (!(typeof l?.id === "string" && isSafeId(l.id) && typeof l.country === "string" && COUNTRY.test(l.country) && isTime(l.at))) continue;
      const key = `${l.id}/${l.country}`;
      const stops = out.licences.get(key);
      if (!stops) out.licences.set(key, [l.at]);
      else if (stops.length < STOPS_PER_LICENCE_MAX) stops.push(l.at);
    }
  }
  return out;
}

/**
 * Why a session of `titleId`, granted at `issuedAt` (ms) under `country`'s licence, is not served at
 * `now` (ms), or null while it is: the title stopped, or a stop of that licence came after the session
 * was granted.
 */
export function stopReason(list: Withdrawn, titleId: string, country: string, issuedAt: number, now: number): "taken_down" | "not_licensed" | null {
  const titleAt = list.titles.get(titleId);
  if (titleAt !== undefined && titleAt <= now) return "taken_down";
  const stops = list.licences.get(`${titleId}/${country}`);
  if (stops) for (const at of stops) if (at <= now && issuedAt < at) return "not_licensed";
  return null;
}
