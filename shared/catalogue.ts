import { z } from "zod";
import { countryCodeSchema, isSafeFilePath, isSafeId, SAFE_ID_RULE, SAFE_PATH_RULE } from "./ids";

/**
 * A title's registration (`PUT /admin/titles/{id}`): the contract between ingest (which sends it),
 * the admin route (which validates it with this schema) and the catalogue tables (which store it).
 */
export const titleRegistrationSchema = z.object({
  name: z.string().min(1).max(200),
  description: z.string().max(2000).default(""),
  releaseYear: z.number().int().min(1870).max(2200).optional(),
  durationS: z
    .number()
    .positive()
    .max(86400 * 2),
  availableFrom: z.iso.datetime().optional(),
  /** Complete copies a region needs before its clients are steered to them (default: topology). */
  liveMinCopies: z.number().int().min(0).max(100).optional(),
  /** How the ladder was chosen (ingest): rungs, complexity, reason. Stored as given. */
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
        .max(50),
    })
    .loose()
    .optional(),
  renditions: z
    .array(
      z.object({
        id: z.string().refine(isSafeId, SAFE_ID_RULE),
        kind: z.enum(["video", "audio", "subtitle"]),
        codec: z.string().min(1).max(64),
        width: z.number().int().positive().optional(),
        height: z.number().int().positive().optional(),
        /** bits/s: up to 10 Gb/s, which no rendition of a title comes near */
        bandwidth: z.number().int().nonnegative().max(1e10),
        language: z.string().max(16).optional(),
        label: z.string().max(64).optional(),
      }),
    )
    .min(1)
    .max(200),
  files: z
    .array(
      z.object({
        path: z.string().refine(isSafeFilePath, `path must be ${SAFE_PATH_RULE}`),
        bytes: z.number().int().nonnegative(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    )
    .min(1)
    .max(20000),
  licences: z
    .array(
      z.object({
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
