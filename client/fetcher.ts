import { chooseRung, DEFAULT_ABR, type AbrParams } from "./abr";
import { cmcdData, type CmcdRequestInfo, withCmcd } from "./cmcd";
import { httpRefused, SdkError } from "./errors";
import { SessionEvents } from "./events";
import { orAbort } from "./probe";
import { type MediaPlaylist, parseMediaPlaylist, parseMultivariant, type Variant } from "./hls-playlist";
import type { PlaySession } from "./session";
import { defined, type ResponseLike } from "./types";

/**
 * The headless player's options. The constructor checks them (a finite number in range, of the right
 * type) and throws an `INVALID_OPTION` SdkError naming every refused key: a NaN buffer target would
 * download without end, a tick or timeout of 0 spin or fail every request.
 */
export interface FetcherOptions {
  /** Fetch ahead until this much media is buffered (s, > 0). Default 10. */
  targetBufferS?: number;
  /** Play the title over and over (a longer stream for tests and soak runs); `stop()` ends it. */
  loop?: boolean;
  /** Stop once this much media has been played (s, > 0). */
  maxPlayS?: number;
  /** Audio language (default: the playlist's DEFAULT=YES track). */
  audioLanguage?: string;
  /**
   * No-progress timeout of one file download (ms, 100 to 2^31-1; there is no "no timeout"). Default 4000.
   * The response's headers must come within it, and then each chunk of its body within it of the last:
   * a download that is arriving, only slowly, goes on (and lowers the throughput estimate), up to
   * this timeout plus 4 times the segment's media duration (twice the timeout for a playlist or an init segment).
   */
  requestTimeoutMs?: number;
  /** ABR parameters (each a finite number >= 0). */
  abr?: Partial<AbrParams>;
  /** Playback clock granularity (ms, 10 to 60,000). Default 50. */
  tickMs?: number;
}

/** The longest delay timers keep: a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647;
/** A finite number in [min, max]. */
const inRange = (v: unknown, min: number, max: number): boolean => typeof v === "number" && Number.isFinite(v) && v >= min && v <= max;

/** Why each of `opts`' keys is refused (`key: reason`), none when all pass. */
function fetcherOptionProblems(opts: unknown): string[] {
  if (opts === null || typeof opts !== "object") return ["options: expected an object"];
  const out: string[] = [];
  for (const [key, v] of Object.entries(opts)) {
    if (v === undefined) continue;
    const bad = (reason: string) => out.push(`${key}: ${reason}`);
    switch (key) {
      case "targetBufferS":
      case "maxPlayS":
        if (!inRange(v, Number.MIN_VALUE, Number.MAX_VALUE)) bad("expected a number of seconds > 0");
        break;
      case "requestTimeoutMs":
        if (!inRange(v, 100, MAX_TIMER_MS)) bad(`expected a number of ms from 100 to ${MAX_TIMER_MS}`);
        break;
      case "tickMs":
        if (!inRange(v, 10, 60_000)) bad("expected a number of ms from 10 to 60000");
        break;
      case "loop":
        if (typeof v !== "boolean") bad("expected true or false");
        break;
      case "audioLanguage":
        if (typeof v !== "string") bad("expected a language tag");
        break;
      case "abr":
        if (v === null || typeof v !== "object") bad("expected an object");
        else
          for (const [k, x] of Object.entries(v)) {
            if (x === undefined) continue;
            if (!Object.hasOwn(DEFAULT_ABR, k)) out.push(`abr.${k}: unknown ABR parameter`);
            else if (!inRange(x, 0, Number.MAX_VALUE)) out.push(`abr.${k}: expected a number >= 0`);
          }
        break;
      default:
        bad("unknown option");
    }
  }
  return out;
}

export interface Stall {
  /** Position where playback stopped (s). */
  positionS: number;
  /** Monotonic time the stall began (ms). */
  startedAt: number;
  durationMs: number;
}

export interface Download {
  at: number;
  ocaId: string;
  servedBy: string | null;
  path: string;
  status: number;
  ms: number;
  bytes: number;
}

export interface FetcherState {
  phase: "starting" | "playing" | "stalled" | "ended" | "failed" | "stopped";
  positionS: number;
  bufferedEndS: number;
  bufferS: number;
  rung: number | null;
  bitrate: number | null;
  height: number | null;
  /** The OCA the session streams from. */
  ocaId: string;
  /** `X-OCA` of the last media response ("{siteId}/{ocaId}"). */
  servedBy: string | null;
  startupMs: number | null;
  /** The stalls so far (the latest 10,000). */
  stalls: Stall[];
  /** The bitrate switches so far (the latest 10,000). */
  bitrateSwitches: Array<{ at: number; from: number; to: number }>;
  /** Fatal errors (playback could not go on). */
  errors: string[];
  bytes: number;
  segments: number;
  /** Each media segment as it completed: monotonic time, rung bitrate, OCA (the latest 10,000). */
  segmentLog: Array<{ at: number; index: number; bitrate: number; top: boolean; ocaId: string }>;
  downloads: Download[];
}

type Fail = { kind: "retry"; reason: string } | { kind: "fatal"; body: string };

/** A fatal download failure, carrying the SDK error the session stops with. */
class FetchFailure extends Error {
  constructor(readonly error: SdkError) {
    super(error.message);
  }
}

/** "avc1.64001f" -> "avc1", as the control plane matches a device's codecs. */
const codecFamily = (codec: string) => codec.trim().split(".")[0].toLowerCase();

/** Parses a playlist off the network; one that cannot be played fails playback as PLAYLIST_INVALID (not as an internal error). */
function parsed<T>(url: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new FetchFailure(new SdkError("PLAYLIST_INVALID", { url, detail: String((err as Error)?.message ?? err).slice(0, 200) }));
  }
}

/** A download given up because playback ended (`stop()`, a fatal error, the session closed): no failure of the OCA's. */
class Cancelled extends Error {}

/** Resolves after `ms`, or at once (timer cleared) when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}

/**
 * A download still progressing may take up to its media's duration times this (plus the timeout):
 * a rung at up to 4 times the link's rate still arrives (and lowers the throughput estimate, so the
 * next segment goes down), while a trickle cannot hold playback for ever.
 */
const SLOW_DOWNLOAD_DURATION_MULTIPLE = 4;

/** The longest one file's download may take while progressing (ms): the timeout, plus 4 times its media duration (or the timeout again for a file without one). */
function downloadBoundMs(requestTimeoutMs: number, durationS?: number): number {
  const media = durationS !== undefined && Number.isFinite(durationS) && durationS > 0 ? durationS * 1000 * SLOW_DOWNLOAD_DURATION_MULTIPLE : 0;
  return Math.min(MAX_TIMER_MS, requestTimeoutMs + Math.max(requestTimeoutMs, media));
}

/**
 * Reads `res`'s body chunk by chunk, calling `progress` with each non-empty chunk's size (an empty
 * chunk is no progress); rejects when `signal` aborts, even if the body ignores its cancel.
 */
async function readBody(res: ResponseLike, signal: AbortSignal, progress: (bytes: number) => void): Promise<ArrayBuffer> {
  const reader = res.body?.getReader();
  if (!reader) {
    // No stream to watch: the whole body is one chunk, due within the no-progress timeout.
    const whole = await orAbort(res.arrayBuffer(), signal);
    progress(whole.byteLength);
    return whole;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await orAbort(reader.read(), signal);
      if (done) break;
      if (!value?.byteLength) continue;
      chunks.push(value);
      total += value.byteLength;
      progress(value.byteLength);
    }
  } catch (err) {
    // Not waited for: a body that ignores its cancel must not hold the download.
    Promise.resolve()
      .then(() => reader.cancel())
      .catch(() => {});
    throw err;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out.buffer;
}

/** The state's logs (segments, stalls, bitrate switches) keep the latest this many entries: a `loop` run plays for days. */
const MAX_LOG_KEPT = 10_000;

/** Appends `entry`, dropping the oldest beyond MAX_LOG_KEPT. */
function keepLatest<T>(log: T[], entry: T): void {
  log.push(entry);
  if (log.length > MAX_LOG_KEPT) log.splice(0, log.length - MAX_LOG_KEPT);
}

/**
 * Headless playback: downloads the session's segments in order from the SDK's chosen OCA, adapting
 * the rung to throughput and buffer, and plays them out against the wall clock (a simulated buffer:
 * the position advances in real time while media is buffered, and stalls when it is not). Failover,
 * re-probes and steering come from the session; QoE events go through its reporter.
 */
export class SegmentFetcher {
  private readonly opts: Required<Omit<FetcherOptions, "maxPlayS" | "audioLanguage" | "abr">> & Pick<FetcherOptions, "maxPlayS" | "audioLanguage">;
  private readonly abr: AbrParams;
  private readonly st: FetcherState;
  private variants: Variant[] = [];
  private readonly media = new Map<string, MediaPlaylist>();
  private audio: MediaPlaylist | null = null;
  private audioUri: string | null = null;
  private lastInitRung: number | null = null;
  /** Playback clock anchor: position `anchorPos` at monotonic time `anchorAt` (while playing). */
  private anchorPos = 0;
  private anchorAt = 0;
  private stallStart: number | null = null;
  /** A stall began since the last media request: the next one says so in CMCD (`bs`). */
  private starved = false;
  private stopped = false;
  /** Aborted when playback ends: downloads still out (a sibling of a fatal one, one `stop()` caught) end with it. */
  private readonly ending = new AbortController();
  private ticker: ReturnType<typeof setInterval> | null = null;
  /** The one run (`run()`). */
  private running: Promise<FetcherState> | null = null;
  private k = 0;
  private totalS = 0;
  private nSegs = 0;

  constructor(
    readonly session: PlaySession,
    opts: FetcherOptions = {},
  ) {
    const problems = fetcherOptionProblems(opts);
    if (problems.length) throw new SdkError("INVALID_OPTION", { detail: problems.join("; ").slice(0, 500) });
    this.opts = { targetBufferS: 10, loop: false, requestTimeoutMs: 4_000, tickMs: 50, ...defined(opts) };
    this.abr = { ...DEFAULT_ABR, ...defined(opts.abr ?? {}) };
    this.st = {
      phase: "starting",
      positionS: 0,
      bufferedEndS: 0,
      bufferS: 0,
      rung: null,
      bitrate: null,
      height: null,
      ocaId: session.current.ocaId,
      servedBy: null,
      startupMs: null,
      stalls: [],
      bitrateSwitches: [],
      errors: [],
      bytes: 0,
      segments: 0,
      segmentLog: [],
      downloads: [],
    };
    session.positionS = () => this.st.positionS;
    session.bitrate = () => this.st.bitrate ?? undefined;
  }

  get state(): FetcherState {
    this.tick();
    return {
      ...this.st,
      stalls: [...this.st.stalls],
      segmentLog: [...this.st.segmentLog],
      downloads: [...this.st.downloads],
      ocaId: this.session.current.ocaId,
    };
  }

  /** End playback now (emits `stop`). */
  stop(): void {
    this.stopped = true;
    // A download in flight (or waiting out a back-off) ends now: it would otherwise time out, fail over
    // and charge the OCA for a stop, seconds after the viewer pressed it.
    this.ending.abort();
  }

  private now(): number {
    return this.session.now();
  }

  /** Advance the simulated playhead to now; detect stalls and the end. */
  private tick(): void {
    const st = this.st;
    if (st.phase !== "playing") {
      st.bufferS = Math.max(0, st.bufferedEndS - st.positionS);
      return;
    }
    const t = this.now();
    const pos = this.anchorPos + (t - this.anchorAt) / 1000;
    const end = this.opts.loop ? Infinity : this.totalS;
    const limit = Math.min(this.opts.maxPlayS ?? Infinity, end);
    if (pos >= limit && st.bufferedEndS >= limit - 1e-6) {
      st.positionS = limit;
      st.phase = "ended";
    } else if (pos >= st.bufferedEndS) {
      st.positionS = st.bufferedEndS;
      st.phase = "stalled";
      this.starved = true;
      this.stallStart = this.anchorAt + (st.bufferedEndS - this.anchorPos) * 1000;
    } else {
      st.positionS = pos;
    }
    st.bufferS = Math.max(0, st.bufferedEndS - st.positionS);
  }

  /** Media arrived: start playing (first frame), or end a stall. */
  private resume(): void {
    const st = this.st;
    const t = this.now();
    if (st.phase === "starting") {
      st.startupMs = t - this.session.pressedAt;
      st.phase = "playing";
      this.anchorPos = st.positionS;
      this.anchorAt = t;
      this.session.emit({ type: "start", startupMs: Math.round(st.startupMs), bitrate: st.bitrate ?? undefined, ocaId: this.session.current.ocaId });
    } else if (st.phase === "stalled" && this.stallStart !== null) {
      const durationMs = t - this.stallStart;
      keepLatest(st.stalls, { positionS: st.positionS, startedAt: this.stallStart, durationMs });
      this.session.emit({ type: "rebuffer", durationMs: Math.round(durationMs), ocaId: this.session.current.ocaId });
      this.stallStart = null;
      st.phase = "playing";
      this.anchorPos = st.positionS;
      this.anchorAt = t;
    }
  }

  /** What this request says in CMCD: the playback state now, and the stall flag once after a stall. */
  private cmcdInfo(object: CmcdRequestInfo["object"], media?: { bitrateBps?: number; topBitrateBps?: number; durationS?: number }): CmcdRequestInfo {
    this.tick();
    const info: CmcdRequestInfo = { object, ...media, bufferS: this.st.bufferS, startup: this.st.phase === "starting" || this.st.phase === "stalled" };
    if (object === "video" && this.starved) {
      // The first video request after a stall: recovery from an empty buffer is urgent too (`su`).
      info.starved = info.startup = true;
      this.starved = false;
    }
    return info;
  }

  /** Download one file of the title (URL as found on any OCA) from the current OCA, failing over as needed. */
  private async get(
    canonicalUrl: string,
    media: boolean,
    cmcd: CmcdRequestInfo = { object: "manifest" },
  ): Promise<{ body: ArrayBuffer; ms: number; ocaId: string }> {
    let renewed = false;
    let refusedOnce = false;
    const ending = this.ending.signal;
    for (let attempt = 0; attempt < this.session.ocas.length * 2 + 2; attempt++) {
      if (ending.aborted) throw new Cancelled();
      const oca = this.session.current;
      const url = this.session.urlOn(canonicalUrl, oca.ocaId);
      const path = url.slice(oca.url.length) || url;
      const mode = this.session.cmcdMode;
      const sent = mode ? withCmcd(url, cmcdData(this.session, cmcd), mode) : { url, headers: {} };
      const t0 = this.now();
      let status = 0;
      let fail: Fail;
      const ctl = new AbortController();
      // Aborts with the timers only (`ctl` also aborts on `stop()`, which a fetch that honours signals ends at once).
      const timedOut = new AbortController();
      // Why the download was given up, when a timer did it: no progress (a dead OCA), or a trickle past the bound.
      let expired: "stalled" | "too_slow" | null = null;
      const expire = (why: "stalled" | "too_slow") => () => {
        expired ??= why;
        timedOut.abort();
        ctl.abort();
      };
      // The no-progress timer: the headers within the timeout, then each chunk within it of the last.
      const timeoutMs = this.opts.requestTimeoutMs;
      let idle = setTimeout(expire("stalled"), timeoutMs);
      const progressed = () => {
        // After `stop()` no re-arming: a body that ignores its signal gets one more timeout at most.
        if (ending.aborted) return;
        clearTimeout(idle);
        idle = setTimeout(expire("stalled"), timeoutMs);
      };
      const bound = setTimeout(expire("too_slow"), downloadBoundMs(timeoutMs, cmcd.durationS));
      let received = 0;
      const cancel = () => ctl.abort();
      ending.addEventListener("abort", cancel);
      try {
        // Raced with the timers: an app's fetch that ignores the signal still times out a stalled file.
        const res = await orAbort(this.session.client.fetch(sent.url, { signal: ctl.signal, headers: sent.headers }), timedOut.signal);
        progressed();
        status = res.status;
        if (res.ok) {
          const body = await readBody(res, timedOut.signal, (n) => {
            received += n;
            progressed();
          });
          const ms = this.now() - t0;
          const servedBy = res.headers.get("X-OCA");
          if (media) this.st.servedBy = servedBy;
          this.record({ at: t0, ocaId: oca.ocaId, servedBy, path, status, ms, bytes: body.byteLength });
          return { body, ms, ocaId: oca.ocaId };
        }
        const text = await orAbort(res.text(), timedOut.signal).catch(() => "");
        fail = status >= 500 || status === 404 || status === 429 ? { kind: "retry", reason: `http_${status}` } : { kind: "fatal", body: text };
      } catch (err) {
        if (ending.aborted) throw new Cancelled();
        fail = {
          kind: "retry",
          reason:
            expired === "too_slow"
              ? `timeout: too slow, ${received} bytes in ${Math.round(this.now() - t0)} ms`
              : ctl.signal.aborted
                ? "timeout"
                : `network: ${String((err as Error)?.message ?? err).slice(0, 100)}`,
        };
      } finally {
        clearTimeout(idle);
        clearTimeout(bound);
        ending.removeEventListener("abort", cancel);
      }
      if (ending.aborted) throw new Cancelled();
      // A trickle past the bound still measured the link: the next segment's rung is chosen on it
      // (this one fails over, at its rung, as any timeout). A stalled body measured nothing.
      if (media && expired === "too_slow" && received > 0 && oca.ocaId === this.session.current.ocaId)
        this.session.throughput.sample(received, this.now() - t0);
      this.record({ at: t0, ocaId: oca.ocaId, servedBy: null, path, status, ms: this.now() - t0, bytes: 0 });
      if (fail.kind === "fatal") {
        // A refusal of the session's own renewal (its stop said) waits for that renewal: null, load it under the new session.
        const refusal = await this.session.refusal(oca.ocaId, url, status, fail.body);
        if (refusal === null && !refusedOnce) {
          refusedOnce = true;
          attempt = -1;
          continue;
        }
        throw new FetchFailure(refusal ?? httpRefused(oca.ocaId, url, status, fail.body, path));
      }
      // No HTTP answer from two OCAs in a row: the client's network, charged to no OCA; wait and retry.
      const backoff = status === 0 && !ctl.signal.aborted ? this.session.clientOutageBackoffMs(oca.ocaId) : 0;
      if (backoff > 0) {
        await sleep(backoff, ending);
        attempt--;
        continue;
      }
      const next = this.session.reportFailure(oca.ocaId, `${fail.reason} ${path}`);
      if (!next) {
        // Every OCA of the list has failed: a new play session (new list, new token) before giving up.
        // A file missing (404) is missing under any session: no renewal for it.
        if (!renewed && fail.reason !== "http_404" && (await this.session.renewAfterFailure(`no OCA left after ${fail.reason} on ${oca.ocaId}`))) {
          renewed = true;
          attempt = -1;
          continue;
        }
        throw new FetchFailure(
          new SdkError("ALL_OCAS_FAILED", { ocaId: oca.ocaId, url, status, detail: `no OCA left after ${fail.reason} on ${oca.ocaId} ${path}` }),
        );
      }
    }
    throw new FetchFailure(new SdkError("ALL_OCAS_FAILED", { url: canonicalUrl, detail: `gave up on ${canonicalUrl}` }));
  }

  private record(d: Download): void {
    this.st.downloads.push(d);
    if (this.st.downloads.length > 500) this.st.downloads.splice(0, 100);
  }

  private async mediaPlaylist(uri: string): Promise<MediaPlaylist> {
    let pl = this.media.get(uri);
    if (!pl) {
      const { body } = await this.get(uri, false);
      pl = parsed(uri, () => parseMediaPlaylist(new TextDecoder().decode(body), uri));
      this.media.set(uri, pl);
    }
    return pl;
  }

  private async load(): Promise<void> {
    const masterUrl = this.session.url("master.m3u8");
    const { body } = await this.get(masterUrl, false);
    const mv = parsed(masterUrl, () => parseMultivariant(new TextDecoder().decode(body), masterUrl));
    // One pathway's variants (a plain OCA master has only ".").
    const first = mv.variants[0]?.pathwayId ?? ".";
    // A master lists every codec's ladder (the OCA cuts it by height only): the session's renditions
    // say which codecs the device plays. Mixed into one ladder by bandwidth, ABR would hop between
    // codecs (an init segment each time) and fetch renditions the device cannot decode.
    const families = new Set(this.session.play.renditions.video.flatMap((r) => (typeof r.codec === "string" ? [codecFamily(r.codec)] : [])));
    const playable = (v: Variant) => !families.size || !v.codecs || v.codecs.split(",").some((c) => families.has(codecFamily(c)));
    // Nor above the session's height cap: the OCA refuses those segments (403), which would end playback.
    const cap = this.session.play.maxHeight;
    const allowed = (v: Variant) => !(typeof cap === "number" && v.height !== undefined && v.height > cap);
    this.variants = mv.variants.filter((v) => v.pathwayId === first && playable(v) && allowed(v)).sort((a, b) => a.bandwidth - b.bandwidth);
    if (!this.variants.length) throw new FetchFailure(new SdkError("PLAYLIST_INVALID", { url: masterUrl, detail: "master playlist has no variant" }));
    const group = this.variants[0].audio;
    const audios = mv.media.filter((m) => m.type === "AUDIO" && m.groupId === group && m.uri);
    const a = audios.find((m) => m.language === this.opts.audioLanguage) ?? audios.find((m) => m.default) ?? audios[0];
    this.audioUri = a?.uri ?? null;
    const [video] = await Promise.all([this.mediaPlaylist(this.variants[0].uri), this.audioUri ? this.mediaPlaylist(this.audioUri) : null]);
    this.audio = this.audioUri ? this.media.get(this.audioUri)! : null;
    // No segment (or durations that are not numbers) to play: playback would wait to start forever.
    if (!video.segments.length || !(Number.isFinite(video.totalS) && video.totalS > 0))
      throw new FetchFailure(new SdkError("PLAYLIST_INVALID", { url: this.variants[0].uri, detail: "media playlist has no segment to play" }));
    this.totalS = video.totalS;
    this.nSegs = video.segments.length;
  }

  /**
   * Plays to the end (or `stop()` / `maxPlayS`); resolves with the final state. Playback runs once:
   * a second call returns the first's promise (two runs would share one clock timer and leave one alive).
   */
  run(): Promise<FetcherState> {
    this.running ??= this.playOut();
    return this.running;
  }

  private async playOut(): Promise<FetcherState> {
    const st = this.st;
    this.ticker = setInterval(() => this.tick(), this.opts.tickMs);
    // The session closed under the player (the app's `close()`, its token run out): playback ends with
    // it, the fatal error that closed it (if one did) in the state, rather than on a refused download.
    let fatal: SdkError | null = null;
    const onError = (e: SdkError) => {
      if (e.severity === "fatal") fatal = e;
    };
    const onStopped = ({ reason }: { reason: string }) => {
      if (reason === "error" && fatal && st.phase !== "failed") {
        st.errors.push(fatal.message);
        st.phase = "failed";
      }
      this.stop();
    };
    this.session.on(SessionEvents.ERROR, onError).on(SessionEvents.STOPPED, onStopped);
    try {
      await this.session.ready;
      await this.load();
      let audioInit = false;
      while (!this.stopped) {
        this.tick();
        if (st.phase === "ended") break;
        const allFetched = !this.opts.loop && this.k >= this.nSegs;
        const capped = this.opts.maxPlayS !== undefined && st.bufferedEndS >= this.opts.maxPlayS;
        if (allFetched || capped || (st.phase !== "starting" && st.bufferS >= this.opts.targetBufferS)) {
          await sleep(this.opts.tickMs, this.ending.signal);
          continue;
        }
        const rungs = this.variants;
        const next = chooseRung({ rungs, throughputBps: this.session.throughput.estimate(), bufferS: st.bufferS, current: st.rung }, this.abr);
        if (st.rung !== null && next !== st.rung) {
          keepLatest(st.bitrateSwitches, { at: this.now(), from: rungs[st.rung].bandwidth, to: rungs[next].bandwidth });
          this.session.emit({
            type: "bitrate_switch",
            bitrate: rungs[next].bandwidth,
            fromBitrate: rungs[st.rung].bandwidth,
            ocaId: this.session.current.ocaId,
          });
        }
        st.rung = next;
        st.bitrate = rungs[next].bandwidth;
        st.height = rungs[next].height ?? null;
        const video = await this.mediaPlaylist(rungs[next].uri);
        const i = this.k % this.nSegs;
        const seg = video.segments[i];
        // Each rung's playlist comes off the network: one shorter than the first rung's cannot go on.
        if (!seg)
          throw new FetchFailure(new SdkError("PLAYLIST_INVALID", { url: rungs[next].uri, detail: `no segment ${i + 1} (the first rung has ${this.nSegs})` }));
        const aseg = this.audio?.segments[i];
        const jobs: Array<Promise<{ body: ArrayBuffer; ms: number; ocaId: string }>> = [];
        // CMCD's br is the playlist's average bitrate when it declares one (CTA-5004), and tb alike.
        const br = (v: Variant) => v.averageBandwidth ?? v.bandwidth;
        const bitrates = { bitrateBps: br(rungs[next]), topBitrateBps: br(rungs[rungs.length - 1]) };
        if (this.lastInitRung !== next && video.initUri) jobs.push(this.get(video.initUri, true, this.cmcdInfo("init", bitrates)));
        if (!audioInit && this.audio?.initUri) jobs.push(this.get(this.audio.initUri, true, this.cmcdInfo("init")));
        jobs.push(this.get(seg.uri, true, this.cmcdInfo("video", { ...bitrates, durationS: seg.durationS })));
        if (aseg) jobs.push(this.get(aseg.uri, true, this.cmcdInfo("audio", { durationS: aseg.durationS })));
        const got = await Promise.all(jobs);
        this.lastInitRung = next;
        audioInit = true;
        // The throughput sample is the successful attempts' own time (the files load in parallel):
        // time lost on an OCA that failed is not charged to the one that answered.
        const ms = Math.max(...got.map((g) => g.ms));
        const bytes = got.reduce((s, g) => s + g.body.byteLength, 0);
        st.bytes += bytes;
        st.segments++;
        keepLatest(st.segmentLog, {
          at: this.now(),
          index: this.k,
          bitrate: rungs[next].bandwidth,
          top: next === rungs.length - 1,
          ocaId: got[got.length - 1].ocaId,
        });
        this.k++;
        this.tick();
        st.bufferedEndS += seg.durationS;
        this.session.noteDownload(got[got.length - 1].ocaId, bytes, ms, rungs[0].bandwidth);
        this.resume();
        this.tick();
      }
      if (!this.stopped && st.phase === "ended") this.session.emit({ type: "stop", reason: "ended" });
    } catch (err) {
      // A download cut short by `stop()` is no failure: the stop below says why playback ended.
      if (!(err instanceof Cancelled && this.stopped)) {
        // Its siblings end before the session reports the failure: none fails over meanwhile.
        this.ending.abort();
        const error = err instanceof FetchFailure ? err.error : new SdkError("PLAYER_ERROR", { detail: `internal: ${String((err as Error)?.stack ?? err)}` });
        st.errors.push(error.message);
        st.phase = "failed";
        // The QoE error carries the code; the session stops and nothing runs after it.
        await this.session.fail(error);
      }
    } finally {
      // A fatal failure of one file leaves its siblings out (the segment's audio, an init): they must
      // not fail over, renew or fire events after the session stopped.
      this.ending.abort();
      if (this.ticker !== null) clearInterval(this.ticker);
      if (this.stopped && st.phase !== "failed" && st.phase !== "ended") {
        this.tick();
        st.phase = "stopped";
        this.session.emit({ type: "stop", reason: "stopped" });
      }
      await this.session.close(st.phase === "ended" ? "ended" : st.phase === "stopped" ? "stopped" : "closed");
      this.session.off(SessionEvents.ERROR, onError).off(SessionEvents.STOPPED, onStopped);
    }
    return this.state;
  }
}
