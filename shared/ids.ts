import { z } from "zod";

/**
 * The one set of rules for identifiers and path segments that cross a boundary (URLs, admin bodies,
 * ingest, member tokens). Every id ends up as a key somewhere, so none may name an inherited property.
 */

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/**
 * Names an object inherits ("__proto__", "constructor", "toString", ...). Ids and path segments
 * end up as keys of records in the planner and in RPC results, so none may be one of these.
 */
const INHERITED = new Set([...Object.getOwnPropertyNames(Object.prototype), "prototype"]);

/** True if `s` names a property every object inherits; such a string is never a valid id. */
export function isInheritedName(s: string): boolean {
  return INHERITED.has(s);
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The one rule for title, site and OCA ids: 1-64 of [A-Za-z0-9_-], never an inherited property name. */
export function isSafeId(s: string): boolean {
  return ID.test(s) && !INHERITED.has(s);
}

const SESSION_ID = /^[A-Za-z0-9-]{1,64}$/;

/** The rule for session ids (a UUID as minted at play; checked wherever one crosses an RPC boundary or a token). */
export function isSessionId(s: unknown): s is string {
  return typeof s === "string" && SESSION_ID.test(s);
}

/** What isSafeId allows, for error messages. */
export const SAFE_ID_RULE = "1-64 characters of [A-Za-z0-9_-], not a reserved name such as __proto__";

/** True if a single path segment is safe: no dots-only names, separators, encodings, control characters or inherited names. */
export function isSafeSegment(s: string): boolean {
  return SEGMENT.test(s) && !s.includes("..") && !INHERITED.has(s);
}

/**
 * The longest file path inside a title. R2 keys are at most 1,024 bytes and an OCA's copy sits under
 * "site/oca/title/tag/" (up to 212 bytes): a longer path could be registered but never copied or
 * served (R2 refuses the key, and each refusal would count against the OCA as an error).
 */
export const MAX_FILE_PATH = 800;

/** What isSafeFilePath allows, for error messages. */
export const SAFE_PATH_RULE = `1-8 segments of up to 128 characters of [A-Za-z0-9._-] (no "..", no reserved names), at most ${MAX_FILE_PATH} characters in all`;

/** True if a relative file path inside a title is safe (1-8 safe segments, at most MAX_FILE_PATH characters). */
export function isSafeFilePath(path: string): boolean {
  if (path.length > MAX_FILE_PATH) return false;
  const parts = path.split("/");
  return parts.length >= 1 && parts.length <= 8 && parts.every(isSafeSegment);
}

/** Member ids (the `sub` of a member token): 1-64 of [A-Za-z0-9_.@-], not an inherited name. */
export function isMemberId(s: string): boolean {
  return /^[A-Za-z0-9_.@-]{1,64}$/.test(s) && !isInheritedName(s);
}

/** A zod schema for a member id, with its rule in the message. */
export const memberIdSchema = z.string().refine(isMemberId, "memberId must be 1-64 characters of [A-Za-z0-9_.@-], not a reserved name such as __proto__");

/** A zod schema for an id (title, site, OCA) named `what`, with the one rule. */
export const idSchema = (what: string) => z.string().refine(isSafeId, `${what} must be ${SAFE_ID_RULE}`);

/** An ISO 3166-1 alpha-2 country code as the platform reports one (`request.cf.country`): two capital letters. */
const COUNTRY_CODE = /^[A-Z]{2}$/;

/** True if `s` is a country code as licences, sites, tokens and the withdrawn list carry it. */
export function isCountryCode(s: string): boolean {
  return COUNTRY_CODE.test(s);
}

/** A country code in a request or registration body. */
export const countryCodeSchema = z.string().regex(COUNTRY_CODE, "country must be an ISO 3166 alpha-2 code (two capital letters)");

/** A member's streams object id as tokens and reports carry it: a Durable Object id's 64 hex digits. */
export function isStreamsId(s: unknown): s is string {
  return typeof s === "string" && /^[0-9a-f]{64}$/.test(s);
}

/**
 * A player's own CMCD session id (`sid`) as kept and shown to operators: printable ASCII (an sf-string's
 * characters, RFC 8941 §3.3.3), 1 to 64 of them. A control character or a lone surrogate is not kept.
 */
export const isCmcdSid = (s: unknown): s is string => typeof s === "string" && /^[\x20-\x7e]{1,64}$/.test(s);
