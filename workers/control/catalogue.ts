/** Catalogue rules of the play request (licences, codec families); the SQL is in workers/shared/catalogue-db.ts. */
import type { LicenceRow } from "../shared/catalogue-db";

/** `country`: the one the licence was found for (a licensed play always has one). */
export type LicenceVerdict = { ok: true; from: number; country: string } | { ok: false; reason: string };

/** Is the title licensed in `country` at `now` (ms)? The reason says why not. */
export function checkLicence(licence: LicenceRow | null, country: string | null, now: number): LicenceVerdict {
  if (!country) return { ok: false, reason: "the client's country is unknown, so no licence can be checked" };
  if (!licence) return { ok: false, reason: `this title is not licensed in ${country}` };
  if (licence.available_from > now) {
    return { ok: false, reason: `this title's licence in ${country} starts at ${new Date(licence.available_from).toISOString()}` };
  }
  if (licence.available_until !== null && licence.available_until <= now) {
    return { ok: false, reason: `this title's licence in ${country} ended at ${new Date(licence.available_until).toISOString()}` };
  }
  return { ok: true, from: licence.available_from, country };
}

/** Codec family of an RFC 6381 codec string ("avc1.64001f" -> "avc1"). */
export const codecFamily = (codec: string): string => codec.split(".")[0].toLowerCase();
