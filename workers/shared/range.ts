/**
 * RFC 9110 Range handling, as pure functions.
 *
 * Policy (documented in the README):
 * - One byte range (`first-last`, `first-`, `-suffix`): 206 with Content-Range, or 416 when it
 *   cannot be satisfied.
 * - Several ranges: the whole representation with 200. Players never ask for multipart/byteranges,
 *   and ignoring Range is always allowed by RFC 9110 §14.2.
 * - A malformed Range header or a unit other than `bytes`: ignored, 200 with the whole body.
 */

export type RangeDecision =
  | { kind: "full"; ignored?: "malformed" | "unit" | "multiple" }
  | { kind: "partial"; start: number; end: number }
  | { kind: "unsatisfiable" };

const NUM = /^\d{1,15}$/;
/** List elements of a Range header parsed at most (empty ones included). */
const MAX_RANGE_ELEMENTS = 16;

/** Decides how to answer a Range header for a representation of `size` bytes. */
export function decideRange(header: string | null | undefined, size: number): RangeDecision {
  if (header == null) return { kind: "full" };
  const eq = header.indexOf("=");
  if (eq < 0) return { kind: "full", ignored: "malformed" };
  const unit = header.slice(0, eq).trim().toLowerCase();
  if (unit !== "bytes") return { kind: "full", ignored: "unit" };
  // Empty list elements ("bytes=0-9,") are skipped, as RFC 9110 §5.6.1.2 requires of a recipient, up to
  // a reasonable number: a list longer than MAX_RANGE_ELEMENTS is not parsed (several ranges get 200 anyway).
  const elements = header.slice(eq + 1).split(",", MAX_RANGE_ELEMENTS + 1);
  if (elements.length > MAX_RANGE_ELEMENTS) return { kind: "full", ignored: "multiple" };
  const specs = elements.map((s) => s.trim()).filter((s) => s !== "");
  if (specs.length === 0) return { kind: "full", ignored: "malformed" };
  const parsed: Array<{ first?: number; last?: number; suffix?: number }> = [];
  for (const spec of specs) {
    const dash = spec.indexOf("-");
    if (dash < 0 || spec.indexOf("-", dash + 1) >= 0) return { kind: "full", ignored: "malformed" };
    const a = spec.slice(0, dash).trim();
    const b = spec.slice(dash + 1).trim();
    if (a === "") {
      if (!NUM.test(b)) return { kind: "full", ignored: "malformed" };
      parsed.push({ suffix: Number(b) });
    } else {
      if (!NUM.test(a) || (b !== "" && !NUM.test(b))) return { kind: "full", ignored: "malformed" };
      const first = Number(a);
      const last = b === "" ? undefined : Number(b);
      if (last !== undefined && last < first) return { kind: "full", ignored: "malformed" };
      parsed.push({ first, last });
    }
  }
  if (parsed.length > 1) return { kind: "full", ignored: "multiple" };
  const r = parsed[0];
  if (r.suffix !== undefined) {
    if (r.suffix === 0) return { kind: "unsatisfiable" };
    // A zero-length representation satisfies a non-zero suffix (RFC 9110 §14.1.1) but has no last byte
    // for a Content-Range: it is answered whole (200, empty), as ignoring Range always may be.
    if (size === 0) return { kind: "full" };
    return { kind: "partial", start: Math.max(0, size - r.suffix), end: size - 1 };
  }
  const first = r.first!;
  if (first >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", start: first, end: Math.min(r.last ?? size - 1, size - 1) };
}

/**
 * Entity tags of a validator list read at most: a client sends the tag of its copy (a shared cache a
 * few); the rest of a longer list is not split or compared.
 */
export const VALIDATOR_TAGS_READ = 64;

function opaque(tag: string): { weak: boolean; value: string } {
  const t = tag.trim();
  return t.startsWith("W/") ? { weak: true, value: t.slice(2) } : { weak: false, value: t };
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2); `*` matches any current representation. */
export function noneMatchHits(header: string | null | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const mine = opaque(etag).value;
  return header.split(",", VALIDATOR_TAGS_READ).some((t) => opaque(t).value === mine);
}

/**
 * If-Range (RFC 9110 §13.1.5): the Range applies only if the validator matches. An entity tag must
 * match strongly (weak tags never do); a date must equal Last-Modified exactly.
 */
export function ifRangeHolds(header: string | null | undefined, etag: string, lastModified: Date | undefined): boolean {
  if (header == null) return true;
  const h = header.trim();
  if (h.startsWith('"') || h.startsWith("W/")) {
    const theirs = opaque(h);
    const mine = opaque(etag);
    return !theirs.weak && !mine.weak && theirs.value === mine.value;
  }
  const when = httpDate(h);
  return when !== null && lastModified !== undefined && Math.floor(lastModified.getTime() / 1000) === Math.floor(when / 1000);
}

/**
 * If-Match (RFC 9110 §13.1.1): strong comparison; `*` holds for any current representation.
 * Weak tags never match.
 */
export function matchHolds(header: string, etag: string): boolean {
  if (header.trim() === "*") return true;
  const mine = opaque(etag);
  if (mine.weak) return false;
  return header.split(",", VALIDATOR_TAGS_READ).some((t) => {
    const theirs = opaque(t);
    return !theirs.weak && theirs.value === mine.value;
  });
}

const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "\\d{2}:\\d{2}:\\d{2}";
/** The three forms of HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, RFC 850 and asctime. Nothing else is a date. */
const HTTP_DATE = new RegExp(
  `^(?:${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT|(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \\d{2}-${MONTH}-\\d{2} ${TIME} GMT|${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4})$`,
);

/** An HTTP-date in ms, or null when the value is not one (a recipient then ignores the field). */
function httpDate(value: string): number | null {
  if (!HTTP_DATE.test(value)) return null;
  // asctime carries no zone: it is GMT.
  const when = Date.parse(/GMT$/.test(value) ? value : `${value} GMT`);
  return Number.isNaN(when) ? null : when;
}

/** An HTTP-date in seconds, or null when the header is not a date (then it is ignored). */
function httpDateSeconds(header: string | null | undefined): number | null {
  if (!header) return null;
  const when = httpDate(header.trim());
  return when === null ? null : Math.floor(when / 1000);
}

/** If-Unmodified-Since (§13.1.4): holds unless the representation changed after the date; an invalid date is ignored. */
export function unmodifiedSinceHolds(header: string | null | undefined, lastModified: Date | undefined): boolean {
  const since = httpDateSeconds(header);
  if (since === null || !lastModified) return true;
  return Math.floor(lastModified.getTime() / 1000) <= since;
}

/**
 * If-Modified-Since (§13.1.3): true when modified after the date, false when not (answer 304), null
 * when the header is absent or invalid or there is no Last-Modified (ignore it).
 */
export function modifiedSince(header: string | null | undefined, lastModified: Date | undefined): boolean | null {
  const since = httpDateSeconds(header);
  if (since === null || !lastModified) return null;
  return Math.floor(lastModified.getTime() / 1000) > since;
}
