/**
 * What the viewer experiences, measured on the <video> element and hls.js, reported as QoE events
 * through the session and exposed to the overlay and to tests (`window.__player`).
 */
import type Hls from "hls.js";
import type { ErrorData, FragChangedData, LoaderContext, LoaderStats } from "hls.js";
import { SdkError } from "../errors";
import { SessionEvents } from "../events";
import { noteFragment } from "./hls-hook";
import { isRefusalStatus } from "./oca-order";
import type { OcaSwitch, PlaySession } from "../session";
import type { OcaEntry, QoeEvent, SteeringManifest } from "../types";

export interface StallRecord {
  /** performance.now() when playback stopped advancing. */
  startedAt: number;
  durationMs: number;
  positionS: number;
}

export interface PlayerSnapshot {
  sessionId: string | null;
  titleId: string | null;
  phase: "idle" | "starting" | "playing" | "stalled" | "paused" | "ended" | "failed";
  currentTime: number;
  duration: number;
  paused: boolean;
  /** `X-OCA` of the last media fragment loaded: "{siteId}/{ocaId}". */
  servingOca: string | null;
  servingSite: string | null;
  servingOcaId: string | null;
  /** hls.js's current Content Steering pathway (an OCA id). */
  pathway: string | null;
  /** The SDK's chosen OCA. */
  sdkOca: string | null;
  bitrate: number | null;
  height: number | null;
  topBitrate: number | null;
  bufferS: number;
  startupMs: number | null;
  stalls: StallRecord[];
  /** Ongoing stall (ms so far), 0 when playing. */
  stallingMs: number;
  fatalErrors: string[];
  errors: string[];
  ocaSwitches: Array<{ at: number; from: string; to: string; reason: string }>;
  bitrateSwitches: Array<{ at: number; from: number; to: number }>;
  /** Bitrate of what was on screen, each time it changed (performance.now()). */
  playedBitrates: Array<{ at: number; bitrate: number; height: number | null }>;
  failovers: Array<{ at: number; from: string; to: string; reason: string; url: string }>;
  /** Start-up timeline (performance.now(), ms): pressed, playResponse, probed, manifestParsed, firstFragment, firstFrame. */
  marks: Record<string, number>;
  steering: SteeringManifest | null;
  audioLang: string | null;
  subtitleLang: string | null;
  audioLangs: string[];
  subtitleLangs: string[];
  /** Cues loaded in the showing subtitle track. */
  subtitleCues: number;
  eventsQueued: QoeEvent[];
  eventsSent: QoeEvent[];
  now: number;
}

/** Stalls shorter than this are frame-scheduling noise, not rebuffering. */
const STALL_MIN_MS = 400;

export class PlayerMonitor {
  readonly stalls: StallRecord[] = [];
  readonly fatalErrors: string[] = [];
  readonly errors: string[] = [];
  readonly failovers: PlayerSnapshot["failovers"] = [];
  readonly ocaSwitches: PlayerSnapshot["ocaSwitches"] = [];
  readonly bitrateSwitches: PlayerSnapshot["bitrateSwitches"] = [];
  readonly playedBitrates: PlayerSnapshot["playedBitrates"] = [];
  readonly eventsQueued: QoeEvent[] = [];
  readonly marks: Record<string, number> = {};
  servingOca: string | null = null;
  steering: SteeringManifest | null = null;
  startupMs: number | null = null;
  private started = false;
  private ended = false;
  private lastTime = 0;
  private lastAdvanceAt = 0;
  private stallStart: number | null = null;
  private bitrate: number | null = null;
  private height: number | null = null;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly cleanup: Array<() => void> = [];

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly hls: Hls,
    private readonly session: PlaySession,
    private readonly HlsClass: typeof Hls,
  ) {
    session.positionS = () => this.video.currentTime;
    session.bitrate = () => this.bitrate ?? undefined;
    const on = <K extends keyof HTMLVideoElementEventMap>(type: K, fn: () => void) => {
      video.addEventListener(type, fn);
      this.cleanup.push(() => video.removeEventListener(type, fn));
    };
    on("playing", () => this.firstFrame());
    on("ended", () => this.onEnded());
    const E = HlsClass.Events;
    const onFrag = (_: string, d: FragChangedData) => this.onFragChanged(d);
    const onError = (_: string, d: ErrorData) => this.onError(d);
    const onParsed = () => this.mark("manifestParsed");
    const onFragLoaded = (_: string, d: { frag: { type: string } }) => {
      this.mark("firstFragment");
      this.mark(d.frag.type === "main" ? "firstVideoFragment" : d.frag.type === "audio" ? "firstAudioFragment" : "firstTextFragment");
    };
    const onFragBuffered = (_: string, d: { frag: { type: string } }) =>
      this.mark(d.frag.type === "main" ? "firstVideoBuffered" : d.frag.type === "audio" ? "firstAudioBuffered" : "firstTextBuffered");
    hls.on(E.FRAG_CHANGED, onFrag);
    hls.on(E.ERROR, onError);
    hls.on(E.MANIFEST_PARSED, onParsed);
    hls.on(E.FRAG_LOADED, onFragLoaded);
    hls.on(E.FRAG_BUFFERED, onFragBuffered);
    on("loadeddata", () => this.mark("loadeddata"));
    on("canplay", () => this.mark("canplay"));
    this.cleanup.push(() => {
      hls.off(E.FRAG_BUFFERED, onFragBuffered);
      hls.off(E.FRAG_CHANGED, onFrag);
      hls.off(E.ERROR, onError);
      hls.off(E.MANIFEST_PARSED, onParsed);
      hls.off(E.FRAG_LOADED, onFragLoaded);
    });
    this.marks.pressed = session.pressedAt;
    const onSwitch = (s: OcaSwitch) => this.ocaSwitches.push({ at: performance.now(), from: s.from.ocaId, to: s.to.ocaId, reason: s.reason });
    session.on(SessionEvents.OCA_SWITCH, onSwitch);
    this.cleanup.push(() => session.off(SessionEvents.OCA_SWITCH, onSwitch));
    this.timer = setInterval(() => this.watch(), 100);
  }

  /** Record the first time something happened (start-up timeline). */
  mark(name: string, at = performance.now()): void {
    if (!(name in this.marks)) this.marks[name] = at;
  }

  /** Loader hook: a request to an OCA succeeded. */
  served(oca: OcaEntry, servedBy: string | null, ctx: LoaderContext, stats: LoaderStats): void {
    const frag = (ctx as LoaderContext & { frag?: { type?: string; sn?: number | string } }).frag;
    if (!frag) return;
    this.servingOca = servedBy ?? `${oca.siteId}/${oca.ocaId}`;
    noteFragment(this.session, oca, frag, stats, Math.min(...this.hls.levels.map((l) => l.bitrate)));
  }

  /** Loader hook: a request failed over. */
  failover(from: OcaEntry, to: OcaEntry, reason: string, ctx: LoaderContext): void {
    this.failovers.push({ at: performance.now(), from: from.ocaId, to: to.ocaId, reason, url: ctx.url });
  }

  private firstFrame(): void {
    if (this.started) return;
    this.started = true;
    this.startupMs = performance.now() - this.session.pressedAt;
    this.mark("firstFrame");
    const level = this.hls.levels[this.hls.currentLevel] ?? this.hls.levels[this.hls.loadLevel];
    if (this.bitrate === null && level) {
      this.bitrate = level.bitrate;
      this.height = level.height || null;
      this.playedBitrates.push({ at: performance.now(), bitrate: level.bitrate, height: this.height });
    }
    this.lastTime = this.video.currentTime;
    this.lastAdvanceAt = performance.now();
    this.session.emit({ type: "start", startupMs: Math.round(this.startupMs), bitrate: this.bitrate ?? undefined, ocaId: this.session.current.ocaId });
  }

  private onFragChanged(d: FragChangedData): void {
    const level = this.hls.levels[d.frag.level];
    if (!level) return;
    const prev = this.bitrate;
    this.bitrate = level.bitrate;
    this.height = level.height || null;
    if (prev !== level.bitrate) {
      this.playedBitrates.push({ at: performance.now(), bitrate: level.bitrate, height: this.height });
      if (prev !== null) {
        this.bitrateSwitches.push({ at: performance.now(), from: prev, to: level.bitrate });
        this.session.emit({ type: "bitrate_switch", bitrate: level.bitrate, fromBitrate: prev, ocaId: this.session.current.ocaId });
      }
    }
  }

  private onError(d: ErrorData): void {
    const what = `${d.type}/${d.details}${d.response?.code ? ` ${d.response.code}` : ""}${d.error?.message ? `: ${d.error.message}` : ""}`;
    if (!d.fatal) {
      this.errors.push(what);
      if (this.errors.length > 100) this.errors.shift();
      return;
    }
    this.fatalErrors.push(what);
    if (d.type === this.HlsClass.ErrorTypes.MEDIA_ERROR && this.fatalErrors.length < 3) {
      this.session.warn("PLAYER_ERROR", { detail: `recovering from ${what}` });
      this.hls.recoverMediaError();
      return;
    }
    // Playback cannot go on: the session reports it with its code and stops (no more probes or polls).
    // A network error hls.js gives up on came after the loader tried every OCA (and a renewed session):
    // no server delivered, which the viewer can retry; not a video this device cannot play.
    const network = d.type === this.HlsClass.ErrorTypes.NETWORK_ERROR && !isRefusalStatus(d.response?.code ?? 0);
    void this.session.fail(new SdkError(network ? "ALL_OCAS_FAILED" : "PLAYER_ERROR", { status: d.response?.code, url: d.url, detail: what }));
  }

  private onEnded(): void {
    if (this.ended) return;
    this.ended = true;
    this.endStall(performance.now());
    this.session.emit({ type: "stop", reason: "ended" });
    // Flushes the events and stops re-probing.
    void this.session.close();
  }

  /** Every 100 ms: is the playhead moving? A stall is time the playhead stood still while it should have played. */
  private watch(): void {
    if (!this.started || this.ended) return;
    const t = performance.now();
    const v = this.video;
    if (v.paused || v.seeking || v.ended) {
      this.lastAdvanceAt = t;
      this.lastTime = v.currentTime;
      return;
    }
    if (v.currentTime > this.lastTime + 0.001) {
      this.endStall(t);
      this.lastTime = v.currentTime;
      this.lastAdvanceAt = t;
    } else if (this.stallStart === null && t - this.lastAdvanceAt >= STALL_MIN_MS) {
      this.stallStart = this.lastAdvanceAt;
    }
  }

  private endStall(t: number): void {
    if (this.stallStart === null) return;
    const durationMs = t - this.stallStart;
    this.stalls.push({ startedAt: this.stallStart, durationMs, positionS: this.video.currentTime });
    this.session.emit({ type: "rebuffer", durationMs: Math.round(durationMs), ocaId: this.session.current.ocaId });
    this.stallStart = null;
  }

  bufferAhead(): number {
    const v = this.video;
    const b = v.buffered;
    for (let i = 0; i < b.length; i++) if (b.start(i) <= v.currentTime + 0.1 && b.end(i) > v.currentTime) return b.end(i) - v.currentTime;
    return 0;
  }

  snapshot(titleId: string | null): PlayerSnapshot {
    const v = this.video;
    const t = performance.now();
    const [site, oca] = this.servingOca?.includes("/") ? this.servingOca.split("/") : [this.servingOca, this.servingOca];
    const level = this.hls.levels[this.hls.loadLevel];
    const stallingMs = this.stallStart !== null ? t - this.stallStart : 0;
    const phase: PlayerSnapshot["phase"] =
      this.fatalErrors.length && !this.started
        ? "failed"
        : this.ended
          ? "ended"
          : !this.started
            ? "starting"
            : stallingMs > 0
              ? "stalled"
              : v.paused
                ? "paused"
                : "playing";
    return {
      sessionId: this.session.sessionId,
      titleId,
      phase,
      currentTime: v.currentTime,
      duration: Number.isFinite(v.duration) ? v.duration : 0,
      paused: v.paused,
      servingOca: this.servingOca,
      servingSite: site ?? null,
      servingOcaId: oca ?? null,
      pathway: (level as { pathwayId?: string } | undefined)?.pathwayId ?? null,
      sdkOca: this.session.current.ocaId,
      bitrate: this.bitrate,
      height: this.height,
      topBitrate: this.hls.levels.length ? Math.max(...this.hls.levels.map((l) => l.bitrate)) : null,
      bufferS: this.bufferAhead(),
      startupMs: this.startupMs,
      stalls: [...this.stalls],
      stallingMs,
      fatalErrors: [...this.fatalErrors],
      errors: [...this.errors],
      ocaSwitches: [...this.ocaSwitches],
      bitrateSwitches: [...this.bitrateSwitches],
      playedBitrates: [...this.playedBitrates],
      failovers: [...this.failovers],
      marks: { ...this.marks },
      steering: this.steering,
      audioLang: this.hls.audioTracks[this.hls.audioTrack]?.lang ?? null,
      subtitleLang: this.hls.subtitleTrack >= 0 && this.hls.subtitleDisplay ? (this.hls.subtitleTracks[this.hls.subtitleTrack]?.lang ?? null) : null,
      audioLangs: this.hls.audioTracks.map((t) => t.lang ?? ""),
      subtitleLangs: this.hls.subtitleTracks.map((t) => t.lang ?? ""),
      subtitleCues: Array.from(v.textTracks).reduce((n, t) => n + (t.mode === "showing" ? (t.cues?.length ?? 0) : 0), 0),
      eventsQueued: [...this.eventsQueued],
      eventsSent: [...this.session.reporter.sent],
      now: t,
    };
  }

  dispose(): void {
    clearInterval(this.timer);
    for (const f of this.cleanup) f();
  }
}
