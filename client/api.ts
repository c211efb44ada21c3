import { SdkError } from "./errors";
import { PlaySession, type PlayOptions, retryAfterS } from "./session";
import { ApiCallError, type FetchInit, type FetchLike, type PlayResponse, type QoeEvent, type ResponseLike, type TitlePage } from "./types";

/**
 * The client's options. `createClient` checks them and throws an `INVALID_OPTION` SdkError naming every
 * refused key, rather than send every request to a wrong URL or with a header fetch refuses.
 */
export interface ClientOptions {
  /**
   * Control plane base URL: absolute http(s), with or without a path prefix or a trailing slash
   * (`https://api.example.com/cdn/`), no query or fragment.
   */
  baseUrl: string;
  /** Member token (Bearer): a non-empty string; whitespace around it is dropped. */
  token: string;
  /** Dev only: simulated client location, sent as `X-Client-Geo` (e.g. "asn=64500;country=US;lat=40.71;lon=-74.0"). */
  geo?: string;
  /** fetch to use (defaults to the global one). */
  fetch?: FetchLike;
}

export function defaultFetch(): FetchLike {
  const f = (globalThis as { fetch?: unknown }).fetch;
  if (typeof f !== "function") throw new Error("no global fetch: pass one in the options");
  return ((url: string, init?: FetchInit) => (f as (u: string, i?: FetchInit) => Promise<unknown>).call(globalThis, url, init)) as FetchLike;
}

/** A control-plane call is abandoned after this long: a stalled connection must not hold a renewal or the events behind it. */
const CALL_TIMEOUT_MS = 15_000;

async function apiError(res: Pick<ResponseLike, "status" | "text" | "headers">): Promise<ApiCallError> {
  const body = await res.text().catch(() => "");
  const after = retryAfterS(res.headers?.get("Retry-After") ?? null, Date.now());
  const retry = after === null ? undefined : Math.min(after, 3600);
  let error: { code?: unknown; message?: unknown; details?: unknown } | undefined;
  try {
    const j = JSON.parse(body) as { error?: unknown } | null;
    error = j && typeof j === "object" && j.error && typeof j.error === "object" ? (j.error as typeof error) : undefined;
  } catch {
    error = undefined;
  }
  if (!error) return new ApiCallError(res.status, "http_error", `HTTP ${res.status}: ${body.slice(0, 200)}`, undefined, retry);
  // The body comes off the network (a proxy, another service): only a code of the API's own form is its code.
  const code = typeof error.code === "string" && /^[a-z_]{1,64}$/.test(error.code) ? error.code : "http_error";
  const message = typeof error.message === "string" ? error.message.slice(0, 500) : `HTTP ${res.status}`;
  return new ApiCallError(res.status, code, message, error.details, retry);
}

/**
 * A 2xx answer's JSON body, or an ApiCallError (`invalid_response`, with the status) when it is none
 * or fails `valid`: a captive portal's or a proxy's page answers 200 too.
 */
async function jsonOf<T>(res: Pick<ResponseLike, "status" | "text">, valid: (body: unknown) => boolean): Promise<T> {
  const text = await res.text().catch(() => "");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (body === undefined || !valid(body))
    throw new ApiCallError(res.status, "invalid_response", `HTTP ${res.status}: not the API's answer: ${text.slice(0, 200)}`);
  return body as T;
}

/** Whether a body has the shape of a titles page (its list, at least). */
const isTitlePage = (b: unknown): boolean => !!b && typeof b === "object" && Array.isArray((b as { titles?: unknown }).titles);

/** Why each of the client's options is refused (`key: reason`), none when all pass. */
function clientOptionProblems(opts: unknown): string[] {
  if (opts === null || typeof opts !== "object") return ["options: expected an object"];
  const o = opts as Partial<Record<keyof ClientOptions, unknown>>;
  const out: string[] = [];
  let url: URL | null = null;
  try {
    url = typeof o.baseUrl === "string" ? new URL(o.baseUrl.trim()) : null;
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash)
    out.push("baseUrl: expected an absolute http(s) URL without query or fragment");
  // Whitespace inside would split the Authorization header (fetch refuses CR/LF on every request).
  if (typeof o.token !== "string" || !/^\S+$/.test(o.token.trim())) out.push("token: expected a non-empty string without whitespace");
  if (o.geo !== undefined && (typeof o.geo !== "string" || /[\r\n]/.test(o.geo))) out.push("geo: expected a string on one line");
  if (o.fetch !== undefined && typeof o.fetch !== "function") out.push("fetch: expected a function");
  return out;
}

/** The control plane, as a member's client calls it. */
export class VcdnClient {
  readonly baseUrl: string;
  readonly fetch: FetchLike;
  private readonly opts: ClientOptions;

  constructor(opts: ClientOptions) {
    const problems = clientOptionProblems(opts);
    if (problems.length) throw new SdkError("INVALID_OPTION", { detail: problems.join("; ").slice(0, 500) });
    this.opts = { ...opts, token: opts.token.trim() };
    this.baseUrl = opts.baseUrl.trim().replace(/\/+$/, "");
    this.fetch = opts.fetch ?? defaultFetch();
  }

  get geo(): string | undefined {
    return this.opts.geo;
  }

  private headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = { Authorization: `Bearer ${this.opts.token}` };
    if (json) h["Content-Type"] = "application/json";
    if (this.opts.geo) h["X-Client-Geo"] = this.opts.geo;
    return h;
  }

  /**
   * `GET /v1/titles`: a page of the titles the member can play in their country, by name (`limit`
   * 1-200, default 50). Pass the answer's `cursor` back for the next page; none when no more remain.
   * A refusal, or a 2xx that is not a titles page (a proxy's HTML, an empty body), throws an `ApiCallError`.
   */
  async titles(page: { limit?: number; cursor?: string } = {}): Promise<TitlePage> {
    // Checked here: `?limit=NaN` would only come back as the server's 400.
    if (page.limit !== undefined && !(Number.isInteger(page.limit) && page.limit >= 1 && page.limit <= 200))
      throw new SdkError("INVALID_OPTION", { detail: "limit: expected a whole number from 1 to 200" });
    if (page.cursor !== undefined && typeof page.cursor !== "string") throw new SdkError("INVALID_OPTION", { detail: "cursor: expected a string" });
    const q = new URLSearchParams();
    if (page.limit !== undefined) q.set("limit", String(page.limit));
    if (page.cursor !== undefined) q.set("cursor", page.cursor);
    // A call that never answers (a dead connection) must not hold a catalogue screen for good.
    const res = await this.fetch(`${this.baseUrl}/v1/titles${q.size ? `?${q}` : ""}`, {
      headers: this.headers(false),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    if (!res.ok) throw await apiError(res);
    return jsonOf<TitlePage>(res, isTitlePage);
  }

  /** `POST /v1/play`: the raw play response (use `play()` for a managed session). */
  async requestPlay(titleId: string, device: PlayOptions["device"]): Promise<PlayResponse> {
    const res = await this.fetch(`${this.baseUrl}/v1/play`, {
      method: "POST",
      headers: this.headers(true),
      body: JSON.stringify({ titleId, device }),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    if (!res.ok) throw await apiError(res);
    return (await res.json()) as PlayResponse;
  }

  /** `POST /v1/events` (1-200 events) for the session of a play response (its id and signed token). */
  async sendEvents(
    session: Pick<PlayResponse, "sessionId" | "sessionToken">,
    events: QoeEvent[],
    opts: { batchId: string; keepalive?: boolean },
  ): Promise<void> {
    const res = await this.fetch(`${this.baseUrl}/v1/events`, {
      method: "POST",
      headers: this.headers(true),
      body: JSON.stringify({ sessionId: session.sessionId, sessionToken: session.sessionToken, batchId: opts.batchId, events }),
      keepalive: opts.keepalive,
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    if (res.status !== 202 && !res.ok) throw await apiError(res);
    await res.text().catch(() => "");
  }

  /**
   * Presses play: the play request, then parallel probes of the ranked OCAs, then the pick. The
   * session is ready to stream (`session.current`) when this resolves.
   */
  play(titleId: string, opts: PlayOptions = {}): Promise<PlaySession> {
    return PlaySession.start(this, titleId, opts);
  }
}

export function createClient(opts: ClientOptions): VcdnClient {
  return new VcdnClient(opts);
}

/** Dev only (`DEV_MODE=true`): a member token from `POST /v1/dev/token`. */
export async function devToken(
  baseUrl: string,
  memberId: string,
  plan: "basic" | "standard" | "premium" = "premium",
  fetchFn: FetchLike = defaultFetch(),
): Promise<string> {
  const res = await fetchFn(`${baseUrl.replace(/\/+$/, "")}/v1/dev/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ memberId, plan }),
  });
  if (!res.ok) throw await apiError(res);
  return ((await res.json()) as { token: string }).token;
}
