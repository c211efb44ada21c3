/**
 * The SDK inside a stock dash.js (5.x), by composition: one request interceptor and one response
 * interceptor (`player.addRequestInterceptor` / `addResponseInterceptor`). dash.js keeps choosing
 * its BaseURL by Content Steering, from steering answers the adapter hands it in the session's order
 * (as the hls.js hook and the Shaka adapter do), and retries on its own; the adapter sends a segment
 * request that dash.js still addresses to an OCA the session has put in the penalty box to the
 * session's current OCA instead, so dash.js's own retry of a failed segment lands on a working OCA
 * (after its retry interval, one second by default) rather than failing three times first.
 *
 * Types are structural (declared here, not imported from dashjs): the SDK's declarations need no
 * dash.js types.
 */
import { isNetworkSample } from "../abr";
import type { PlaySession } from "../session";
import { attachOnce, type Attachment } from "./attach-once";
import {
  bodyText,
  inSessionOrder,
  isOcaFailureStatus,
  isRefusalStatus,
  pathOnOca,
  sessionSteeringUrl,
  sessionUrl,
  steeringAnswer,
  steeringAnswerAs,
} from "./oca-order";

/** dash.js request types (`HTTPRequest.*_TYPE`) the adapter acts on. */
export const DashRequestType = {
  MEDIA_SEGMENT: "MediaSegment",
  INIT_SEGMENT: "InitializationSegment",
  INDEX_SEGMENT: "IndexSegment",
  CONTENT_STEERING: "ContentSteering",
} as const;

/** The fields of dash.js's `CommonMediaRequest` the adapter reads and writes. */
export interface DashRequestLike {
  url: string;
  /**
   * dash.js puts its own request object here; its `type` says what is loaded, its
   * `resourceTimingValues` the download's Resource Timing entry when dash.js found a usable one.
   */
  customData?: { request?: { type?: string; resourceTimingValues?: { transferSize?: number; decodedBodySize?: number } } };
}

/** The fields of dash.js's `CommonMediaResponse` the adapter reads. */
export interface DashResponseLike {
  request: DashRequestLike;
  url?: string;
  status?: number;
  data?: unknown;
  resourceTiming?: { startTime?: number; duration?: number; encodedBodySize?: number };
}

export type DashRequestInterceptor = (request: DashRequestLike) => Promise<DashRequestLike>;
export type DashResponseInterceptor = (response: DashResponseLike) => Promise<DashResponseLike>;

/** A dash.js `MediaPlayer` instance, structurally (the interceptor API of dash.js 5). */
export interface DashPlayerLike {
  addRequestInterceptor(interceptor: DashRequestInterceptor): void;
  removeRequestInterceptor(interceptor: DashRequestInterceptor): void;
  addResponseInterceptor(interceptor: DashResponseInterceptor): void;
  removeResponseInterceptor(interceptor: DashResponseInterceptor): void;
  /** `player.updateSettings(settings)`: the adapter turns on dash.js's own CMCD with it. */
  updateSettings?(settings: object): void;
}

const SEGMENT_TYPES: ReadonlySet<string> = new Set([DashRequestType.MEDIA_SEGMENT, DashRequestType.INIT_SEGMENT, DashRequestType.INDEX_SEGMENT]);

const typeOf = (request: DashRequestLike): string | undefined => request.customData?.request?.type;

/** Bytes of a response body dash.js hands over (ArrayBuffer for segments), else the timing's body size. */
function bodyBytes(response: DashResponseLike): number {
  const d = response.data;
  if (d instanceof ArrayBuffer || ArrayBuffer.isView(d)) return d.byteLength;
  return response.resourceTiming?.encodedBodySize ?? 0;
}

/** Read from the browser's cache: its Resource Timing entry shows a body and no bytes transferred (as dash.js's own throughput rule tells). */
function fromCache(response: DashResponseLike): boolean {
  const entry = response.request.customData?.request?.resourceTimingValues;
  return entry?.transferSize === 0 && (entry.decodedBodySize ?? 0) > 0;
}

/**
 * Attaches a play session to a dash.js player: segment requests for an OCA in the session's penalty
 * box go to the session's current OCA (same file, same token); a segment answered 404, 429 or 5xx
 * by an OCA is reported to the session (`reportFailure`: it moves and fires `failover`), and one
 * refused (401, 403, 409, 410, ...) stops the session with the API's reason (`refused`); segment
 * downloads feed `noteDownload`; steering manifests dash.js loads re-rank the session (so the
 * session needs no poll of its own: `pollSteering: false`) and reach dash.js in the session's order,
 * so dash.js starts on, and follows, the OCA the session picked (probes and penalties included); dash.js's own CMCD is turned on, keyed to
 * the session, in the session's mode (`PlayOptions.cmcd`). Returns a function that detaches it
 * (dash.js's CMCD setting stays).
 *
 * A player takes one session at a time. Attaching the same session to the same player again is a
 * no-op that returns the first call's detach function (an app's setup that runs twice must not add
 * every interceptor twice: each failure would be reported twice). Attaching another session while
 * one is attached throws: detach the first (its function) before the next title, or the old
 * session's interceptors would go on acting on the new one's requests.
 */
export function attachDashjs(player: DashPlayerLike, session: PlaySession): () => void {
  return attachOnce(dashAttachments, "attachDashjs", player, session, () => attachDashjsOnce(player, session));
}

/** The session attached to each dash.js player (attachOnce). */
const dashAttachments = new WeakMap<object, Attachment>();

function attachDashjsOnce(player: DashPlayerLike, session: PlaySession): () => void {
  const onRequest: DashRequestInterceptor = async (request) => {
    const type = typeOf(request);
    // Off the penalty box, and under the current session after a renewal (dash.js keeps its MPD's URLs).
    if (type !== undefined && SEGMENT_TYPES.has(type)) request.url = sessionUrl(session, request.url);
    else if (type === DashRequestType.CONTENT_STEERING) request.url = sessionSteeringUrl(session, request.url);
    return request;
  };

  const onResponse: DashResponseInterceptor = async (response) => {
    const type = typeOf(response.request);
    if (type === DashRequestType.CONTENT_STEERING) {
      const manifest = steeringAnswer(response.data);
      if (!manifest) return response;
      session.applySteering(manifest, response.url ?? response.request.url);
      return { ...response, data: steeringAnswerAs(response.data, inSessionOrder(session, manifest)) };
    }
    if (type === undefined || !SEGMENT_TYPES.has(type)) return response;
    const url = response.request.url;
    const oca = session.ocaOfUrl(url);
    const status = response.status ?? 0;
    if (!oca) return response;
    // Status 0 is left alone: dash.js aborts requests itself (seek, rung switch) and those look the same.
    if (isOcaFailureStatus(status)) session.reportFailure(oca.ocaId, `http_${status} ${pathOnOca(session, url)}`);
    // A refusal (409 too_many_streams, 403, 410, ...): the session stops with the API's reason.
    else if (isRefusalStatus(status)) void session.refused(oca.ocaId, url, status, bodyText(response.data));
    else if (status >= 200 && status < 300 && type === DashRequestType.MEDIA_SEGMENT) {
      const bytes = bodyBytes(response);
      const ms = response.resourceTiming?.duration;
      // A download that is no measurement (untimed, from the cache, implausibly short) counts its bytes only.
      if (isNetworkSample(bytes, ms, fromCache(response))) session.noteDownload(oca.ocaId, bytes, ms as number);
      else session.reporter.addBytes(bytes);
    }
    return response;
  };

  // dash.js's CMCD knows its buffer, rung and stalls; the session gives it the ids the OCAs key on.
  const mode = session.cmcdMode;
  if (mode)
    player.updateSettings?.({
      streaming: { cmcd: { enabled: true, sid: session.sessionId, cid: session.play.titleId, mode: mode === "headers" ? "header" : "query" } },
    });
  player.addRequestInterceptor(onRequest);
  player.addResponseInterceptor(onResponse);
  return () => {
    player.removeRequestInterceptor(onRequest);
    player.removeResponseInterceptor(onResponse);
  };
}
