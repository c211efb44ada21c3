import { ThroughputEstimator } from "./abr";
import type { VcdnClient } from "./api";
import type { CmcdMode } from "./cmcd";
import { activeTitleIdsOf, holdsSlot, httpRefused, SdkError, stoppedHoldingOf, type ErrorName } from "./errors";
import { pathOnOca } from "./player/oca-order";
import { SessionEmitter, SessionEvents } from "./events";
import { probeUrl } from "./probe";
import { REPROBE_EVERY_MS, REPROBE_OCAS } from "../shared/probe-pace";
import { EventReporter } from "./reporter";
import { OcaSelector, type ProbeResult, type SelectorParams, selectorParamError } from "./scoring";
import { ApiCallError, type Device, type OcaEntry, type PlayResponse, type QoeEvent, type SteeringManifest } from "./types";

export interface PlayOptions {
  device?: Device;
  /** Every QoE event as it is queued (UI, logs). */
  onEvent?: (e: QoeEvent) => void;
  probe?: {
    /** Range request size (default 256 KiB). */
    bytes?: number;
    timeoutMs?: number;
    /** File probed on every OCA, relative to the OCA base URL (default: first segment of the lowest video rung). */
    path?: string;
  };
  /**
   * Re-probe the OCAs this often and move when another is clearly better (0: never). Default 10 s; at
   * least 1,000 ms (`MIN_REPROBE_INTERVAL_MS`): each round downloads a probe range from several OCAs.
   */
  reprobeIntervalMs?: number;
  /** Poll the steering server (`steering.server`) at its TTL. Default true; players that load it themselves say false. */
  pollSteering?: boolean;
  /** Query parameter names for the steering server: `_HLS_*` or `_DASH_*`. */
  steeringProtocol?: "hls" | "dash";
  /** Bounds on the steering TTL the SDK honours (s; default [1, 300]). Polls never come more than once a second, whatever the lower bound. */
  steeringTtlBoundsS?: [number, number];
  /** A steering poll that has not answered after this long is abandoned (ms). Default 5000. */
  steeringTimeoutMs?: number;
  selector?: Partial<SelectorParams>;
  /**
   * QoE batch interval (ms; default 10 s: what the capacity model's event shards are sized for). At
   * least 250 ms (`MIN_FLUSH_INTERVAL_MS`): each flush is a call, however few events it carries.
   */
  flushIntervalMs?: number;
  /** Resolve `play()` right after the play request; probes go on in the background (`session.ready`). */
  probeInBackground?: boolean;
  /**
   * CMCD (CTA-5004) on media and playlist requests: as the `CMCD` query argument (default), as
   * `CMCD-*` headers (a CORS preflight per new URL), or not at all (false). The hls.js helper turns
   * on hls.js's own CMCD in the same mode.
   */
  cmcd?: CmcdMode | false;
}

/**
 * Clocks for tests (not part of the public options, not exported from the package root): pass them
 * to `PlaySession.start` or the constructor directly.
 */
export interface SessionTestHooks {
  /** Monotonic clock (ms). */
  now?: () => number;
  /** Wall clock (ms since epoch). */
  clock?: () => number;
}

export interface OcaSwitch {
  from: OcaEntry;
  to: OcaEntry;
  reason: string;
}

const DEFAULT_DEVICE: Device = { codecs: ["avc1", "mp4a"], maxHeight: 1080 };
/** Two different OCAs unreachable within this long looks like the client's network, not the OCAs. */
const OUTAGE_WINDOW_MS = 10_000;
const OUTAGE_FIRST_BACKOFF_MS = 500;
const OUTAGE_MAX_BACKOFF_MS = 8_000;
const OUTAGE_GIVE_UP_MS = 60_000;

/** An option object's entries, or one entry with an empty key when it is not an object. */
const entriesOf = (value: unknown): Array<[string, unknown]> => (value && typeof value === "object" ? Object.entries(value) : [["", value]]);

/** An option `configure()` or `play()` refused: its key (`selector.collapseSamples`) and why. */
interface RejectedOption {
  key: string;
  reason: string;
}

/** The longest delay timers keep: a longer one fires at once (a re-probe or a flush in a tight loop). */
const MAX_TIMER_MS = 2_147_483_647;
/** A finite number >= min. */
const num = (v: unknown, min: number): v is number => typeof v === "number" && Number.isFinite(v) && v >= min;
/** A delay (ms) >= min that timers keep. */
const delayMs = (v: unknown, min: number): v is number => num(v, min) && v <= MAX_TIMER_MS;
const DELAY = (min: number) => `expected a number of ms >= ${min} (at most ${MAX_TIMER_MS})`;

/** The shortest re-probe interval a session takes (ms; 0 still means never): a round downloads a probe range from several OCAs. */
export const MIN_REPROBE_INTERVAL_MS = 1_000;
/** The shortest QoE batch interval a session takes (ms): each flush is a call to the control plane. */
export const MIN_FLUSH_INTERVAL_MS = 250;

/**
 * Test hook, not exported from the package root: play options marked with it (`belowFloors`) take a
 * re-probe and flush interval down to 1 ms, so tests can drive rounds milliseconds apart. Nothing else
 * lowers the floors: a symbol key is never set by JSON or a typo.
 */
const BELOW_FLOORS: unique symbol = Symbol("vcdn.belowFloors");

/** For tests only: `opts` with the re-probe and flush floors lowered to 1 ms (`MIN_REPROBE_INTERVAL_MS`, `MIN_FLUSH_INTERVAL_MS`). */
export function belowFloors<T extends object>(opts: T): T {
  return Object.assign({}, opts, { [BELOW_FLOORS]: true });
}

/** Whether options carry the test hook `belowFloors`. */
const floorsLowered = (opts: unknown): boolean => !!opts && typeof opts === "object" && (opts as { [BELOW_FLOORS]?: unknown })[BELOW_FLOORS] === true;

/** The floors options are checked against: the documented ones, or 1 ms under the test hook. */
interface Floors {
  reprobeMs: number;
  flushMs: number;
}
const floorsOf = (opts: unknown): Floors =>
  floorsLowered(opts) ? { reprobeMs: 1, flushMs: 1 } : { reprobeMs: MIN_REPROBE_INTERVAL_MS, flushMs: MIN_FLUSH_INTERVAL_MS };

/** Options only `play()` (and the session's constructor) take: `configure()` refuses them (they applied at play time). */
const PLAY_TIME_ONLY: Record<string, (v: unknown, floors: Floors) => string | null> = {
  device: (v) => {
    if (!v || typeof v !== "object" || Array.isArray(v)) return "expected { codecs, maxHeight }";
    // The server refuses a field it does not take (a misspelt `maxheight` is not dropped for the default):
    // said here as the option it is, not as a failed play.
    const unknown = Object.keys(v).filter((k) => k !== "codecs" && k !== "maxHeight");
    return unknown.length ? `expected { codecs, maxHeight }, not ${unknown.map((k) => JSON.stringify(k.slice(0, 40))).join(", ")}` : null;
  },
  onEvent: (v) => (typeof v === "function" ? null : "expected a function"),
  pollSteering: (v) => (typeof v === "boolean" ? null : "expected true or false"),
  probeInBackground: (v) => (typeof v === "boolean" ? null : "expected true or false"),
  steeringProtocol: (v) => (v === "hls" || v === "dash" ? null : 'expected "hls" or "dash"'),
  flushIntervalMs: (v, floors) => (delayMs(v, floors.flushMs) ? null : DELAY(floors.flushMs)),
};

/**
 * The one check of a session's options, for `configure()` and `play()` alike: every key known, of the
 * right type, in range. What passes is written into `into` (a session's options), what does not is
 * left out and returned in `rejected`. At play time (`at: "play"`) the options only play takes are
 * checked too (configure refuses them), and a key given as undefined is absent (its default applies).
 */
function checkOptions(options: unknown, into: PlayOptions, at: "play" | "configure", floors: Floors): { applied: string[]; rejected: RejectedOption[] } {
  const applied: string[] = [];
  const rejected: RejectedOption[] = [];
  if (options !== undefined && options !== null && typeof options !== "object")
    return { applied, rejected: [{ key: "options", reason: "expected an object" }] };
  const given = (v: unknown) => at === "configure" || v !== undefined;
  const entries = options && typeof options === "object" ? Object.entries(options).filter(([, v]) => given(v)) : [];
  for (const [key, value] of entries) {
    const reject = (reason: string) => rejected.push({ key, reason });
    switch (key) {
      case "reprobeIntervalMs":
        // 0 is "never"; any other interval is at least the floor.
        if (value !== 0 && !delayMs(value, floors.reprobeMs)) reject(`expected 0 (never) or a number of ms >= ${floors.reprobeMs} (at most ${MAX_TIMER_MS})`);
        else {
          into.reprobeIntervalMs = value;
          applied.push(key);
        }
        break;
      case "steeringTimeoutMs":
        if (!delayMs(value, 1)) reject(DELAY(1));
        else {
          into.steeringTimeoutMs = value;
          applied.push(key);
        }
        break;
      case "cmcd":
        if (value !== false && value !== "query" && value !== "headers") reject('expected "query", "headers" or false');
        else {
          into.cmcd = value;
          applied.push(key);
        }
        break;
      case "steeringTtlBoundsS":
        if (!Array.isArray(value) || value.length !== 2 || !num(value[0], 0) || !num(value[1], value[0] as number) || value[1] * 1000 > MAX_TIMER_MS)
          reject(`expected [min, max] seconds, min <= max (at most ${Math.floor(MAX_TIMER_MS / 1000)})`);
        else {
          into.steeringTtlBoundsS = [value[0], value[1]];
          applied.push(key);
        }
        break;
      case "probe":
        for (const [k, v] of entriesOf(value).filter(([, v]) => given(v))) {
          if ((k === "bytes" && num(v, 1) && Number.isInteger(v)) || (k === "timeoutMs" && delayMs(v, 1))) (into.probe = { ...into.probe })[k] = v as number;
          else if (k === "path" && typeof v === "string" && v.length > 0 && !v.includes("..")) (into.probe = { ...into.probe }).path = v;
          else {
            rejected.push({ key: k ? `probe.${k}` : "probe", reason: k ? "unknown or invalid probe option" : "expected an object" });
            continue;
          }
          applied.push(`probe.${k}`);
        }
        break;
      case "selector":
        for (const [k, v] of entriesOf(value).filter(([, v]) => given(v))) {
          const problem = k ? selectorParamError(k, v) : "expected an object";
          if (problem === null) {
            into.selector = { ...into.selector, [k]: v as number };
            applied.push(`selector.${k}`);
          } else rejected.push({ key: k ? `selector.${k}` : "selector", reason: problem });
        }
        break;
      default: {
        const check = Object.hasOwn(PLAY_TIME_ONLY, key) ? PLAY_TIME_ONLY[key] : undefined;
        if (!check) reject(at === "play" ? "unknown option" : "unknown option (or one that only applies at play time)");
        else if (at === "configure") reject("unknown option (or one that only applies at play time)");
        else {
          const problem = check(value, floors);
          if (problem !== null) reject(problem);
          else {
            (into as Record<string, unknown>)[key] = value;
            applied.push(key);
          }
        }
      }
    }
  }
  return { applied, rejected };
}

/**
 * `play()`'s options, checked as `configure()` checks them (`checkOptions`), as a copy the session may
 * change. Throws a recoverable `INVALID_OPTION` SdkError naming every refused key (`<key>: <reason>`,
 * as configure's errors do), before any play request: a session is never taken on options that would
 * make it fail over on every download or probe in a tight loop.
 */
function checkedPlayOptions(opts: unknown): PlayOptions {
  // The test hook goes along into the session's copy: configure() checks against the same floors.
  const out: PlayOptions = floorsLowered(opts) ? belowFloors({}) : {};
  const { rejected } = checkOptions(opts, out, "play", floorsOf(opts));
  if (rejected.length)
    throw new SdkError("INVALID_OPTION", {
      detail: rejected
        .map((r) => `${r.key}: ${r.reason}`)
        .join("; ")
        .slice(0, 500),
    });
  return out;
}

/**
 * What makes a play answer unusable (it comes off the network: a proxy's page, an older or broken
 * control plane), or null: the session reads these fields from its first moment.
 */
function playResponseProblem(play: unknown): string | null {
  const p = play as Partial<PlayResponse> | null;
  if (!p || typeof p !== "object") return "play response is not an object";
  if (typeof p.sessionId !== "string" || typeof p.sessionToken !== "string" || typeof p.titleId !== "string")
    return "play response has no sessionId, sessionToken or titleId";
  if (!Array.isArray(p.ocas) || !p.ocas.length) return "play response has no OCA";
  if (!p.ocas.every((o) => o && typeof o === "object" && typeof o.ocaId === "string" && typeof o.url === "string"))
    return "play response has an OCA without ocaId or url";
  const video = (p.renditions as { video?: unknown } | undefined)?.video;
  if (!Array.isArray(video) || !video.length || !video.every((r) => r && typeof r === "object" && typeof r.id === "string"))
    return "play response has no video rendition";
  return null;
}

/** A session takes at most this many OCAs of a play answer (the control plane lists up to ten, origin last). */
export const MAX_SESSION_OCAS = 16;

/**
 * The play answer with at most MAX_SESSION_OCAS OCAs, the best-ranked (the same object when it lists no
 * more): the list comes off the network, and the first probe round downloads a range from each of them
 * at once.
 */
function boundedPlay(play: PlayResponse): PlayResponse {
  if (play.ocas.length <= MAX_SESSION_OCAS) return play;
  return { ...play, ocas: [...play.ocas].sort((a, b) => a.rank - b.rank).slice(0, MAX_SESSION_OCAS) };
}

/**
 * `uri` resolved against `base` when it is an http(s) URL, else null. A steering server's address comes
 * off the network (the play answer, a manifest's RELOAD-URI): one that is not a URL must end polling,
 * not throw out of every poll (an unhandled rejection in the poll's timer).
 */
function steeringAddress(uri: unknown, base?: string): string | null {
  if (typeof uri !== "string" || !uri) return null;
  try {
    const u = new URL(uri, base);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}

/** Stops a play session the caller took and cannot use (best effort, once): its stream slot frees now. */
async function stopTaken(client: VcdnClient, play: PlayResponse, why: string): Promise<void> {
  if (typeof play?.sessionId !== "string" || typeof play.sessionToken !== "string") return;
  const stop: QoeEvent = { type: "stop", at: Date.now(), reason: why };
  await client.sendEvents(play, [stop], { batchId: `stop-${play.sessionId}`, keepalive: true }).catch(() => {});
}

/** `Retry-After` as seconds from now (delta-seconds or an HTTP date), or null. */
export function retryAfterS(header: string | null, nowMs: number): number | null {
  if (!header) return null;
  const s = header.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const at = Date.parse(s);
  return Number.isFinite(at) ? Math.max(0, (at - nowMs) / 1000) : null;
}
const OCA_PATH = /\/oca\/([^/]+)\/([^/]+)\/[^/]+\/[^/]+\//;
/** A renewal waits at most this long for the old session's stop to leave before its play request. */
const RENEW_FLUSH_WAIT_MS = 10_000;
/** A renewal's play request is tried again for this long (inside the stop's 30 s grace), from 1 s apart, doubling. */
const RENEW_RETRY_BUDGET_MS = 20_000;
const RENEW_FIRST_RETRY_MS = 1_000;
/** A renewal's play request waits at most this long between tries, unless its Retry-After says longer (the expiry renewal's go on until the token expires). */
const RENEW_MAX_RETRY_MS = 8_000;
/** A renewal's play refused while the renewed session still holds the slot is tried again this often at most. */
const OWN_SLOT_TRIES = 2;
/** A renewal because every OCA failed comes at most this often (renewAfterFailure). */
const FAILURE_RENEW_EVERY_MS = 60_000;
/** A renewal because an OCA answered a file 410 is tried at most this often (renewAfterGone). */
const GONE_RENEW_EVERY_MS = 60_000;
/** Steering polls come at most this often (s), whatever `steeringTtlBoundsS` allows. */
const MIN_STEERING_POLL_S = 1;
/** `session.probes` keeps the latest this many results. */
const MAX_PROBES_KEPT = 1_000;
/** `session.switches` keeps the latest this many moves (steering and failures drive them for as long as a session plays). */
const MAX_SWITCHES_KEPT = 1_000;

/** `p`, or undefined once `ms` have passed (the work goes on; the caller stops waiting). */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  return Promise.race([p, late]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

/**
 * One play: the play response, the OCA choice (probes, failover, re-probes, steering) and the QoE
 * reporter. It does not fetch media itself: the headless `SegmentFetcher` or the hls.js hook do, and
 * tell it what happened (`noteDownload`, `reportFailure`).
 */
export class PlaySession extends SessionEmitter {
  /** The current play response: replaced when the session renews itself (`renew`). */
  play: PlayResponse;
  selector: OcaSelector;
  /** New play sessions taken by this one (all OCAs failed, or the token about to expire). */
  readonly renewals: Array<{ at: number; reason: string; sessionId: string }> = [];
  readonly reporter: EventReporter;
  /** Throughput of media downloads (bits/s), seeded by the chosen OCA's probe. */
  readonly throughput = new ThroughputEstimator();
  /** Monotonic time (ms) at which play was pressed: the origin of start-up time. */
  readonly pressedAt: number;
  readonly now: () => number;
  readonly clock: () => number;
  /** Resolves when the first probe round is done and `current` is the probed pick. */
  ready: Promise<void> = Promise.resolve();
  /** The probe results so far, in order: the latest 1,000. */
  readonly probes: ProbeResult[] = [];
  /** The OCA moves so far, in order: the latest 1,000. */
  readonly switches: Array<OcaSwitch & { at: number }> = [];
  /** Current playback position, for events (set by whoever plays). */
  positionS: () => number | undefined = () => undefined;
  /** Bitrate being played, for progress events. */
  bitrate: () => number | undefined = () => undefined;

  private cur: OcaEntry;
  private reprobeTimer: ReturnType<typeof setInterval> | null = null;
  private steeringTimer: ReturnType<typeof setTimeout> | null = null;
  private steeringUri: string | null;
  private stopped = false;
  private paused = false;
  /** `startBackground` ran: re-probes and polls may run (configure() must not start them before). */
  private background = false;
  private readonly opts: PlayOptions;
  private probing: Promise<void> | null = null;
  private renewing: Promise<boolean> | null = null;
  private expiryTimer: ReturnType<typeof setTimeout> | null = null;
  /** The current play's token expiry on the monotonic clock (`expiryOf`). */
  private expiresBy: number | null = null;
  /** The last network-level failure (no HTTP answer), and a client outage in progress. */
  private lastNetworkFailure: { ocaId: string; at: number } | null = null;
  private outage: { since: number; retries: number } | null = null;
  /** When the last renewal because every OCA failed came through (renewAfterFailure's limit). */
  private lastFailureRenewalAt: number | null = null;
  /** When the last renewal after a 410 of a file was tried (renewAfterGone's limit). */
  private lastGoneRenewalAt: number | null = null;
  /** Plays whose stop a renewal said (the latest few): the edge's refusals of them are this session's doing. */
  private readonly stoppedPlays: PlayResponse[] = [];
  /** Why the last renewal failed. */
  private renewalError: unknown = null;
  /** Aborted by `close()`: a renewal's wait between tries ends with it (its timer cleared), not seconds later. */
  private readonly closing = new AbortController();

  static async start(client: VcdnClient, titleId: string, opts: PlayOptions = {}, hooks: SessionTestHooks = {}): Promise<PlaySession> {
    const now = hooks.now ?? (() => performance.now());
    const pressedAt = now();
    // Checked before the play request: options the session would refuse must not take a stream slot.
    const checked = checkedPlayOptions(opts);
    let play: PlayResponse;
    try {
      play = await client.requestPlay(titleId, checked.device ?? DEFAULT_DEVICE);
    } catch (err) {
      const api = err instanceof ApiCallError ? err : null;
      throw new SdkError("PLAY_REQUEST_FAILED", {
        status: api?.status,
        apiCode: api?.code,
        activeTitleIds: api?.code === "too_many_streams" ? activeTitleIdsOf(api.details) : undefined,
        // A 429 or 503's Retry-After, for an app that tries again (a stopped holding's wait, when it has one, wins).
        ...(api?.retryAfterS !== undefined ? { retryAfterS: api.retryAfterS } : undefined),
        ...(api?.code === "too_many_streams" ? stoppedHoldingOf(api.details) : undefined),
        detail: String((err as Error)?.message ?? err),
      });
    }
    let s: PlaySession;
    try {
      s = new PlaySession(client, play, checked, pressedAt, hooks);
    } catch (err) {
      // The answer took a stream slot the session cannot use: free it rather than hold it to its silence.
      await stopTaken(client, play, "play response unusable");
      throw err;
    }
    s.ready = s.reprobe(true);
    if (!checked.probeInBackground) {
      try {
        await s.ready;
      } catch (err) {
        // Its timers (the QoE flush) and its slot must not outlive a play() that failed.
        await s.fail(new SdkError("PLAYER_ERROR", { detail: `probes: ${String((err as Error)?.message ?? err)}`.slice(0, 300) }));
        throw err;
      }
    }
    s.startBackground();
    return s;
  }

  constructor(
    readonly client: VcdnClient,
    play: PlayResponse,
    opts: PlayOptions,
    pressedAt?: number,
    hooks: SessionTestHooks = {},
  ) {
    super();
    // Checked as configure() checks them, and a copy: configure() changes it, never the caller's object.
    this.opts = checkedPlayOptions(opts);
    const problem = playResponseProblem(play);
    if (problem !== null) throw new SdkError("PLAY_REQUEST_FAILED", { detail: problem });
    play = boundedPlay(play);
    this.play = play;
    this.now = hooks.now ?? (() => performance.now());
    this.clock = hooks.clock ?? (() => Date.now());
    this.expiresBy = this.expiryOf(play);
    this.pressedAt = pressedAt ?? this.now();
    const top = play.renditions.video.reduce((a, b) => (b.bandwidth > a.bandwidth ? b : a), play.renditions.video[0]);
    // Reference download for scoring: one 4 s segment of the top rung.
    const refBytes = top ? Math.round((top.bandwidth * 4) / 8) : 1_000_000;
    this.selector = new OcaSelector(play.ocas, { refBytes, ...this.opts.selector });
    this.cur = [...play.ocas].sort((a, b) => a.rank - b.rank)[0];
    this.steeringUri = steeringAddress(play.steering?.server);
    this.reporter = new EventReporter({
      // Under the session current when the batch was formed: after a renewal, new events go under the
      // new one, and the renewal's stop (batched as it is queued) under the old one however late it leaves.
      tag: () => this.play,
      send: (events, { final, batchId, tag }) => client.sendEvents((tag as PlayResponse | undefined) ?? this.play, events, { batchId, keepalive: final }),
      flushIntervalMs: this.opts.flushIntervalMs,
      clock: this.clock,
      now: this.now,
      onEvent: this.opts.onEvent,
      onSent: (events, final) => this.fire(SessionEvents.QOE_BATCH_SENT, { events: events.length, final }),
    });
    this.reporter.progressFields = () => ({ positionS: this.positionS(), bitrate: this.bitrate(), ocaId: this.cur.ocaId });
  }

  get sessionId(): string {
    return this.play.sessionId;
  }

  /** How the session's requests carry CMCD, or null when they do not. */
  get cmcdMode(): CmcdMode | null {
    return this.opts.cmcd === false ? null : (this.opts.cmcd ?? "query");
  }

  /** The OCA being streamed from. */
  get current(): OcaEntry {
    return this.cur;
  }

  get ocas(): OcaEntry[] {
    return this.play.ocas;
  }

  oca(ocaId: string): OcaEntry | undefined {
    return this.play.ocas.find((o) => o.ocaId === ocaId);
  }

  /** Which OCA of this session a URL points at (base-URL prefix, else its /oca/{site}/{oca}/ path). */
  ocaOfUrl(url: string): OcaEntry | undefined {
    const byPrefix = this.play.ocas.find((o) => url.startsWith(o.url));
    if (byPrefix) return byPrefix;
    const m = OCA_PATH.exec(url);
    return m ? this.play.ocas.find((o) => o.siteId === m[1] && o.ocaId === m[2]) : undefined;
  }

  /** The same file on another OCA (same token: no new play request), or under a renewed session's token. */
  urlOn(url: string, ocaId: string): string {
    const to = this.oca(ocaId);
    if (!to) return url;
    const from = this.ocaOfUrl(url);
    if (from && url.startsWith(from.url)) return to.url + url.slice(from.url.length);
    const m = OCA_PATH.exec(url);
    return m ? to.url + url.slice(m.index + m[0].length) : url;
  }

  /** URL of a title file (relative to the OCA base) on the current or a given OCA. */
  url(path: string, ocaId = this.cur.ocaId): string {
    return this.oca(ocaId)!.url + path.replace(/^\/+/, "");
  }

  /** Queue a QoE event (stamped with the position unless given). */
  emit(e: QoeEvent): void {
    const pos = this.positionS();
    this.reporter.push({ ...(pos !== undefined ? { positionS: Math.max(0, Math.round(pos * 1000) / 1000) } : {}), ...e });
  }

  /** What to tell a Content Steering player: the current OCA first, then the rest of the ranking. */
  pathwayPriority(): string[] {
    const rest = this.selector
      .ranking(this.now())
      .map((r) => r.ocaId)
      .filter((id) => id !== this.cur.ocaId);
    return [this.cur.ocaId, ...rest];
  }

  /**
   * A re-probe round's OCAs: the current one and the next of its ranking, and in the last place the
   * rest in turn (least lately probed first), so one that fell down the ranking on a slow probe is
   * measured again and can climb back. None in the hard-failure penalty box, nor one steering dropped.
   */
  private reprobeTargets(t: number): OcaEntry[] {
    const prio = this.pathwayPriority();
    // The ranking names only eligible OCAs: one out for a lost probe or a collapse takes its turn too,
    // or a good probe could never lift a lost probe's penalty, and a collapsed OCA would come back on
    // the measurement it had before it collapsed.
    const boxed = this.selector.ids.filter((id) => !prio.includes(id) && this.selector.exclusion(id, t) !== "not_steered");
    const usable = [...prio, ...boxed].filter((id) => this.selector.exclusion(id, t) !== "failed");
    const top = usable.slice(0, REPROBE_OCAS - 1);
    const lastProbed = (id: string) => this.selector.probe(id)?.at ?? Number.NEGATIVE_INFINITY;
    const turn = usable.slice(REPROBE_OCAS - 1).sort((a, b) => lastProbed(a) - lastProbed(b))[0];
    return [...top, ...(turn ? [turn] : [])].flatMap((id) => this.oca(id) ?? []);
  }

  private defaultProbePath(): string {
    const low = [...this.play.renditions.video].sort((a, b) => a.bandwidth - b.bandwidth)[0];
    return `video/${low.id}/seg-00001.m4s`;
  }

  /** Probe every OCA not in the hard-failure penalty box, in parallel; then maybe move (hysteresis). */
  reprobe(initial = false): Promise<void> {
    if (this.probing) return this.probing;
    const run = async () => {
      const path = this.opts.probe?.path ?? this.defaultProbePath();
      const t = this.now();
      // The first round probes every OCA; later ones the current OCA and the next of its ranking, none in
      // the hard-failure penalty box (REPROBE_OCAS in all).
      const targets = initial ? this.play.ocas : this.reprobeTargets(t);
      const play = this.play;
      const results = await Promise.all(
        targets.map((o) =>
          // Ended by close(): a probe must not run on after the session stopped.
          probeUrl(this.client.fetch, o.ocaId, o.url + path, {
            bytes: this.opts.probe?.bytes,
            timeoutMs: this.opts.probe?.timeoutMs,
            now: this.now,
            signal: this.closing.signal,
          }),
        ),
      );
      // Probes of a session renewed meanwhile measured its OCAs, not necessarily the new list's.
      if (this.stopped || (!initial && this.play !== play)) return;
      for (const r of results) {
        this.probes.push(r);
        // A re-probe every 10 s of every OCA: a long session's record keeps only the latest.
        if (this.probes.length > MAX_PROBES_KEPT) this.probes.splice(0, this.probes.length - MAX_PROBES_KEPT);
        this.selector.recordProbe(r);
      }
      if (initial) {
        const pick = this.selector.pick(this.now());
        if (pick) this.cur = this.oca(pick)!;
        const p = this.selector.probe(this.cur.ocaId);
        if (p?.ok && p.throughputBps) this.throughput.reset(p.throughputBps);
      } else {
        this.decide(true);
      }
      this.fire(SessionEvents.PROBES_DONE, { probes: results, initial });
      if (initial) this.fire(SessionEvents.READY, { ocaId: this.cur.ocaId, probes: results });
    };
    this.probing = run().finally(() => (this.probing = null));
    return this.probing;
  }

  /**
   * Apply the selector's verdict on the current OCA (hysteresis for 'better', at once for
   * 'unavailable'). Only a probe round brings new measurements: only it counts toward the hysteresis.
   */
  private decide(probeRound: boolean): void {
    const d = this.selector.evaluate(this.cur.ocaId, this.now(), probeRound);
    if (d.switchTo && d.switchTo !== this.cur.ocaId) this.switchTo(d.switchTo, d.reason ?? "better_oca");
  }

  /** Move to another OCA: emits `oca_switch` and fires OCA_SWITCH (the player hook re-steers). */
  switchTo(ocaId: string, reason: string): void {
    const to = this.oca(ocaId);
    if (!to || to.ocaId === this.cur.ocaId) return;
    const from = this.cur;
    this.cur = to;
    this.selector.noteMove(this.now());
    this.noteSwitch({ from, to, reason, at: this.now() });
    this.emit({ type: "oca_switch", ocaId: to.ocaId, fromOcaId: from.ocaId, reason: reason.slice(0, 500) });
    this.fire(SessionEvents.OCA_SWITCH, { from, to, reason });
  }

  private noteSwitch(sw: OcaSwitch & { at: number }): void {
    this.switches.push(sw);
    if (this.switches.length > MAX_SWITCHES_KEPT) this.switches.splice(0, this.switches.length - MAX_SWITCHES_KEPT);
  }

  /**
   * A recoverable problem: the `error` event fires and a QoE `error` event carries its code. (Fatal
   * ones go through `fail`.)
   */
  warn(name: ErrorName, data: SdkError["data"] = {}): SdkError {
    const err = new SdkError(name, data);
    this.emit({ type: "error", reason: err.reason, ...(data.ocaId ? { ocaId: data.ocaId } : {}) });
    this.fire(SessionEvents.ERROR, err);
    return err;
  }

  /**
   * A fatal error: the session reports it (QoE `error` with its code, then `stop`), fires `error`
   * and `stopped`, and closes: nothing runs after it.
   */
  async fail(err: SdkError): Promise<void> {
    if (this.stopped) return;
    this.emit({ type: "error", reason: err.reason, ...(err.data.ocaId ? { ocaId: err.data.ocaId } : {}) });
    this.emit({ type: "stop", reason: "error" });
    this.fire(SessionEvents.ERROR, err);
    await this.close("error");
  }

  /**
   * An OCA refused a file with a status failing over cannot help (401, 403, 409, 410, ...; `body` is
   * the refusal's body): the session stops with HTTP_REFUSED, which carries the API's error code
   * (`too_many_streams`: another device holds the plan's slot). For a player integration's loader.
   * A refusal of the session's own renewal, and a 410 (renewed once, `refusal`), are `refusal`'s:
   * resolves true when the file may load again under the renewed session, false when the session stopped.
   */
  async refused(ocaId: string, url: string, status: number, body: string): Promise<boolean> {
    // Any other refusal stops the session at once (before the player hears of it).
    const err = this.mayLoadAgain(url, status) ? await this.refusal(ocaId, url, status, body) : httpRefused(ocaId, url, status, body, pathOnOca(this, url));
    if (err) await this.fail(err);
    return err === null;
  }

  /**
   * What an OCA's refusal of `url` means for the session: null when the file can load again under it (the
   * refusal was of a session it stopped itself to renew, and the renewal came through), else the error
   * to stop with. A refusal of the session's own renewal (its stop said: 409 too_many_streams; its token
   * run out: 403) waits for a renewal in flight and, without one, is SESSION_EXPIRED: another screen did
   * not take the stream. A 410 of the current session's file (a takedown stopped the session, and the
   * title may be published again since) is tried once under a new play session (`renewAfterGone`).
   * Any other refusal is HTTP_REFUSED, with the API's code.
   */
  async refusal(ocaId: string, url: string, status: number, body: string): Promise<SdkError | null> {
    // The reason names the file, not the URL: the URL carries the token, and query strings (CMCD) crowd out the code.
    const refused = httpRefused(ocaId, url, status, body, pathOnOca(this, url));
    if (this.goneRefusal(url, status)) return this.renewAfterGone(refused);
    if (!this.ownRefusal(url, status)) return refused;
    const of = this.playOfUrl(url);
    if (this.renewing) await this.renewing;
    // Renewed since that request left: the file under the current session.
    if (this.play !== of && !this.stopped) return null;
    return this.expiredError(refused.data.detail);
  }

  /** Whether a refusal of `url` may end with the file loading again under this session (a renewal, `refusal`). */
  private mayLoadAgain(url: string, status: number): boolean {
    return this.goneRefusal(url, status) || this.ownRefusal(url, status);
  }

  /**
   * Whether a refusal of `url` is a 410 of the current session's file, or of one it stopped to renew
   * (a takedown's answer outranks the edge's 409 for a stop said): the server keeps a session a
   * takedown stopped stopped even once the title is published again, so a new play may succeed.
   */
  private goneRefusal(url: string, status: number): boolean {
    if (status !== 410) return false;
    const of = this.playOfUrl(url);
    return of !== undefined && (of === this.play || this.stoppedPlays.includes(of));
  }

  /**
   * A 410 of a file: null when the file can load again under a renewed session (one in flight, one that
   * came through since the refused request left, or one taken now), else the error to stop with. At
   * most one renewal a minute for these (`GONE_RENEW_EVERY_MS`): a server that refuses every new
   * session alike must not drive a loop of plays. When the new play is refused (410 taken_down, 451
   * not_licensed, 409 too_many_streams naming another screen), the session stops with that refusal's
   * status and code, so an app tells the viewer what is true now; otherwise with the OCA's refusal.
   */
  private async renewAfterGone(refused: SdkError): Promise<SdkError | null> {
    const of = this.playOfUrl(refused.data.url ?? "");
    if (this.renewing) await this.renewing;
    // Renewed since that request left: the file under the current session.
    if (this.stopped) return refused;
    if (this.play !== of) return null;
    const last = this.lastGoneRenewalAt;
    if (last !== null && this.now() - last < GONE_RENEW_EVERY_MS) return refused;
    this.lastGoneRenewalAt = this.now();
    if (await this.renew(`refused: ${refused.data.detail ?? "HTTP 410"}`)) return null;
    if (this.stopped) return refused;
    const api = this.renewalError instanceof ApiCallError ? this.renewalError : null;
    // Only a refusal of the play speaks for the title; a play that failed for a moment (no answer,
    // 429, 5xx past the renewal's budget) or a slot this session itself still holds says nothing new.
    const playRefused =
      api !== null &&
      api.status >= 400 &&
      api.status < 500 &&
      api.status !== 408 &&
      api.status !== 429 &&
      !(api.code === "too_many_streams" && this.stoppedPlays.some((p) => holdsSlot(api.details, p.sessionId)));
    if (!playRefused) return refused;
    return new SdkError("HTTP_REFUSED", {
      ocaId: refused.data.ocaId,
      url: refused.data.url,
      status: api.status,
      apiCode: api.code,
      activeTitleIds: api.code === "too_many_streams" ? activeTitleIdsOf(api.details) : undefined,
      detail: `${refused.data.detail}; new play: HTTP ${api.status} (${api.code})`.slice(0, 300),
    });
  }

  /** Whether a refusal of `url` came of this session's own renewal (its stop said) or of its token running out. */
  private ownRefusal(url: string, status: number): boolean {
    const of = this.playOfUrl(url);
    if (!of) return false;
    // The edge's 409 is its refusal of a stopped stream (too_many_streams), its 403 of a token run out.
    const stoppedByUs = this.stoppedPlays.includes(of);
    const expired = of === this.play && this.expiresBy !== null && this.now() >= this.expiresBy;
    return ((status === 409 || status === 403) && stoppedByUs) || (status === 403 && expired);
  }

  /** The play response whose OCA URLs (token included) `url` is under: the current one or one a renewal stopped. */
  private playOfUrl(url: string): PlayResponse | undefined {
    return [this.play, ...this.stoppedPlays].find((p) => p.ocas.some((o) => url.startsWith(o.url)));
  }

  /**
   * SESSION_EXPIRED: the session's token ran out, or its stop was said for a renewal that did not come
   * through. Carries the last renewal try's status and API code, unless that refusal named only this
   * session's own slot (another screen had nothing to do with it).
   */
  private expiredError(detail?: string): SdkError {
    const err = this.renewalError;
    const api = err instanceof ApiCallError ? err : null;
    const ownSlot = api?.code === "too_many_streams" && this.stoppedPlays.some((p) => holdsSlot(api.details, p.sessionId));
    const code = api && !ownSlot ? api.code : undefined;
    return new SdkError("SESSION_EXPIRED", {
      status: api?.status,
      apiCode: code,
      activeTitleIds: code === "too_many_streams" ? activeTitleIdsOf(api?.details) : undefined,
      detail: `${detail ?? "token expired"}${err ? `; renewal: ${String((err as Error)?.message ?? err)}` : ""}`.slice(0, 300),
    });
  }

  /**
   * A request to `ocaId` failed (HTTP 5xx/404, network error, timeout). The OCA goes to the penalty
   * box; if it was the current one, we move to the next best. Returns the OCA to retry on, or null
   * when there is no other (the caller decides whether that is fatal).
   */
  reportFailure(ocaId: string, reason: string): OcaEntry | null {
    const now = this.now();
    const from = this.oca(ocaId);
    this.selector.fail(ocaId, now, "failed");
    const status = /^http_(\d+)/.exec(reason);
    const name: ErrorName = status ? "OCA_HTTP_ERROR" : reason.startsWith("timeout") ? "OCA_TIMEOUT" : "OCA_UNREACHABLE";
    const fired = new SdkError(name, { ocaId, status: status ? Number(status[1]) : undefined, detail: reason.slice(0, 200) });
    this.fire(SessionEvents.ERROR, fired);
    if (ocaId !== this.cur.ocaId) return this.cur;
    const next = this.selector.pick(now);
    // Only an OCA not itself in the penalty box (failed, collapsed, failed probe) is worth moving to.
    if (!next || next === ocaId || this.selector.penalised(next, now)) return null;
    this.switchTo(next, reason);
    if (from) this.fire(SessionEvents.FAILOVER, { from, to: this.cur, reason });
    return this.cur;
  }

  /**
   * A request got no HTTP answer at all (network error). When a different OCA failed the same way
   * moments ago, the client's own network is the likelier culprit: the earlier OCA's penalty is
   * lifted, this one is not charged, and the caller waits the returned back-off (ms) and retries the
   * same OCA. Returns 0 when this looks like the OCA's fault (report it with `reportFailure`). An
   * outage that lasts over a minute is the OCAs' after all.
   */
  clientOutageBackoffMs(ocaId: string): number {
    const now = this.now();
    const prev = this.lastNetworkFailure;
    this.lastNetworkFailure = { ocaId, at: now };
    if (this.outage) {
      if (now - this.outage.since > OUTAGE_GIVE_UP_MS) return 0;
      this.outage.retries++;
      return Math.min(OUTAGE_MAX_BACKOFF_MS, OUTAGE_FIRST_BACKOFF_MS * 2 ** this.outage.retries);
    }
    if (!prev || prev.ocaId === ocaId || now - prev.at > OUTAGE_WINDOW_MS) return 0;
    this.selector.forgive(prev.ocaId);
    this.outage = { since: now, retries: 0 };
    this.warn("CLIENT_NETWORK_DOWN", { ocaId });
    return OUTAGE_FIRST_BACKOFF_MS;
  }

  /** The client is reachable again (a request got an HTTP answer). */
  private networkBack(): void {
    this.lastNetworkFailure = null;
    this.outage = null;
  }

  /**
   * A media download finished: counts bytes for QoE, feeds the throughput estimate, and fails over
   * on a throughput collapse (consecutive downloads below `collapseBelowBps`).
   */
  noteDownload(ocaId: string, bytes: number, durationMs: number, collapseBelowBps?: number): void {
    this.networkBack();
    this.reporter.addBytes(bytes);
    if (ocaId !== this.cur.ocaId) return;
    this.throughput.sample(bytes, durationMs);
    if (collapseBelowBps && bytes > 0) {
      const bps = (bytes * 8000) / Math.max(1, durationMs);
      if (this.selector.noteThroughput(ocaId, bps, collapseBelowBps)) {
        this.selector.fail(ocaId, this.now(), "collapse");
        this.fire(SessionEvents.ERROR, new SdkError("THROUGHPUT_COLLAPSE", { ocaId, detail: `${Math.round(bps / 1000)} kbps` }));
        const next = this.selector.pick(this.now());
        // As for a failed request: only to an OCA not itself in the penalty box. When every OCA has
        // collapsed (the viewer's own link is slow), the session stays rather than hop between them.
        if (next && next !== ocaId && !this.selector.penalised(next, this.now())) this.switchTo(next, `throughput_collapse: ${Math.round(bps / 1000)} kbps`);
      }
    }
  }

  /** A steering manifest arrived (from our poll or from a player's): re-rank and maybe move. */
  applySteering(m: SteeringManifest, fromUrl?: string): void {
    const order = m["PATHWAY-PRIORITY"] ?? m["SERVICE-LOCATION-PRIORITY"];
    if (Array.isArray(order)) this.selector.setServerOrder(order);
    // The list as the selector took it (this session's OCAs, each once), not as sent: the server's
    // comes off the network (any length, unknown ids, repeats, non-strings).
    const priority = Array.isArray(order) ? (this.selector.serverPriority ?? []) : [];
    const reload = m["RELOAD-URI"];
    this.fire(SessionEvents.STEERING_UPDATE, { priority, reloadUri: typeof reload === "string" ? reload : null });
    // Only a string: anything else would be coerced into some URL ("42") and polled.
    // One that is no http(s) URL keeps the old one.
    this.steeringUri = steeringAddress(reload, fromUrl ?? this.steeringUri ?? undefined) ?? this.steeringUri;
    this.decide(false);
  }

  private steeringUrl(): string | null {
    if (!this.steeringUri) return null;
    const u = new URL(this.steeringUri);
    const proto = this.opts.steeringProtocol === "dash" ? "DASH" : "HLS";
    u.searchParams.set(`_${proto}_pathway`, this.cur.ocaId);
    u.searchParams.set(`_${proto}_throughput`, String(Math.round(this.throughput.estimate() ?? 0)));
    return u.href;
  }

  /**
   * One steering poll; returns when to poll next (s): the manifest's TTL, or the server's
   * `Retry-After` when it refused (429/503), or null (keep the last TTL, backed off after failures).
   * A poll that hangs is abandoned after `steeringTimeoutMs`, so polling never stops on a stuck server.
   */
  async pollSteeringOnce(): Promise<number | null> {
    return (await this.pollSteering()).nextS;
  }

  /** One steering poll: when to poll next (s; null: the last TTL), whether it failed, and whether `nextS` is the server's Retry-After. */
  private async pollSteering(): Promise<{ nextS: number | null; failed: boolean; retryAfter: boolean }> {
    const none = { nextS: null, failed: false, retryAfter: false };
    // A closed session polls no more (`pollSteeringOnce` included).
    const url = this.stopped ? null : this.steeringUrl();
    if (!url) return none;
    // A poll that left under a session renewed meanwhile answers for the old one: dropped.
    const play = this.play;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.opts.steeringTimeoutMs ?? 5_000);
    // Ended by close(): a poll out when the session stops must not run on, nor report, after it.
    const end = () => ctl.abort();
    this.closing.signal.addEventListener("abort", end);
    try {
      const res = await this.client.fetch(url, { signal: ctl.signal });
      if (this.stopped || this.play !== play) {
        await res.body?.cancel?.().catch(() => {});
        return none;
      }
      if (res.status === 410) {
        this.steeringUri = null;
        return none;
      }
      if (!res.ok) {
        await res.body?.cancel?.().catch(() => {});
        this.fire(SessionEvents.ERROR, new SdkError("STEERING_POLL_FAILED", { url, status: res.status }));
        const after = retryAfterS(res.headers.get("Retry-After"), this.clock());
        return { nextS: after, failed: true, retryAfter: after !== null };
      }
      const m = (await res.json()) as SteeringManifest;
      if (this.stopped || this.play !== play) return none;
      // Not a steering manifest (a proxy's page that parsed, another version): a failure, backed off.
      if (m?.VERSION !== 1) return { nextS: null, failed: true, retryAfter: false };
      this.applySteering(m, url);
      return { nextS: typeof m.TTL === "number" ? m.TTL : null, failed: false, retryAfter: false };
    } catch (err) {
      if (this.stopped || this.play !== play) return none;
      this.fire(
        SessionEvents.ERROR,
        new SdkError("STEERING_POLL_FAILED", { url, detail: ctl.signal.aborted ? "timeout" : String((err as Error)?.message ?? err) }),
      );
      return { nextS: null, failed: true, retryAfter: false };
    } finally {
      clearTimeout(timer);
      this.closing.signal.removeEventListener("abort", end);
    }
  }

  /**
   * The next steering poll: after `waitS` (a Retry-After), else after the TTL `ttlS`, doubled for each
   * failure in a row (`failures`) up to the upper TTL bound, so a steering server that is down is not
   * polled at its TTL for as long as the session plays. A success starts again from its TTL.
   */
  private scheduleSteering(ttlS: number, failures = 0, waitS: number | null = null): void {
    if (this.stopped) return;
    const [lo, hi] = this.opts.steeringTtlBoundsS ?? [1, 300];
    const ttl = Math.min(hi, Math.max(lo, ttlS));
    // 2^failures is bounded: past 2^30 the wait is at the upper bound anyway.
    const backedOff = Math.min(hi, ttl * 2 ** Math.min(failures, 30));
    // Never more than a poll a second, whatever the bounds: a TTL (or Retry-After) of 0 under bounds
    // from 0 polled the steering server in a tight loop.
    const ms = Math.max(MIN_STEERING_POLL_S, waitS !== null ? Math.min(hi, Math.max(lo, waitS)) : backedOff) * 1000;
    const timer = setTimeout(async () => {
      const r = await this.pollSteering();
      // Paused, stopped, or another loop started (a resume) while this poll was out: this loop ends.
      if (this.steeringTimer !== timer || this.paused) return;
      this.nextSteering(r, ttlS, failures);
    }, ms);
    this.steeringTimer = timer;
  }

  /** Schedules the poll after `r`: a success's TTL (or the last one) and no failures; a failure one more, its Retry-After winning. */
  private nextSteering(r: { nextS: number | null; failed: boolean; retryAfter: boolean }, lastTtlS: number, failures: number): void {
    if (!r.failed) this.scheduleSteering(r.nextS ?? lastTtlS);
    else this.scheduleSteering(lastTtlS, failures + 1, r.retryAfter ? r.nextS : null);
  }

  /**
   * A renewal because every OCA of the list failed (the headless fetcher's and the hls.js loader's):
   * at most one a minute, so failures that a new list does not mend (a file missing everywhere, a
   * client that cannot reach any OCA) end the session rather than spend the member's handovers, and a
   * play request that keeps failing is not asked again for every file that fails.
   */
  renewAfterFailure(reason: string): Promise<boolean> {
    if (this.renewing) return this.renewing;
    // Only these renewals count: one before the token expires must not hold back one a failure needs.
    const last = this.lastFailureRenewalAt;
    if (last !== null && this.now() - last < FAILURE_RENEW_EVERY_MS) return Promise.resolve(false);
    // Counted when tried, not when it came through: a control plane that keeps refusing (or failing)
    // the play must not be asked again for every file that fails after it (a renewal storm).
    this.lastFailureRenewalAt = this.now();
    return this.renew(reason);
  }

  /**
   * Takes a new play session and continues on it, from the same position: when every OCA of the list
   * has failed, or when the token is within a minute of expiry. The old session is stopped first (its
   * stream slot freed), its events flushed. Concurrent calls share one renewal; false if it failed.
   */
  renew(reason: string): Promise<boolean> {
    return this.renewUntil(reason, this.now() + RENEW_RETRY_BUDGET_MS);
  }

  /** `renew`, its play request tried again until `deadline` (monotonic ms). */
  private renewUntil(reason: string, deadline: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (!this.renewing) {
      this.renewing = (async () => {
        try {
          // Said once per play: a renewal tried again after a failed one has nothing more to stop.
          if (!this.stoppedPlays.includes(this.play)) {
            this.stoppedPlays.push(this.play);
            if (this.stoppedPlays.length > 8) this.stoppedPlays.shift();
            this.emit({ type: "stop", reason: `renewing: ${reason}`.slice(0, 500) });
          }
          // The stop must reach the server before the play (a one-stream plan's slot), but not wait long.
          await withTimeout(
            this.reporter.flush().catch(() => {}),
            RENEW_FLUSH_WAIT_MS,
          );
          const fresh = await this.requestPlayRetrying(deadline);
          if (this.stopped) {
            // Closed meanwhile: the new session must not hold the member's slot until its silence.
            await this.stopUnused(fresh, "closed while renewing");
            return false;
          }
          const problem = playResponseProblem(fresh);
          if (problem !== null) {
            // Its slot is of no use to this session: freed now, not held to its silence.
            await stopTaken(this.client, fresh, "play response unusable");
            this.renewalError = new Error(problem);
            return false;
          }
          this.renewalError = null;
          this.adopt(fresh, reason);
          return true;
        } catch (err) {
          this.renewalError = err;
          // Closed meanwhile: nothing fires after `stopped`.
          if (this.stopped) return false;
          this.fire(SessionEvents.ERROR, new SdkError("RENEWAL_FAILED", { detail: `${reason}: ${String((err as Error)?.message ?? err)}`.slice(0, 300) }));
          return false;
        } finally {
          this.renewing = null;
        }
      })();
    }
    return this.renewing;
  }

  /**
   * The renewal a minute before the token expires: its play request is tried again until the token
   * expires (never for less than a failure renewal's budget). When none came through, the session ends
   * with SESSION_EXPIRED: its old session is stopped, and the refusal that session's requests then get
   * would say another screen took the stream.
   */
  private async renewBeforeExpiry(): Promise<void> {
    const expiresAt = Date.parse(this.play.expiresAt);
    const expiry = this.expiresBy ?? (Number.isFinite(expiresAt) ? this.now() + expiresAt - this.clock() : this.now());
    if (await this.renewUntil("token_expiring", Math.max(expiry, this.now() + RENEW_RETRY_BUDGET_MS))) return;
    if (!this.stopped) await this.fail(this.expiredError());
  }

  /**
   * The renewal's play request, tried again until `deadline` when it failed in a way a moment
   * can mend (no answer, 429, 5xx; `Retry-After` honoured): the old session is already stopped, and its
   * stream is refused once the stop's grace ends. A refusal (too_many_streams, not_licensed, ...) is final.
   */
  private async requestPlayRetrying(deadline: number): Promise<PlayResponse> {
    const old = this.play;
    let ownSlotTries = 0;
    for (let delay = RENEW_FIRST_RETRY_MS; ; delay = Math.min(delay * 2, RENEW_MAX_RETRY_MS)) {
      // Closed meanwhile (the viewer chose another title): no new session to take and release.
      if (this.stopped) throw new Error("session closed");
      try {
        return await this.client.requestPlay(this.play.titleId, this.opts.device ?? DEFAULT_DEVICE);
      } catch (err) {
        const status = err instanceof ApiCallError ? err.status : 0;
        // A slot still held by the session being renewed: its stop has not reached the member's object
        // yet (it may have left late, behind a slow request), so the slot frees in a moment.
        const ownSlot =
          err instanceof ApiCallError && err.code === "too_many_streams" && holdsSlot(err.details, old.sessionId) && ownSlotTries++ < OWN_SLOT_TRIES;
        // The stop may have been lost with its batch: say it again (the same batch id: counted once).
        if (ownSlot) await this.stopUnused(old, "renewing: its slot still held");
        const transient = status === 0 || status === 408 || status === 429 || status >= 500 || ownSlot;
        const wait = Math.max(delay, (err instanceof ApiCallError ? (err.retryAfterS ?? 0) : 0) * 1000);
        if (!transient || this.stopped || this.now() + wait > deadline) throw err;
        await this.sleepUnlessClosed(wait);
      }
    }
  }

  /** Resolves after `ms`, or at once when the session closes (the timer cleared then). */
  private sleepUnlessClosed(ms: number): Promise<void> {
    const signal = this.closing.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
    });
  }

  /** Stops a play session this one took but will not use (best effort, once). */
  private async stopUnused(fresh: PlayResponse, why: string): Promise<void> {
    const stop: QoeEvent = { type: "stop", at: this.clock(), reason: why };
    await this.client.sendEvents(fresh, [stop], { batchId: `stop-${fresh.sessionId}`, keepalive: true }).catch(() => {});
  }

  private adopt(answer: PlayResponse, reason: string): void {
    const fresh = boundedPlay(answer);
    const from = this.cur;
    this.play = fresh;
    this.expiresBy = this.expiryOf(fresh);
    const top = fresh.renditions.video.reduce((a, b) => (b.bandwidth > a.bandwidth ? b : a), fresh.renditions.video[0]);
    this.selector = new OcaSelector(fresh.ocas, { refBytes: top ? Math.round((top.bandwidth * 4) / 8) : 1_000_000, ...this.opts.selector });
    this.cur = [...fresh.ocas].sort((a, b) => a.rank - b.rank)[0];
    this.steeringUri = steeringAddress(fresh.steering?.server);
    this.renewals.push({ at: this.now(), reason, sessionId: fresh.sessionId });
    this.emit({ type: "start", ocaId: this.cur.ocaId, reason: `renewed: ${reason}`.slice(0, 500) });
    this.noteSwitch({ from, to: this.cur, reason: `renewed: ${reason}`, at: this.now() });
    this.fire(SessionEvents.OCA_SWITCH, { from, to: this.cur, reason: `renewed: ${reason}` });
    this.armExpiry();
  }

  /**
   * Renews a minute before the token expires (a session longer than its token keeps playing), timed by
   * the answer's `expiresInS` on the monotonic clock: a device clock hours off would otherwise renew
   * too late, or at once and again every minute (spending the member's handovers). `expiresAt` on the
   * wall clock only when the answer has no `expiresInS` (an older control plane).
   */
  private armExpiry(): void {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    const expiresAt = Date.parse(this.play.expiresAt);
    const left = this.expiresBy !== null ? this.expiresBy - this.now() : expiresAt - this.clock();
    if (this.stopped || !Number.isFinite(left)) return;
    // At most one expiry renewal a minute, whatever the clocks say (nothing must loop).
    const last = this.renewals.at(-1);
    const floor = last && this.now() - last.at < 60_000 ? 60_000 - (this.now() - last.at) : 0;
    const wait = Math.max(floor, left - 60_000);
    this.expiryTimer = setTimeout(() => void this.renewBeforeExpiry(), Math.min(wait, 2_147_000_000));
  }

  /** When (monotonic ms) the play's token expires, from its answer's `expiresInS`; null without one. */
  private expiryOf(play: PlayResponse): number | null {
    const s = (play as { expiresInS?: unknown }).expiresInS;
    return typeof s === "number" && Number.isFinite(s) && s >= 0 ? this.now() + s * 1000 : null;
  }

  /** Periodic re-probes and steering polls (called by `play()`). */
  startBackground(): void {
    if (this.stopped) return;
    this.background = true;
    this.armExpiry();
    if (this.reprobeTimer === null) this.startReprobes();
    if ((this.opts.pollSteering ?? true) && this.steeringUri && this.steeringTimer === null) {
      const timer = setTimeout(async () => {
        await this.ready;
        if (this.steeringTimer !== timer || this.paused) return;
        const r = await this.pollSteering();
        // Paused, stopped, or another loop started (a resume) while this poll was out: this loop ends.
        if (this.steeringTimer !== timer || this.paused) return;
        this.nextSteering(r, 10, 0);
      }, 0);
      this.steeringTimer = timer;
    }
  }

  /**
   * (Re)starts the re-probe timer at the current interval (none for 0), once background work has
   * started and while the session is neither paused nor stopped.
   */
  private startReprobes(): void {
    if (this.reprobeTimer !== null) clearInterval(this.reprobeTimer);
    this.reprobeTimer = null;
    const every = this.opts.reprobeIntervalMs ?? REPROBE_EVERY_MS;
    if (!this.background || this.paused || this.stopped || !(every > 0)) return;
    this.reprobeTimer = setInterval(() => void this.ready.then(() => this.reprobe()), every);
  }

  /**
   * Changes options of a running session. Every key is checked (known, right type, in range), as
   * `play()` checks its own; what passes applies at once (a new re-probe interval
   * restarts its timer), what does not is left out, reported in `rejected` and as a recoverable
   * `INVALID_OPTION` error.
   */
  configure(options: Record<string, unknown>): { applied: string[]; rejected: Array<{ key: string; reason: string }> } {
    const { applied, rejected } = checkOptions(options, this.opts, "configure", floorsOf(this.opts));
    for (const key of applied) {
      const k = key.startsWith("selector.") ? key.slice("selector.".length) : null;
      if (k !== null) (this.selector.params as unknown as Record<string, number>)[k] = (this.opts.selector as Record<string, number>)[k];
    }
    // At once: a running timer restarts at the new interval, and one the session had none for (0) starts.
    if (applied.includes("reprobeIntervalMs")) this.startReprobes();
    for (const r of rejected) this.warn("INVALID_OPTION", { detail: `${r.key}: ${r.reason}` });
    return { applied, rejected };
  }

  /** The viewer paused: no probes or steering polls until `resume()` (nothing to fetch meanwhile). */
  pause(): void {
    if (this.reprobeTimer !== null) clearInterval(this.reprobeTimer);
    if (this.steeringTimer !== null) clearTimeout(this.steeringTimer);
    this.reprobeTimer = this.steeringTimer = null;
    this.paused = true;
  }

  /** Playback goes on: background probes and polls start again (the token's expiry timer never stopped). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.startBackground();
  }

  /** Stop background work and flush the remaining events; fires `stopped` once. */
  async close(reason = "closed"): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.closing.abort();
    if (this.reprobeTimer !== null) clearInterval(this.reprobeTimer);
    if (this.steeringTimer !== null) clearTimeout(this.steeringTimer);
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.reprobeTimer = this.steeringTimer = this.expiryTimer = null;
    await this.reporter.close();
    this.fire(SessionEvents.STOPPED, { reason });
  }
}
