import type { HlsConfig, Loader, LoaderCallbacks, LoaderConfiguration, LoaderContext } from "hls.js";
import type { VcdnClient } from "../client/api";
import { createSdkLoader, freshStats } from "../client/player/hls-hook";
import type { PlaySession } from "../client/session";
import type { DashRequestInterceptor, DashResponseInterceptor, DashResponseLike } from "../client/player/dash-adapter";
import type { ShakaRequestFilter, ShakaRequestLike, ShakaResponseFilter, ShakaRetryEventLike } from "../client/player/shaka-adapter";
import type { ResponseLike } from "../client/types";
import type { OcaEntry, PlayResponse } from "../client/types";

/** An embedded OCA of a made-up site, for SDK tests that need no network. */
export const fakeOca = (ocaId: string, rank: number): OcaEntry => ({
  rank,
  siteId: "s",
  ocaId,
  tier: "embedded",
  distanceKm: 1,
  load: 0,
  stale: false,
  url: `https://cdn.test/oca/s/${ocaId}/t/1/`,
});

/** A play response listing these OCAs in rank order, one 3 Mbit/s rendition, a 6 h token. */
export const fakePlay = (ids: string[]): PlayResponse =>
  ({
    sessionId: "sess",
    titleId: "t",
    sessionToken: "tok",
    version: 1,
    expiresAt: new Date(Date.now() + 6 * 3600_000).toISOString(),
    maxHeight: 1080,
    ocas: ids.map((id, i) => fakeOca(id, i + 1)),
    hls: "",
    dash: "",
    steering: { server: "https://cdn.test/v1/steering/sess", hls: "", dash: "" },
    renditions: { video: [{ id: "v1", bandwidth: 3_000_000, width: 1280, height: 720, codecs: "avc1" }], audio: [], subtitles: [] },
    client: { country: null, asn: null, simulated: true },
  }) as unknown as PlayResponse;

/**
 * A client whose OCAs answer every probe (a 1 KiB range) at once, noting in `asked` which OCA each probe
 * went to (the URL's third path segment): for tests of which OCAs a session asks, not the network.
 */
export function probeRecordingClient(asked: string[]): VcdnClient {
  return {
    fetch: async (url: string) => {
      asked.push(new URL(url).pathname.split("/")[3]);
      return new Response(new Uint8Array(1024), { status: 206 });
    },
    sendEvents: async () => {},
  } as unknown as VcdnClient;
}

/** An answer as the SDK's fetch gives it (status, body, headers by name), for tests of the SDK's players without a network. */
export function fakeAnswer(status: number, body: string | Uint8Array, headers: Record<string, string> = {}): ResponseLike {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: { get: (n: string) => headers[n] ?? null },
    body: null,
    json: async () => JSON.parse(new TextDecoder().decode(bytes)),
    text: async () => new TextDecoder().decode(bytes),
    arrayBuffer: async () => bytes.slice().buffer as ArrayBuffer,
  } as unknown as ResponseLike;
}

/** dash.js's interceptor registries, as the SDK's adapter adds to them and removes from them. */
export function fakeDashRegistries() {
  const requests = new Set<DashRequestInterceptor>();
  const responses = new Set<DashResponseInterceptor>();
  const player = {
    addRequestInterceptor: (i: DashRequestInterceptor) => requests.add(i),
    removeRequestInterceptor: (i: DashRequestInterceptor) => requests.delete(i),
    addResponseInterceptor: (i: DashResponseInterceptor) => responses.add(i),
    removeResponseInterceptor: (i: DashResponseInterceptor) => responses.delete(i),
  };
  return { player, requests, responses };
}

/**
 * A dash.js player as the SDK's adapter sees it (its interceptor registries), and `answer`: a 200 of
 * `bytes` to the media segment at `url` with this timing; `entry` is the Resource Timing entry dash.js
 * found for it, if any.
 */
export function fakeDashPlayer(url: string, bytes: number) {
  const { player, responses } = fakeDashRegistries();
  const answer = async (resourceTiming: DashResponseLike["resourceTiming"], entry?: { transferSize: number; decodedBodySize: number }) => {
    for (const onResponse of responses)
      await onResponse({
        request: { url, customData: { request: { type: "MediaSegment", ...(entry ? { resourceTimingValues: entry } : {}) } } },
        status: 200,
        data: new ArrayBuffer(bytes),
        resourceTiming,
      });
  };
  return { player, answer };
}

/** What a scripted hls.js loader answers a URL: 200, a failure's status, or a status and the body hls.js's XHR hands over. */
export type LoaderAnswer = number | [number, string];

/** The app's loader for hls.js, answering each request as `answer(url)` says (no network), and noting each path in `tried`. */
export function scriptedHlsLoader(answer: (url: string) => LoaderAnswer, tried: string[] = []) {
  return class implements Loader<LoaderContext> {
    context: LoaderContext | null = null;
    stats = freshStats();
    load(context: LoaderContext, _c: LoaderConfiguration, cb: LoaderCallbacks<LoaderContext>): void {
      tried.push(new URL(context.url).pathname);
      queueMicrotask(() => {
        const a = answer(context.url);
        const [code, body] = typeof a === "number" ? [a, undefined] : a;
        if (code === 200) cb.onSuccess({ url: context.url, data: new ArrayBuffer(8) }, this.stats, context, null);
        else cb.onError({ code, text: "failed" }, context, body === undefined ? null : { status: code, response: body }, this.stats);
      });
    }
    abort(): void {}
    destroy(): void {}
  } as unknown as new (
    c: HlsConfig,
  ) => Loader<LoaderContext>;
}

/** One load through the hls.js helper's loader (the web player's): the URL that answered, or the error code hls.js was handed. */
export function loadThrough(s: PlaySession, Base: new (c: HlsConfig) => Loader<LoaderContext>, url: string): Promise<string> {
  const Sdk = createSdkLoader(s, Base);
  return new Promise<string>((resolve) =>
    new Sdk({} as HlsConfig).load({ url, responseType: "arraybuffer" } as LoaderContext, { loadPolicy: {} } as unknown as LoaderConfiguration, {
      onSuccess: (_r, _s, ctx) => resolve(ctx.url),
      onError: (e) => resolve(`error ${e.code}`),
      onTimeout: () => resolve("timeout"),
    }),
  );
}

/** Session `i`'s play response (a renewal's count): OCAs `a` (and more), a URL token T{i}, a steering server under session token S{i}. */
export function playResponse(i: number, ocaIds = ["a"], expiresInS = 6 * 3600): PlayResponse {
  return {
    sessionId: `sess-${i}`,
    titleId: "t",
    sessionToken: `S${i}`,
    version: 1,
    expiresAt: new Date(Date.now() + expiresInS * 1000).toISOString(),
    expiresInS,
    maxHeight: 1080,
    ocas: ocaIds.map((ocaId, r) => ({ ...fakeOca(ocaId, r + 1), url: `https://cdn.test/oca/s/${ocaId}/T${i}/t/` })),
    hls: "",
    dash: "",
    steering: { server: `https://cdn.test/v1/steering/S${i}/t/steering.json`, hls: "", dash: "" },
    renditions: { video: [{ id: "v1", bandwidth: 3_000_000, width: 1280, height: 720, codecs: "avc1" }], audio: [], subtitles: [] },
    client: { country: null, asn: null, simulated: true },
  } as unknown as PlayResponse;
}

/** A Shaka player and its networking engine as far as the SDK's adapter sees them: filter and listener registries, and tries run through them. */
export function fakeShakaPlayer() {
  const requestFilters = new Set<ShakaRequestFilter>();
  const responseFilters = new Set<ShakaResponseFilter>();
  const retryListeners = new Set<(e: ShakaRetryEventLike) => void>();
  const engine = {
    registerRequestFilter: (f: ShakaRequestFilter) => requestFilters.add(f),
    unregisterRequestFilter: (f: ShakaRequestFilter) => requestFilters.delete(f),
    registerResponseFilter: (f: ShakaResponseFilter) => responseFilters.add(f),
    unregisterResponseFilter: (f: ShakaResponseFilter) => responseFilters.delete(f),
    addEventListener: (_t: string, l: (e: ShakaRetryEventLike) => void) => retryListeners.add(l),
    removeEventListener: (_t: string, l: (e: ShakaRetryEventLike) => void) => retryListeners.delete(l),
  };
  /** One try of a request, as Shaka's send_ does it: filters, then the URI at `attempt % uris.length`. */
  const tryOnce = (type: number, request: ShakaRequestLike) => {
    for (const f of requestFilters) f(type, request);
    return request.uris[(request.attempt ?? 0) % request.uris.length];
  };
  const respond = (type: number, request: ShakaRequestLike, uri: string, bytes: number, timeMs: number) => {
    const response = { uri, originalUri: uri, data: new ArrayBuffer(bytes), timeMs, originalRequest: request };
    for (const f of responseFilters) f(type, response);
    return response;
  };
  /**
   * Shaka's `retry` event for a bad HTTP status: `shaka.util.Error` data is [uri, status, responseText, ...].
   * Returns whether a listener cancelled Shaka's next try (`preventDefault`).
   */
  const retry = (uri: string, status: number, responseText = "") => {
    let prevented = false;
    for (const l of retryListeners) l({ error: { code: 1001, data: [uri, status, responseText] }, preventDefault: () => void (prevented = true) });
    return prevented;
  };
  /** The player's `error` event, as Shaka raises a critical error (a 401 or 403 is never retried). */
  const playerErrorListeners = new Set<(e: { detail?: { code?: number; data?: unknown[] } }) => void>();
  const player = {
    getNetworkingEngine: () => engine,
    addEventListener: (t: string, l: (e: { detail?: { code?: number; data?: unknown[] } }) => void) => t === "error" && playerErrorListeners.add(l),
    removeEventListener: (t: string, l: (e: { detail?: { code?: number; data?: unknown[] } }) => void) => t === "error" && playerErrorListeners.delete(l),
  };
  const playerError = (uri: string, status: number, responseText = "") => {
    for (const l of playerErrorListeners) l({ detail: { code: 1001, data: [uri, status, responseText] } });
  };
  return { player, tryOnce, respond, retry, playerError, requestFilters, responseFilters, retryListeners, playerErrorListeners };
}
