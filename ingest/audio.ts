/** Audio: one AAC-LC stereo encode per language, aligned to the video and exactly as long. */
import { existsSync } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { ffmpegPath } from "./ffmpeg-path";
import { runChecked } from "./exec";
import { REGISTRATION_LIMITS } from "../shared/catalogue";

export const AUDIO_BITRATE = 128_000;
export const AUDIO_SAMPLE_RATE = 48_000;

/** BCP 47 primary language -> ISO 639-2/T; a Map, as the key comes from user input or a file. */
const ISO639_2 = new Map<string, string>(
  Object.entries({
    en: "eng",
    es: "spa",
    de: "deu",
    fr: "fra",
    nl: "nld",
    it: "ita",
    pt: "por",
    ja: "jpn",
    ko: "kor",
    zh: "zho",
    ru: "rus",
    pl: "pol",
    sv: "swe",
    da: "dan",
    no: "nor",
    nb: "nob",
    fi: "fin",
    tr: "tur",
    ar: "ara",
    hi: "hin",
    cs: "ces",
    el: "ell",
    he: "heb",
    hu: "hun",
    id: "ind",
    ro: "ron",
    th: "tha",
    uk: "ukr",
    vi: "vie",
  }),
);

/** BCP 47 primary language -> ISO 639-2/T (written into the MP4 track), "und" when unknown. */
export function iso639_2(lang: string): string {
  const primary = lang.toLowerCase().split("-")[0];
  if (/^[a-z]{3}$/.test(primary)) return primary;
  return ISO639_2.get(primary) ?? "und";
}

/** Human name of a language, in English ("es" -> "Spanish"). */
export function languageName(lang: string): string {
  try {
    return new Intl.DisplayNames(["en"], { type: "language" }).of(lang) ?? lang;
  } catch {
    return lang;
  }
}

/** A tag as quoted in a message: at most 40 characters of it (a tag from a file's metadata may be any length). */
const quoted = (lang: string) => JSON.stringify(lang.length > 40 ? `${lang.slice(0, 40)}…` : lang);

/** Normalises "EN", "en_us", "eng" style inputs to a BCP 47 tag we use in ids and manifests. */
export function normaliseLanguage(lang: string): string {
  const s = lang.trim().replace(/_/g, "-");
  if (!/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(s)) throw new Error(`not a language tag: ${quoted(lang)}`);
  const [p, ...rest] = s.split("-");
  const back = [...ISO639_2].find(([, v]) => v === p.toLowerCase());
  const primary = p.length === 3 && back ? back[0] : p.toLowerCase();
  return [primary, ...rest.map((r) => (r.length === 2 ? r.toUpperCase() : r.toLowerCase()))].join("-");
}

/**
 * Why a normalised language tag cannot go into the title's registration (the limits of
 * shared/catalogue.ts: the tag's length, and its name's, which labels the rendition), or null.
 */
export function languageLimitProblem(language: string): string | null {
  const L = REGISTRATION_LIMITS;
  if (language.length > L.language) return `a language tag of at most ${L.language} characters, got ${quoted(language)}`;
  const label = languageName(language);
  if (label.length > L.label) return `the name of ${language} (${label}) is over ${L.label} characters`;
  return null;
}

/**
 * A language tag as ingest takes one, from a flag or from the source's own metadata: normalised, and
 * within the registration's limits. Throws why not.
 */
export function checkLanguage(lang: string): string {
  const language = normaliseLanguage(lang);
  const problem = languageLimitProblem(language);
  if (problem) throw new Error(problem);
  return language;
}

export interface AudioEncodeInput {
  path: string;
  streamIndex: number;
  language: string;
  /**
   * For the source's own track: where the video starts (s from the container start); the audio is
   * cut/padded to start exactly there. null for a separate audio file (starts at its beginning).
   */
  alignToS: number | null;
  durationS: number;
  output: string;
}

export async function encodeAudio(a: AudioEncodeInput): Promise<{ skipped: boolean }> {
  if (existsSync(a.output)) return { skipped: true };
  await mkdir(dirname(a.output), { recursive: true });
  const filters = a.alignToS !== null ? [`aresample=async=1:first_pts=0`, `atrim=start=${a.alignToS.toFixed(6)}`, "asetpts=PTS-STARTPTS", "apad"] : ["apad"];
  const tmp = `${a.output}.part`;
  await runChecked(
    ffmpegPath,
    [
      "-nostdin",
      "-hide_banner",
      "-y",
      "-v",
      "error",
      "-threads",
      "1",
      "-i",
      a.path,
      "-map",
      `0:${a.streamIndex}`,
      "-vn",
      "-sn",
      "-dn",
      "-af",
      filters.join(","),
      "-t",
      a.durationS.toFixed(6),
      "-c:a",
      "aac",
      "-b:a",
      `${AUDIO_BITRATE / 1000}k`,
      "-ar",
      String(AUDIO_SAMPLE_RATE),
      "-ac",
      "2",
      "-metadata:s:a:0",
      `language=${iso639_2(a.language)}`,
      "-movflags",
      "frag_keyframe+empty_moov+default_base_moof",
      "-f",
      "mp4",
      tmp,
    ],
    `audio encode (${a.language})`,
    { timeoutMs: 3 * 3600_000 },
  );
  await rename(tmp, a.output);
  return { skipped: false };
}
