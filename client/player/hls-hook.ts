/**
 * The SDK inside hls.js. hls.js plays the session's steered playlist (one Content Steering pathway
 * per OCA) and follows the steering server; the SDK stays the arbiter of which OCA serves:
 *
 * - a loader (wrapping the app's own loader by composition) sends every request for a failed OCA to the
 *   SDK's current one, and when a request fails (5xx, 404, network error, timeout) it reports the
 *   failure to the session and re-issues the same request on the next OCA at once, inside the same
 *   load: hls.js sees one slightly slower download, not an error, so it neither stalls nor drops rung;
 * - a refusal failing over cannot help (401, 403, 409, 410, ...) stops the session with HTTP_REFUSED and
 *   the API's reason (`too_many_streams`), as the headless player does, before hls.js sees the error;
 *   a 410 is first tried once under a new play session (a takedown lifted since), and the file loads
 *   again under it when one comes through;
 * - on every OCA change the session decides (failure, steering, re-probe), the hook sets
 *   `hls.pathwayPriority` so hls.js moves its pathway there too;
 * - steering manifests hls.js loads are shown to the session (server health and load) and their
 *   PATHWAY-PRIORITY is replaced by the session's merged ranking (server order, probes, penalties).
 */
import type Hls from "hls.js";
import type { HlsConfig, Loader, LoaderCallbacks, LoaderConfiguration, LoaderContext, LoaderStats } from "hls.js";
import { isNetworkSample } from "../abr";
import { SessionEvents } from "../events";
import { attachOnce, type Attachment } from "./attach-once";
import { bodyText, inSessionOrder, isOcaFailureStatus, isRefusalStatus, pathOnOca, sessionSteeringUrl, sessionUrl } from "./oca-order";
// Types by the package's own name: the published `@edge-video-cdn/client/hls` declarations then refer
// to the root entry's PlaySession instead of carrying a second copy of it (tsconfig `paths` map the
// name to client/index.ts inside this repository).
import type { OcaEntry, PlaySession, SteeringManifest } from "@edge-video-cdn/client";

export interface LoaderHooks {
  /** A request to an OCA succeeded; `servedBy` is its `X-OCA` header ("{siteId}/{ocaId}"). */
  onServed?: (oca: OcaEntry, servedBy: string | null, context: LoaderContext, stats: LoaderStats) => void;
  /** A request failed on `from` and was re-issued on `to`. */
  onFailover?: (from: OcaEntry, to: OcaEntry, reason: string, context: LoaderContext) => void;
  /** A steering manifest arrived (as the server sent it, before the SDK's ranking replaces its order). */
  onSteering?: (manifest: SteeringManifest) => void;
}

type LoaderClass = new (config: HlsConfig) => Loader<LoaderContext>;

const RETRYABLE = (code: number) => code === 0 || isOcaFailureStatus(code);

/** A refusal's body, as far as the loader kept it: hls.js's XHR loader (its default) hands over the XMLHttpRequest. */
const bodyOf = (networkDetails: unknown): string => bodyText((networkDetails as { response?: unknown } | null)?.response);

/** A load's stats as hls.js starts them (the loader's, and a scripted loader's in tests). */
export const freshStats = (): LoaderStats => ({
  aborted: false,
  loaded: 0,
  retry: 0,
  total: 0,
  chunkCount: 0,
  bwEstimate: 0,
  loading: { start: 0, first: 0, end: 0 },
  parsing: { start: 0, end: 0 },
  buffering: { start: 0, first: 0, end: 0 },
});

/** What one attempt measured, copied onto the stats object hls.js holds (retry, parsing, buffering are hls.js's). */
function copyAttempt(from: LoaderStats, to: LoaderStats): void {
  to.aborted = from.aborted;
  to.loaded = from.loaded;
  to.total = from.total;
  to.chunkCount = from.chunkCount;
  to.bwEstimate = from.bwEstimate;
  to.loading = { ...from.loading };
}

/**
 * Tells the session about a fragment the loader served (`LoaderHooks.onServed`): a main-rendition
 * media fragment that can be a measurement of the network is a throughput sample (and counts toward
 * a collapse below `lowestBps`); any other (init segment, audio, subtitles) counts its bytes only.
 * hls.js does not say when a fragment came from the browser's HTTP cache (a seek back, a replay):
 * one read in a millisecond or so is no measurement, and counts its bytes only too.
 */
export function noteFragment(session: PlaySession, oca: OcaEntry, frag: { type?: string; sn?: number | string }, stats: LoaderStats, lowestBps: number): void {
  const bytes = stats.total || stats.loaded;
  const ms = stats.loading.end - stats.loading.start;
  if (frag.type === "main" && frag.sn !== "initSegment" && isNetworkSample(bytes, ms)) session.noteDownload(oca.ocaId, bytes, ms, lowestBps);
  else session.reporter.addBytes(bytes);
}

/**
 * A loader class for `new Hls({ loader })`, bound to one play session, that wraps `Base` (the loader
 * the app already uses: hls.js's default, a fetch loader, its own) by composition: only the public
 * Loader interface is called, so any loader and any hls.js 1.x keep working, progressive loading
 * included. Each attempt runs on a fresh `Base` instance with its own stats and timeout; hls.js
 * keeps one stats object per load, which shows the attempt that answered, so time lost on a failed
 * OCA is not charged to the next one.
 */
export function createSdkLoader(session: PlaySession, Base: LoaderClass, hooks: LoaderHooks = {}): LoaderClass {
  return class SdkLoader implements Loader<LoaderContext> {
    context: LoaderContext | null = null;
    stats: LoaderStats = freshStats();
    private inner: Loader<LoaderContext>;
    private failovers = 0;
    /** This load already took a new play session (once per load: a second renewal would not do better). */
    private renewed = false;
    /** This load went again under a renewed session after a refusal of the old one (once per load). */
    private reloaded = false;
    /** hls.js aborted or destroyed this load: a back-off or renewal in progress must not call it back. */
    private gone = false;
    private wait: ReturnType<typeof setTimeout> | null = null;

    constructor(private readonly hlsConfig: HlsConfig) {
      this.inner = new Base(hlsConfig);
    }

    load(context: LoaderContext, config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>): void {
      this.context = context;
      this.gone = false;
      // Requests still addressed to an OCA in the penalty box go to the current one; after a renewal,
      // hls.js's URLs (its playlists') go under the current session's token, and its steering polls to
      // the current session's steering server.
      context.url = context.type === "steering-manifest" ? sessionSteeringUrl(session, context.url) : sessionUrl(session, context.url);
      // No loader-level retries with back-off on an OCA: failing over is faster than retrying.
      if (session.ocaOfUrl(context.url) && session.ocas.length > 1)
        config = { ...config, loadPolicy: { ...config.loadPolicy, errorRetry: null, timeoutRetry: null } };
      this.attempt(context, config, callbacks);
    }

    private attempt(context: LoaderContext, config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>): void {
      const wrapped: LoaderCallbacks<LoaderContext> = {
        onSuccess: (response, stats, ctx, networkDetails) => {
          copyAttempt(stats, this.stats);
          if (ctx.type === "steering-manifest" && response.data && typeof response.data === "object") {
            const manifest = response.data as SteeringManifest;
            hooks.onSteering?.({ ...manifest });
            session.applySteering(manifest, ctx.url);
            response = { ...response, data: inSessionOrder(session, manifest) };
          } else {
            const served = session.ocaOfUrl(ctx.url);
            if (served) hooks.onServed?.(served, this.inner.getResponseHeader?.("X-OCA") ?? null, ctx, this.stats);
          }
          callbacks.onSuccess(response, this.stats, ctx, networkDetails);
        },
        onError: (error, ctx, networkDetails, stats) => {
          const giveUp = () => {
            copyAttempt(stats, this.stats);
            callbacks.onError(error, ctx, networkDetails, this.stats);
          };
          // Code 0 is no HTTP answer at all (refused, reset, offline): the session's "network_error", not a status.
          const reason = error.code === 0 ? "network_error" : `http_${error.code}`;
          if (RETRYABLE(error.code) && this.failover(ctx, config, callbacks, reason, error.code === 0, giveUp)) return;
          // A refusal (401, 403, 409, 410, ...) stops the session with the API's reason before hls.js
          // turns it into a fatal error of its own: the app can then tell the viewer why. One of the
          // session's own renewal (its stop said) waits for it, and the file loads under the new session.
          const refusedBy = isRefusalStatus(error.code) ? session.ocaOfUrl(ctx.url) : undefined;
          if (refusedBy) {
            void session.refused(refusedBy.ocaId, ctx.url, error.code, bodyOf(networkDetails)).then((again) => {
              if (this.gone) return;
              if (!again || this.reloaded) return giveUp();
              this.reloaded = true;
              ctx.url = sessionUrl(session, ctx.url);
              this.reissue(ctx, config, callbacks);
            });
            return;
          }
          giveUp();
        },
        onTimeout: (stats, ctx, networkDetails) => {
          const giveUp = () => {
            copyAttempt(stats, this.stats);
            callbacks.onTimeout(this.stats, ctx, networkDetails);
          };
          if (this.failover(ctx, config, callbacks, "timeout", false, giveUp)) return;
          giveUp();
        },
      };
      if (callbacks.onProgress) {
        const onProgress = callbacks.onProgress;
        wrapped.onProgress = (stats, ctx, data, networkDetails) => {
          copyAttempt(stats, this.stats);
          onProgress(this.stats, ctx, data, networkDetails);
        };
      }
      if (callbacks.onAbort) {
        const onAbort = callbacks.onAbort;
        wrapped.onAbort = (stats, ctx, networkDetails) => {
          copyAttempt(stats, this.stats);
          onAbort(this.stats, ctx, networkDetails);
        };
      }
      this.inner.load(context, config, wrapped);
    }

    /**
     * Re-issues this load after a failure, on a fresh inner loader: on the same OCA after a back-off when
     * the client's own network looks down (no answer from two OCAs in a row), else on the session's next
     * OCA, else (every OCA of the list failed) under a renewed play session, as the headless fetcher
     * does. False when none of those applies; `giveUp` hands the failure to hls.js when a later step fails.
     */
    private failover(
      ctx: LoaderContext,
      config: LoaderConfiguration,
      callbacks: LoaderCallbacks<LoaderContext>,
      reason: string,
      noAnswer: boolean,
      giveUp: () => void,
    ): boolean {
      const from = session.ocaOfUrl(ctx.url);
      if (!from || this.failovers >= session.ocas.length) return false;
      const backoff = noAnswer ? session.clientOutageBackoffMs(from.ocaId) : 0;
      if (backoff > 0) {
        this.later(backoff, () => this.reissue(ctx, config, callbacks));
        return true;
      }
      const path = pathOnOca(session, ctx.url);
      const to = session.reportFailure(from.ocaId, `${reason} ${path}`);
      if (to && to.ocaId !== from.ocaId) {
        this.failovers++;
        hooks.onFailover?.(from, to, reason, ctx);
        ctx.url = session.urlOn(ctx.url, to.ocaId);
        this.reissue(ctx, config, callbacks);
        return true;
      }
      // A file missing (404) is missing under any session: no renewal for it.
      if (to || this.renewed || reason === "http_404") return false;
      this.renewed = true;
      void session.renewAfterFailure(`no OCA left after ${reason} on ${from.ocaId}`).then((ok) => {
        if (this.gone) return;
        if (!ok) return giveUp();
        this.failovers = 0;
        // The renewed session's pick, not the OCA that just failed (the new list may name it again).
        ctx.url = session.urlOn(ctx.url, session.current.ocaId);
        this.reissue(ctx, config, callbacks);
      });
      return true;
    }

    private reissue(ctx: LoaderContext, config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>): void {
      if (this.gone) return;
      this.inner.destroy();
      this.inner = new Base(this.hlsConfig);
      this.attempt(ctx, config, callbacks);
    }

    /** Runs `fn` after `ms` unless hls.js aborts or destroys this load first. */
    private later(ms: number, fn: () => void): void {
      this.wait = setTimeout(() => {
        this.wait = null;
        fn();
      }, ms);
    }

    abort(): void {
      this.gone = true;
      if (this.wait !== null) clearTimeout(this.wait);
      this.inner.abort();
    }

    destroy(): void {
      this.gone = true;
      if (this.wait !== null) clearTimeout(this.wait);
      this.inner.destroy();
      this.context = null;
    }

    getResponseHeader(name: string): string | null {
      return this.inner.getResponseHeader?.(name) ?? null;
    }

    getCacheAge(): number | null {
      return this.inner.getCacheAge?.() ?? null;
    }
  };
}

/** Recommended hls.js settings for SDK-driven playback (merge your own over them). */
export function sdkHlsConfig(session: PlaySession, HlsClass: typeof Hls, hooks: LoaderHooks = {}, baseLoader?: LoaderClass): Partial<HlsConfig> {
  const fast = { maxNumRetry: 2, retryDelayMs: 100, maxRetryDelayMs: 500 };
  return {
    // Wraps the loader the app configured (hls.js's default unless told otherwise).
    loader: createSdkLoader(session, baseLoader ?? (HlsClass.DefaultConfig.loader as unknown as LoaderClass), hooks) as unknown as HlsConfig["loader"],
    // Start loading only once the SDK has probed and chosen (see attachSession).
    autoStartLoad: false,
    // A streaming buffer: enough to ride out a failover, small enough to keep fetching.
    maxBufferLength: 10,
    maxMaxBufferLength: 10,
    backBufferLength: 30,
    // A dead OCA must not hold a request for long; the loader fails over on timeout.
    fragLoadPolicy: {
      default: { maxTimeToFirstByteMs: 3_000, maxLoadTimeMs: 15_000, timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 }, errorRetry: fast },
    },
    playlistLoadPolicy: {
      default: { maxTimeToFirstByteMs: 3_000, maxLoadTimeMs: 8_000, timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 }, errorRetry: fast },
    },
    manifestLoadPolicy: {
      default: { maxTimeToFirstByteMs: 3_000, maxLoadTimeMs: 8_000, timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 }, errorRetry: fast },
    },
    // ABR: start from the SDK's probe (attachSession sets startLevel and the estimate), and
    // climb back quickly after any dip.
    abrEwmaFastVoD: 2,
    abrEwmaSlowVoD: 6,
    abrBandWidthUpFactor: 0.7,
    abrBandWidthFactor: 0.9,
    testBandwidth: false,
    // hls.js's own CMCD (it knows its buffer, rung and stalls), keyed to the session, in the SDK's mode.
    ...(session.cmcdMode ? { cmcd: { sessionId: session.sessionId, contentId: session.play.titleId, useHeaders: session.cmcdMode === "headers" } } : {}),
  };
}

/**
 * Wires a session to an hls.js instance created with `sdkHlsConfig`: waits for the probes and the
 * multivariant playlist, starts on the SDK's OCA at the rung the probe throughput allows, and keeps
 * hls.js's pathway on the session's OCA. Returns a function that unhooks it.
 *
 * An hls.js instance takes one session at a time. Attaching the same session to it again is a no-op
 * that returns the first call's function (a second set of handlers would start and steer hls.js
 * twice); attaching another session while one is attached throws: unhook the first before the next
 * title (hls.js's loader, from `sdkHlsConfig`, is the first session's anyway: a new title needs a new
 * hls.js instance).
 */
export function attachSession(
  hls: Hls,
  session: PlaySession,
  HlsClass: typeof Hls,
  chooseStartLevel: (bitrates: number[], throughputBps: number | null) => number,
): () => void {
  return attachOnce(hlsAttachments, "attachSession", hls, session, () => attachSessionOnce(hls, session, HlsClass, chooseStartLevel));
}

/** The session attached to each hls.js instance (attachOnce). */
const hlsAttachments = new WeakMap<object, Attachment>();

function attachSessionOnce(
  hls: Hls,
  session: PlaySession,
  HlsClass: typeof Hls,
  chooseStartLevel: (bitrates: number[], throughputBps: number | null) => number,
): () => void {
  let parsed = false;
  let started = false;
  /** Unhooked (the app destroyed hls.js, say): probes that finish later must not start it. */
  let detached = false;
  const steer = () => {
    // A switch's steer runs a tick later: the app may have destroyed hls.js meanwhile.
    if (detached) return;
    if (hls.pathways.length > 1) {
      const prio = session.pathwayPriority().filter((id) => hls.pathways.includes(id));
      if (prio.length) hls.pathwayPriority = prio;
    }
  };
  const start = () => {
    if (started || !parsed || detached) return;
    started = true;
    steer();
    const est = session.throughput.estimate();
    if (est) hls.bandwidthEstimate = est;
    const own = hls.levels.map((l) => l.bitrate);
    hls.startLevel = chooseStartLevel(own, est);
    hls.startLoad(-1);
  };
  const onParsed = () => {
    parsed = true;
    void session.ready.then(start);
  };
  hls.on(HlsClass.Events.MANIFEST_PARSED, onParsed);
  // Switches decided by the session (failure, steering, re-probe) move hls.js's pathway, outside the loader callback.
  const onSwitch = () => setTimeout(steer, 0);
  session.on(SessionEvents.OCA_SWITCH, onSwitch);
  const off = () => session.off(SessionEvents.OCA_SWITCH, onSwitch);
  return () => {
    detached = true;
    hls.off(HlsClass.Events.MANIFEST_PARSED, onParsed);
    off();
  };
}
