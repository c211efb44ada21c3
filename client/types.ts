/**
 * Wire types of the control plane as the client sees them, and the client's own event shapes.
 * No DOM and no Node types here: the core runs in browsers, Node and workerd alike.
 */

export type Tier = "embedded" | "ixp" | "origin";

/** One ranked OCA of a play response. `url` is the OCA's base URL for this title, ending in `/`. */
export interface OcaEntry {
  rank: number;
  siteId: string;
  ocaId: string;
  tier: Tier;
  distanceKm: number | null;
  url: string;
}

export interface VideoRendition {
  id: string;
  codec: string;
  width: number;
  height: number;
  bandwidth: number;
}

export interface AudioRendition {
  id: string;
  codec: string;
  language?: string;
  label?: string;
  bandwidth: number;
}

export interface SubtitleRendition {
  id: string;
  language?: string;
  label?: string;
}

export interface SteeringUrls {
  /** Per-session multivariant playlist with #EXT-X-CONTENT-STEERING and one pathway per OCA. */
  hls?: string;
  /** Per-session MPD with <ContentSteering> and one BaseURL@serviceLocation per OCA. */
  dash?: string;
  /** Steering manifest URL (takes _HLS_pathway / _HLS_throughput or the _DASH_ pair). */
  server?: string;
}

export interface PlayResponse {
  sessionId: string;
  titleId: string;
  expiresAt: string;
  maxHeight: number;
  ocas: OcaEntry[];
  hls: string;
  dash: string;
  steering?: SteeringUrls;
  renditions: { video: VideoRendition[]; audio: AudioRendition[]; subtitles: SubtitleRendition[] };
  client?: { country: string; asn: number | null; simulated: boolean };
}

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
}

export type QoeEventType = "start" | "progress" | "bitrate_switch" | "rebuffer" | "oca_switch" | "error" | "stop";

/** A play/QoE event exactly as `POST /v1/events` takes it. */
export interface QoeEvent {
  type: QoeEventType;
  /** Client wall-clock time, ms since the epoch. */
  at?: number;
  /** Media bytes received since the previous report. */
  bytes?: number;
  startupMs?: number;
  durationMs?: number;
  bitrate?: number;
  fromBitrate?: number;
  ocaId?: string;
  fromOcaId?: string;
  reason?: string;
  positionS?: number;
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

/** Error from the control plane: its `{error:{code,message}}` body, with the HTTP status. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiCallError";
  }
}

/** The object without its undefined properties (so `{...defaults, ...defined(opts)}` keeps the defaults). */
export function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
