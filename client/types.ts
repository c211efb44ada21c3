/**
 * Wire types of the control plane as the client sees them, and the client's own event shapes.
 * No DOM and no Node types here: the core runs in browsers, Node and workerd alike.
 */

export type { AudioRendition, OcaEntry, PlayResponse, SteeringUrls, SubtitleRendition, Tier, VideoRendition } from "../shared/play";
export type { QoeEvent, QoeEventType } from "../shared/events";

export interface Device {
  codecs: string[];
  maxHeight: number;
}

export interface TitleSummary {
  id: string;
  name: string;
  description?: string;
  durationS: number;
  maxHeight: number;
  audioLanguages: Array<{ language: string; label: string }>;
  subtitleLanguages: Array<{ language: string; label: string }>;
  availableFrom: string;
  /** The poster of the title's current version (an image, public and immutable), when it has one. */
  posterUrl?: string;
}

/** A page of the browse list (`GET /v1/titles`). */
export interface TitlePage {
  /** The client's country (null when it is unknown: then no titles). */
  country: string | null;
  /** Titles in the whole list, every page. */
  total: number;
  titles: TitleSummary[];
  /** Present when more titles remain: pass it to `titles({ cursor })` for the next page. */
  cursor?: string;
}

/** Steering manifest: PATHWAY-PRIORITY for HLS and DASH (older DASH drafts said SERVICE-LOCATION-PRIORITY; still read). */
export interface SteeringManifest {
  VERSION: number;
  TTL: number;
  "RELOAD-URI"?: string;
  "PATHWAY-PRIORITY"?: string[];
  "SERVICE-LOCATION-PRIORITY"?: string[];
}

/**
 * The subset of `fetch` the SDK uses, so the browser's, Node's and workerd's fetch all fit, and tests
 * can inject their own.
 */
export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  keepalive?: boolean;
}

export interface BodyReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
}

export interface ResponseLike {
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  body: { getReader(): BodyReader; cancel?(reason?: unknown): Promise<void> } | null;
  json(): Promise<unknown>;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export type FetchLike = (url: string, init?: FetchInit) => Promise<ResponseLike>;

/** Error from the control plane: its `{error:{code,message,details}}` body, with the HTTP status. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The body's `details`, as sent (untrusted: read it through a checking function such as `activeTitleIdsOf`). */
    readonly details?: unknown,
    /** The answer's `Retry-After` in seconds (429, 503), when it had one (at most an hour). */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = "ApiCallError";
  }
}

/** The object without its undefined properties (so `{...defaults, ...defined(opts)}` keeps the defaults). */
export function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
