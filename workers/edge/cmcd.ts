import { decodeCmcd } from "@svta/cml-cmcd";
import { isCmcdSid } from "../../shared/ids";

/**
 * What a player says about itself on a media request (CMCD, CTA-5004): as the `CMCD` query argument
 * or the `CMCD-Request`/`-Object`/`-Status`/`-Session` headers. Stock hls.js, dash.js and Shaka send it
 * with their built-in option, the SDK on every request. Everything here is a client's claim: each
 * value is bounded, anything malformed is ignored (a statistic is never worth a 4xx), and only the
 * keys the site's report uses are kept.
 */
export interface CmcdSample {
  /** The player's own session id (`sid`); the data plane keys on the token's session, not this. */
  sid: string | null;
  /** Object type: `v` video, `a` audio, `av` muxed, `i` init, `m` manifest, ... */
  ot: string | null;
  /** Encoded bitrate of the requested object (kbps). */
  br: number | null;
  /** Buffer length when requested (ms). */
  bl: number | null;
  /** Throughput the player measured (kbps). */
  mtp: number | null;
  /** Object duration (ms). */
  d: number | null;
  /** The buffer ran dry since the previous request. */
  bs: boolean;
  /** Requested while starting up or rebuffering. */
  su: boolean;
}

/** A CMCD payload longer than this is not a player's (the spec's keys fit in a few hundred bytes). */
export const MAX_CMCD_CHARS = 2_048;
const HEADERS = ["CMCD-Request", "CMCD-Object", "CMCD-Status", "CMCD-Session"] as const;
const OBJECT_TYPES = new Set(["m", "a", "v", "av", "i", "c", "tt", "k", "o"]);
/** Upper bounds of honest values: 100 Gbit/s, a day of buffer or object. */
const MAX_KBPS = 100_000_000;
const MAX_MS = 86_400_000;

/** A number, or the first item of a CMCD v2 inner list (bare or with parameters), within [0, max]. */
function bounded(v: unknown, max: number): number | null {
  const item = Array.isArray(v) ? v[0] : v;
  const n = typeof item === "number" ? item : item && typeof item === "object" && "value" in item ? (item as { value: unknown }).value : null;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? Math.min(Math.round(n), max) : null;
}

/** The CMCD text of a request: the query argument, else the headers joined (one dictionary). */
function cmcdText(req: Request, url: URL): string | null {
  const q = url.searchParams.get("CMCD");
  if (q !== null) return q;
  const parts = HEADERS.map((h) => req.headers.get(h)).filter((h): h is string => !!h);
  return parts.length ? parts.join(",") : null;
}

/** Reads a request's CMCD; null when there is none or it is not well-formed. */
export function readCmcd(req: Request, url: URL): CmcdSample | null {
  const text = cmcdText(req, url);
  if (text === null || text.length === 0 || text.length > MAX_CMCD_CHARS) return null;
  let data: Record<string, unknown>;
  try {
    data = decodeCmcd(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  // Own keys only: a dictionary key such as `__proto__` must not reach an inherited value.
  const get = (k: string) => (Object.hasOwn(data, k) ? data[k] : undefined);
  const sid = get("sid");
  const ot = get("ot");
  return {
    sid: isCmcdSid(sid) ? sid : null,
    ot: typeof ot === "string" && OBJECT_TYPES.has(ot) ? ot : null,
    br: bounded(get("br"), MAX_KBPS),
    bl: bounded(get("bl"), MAX_MS),
    mtp: bounded(get("mtp"), MAX_KBPS),
    d: bounded(get("d"), MAX_MS),
    bs: get("bs") === true,
    su: get("su") === true,
  };
}
