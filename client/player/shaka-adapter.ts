/**
 * The SDK inside a stock Shaka Player, by composition: one request filter, one response filter and
 * a `retry` listener on the player's networking engine. Shaka keeps playing and failing over on its
 * own: it walks `request.uris` when a request fails. The adapter only decides the order of that
 * list (the session's ranking) and tells the session what happened.
 *
 * Shaka's own Content Steering stays on. Its steering polls reach the session through the response
 * filter (so the session needs no poll of its own: `pollSteering: false`), and the filter re-orders
 * every request after Shaka built its URI list, so the session's order wins. That matters here:
 * after one retry Shaka bans the failed URI's whole host for a minute, and every OCA of this CDN
 * shares one host, so its list falls back to the default pathway alone; the filter puts the other
 * OCAs back (same file, same token).
 *
 * Types are structural (declared here, not imported from shaka-player): the SDK's declarations need
 * no Shaka types, and any Shaka version with this networking-engine surface fits.
 */
import { isNetworkSample } from "../abr";
import type { PlaySession } from "../session";
import { attachOnce, type Attachment } from "./attach-once";
import {
  bodyText,
  inSessionOrder,
  isRefusalStatus,
  ocasFailedBefore,
  pathOnOca,
  ontoSessionList,
  rankedUris,
  renewedUrl,
  sessionSteeringUrl,
  steeringAnswer,
  steeringAnswerAs,
} from "./oca-order";

/** Shaka's `shaka.net.NetworkingEngine.RequestType` values the adapter acts on. */
export const ShakaRequestType = { MANIFEST: 0, SEGMENT: 1, CONTENT_STEERING: 8 } as const;

/** The fields of Shaka's `shaka.extern.Request` the adapter reads and writes. */
export interface ShakaRequestLike {
  uris: string[];
  /** Which try this is (0 first): Shaka sends try n to `uris[n % uris.length]`. */
  attempt?: number;
}

/** The fields of Shaka's `shaka.extern.Response` the adapter reads (and `data`, rewritten for steering). */
export interface ShakaResponseLike {
  uri: string;
  originalUri?: string;
  data?: ArrayBuffer | ArrayBufferView;
  timeMs?: number;
  fromCache?: boolean;
  originalRequest?: ShakaRequestLike;
}

export type ShakaRequestFilter = (type: number, request: ShakaRequestLike, context?: unknown) => void;
export type ShakaResponseFilter = (type: number, response: ShakaResponseLike, context?: unknown) => void;

/** Shaka's `shaka.util.Error`, as far as a `retry` event carries it. */
export interface ShakaErrorLike {
  code?: number;
  data?: unknown[];
}

/** The part of `player.getNetworkingEngine()` the adapter uses. */
export interface ShakaNetworkingEngineLike {
  registerRequestFilter(filter: ShakaRequestFilter): void;
  unregisterRequestFilter(filter: ShakaRequestFilter): void;
  registerResponseFilter(filter: ShakaResponseFilter): void;
  unregisterResponseFilter(filter: ShakaResponseFilter): void;
  addEventListener?(type: string, listener: (event: ShakaRetryEventLike) => void): void;
  removeEventListener?(type: string, listener: (event: ShakaRetryEventLike) => void): void;
}

/** The networking engine's `retry` event: the failed try's error; `preventDefault()` stops Shaka's further tries. */
export interface ShakaRetryEventLike {
  error?: ShakaErrorLike;
  preventDefault?(): void;
}

/** A Shaka Player (`shaka.Player`), structurally. */
export interface ShakaPlayerLike {
  getNetworkingEngine(): ShakaNetworkingEngineLike | null;
  /** The player's `error` event (`event.detail` is a `shaka.util.Error`): where older Shaka versions raise a 401 or 403, which they never retried. */
  addEventListener?(type: string, listener: (event: { detail?: ShakaErrorLike }) => void): void;
  removeEventListener?(type: string, listener: (event: { detail?: ShakaErrorLike }) => void): void;
  /** `player.configure(config)`: the adapter turns on Shaka's own CMCD with it. */
  configure?(config: object): unknown;
}

/** Shaka error codes (`shaka.util.Error.Code`) that name why a try failed. */
const BAD_HTTP_STATUS = 1001;
const TIMEOUT = 1003;

/** A failure reason in the session's words ("http_503", "timeout", "network_error") from a Shaka retry error. */
export function shakaFailureReason(error: ShakaErrorLike | undefined): string {
  if (error?.code === BAD_HTTP_STATUS && typeof error.data?.[1] === "number") return `http_${error.data[1]}`;
  if (error?.code === TIMEOUT) return "timeout";
  return "network_error";
}

const bytesOf = (data: ArrayBuffer | ArrayBufferView | undefined): number => data?.byteLength ?? 0;

/**
 * Attaches a play session to a Shaka Player: segment and manifest requests on the session's OCAs
 * try the OCAs in the session's order (`rankedUris`); a failed try is reported to the session
 * (`reportFailure`: it moves and fires `failover`) before Shaka sends the next one; a response
 * from a later URI reports the ones before it; media downloads feed `noteDownload`; steering
 * manifests Shaka loads re-rank the session and carry its order back to Shaka; an OCA's refusal
 * (401, 403, 409, 410, ...) stops the session with the API's reason (`refused`) and cancels Shaka's
 * tries of the other OCAs, which would refuse it alike: heard in the `retry` event (Shaka 5.2 retries
 * every bad status), or in the player's `error` event (older versions raise a 401 or 403 at once as a
 * critical error); Shaka's own CMCD is
 * turned on, keyed to the session, in the session's mode (`PlayOptions.cmcd`). Returns a function
 * that detaches it (Shaka's CMCD setting stays). Shaka's retry parameters decide how many OCAs a request may try: set
 * `streaming.retryParameters.maxAttempts` to at least the number of OCAs.
 *
 * A player takes one session at a time. Attaching the same session to the same player again is a
 * no-op that returns the first call's detach function (an app's setup that runs twice must not
 * register every filter twice: each failure would be reported, each request re-ordered, twice).
 * Attaching another session while one is attached throws: detach the first (its function) before
 * the next title, or the old session's filters would go on acting on the new one's requests.
 */
export function attachShaka(player: ShakaPlayerLike, session: PlaySession): () => void {
  return attachOnce(shakaAttachments, "attachShaka", player, session, () => attachShakaOnce(player, session));
}

/** The session attached to each Shaka player (attachOnce). */
const shakaAttachments = new WeakMap<object, Attachment>();

function attachShakaOnce(player: ShakaPlayerLike, session: PlaySession): () => void {
  const net = player.getNetworkingEngine();
  if (!net) throw new Error("attachShaka: the player has no networking engine (attach it before load, after new shaka.Player())");
  /** Why each URI last failed, from Shaka's `retry` events (read by the next try's filter call). */
  const why = new Map<string, string>();
  // Keyed without the query: Shaka's CMCD adds one to a try's URI, which its retry event then names.
  const key = (uri: string) => uri.split("?")[0];
  /** The OCAs already reported for a request (a try's filter call and the response both see a failure). */
  const reported = new WeakMap<ShakaRequestLike, Set<string>>();

  /** Set once an OCA refused: the session has stopped, and the tries Shaka goes on with are not failovers. */
  let refused = false;

  /** Reports the OCA of a failed try once per request, with the reason Shaka's retry event gave. */
  const report = (request: ShakaRequestLike, uri: string, fallback: string) => {
    if (refused) return;
    const oca = session.ocaOfUrl(uri);
    const reason = why.get(key(uri)) ?? fallback;
    why.delete(key(uri));
    if (!oca) return;
    const done = reported.get(request) ?? new Set<string>();
    reported.set(request, done);
    if (done.has(oca.ocaId)) return;
    done.add(oca.ocaId);
    session.reportFailure(oca.ocaId, `${reason} ${pathOnOca(session, uri)}`);
  };

  const onRequest: ShakaRequestFilter = (type, request) => {
    if (!request.uris?.length) return;
    // After a renewal Shaka's URIs (its manifest's) still name the old session: its steering polls go
    // to the current session's steering server, and its files under the current token (below).
    if (type === ShakaRequestType.CONTENT_STEERING) request.uris = request.uris.map((u) => sessionSteeringUrl(session, u));
    if (type !== ShakaRequestType.SEGMENT && type !== ShakaRequestType.MANIFEST) return;
    const attempt = request.attempt ?? 0;
    if (attempt === 0) {
      // Ordered once per request: Shaka picks try n's URI by index, so later tries keep this order.
      request.uris = rankedUris(
        session,
        request.uris.map((u) => ontoSessionList(session, u)),
      ).map((u) => renewedUrl(session, u));
      return;
    }
    report(request, request.uris[(attempt - 1) % request.uris.length], "network_error");
  };

  const onResponse: ShakaResponseFilter = (type, response) => {
    if (type === ShakaRequestType.CONTENT_STEERING) return steer(response);
    if (type !== ShakaRequestType.SEGMENT && type !== ShakaRequestType.MANIFEST) return;
    const answered = response.originalUri ?? response.uri;
    const request = response.originalRequest;
    if (request)
      for (const oca of ocasFailedBefore(session, request.uris, answered))
        report(request, request.uris.find((u) => session.ocaOfUrl(u)?.ocaId === oca.ocaId) ?? oca.url, "network_error");
    const oca = session.ocaOfUrl(answered);
    const bytes = bytesOf(response.data);
    if (!oca || type !== ShakaRequestType.SEGMENT || response.fromCache || bytes === 0) return;
    // `fromCache` is only Shaka's `x-shaka-from-cache` header (a service worker's): a read from the
    // browser's HTTP cache (implausibly short) or an untimed download counts its bytes only.
    if (isNetworkSample(bytes, response.timeMs)) session.noteDownload(oca.ocaId, bytes, response.timeMs as number);
    else session.reporter.addBytes(bytes);
  };

  /** A steering manifest Shaka loaded: shown to the session, then handed back in the session's order. */
  const steer = (response: ShakaResponseLike) => {
    // Not a steering manifest (not JSON, say): left as it is, for Shaka to report.
    const manifest = response.data ? steeringAnswer(response.data) : null;
    if (!manifest) return;
    session.applySteering(manifest, response.uri);
    response.data = steeringAnswerAs(response.data, inSessionOrder(session, manifest)) as ArrayBuffer;
  };

  /** A refusal on one of the session's OCAs (Shaka's error data: uri, status, body): the session stops with the API's reason. */
  const refuse = (error: ShakaErrorLike | undefined): boolean => {
    const [uri, status, body] = error?.data ?? [];
    const oca = typeof uri === "string" ? session.ocaOfUrl(uri) : undefined;
    if (refused || !oca || error?.code !== BAD_HTTP_STATUS || typeof status !== "number" || !isRefusalStatus(status)) return false;
    refused = true;
    // A 410 may end in a renewed session (`refused` resolves true): later requests are the new one's,
    // and their failures are failovers again. This request's tries stay cancelled (Shaka raises it).
    void session.refused(oca.ocaId, uri as string, status, bodyText(body)).then((again) => {
      if (again) refused = false;
    });
    return true;
  };

  const onRetry = (event: ShakaRetryEventLike) => {
    const uri = event.error?.data?.[0];
    if (typeof uri !== "string") return;
    refuse(event.error);
    // Once the session stopped on a refusal (409 too_many_streams, 403, 410, ...), Shaka's further tries
    // are cancelled (its `retry` event is cancelable): every OCA would refuse them alike. Their reasons
    // are not kept either: nothing reports them any more.
    if (refused) return event.preventDefault?.();
    why.set(key(uri), shakaFailureReason(event.error));
  };

  // Older Shaka versions raise a 401 or 403 at once as a critical error, with no `retry` event.
  const onPlayerError = (event: { detail?: ShakaErrorLike }) => void refuse(event.detail);

  // Shaka's CMCD knows its buffer, rung and stalls; the session gives it the ids the OCAs key on.
  const mode = session.cmcdMode;
  if (mode) player.configure?.({ cmcd: { enabled: true, sessionId: session.sessionId, contentId: session.play.titleId, useHeaders: mode === "headers" } });
  net.registerRequestFilter(onRequest);
  net.registerResponseFilter(onResponse);
  net.addEventListener?.("retry", onRetry);
  player.addEventListener?.("error", onPlayerError);
  // Nothing to do on an OCA switch: the next request's filter call reads the session's order.
  return () => {
    net.unregisterRequestFilter(onRequest);
    net.unregisterResponseFilter(onResponse);
    net.removeEventListener?.("retry", onRetry);
    player.removeEventListener?.("error", onPlayerError);
    why.clear();
  };
}
