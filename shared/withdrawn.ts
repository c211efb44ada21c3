import { isSafeId } from "./ids";

/**
 * Origin's list of what stops being served, and when: titles taken down or whose last licence anywhere
 * ends, and a title's licence in one country ending while it plays on elsewhere. It holds those that
 * stopped within the last session lifetime (after that no token for them is valid) and those about to
 * stop (a licence's end is known ahead). Written by the control plane from the catalogue at each
 * registration and takedown and hourly, read by the data plane (`workers/edge/withdrawn.ts`), which
 * refuses their files with 410 from that time on (`taken_down` for the title, `not_licensed` for the
 * sessions licensed in that country). Kept in origin because origin is what the data plane reads.
 */
export interface WithdrawnDoc {
  /** Title ids and when each stops (ms). */
  titles: Array<{ id: string; at: number }>;
  /** A title's licence in one country, and when it ends there (ms). */
  licences: Array<{ id: string; country: string; at: number }>;
  writtenAt: number;
}

/** The list as the data plane holds it: when each title stops, and each (title, country) licence ends (key `${id}/${country}`). */
export interface Withdrawn {
  titles: Map<string, number>;
  licences: Map<string, number>;
}

const COUNTRY = /^[A-Z]{2}$/;
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
      if (typeof l?.id === "string" && isSafeId(l.id) && typeof l.country === "string" && COUNTRY.test(l.country) && isTime(l.at))
        out.licences.set(`${l.id}/${l.country}`, l.at);
    }
  }
  return out;
}

/** Why a session of `titleId` licensed in `country` is not served at `now` (ms), or null while it is. */
export function stopReason(list: Withdrawn, titleId: string, country: string, now: number): "taken_down" | "not_licensed" | null {
  const titleAt = list.titles.get(titleId);
  if (titleAt !== undefined && titleAt <= now) return "taken_down";
  const licenceAt = list.licences.get(`${titleId}/${country}`);
  return licenceAt !== undefined && licenceAt <= now ? "not_licensed" : null;
}
