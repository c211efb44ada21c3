import { z } from "zod";
import { countryCodeSchema, isSafeFilePath, isSafeId, SAFE_ID_RULE, SAFE_PATH_RULE } from "./ids";

/**
 * Lengths a registration's texts may have. Ingest checks its flags against them before it encodes, so a
 * title that would be refused is refused in seconds, not after hours of encoding.
 */
export const REGISTRATION_LIMITS = {
  /** renditions of a title */
  renditions: 200,
  /** files of a title's version */
  files: 20_000,
  /** characters of a title's name */
  name: 200,
  /** characters of its description */
  description: 2000,
  /** characters of a rendition's language tag */
  language: 16,
  /** characters of a rendition's label (ingest labels audio and subtitles with the language's name) */
  label: 64,
  /** rungs of the ladder in `encoding` */
  ladderRungs: 50,
  /** UTF-8 bytes of `encoding` as JSON: stored as given, in the title's row */
  encodingBytes: 64 * 1024,
  /** bytes of the poster image: shown in browse lists before sign-in, so small enough for any list */
  posterBytes: 2 * 1024 * 1024,
  /**
   * bytes of a top manifest (`master.m3u8`, `manifest.mpd`): an OCA reads it whole and filters it per
   * height cap in a Worker's 128 MB; a feature's MPD listing every segment is well under 2 MiB
   */
  topManifestBytes: 8 * 1024 * 1024,
} as const;

/** The manifests an OCA filters per session (read whole): a title's top manifests. */
export const TOP_MANIFESTS: readonly string[] = ["master.m3u8", "manifest.mpd"];

/**
 * True if `value` is JSON of at most `maxBytes` UTF-8 bytes; false too when JSON.stringify throws (an
 * engine whose stringify recurses may overflow on deep nesting): the catalogue could not store it either.
 */
export function fitsAsJson(value: unknown, maxBytes: number): boolean {
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    return false;
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes: encode only when the length alone cannot decide.
  if (json.length * 3 <= maxBytes) return true;
  return json.length <= maxBytes && new TextEncoder().encode(json).byteLength <= maxBytes;
}

/**
 * A title's registration (`PUT /admin/titles/{id}`): the contract between ingest (which sends it),
 * the admin route (which validates it with this schema) and the catalogue tables (which store it).
 */
export const titleRegistrationSchema = z.object({
  name: z.string().min(1).max(REGISTRATION_LIMITS.name),
  description: z.string().max(REGISTRATION_LIMITS.description).default(""),
  releaseYear: z.number().int().min(1870).max(2200).optional(),
  durationS: z
    .number()
    .positive()
    .max(86400 * 2),
  availableFrom: z.iso.datetime().optional(),
  /** Complete copies a region needs before its clients are steered to them (default: topology). */
  liveMinCopies: z.number().int().min(0).max(100).optional(),
  /**
   * How the ladder was chosen (ingest): rungs, complexity, reason, and what else ingest says. Stored as
   * given in the title's row, so bounded as a whole here: D1 refuses a row over 2,000,000 bytes, and
   * that would come after a version is claimed.
   */
  encoding: z
    .object({
      reason: z.string().max(2000),
      complexity: z.number().optional(),
      ladder: z
        .array(
          z.object({
            id: z.string().max(64),
            codec: z.string().max(64),
            width: z.number().int().positive(),
            height: z.number().int().positive(),
            bitrate: z.number().int().positive(),
          }),
        )
        .max(REGISTRATION_LIMITS.ladderRungs),
    })
    .loose()
    .refine((e) => fitsAsJson(e, REGISTRATION_LIMITS.encodingBytes), `must be JSON of at most ${REGISTRATION_LIMITS.encodingBytes} bytes`)
    .optional(),
  // Nested objects are strict too: a misspelt field (a licence's `availableUntill`) would be dropped,
  // and a licence meant to end would run open-ended.
  renditions: z
    .array(
      z.strictObject({
        id: z.string().refine(isSafeId, SAFE_ID_RULE),
        kind: z.enum(["video", "audio", "subtitle"]),
        codec: z.string().min(1).max(64),
        width: z.number().int().positive().optional(),
        height: z.number().int().positive().optional(),
        /** bits/s: up to 10 Gb/s, which no rendition of a title comes near */
        bandwidth: z.number().int().nonnegative().max(1e10),
        /** bits/s, on average (the packager's figure; not used by the catalogue) */
        averageBandwidth: z.number().int().nonnegative().max(1e10).optional(),
        /** frames a second (the packager's figure; not used by the catalogue) */
        frameRate: z.number().positive().max(1000).optional(),
        language: z.string().max(REGISTRATION_LIMITS.language).optional(),
        label: z.string().max(REGISTRATION_LIMITS.label).optional(),
      }),
    )
    .min(1)
    .max(REGISTRATION_LIMITS.renditions),
  files: z
    .array(
      z.strictObject({
        path: z.string().refine(isSafeFilePath, `path must be ${SAFE_PATH_RULE}`),
        bytes: z.number().int().nonnegative(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    )
    .min(1)
    .max(REGISTRATION_LIMITS.files),
  /**
   * The path of one of `files` that is the title's poster (`poster.jpg`, `.png` or `.webp` at the title
   * root, at most `REGISTRATION_LIMITS.posterBytes`): part of the version, like its files. None: no poster.
   */
  // Bounded here; where it may be and what it may weigh are checked against `files` (400 invalid_poster).
  poster: z.string().min(1).max(64).optional(),
  licences: z
    .array(
      z.strictObject({
        country: countryCodeSchema,
        availableFrom: z.iso.datetime(),
        availableUntil: z.iso.datetime().nullable().optional(),
      }),
    )
    .max(300),
});

/** What ingest sends and the catalogue stores (description defaults to ""). */
export type TitleRegistration = z.input<typeof titleRegistrationSchema>;
/** A registration as validated (defaults applied): what the catalogue stores. */
export type ValidTitleRegistration = z.output<typeof titleRegistrationSchema>;
