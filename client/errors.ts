/**
 * The SDK's error model, in the style of Shaka Player's: every error has a category, a numeric code,
 * a name, a severity (recoverable: the SDK carried on, e.g. by failing over; fatal: the session
 * stopped) and data (OCA, URL, HTTP status). QoE `error` events carry `"<code> <NAME>"` as their
 * reason, so the server and dashboards group them without parsing prose.
 */

export const ErrorCategory = {
  NETWORK: "network",
  SESSION: "session",
  MEDIA: "media",
  STEERING: "steering",
  CONFIG: "config",
} as const;
export type ErrorCategory = (typeof ErrorCategory)[keyof typeof ErrorCategory];

export type Severity = "recoverable" | "fatal";

/** Every code the SDK raises: name -> [code, category, severity, meaning]. The README's table is this one. */
export const ERROR_CODES = {
  OCA_HTTP_ERROR: [1001, "network", "recoverable", "An OCA answered 5xx, 404 or 429; the request moved to the next OCA."],
  OCA_TIMEOUT: [1002, "network", "recoverable", "An OCA did not answer in time; the request moved to the next OCA."],
  OCA_UNREACHABLE: [1003, "network", "recoverable", "No HTTP answer from an OCA; the request moved to the next OCA."],
  CLIENT_NETWORK_DOWN: [1004, "network", "recoverable", "No HTTP answer from two OCAs in a row: the client's network; retried with back-off, no OCA charged."],
  THROUGHPUT_COLLAPSE: [1005, "network", "recoverable", "Two downloads in a row slower than the lowest rung needs; moved to the next OCA."],
  ALL_OCAS_FAILED: [1006, "network", "fatal", "Every OCA of the list failed, and a renewed play session's too."],
  PLAY_REQUEST_FAILED: [2001, "session", "fatal", "POST /v1/play was refused (data.status, data.apiCode)."],
  RENEWAL_FAILED: [2002, "session", "recoverable", "A new play session (token expiring, or every OCA failed) could not be taken."],
  SESSION_EXPIRED: [
    2003,
    "session",
    "fatal",
    "The play session's token ran out (or it was stopped to be renewed) and no new one could be taken in time (data.status, data.apiCode: the last try's).",
  ],
  HTTP_REFUSED: [
    3001,
    "media",
    "fatal",
    "An OCA refused a file with a status failing over cannot help (401, 403, 409, 410, ...; data.status, data.apiCode). After a 410 a new play session is tried once: when it is refused, data.status and data.apiCode are that play's (410 taken_down, 451 not_licensed, ...).",
  ],
  PLAYLIST_INVALID: [3002, "media", "fatal", "A playlist could not be used (no variant)."],
  PLAYER_ERROR: [3003, "media", "fatal", "The media player reported an error it could not recover from."],
  STEERING_POLL_FAILED: [4001, "steering", "recoverable", "A steering poll failed or timed out; polling goes on."],
  INVALID_OPTION: [5001, "config", "recoverable", "configure() or play() refused an option (unknown key, wrong type or range); play() then takes no session."],
} as const satisfies Record<string, readonly [number, ErrorCategory, Severity, string]>;

export type ErrorName = keyof typeof ERROR_CODES;

export interface ErrorData {
  ocaId?: string;
  url?: string;
  status?: number;
  /** The API's error code (`too_many_streams`, ...): of a refused play, or of an OCA's refusal. */
  apiCode?: string;
  /**
   * Of a play refused with `too_many_streams`: the titles playing on the member's other screens
   * (their ids, at most 8, without repeats), so an app can say what to stop.
   */
  activeTitleIds?: string[];
  /**
   * Of a play refused with `too_many_streams` because the member spent its hour's handovers: how many
   * streams stopped moments ago still hold their slots, so an app can say "wait" rather than "stop one
   * elsewhere".
   */
  stoppedHolding?: number;
  /**
   * With `stoppedHolding`: the seconds until the held slots free at the latest. Of any other refused
   * play (429, 503): the answer's `Retry-After`, when it had one. At most an hour.
   */
  retryAfterS?: number;
  /** Free detail for logs (never parsed). */
  detail?: string;
}

/** An SDK error: `instanceof SdkError`, with a stable numeric `code` and `name`. */
export class SdkError extends Error {
  readonly code: number;
  readonly category: ErrorCategory;
  readonly severity: Severity;

  constructor(
    readonly errorName: ErrorName,
    readonly data: ErrorData = {},
  ) {
    const [code, category, severity, meaning] = ERROR_CODES[errorName];
    super(`${code} ${errorName}: ${data.detail ?? meaning}`);
    this.name = "SdkError";
    this.code = code;
    this.category = category;
    this.severity = severity;
  }

  get fatal(): boolean {
    return this.severity === "fatal";
  }

  /** What a QoE event's `reason` carries: the code and name, then the detail. */
  get reason(): string {
    return `${this.code} ${this.errorName}${this.data.detail ? `: ${this.data.detail}` : ""}`.slice(0, 500);
  }
}

/**
 * The API's error code in a refusal's body (`{"error":{"code":"too_many_streams",...}}`), so an app can
 * tell "another device holds the plan's slot" from a broken link; undefined for any other body.
 */
export function apiCodeOf(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } } | null)?.error?.code;
    return typeof code === "string" && /^[a-z_]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** At most this many titles are kept from a refusal's active streams (a plan allows a handful). */
const MAX_ACTIVE_TITLES = 8;

/** A `too_many_streams` refusal's active streams (`details.active`), the first 64: the details come off the network. */
function activeOf(details: unknown): unknown[] | undefined {
  const active = (details as { active?: unknown } | null | undefined)?.active;
  return Array.isArray(active) ? active.slice(0, 64) : undefined;
}

/** Whether a `too_many_streams` refusal's active streams include session `sessionId` (its slot still held). */
export function holdsSlot(details: unknown, sessionId: string): boolean {
  return activeOf(details)?.some((a) => (a as { sessionId?: unknown } | null)?.sessionId === sessionId) ?? false;
}

/**
 * The titles of a `too_many_streams` refusal's active streams (`details.active[].titleId`), in order,
 * without repeats, at most 8; undefined when the details hold none. Only ids of the API's own form
 * (1-64 of [A-Za-z0-9_-]) are kept: the details come off the network.
 */
export function activeTitleIdsOf(details: unknown): string[] | undefined {
  const active = activeOf(details);
  if (!active) return undefined;
  const ids: string[] = [];
  for (const a of active) {
    const id = (a as { titleId?: unknown } | null)?.titleId;
    if (typeof id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(id) && !ids.includes(id)) ids.push(id);
    if (ids.length === MAX_ACTIVE_TITLES) break;
  }
  return ids.length ? ids : undefined;
}

/**
 * An OCA refused a file with a status failing over cannot help (401, 403, 409, 410, ...): the error
 * the session stops with, carrying the API's code from the refusal's body when it has one. `file` is
 * the file's path below its OCA: the reason (QoE events, logs) never carries the URL, whose path
 * holds the session's token.
 */
export function httpRefused(ocaId: string, url: string, status: number, body: string, file: string): SdkError {
  const apiCode = apiCodeOf(body);
  const reason = `HTTP ${status} on ${file}`;
  return new SdkError("HTTP_REFUSED", { ocaId, url, status, apiCode, detail: apiCode ? `${reason} (${apiCode})` : reason });
}

/**
 * A `too_many_streams` refusal's held stops (`details.stoppedHolding`, `details.retryAfterS`), when
 * the details carry them as counts of the API's own range (the details come off the network).
 */
export function stoppedHoldingOf(details: unknown): { stoppedHolding: number; retryAfterS: number } | undefined {
  const d = details as { stoppedHolding?: unknown; retryAfterS?: unknown } | null | undefined;
  const held = d?.stoppedHolding;
  const wait = d?.retryAfterS;
  if (typeof held !== "number" || !Number.isInteger(held) || held < 1 || held > 1000) return undefined;
  if (typeof wait !== "number" || !Number.isFinite(wait) || wait <= 0 || wait > 3600) return undefined;
  return { stoppedHolding: held, retryAfterS: Math.ceil(wait) };
}
