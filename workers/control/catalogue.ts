/** D1 queries of the catalogue (titles, renditions, licences); the steering view is read through steering-table.ts. */
import { steeringTable, type CandidateRow } from "../shared/steering-table";

export interface TitleRow {
  id: string;
  name: string;
  description: string;
  release_year: number | null;
  duration_s: number;
  available_from: number;
  live_min_copies: number | null;
}

export interface RenditionRow {
  id: string;
  kind: "video" | "audio" | "subtitle";
  codec: string;
  width: number | null;
  height: number | null;
  bandwidth: number;
  language: string | null;
  label: string | null;
}

export interface LicenceRow {
  country: string;
  available_from: number;
  available_until: number | null;
}

export type LicenceVerdict = { ok: true; from: number } | { ok: false; reason: string };

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
  return { ok: true, from: licence.available_from };
}

/** Codec family of an RFC 6381 codec string ("avc1.64001f" -> "avc1"). */
export const codecFamily = (codec: string): string => codec.split(".")[0].toLowerCase();

/** Everything the play request needs, in one D1 round trip. */
export async function loadPlayContext(db: D1Database, titleId: string, country: string | null, planId: string) {
  const [title, licence, plan, renditions, holders] = await db.batch([
    db.prepare(`SELECT id, name, description, release_year, duration_s, available_from, live_min_copies FROM titles WHERE id = ?`).bind(titleId),
    db.prepare(`SELECT country, available_from, available_until FROM licences WHERE title_id = ? AND country = ?`).bind(titleId, country ?? ""),
    db.prepare(`SELECT id, max_height, max_streams FROM plans WHERE id = ?`).bind(planId),
    db.prepare(`SELECT id, kind, codec, width, height, bandwidth, language, label FROM renditions WHERE title_id = ? ORDER BY kind, height, id`).bind(titleId),
    steeringTable.candidates(db, titleId),
  ]);
  return {
    title: (title.results[0] as TitleRow | undefined) ?? null,
    licence: (licence.results[0] as LicenceRow | undefined) ?? null,
    plan: (plan.results[0] as { id: string; max_height: number; max_streams: number } | undefined) ?? null,
    renditions: renditions.results as unknown as RenditionRow[],
    candidates: holders.results as unknown as CandidateRow[],
  };
}
