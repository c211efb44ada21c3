import {
  ANSWER_CUT_OFF,
  type CmcdReport,
  type EdgeReport,
  MAX_REPORT_ITEMS,
  type OcaFault,
  type OcaHealth,
  type PlayReport,
  type ServedFrom,
  type SiteLiveView,
} from "./site-view";
import { siteBucketBinding, type SiteSpec } from "./topology";
import { SingleFlight } from "./single-flight";
import { paceFromView, SYNC_MS } from "./sync-pace";
import { withTimeout } from "./with-timeout";
import { acknowledge, reportsForCall, type SentReport, sumCmcd, type TakenReport } from "./unacked-reports";
import { SESSION_ENTRY_EVERY_MS } from "../../shared/session-activity";
import { setBounded } from "./bounded-map";

/**
 * This isolate's one link to each site's Durable Object, shared by both planes. It keeps the site's
 * live view (health and load per OCA) and the data plane's pending report (bytes, sessions and misses
 * per OCA), and exchanges both in one call (`edgeSync`) at most once per the interval the site asks
 * (SYNC_MS; longer for a site that many isolates sync with), in the background: a viewer never waits
 * on a site. A session's own entry (its bytes and activity on an OCA, its CMCD, its bytes served away
 * from home) goes at most once per SESSION_ENTRY_EVERY_MS: at once the first time, then with what came
 * in between summed; meanwhile its member rides the report as healthy traffic (`probers`). A site that cannot be reached keeps its last-known view, marked stale; after
 * FAILS_TO_OPEN failed calls in a row its circuit opens and no call is tried for a while: FIRST_OPEN_MS,
 * doubled by each failed call after, up to OPEN_MS (`circuitOpenMs`).
 */

const SYNC_TIMEOUT_MS = 500;
const FAILS_TO_OPEN = 2;
/** A blip that fails a call and its retry keeps the circuit open this long, not OPEN_MS. */
const FIRST_OPEN_MS = 2_000;
const OPEN_MS = 30_000;
/** A flush tries a report the site did not answer at most this many more times (within FLUSH_BUDGET_MS). */
const FLUSH_RETRIES = 3;

/**
 * How long the circuit stays open after `failures` failed calls in a row (0: closed): FIRST_OPEN_MS at
 * FAILS_TO_OPEN, doubled by each failure after, up to OPEN_MS; shortened by up to a quarter at random
 * (`random` in [0, 1)), so that isolates a site's outage failed together do not all call it together.
 */
export function circuitOpenMs(failures: number, random: number): number {
  if (failures < FAILS_TO_OPEN) return 0;
  const full = Math.min(OPEN_MS, FIRST_OPEN_MS * 2 ** Math.min(16, failures - FAILS_TO_OPEN));
  const r = Number.isFinite(random) ? Math.min(1, Math.max(0, random)) : 0;
  return Math.round(full * (1 - r / 4));
}
/** A flush's work, retry included, ends within this long after its request (the platform allows 30 s). */
const FLUSH_BUDGET_MS = 25_000;
/**
 * Sessions a link holds per OCA, CMCD and bytes served away (each a bound), awaiting their entry: more
 * than a report carries (MAX_REPORT_ITEMS), as entries held for SESSION_ENTRY_EVERY_MS pile up; those
 * due past a report's bound go with the next.
 */
const SESSIONS_HELD_MAX = 4 * MAX_REPORT_ITEMS;
/** Sessions whose last entry time a link keeps (bounded, oldest first out: a session forgotten sends its next entry at once). */
const ENTRY_TIMES_MAX = 50_000;

/**
 * The longest interval between a session's entries: well inside the site's 30 s active window
 * (SESSION_ACTIVE_MS), and short enough that a flush's 25 s budget sends a held entry when due.
 */
const SESSION_ENTRY_EVERY_MAX_S = 20;

/** The interval between a session's entries: `SESSION_ENTRY_EVERY_S` when set (0: every sync; at most 20), else SESSION_ENTRY_EVERY_MS. */
export function sessionEntryEveryMs(env: { SESSION_ENTRY_EVERY_S?: string }): number {
  const raw = env.SESSION_ENTRY_EVERY_S;
  const s = raw === undefined || raw === "" ? Number.NaN : Number(raw);
  return Number.isFinite(s) && s >= 0 ? Math.min(s, SESSION_ENTRY_EVERY_MAX_S) * 1000 : SESSION_ENTRY_EVERY_MS;
}

/** The stub of a site's Durable Object: the one way any module addresses a site. */
export function siteStub(env: Pick<Env, "OCA_SITE">, siteId: string) {
  return env.OCA_SITE.get(env.OCA_SITE.idFromName(siteId));
}

type BucketBinding = { [K in keyof Env]-?: Env[K] extends R2Bucket ? K : never }[keyof Env];

/** The tier bucket that holds a site's copies (its region's binding), typed. */
export function tierBucket(env: Env, site: SiteSpec): R2Bucket {
  const name = siteBucketBinding(site) as BucketBinding;
  const bucket = env[name] as R2Bucket | undefined;
  if (!bucket) throw new Error(`site ${site.id}: no R2 binding ${name} for its region`);
  return bucket;
}

/** A session's health signals for one OCA in a batch. */
interface SessionSignals {
  requests: number;
  errors: number;
  latencyMsSum: number;
}

/**
 * Requests of one session that count as health signals per batch: at least this many, and at least
 * SIGNALS_PER_SESSION_PER_S per second of the batch's window. A player makes one or two requests a
 * second (a burst at startup); a session making thousands of fast requests (cache hits) would
 * otherwise dilute a slow or erring OCA's figures until it looked healthy. Past the cap a session
 * weighs as the cap, at its own error rate and mean latency.
 */
export const MIN_SIGNALS_PER_SESSION = 8;
export const SIGNALS_PER_SESSION_PER_S = 4;

interface OcaBatch {
  /** When its first item came (ms): a session's cap of signals grows with this batch's span, not with the link's idle time before it. */
  startedAt: number;
  bytes: number;
  /** Requests the OCA answered (health signals), with its 5xx and its response times, per session (a Map: session ids come from URLs). */
  signals: Map<string, SessionSignals>;
  /** Signals of sessions past the map's bound, counted as they come. */
  otherSignals: SessionSignals;
  /** Members whose clients reported the OCA failing them. */
  clientMembers: Set<string>;
  /** Their sessions: the site does not count them as the healthy traffic that would outweigh their reports. */
  clientSessions: Set<string>;
  bytesFrom: Record<ServedFrom, number>;
  /** Bytes per session, including those held from earlier reports (their entry not yet due); a Map, as session ids come from URLs. */
  sessions: Map<string, number>;
  /** Those of them served since the last report (a held one's member then rides it as healthy traffic). */
  servedNow: Set<string>;
  /** When the OCA last served each of them (ms): the site dates the session's activity by it, not by the entry's arrival. */
  lastServed: Map<string, number>;
  /** Those of them whose home is the site. */
  homeSessions: Set<string>;
  /** Each of them's member, as its streams object's id (signed in its token): the site counts healthy traffic per member. */
  sessionStreams: Map<string, string>;
  /** Members whose probes the OCA answered (their streams objects' ids), at most MAX_PROBERS. */
  probers: Set<string>;
  /** Content misses per title. */
  misses: Map<string, { count: number; bytes: number }>;
}

interface Link {
  view: SiteLiveView | null;
  syncedAt: number;
  failures: number;
  openUntil: number;
  /** The interval the site last asked this isolate to sync at. */
  everyMs: number;
  windowStart: number;
  batch: Map<string, OcaBatch>;
  /** Plays whose home is the site, not yet sent. */
  plays: PlayReport[];
  /** CMCD of sessions whose home is the site, per session (a Map: session ids come from URLs). */
  cmcd: Map<string, CmcdReport>;
  /** Bytes other sites' OCAs served to sessions whose home is the site, per session. */
  away: Map<string, number>;
  /** The running sync, if any (its promise is its request's alone: see SingleFlight). */
  syncs: SingleFlight;
  /** The scheduled flush of the pending batch (within the interval), if any; one cut off stops counting. */
  flushes: SingleFlight;
  /** When the running flush's loop stops sending (its budget's end). */
  flushUntil: number;
  /** The number of the link's last report (each report is numbered: the site counts a number once). */
  seq: number;
  /** Reports taken from the batch and not answered yet (in flight, or their call failed), and the salvaged one of those let go: every call carries them again as they were. */
  unacked: TakenReport[];
  /** When each session's entry last went in a report, oldest first, within the last interval (see SESSION_ENTRY_EVERY_MS). */
  entrySentAt: Map<string, number>;
}

const links = new Map<string, Link>();

/**
 * A link's flushes, one at a time: a flush waits out the link's interval, then a sync (and, if it went
 * unanswered, a few more after an interval or the circuit's wait), and sends held entries as they fall
 * due: within FLUSH_BUDGET_MS; one cut off stops counting after that.
 */
const newFlushes = () => new SingleFlight(() => FLUSH_BUDGET_MS + SYNC_TIMEOUT_MS + 1_000);

/** This isolate's name in its syncs, so a site can count the isolates syncing with it (made on first use: no randomness at global scope). */
let isolate: string | null = null;
const isolateId = (): string => (isolate ??= crypto.randomUUID());

function link(siteId: string): Link {
  const known = links.get(siteId);
  if (known) return known;
  const l: Link = {
    view: null,
    syncedAt: 0,
    failures: 0,
    openUntil: 0,
    everyMs: SYNC_MS,
    windowStart: Date.now(),
    batch: new Map(),
    plays: [],
    cmcd: new Map(),
    away: new Map(),
    syncs: new SingleFlight(SYNC_TIMEOUT_MS + 1_000),
    flushes: newFlushes(),
    flushUntil: 0,
    seq: 0,
    unacked: [],
    entrySentAt: new Map(),
  };
  links.set(siteId, l);
  return l;
}

/**
 * An OCA's health signals in a batch, each session's requests counted up to its cap (see
 * MIN_SIGNALS_PER_SESSION), with that session's own error rate and mean latency.
 */
function cappedSignals(b: OcaBatch, windowMs: number): SessionSignals {
  const cap = Math.max(MIN_SIGNALS_PER_SESSION, Math.ceil((SIGNALS_PER_SESSION_PER_S * windowMs) / 1000));
  let requests = b.otherSignals.requests;
  let errors = b.otherSignals.errors;
  let latencyMsSum = b.otherSignals.latencyMsSum;
  for (const s of b.signals.values()) {
    const share = s.requests > cap ? cap / s.requests : 1;
    requests += Math.min(s.requests, cap);
    errors += s.errors * share;
    latencyMsSum += s.latencyMsSum * share;
  }
  return { requests, errors: Math.round(errors), latencyMsSum };
}

/** True when an OCA's batch holds anything but sessions waiting for their entry. */
const hasTraffic = (b: OcaBatch): boolean =>
  b.bytes > 0 || b.signals.size > 0 || b.otherSignals.requests > 0 || b.clientMembers.size > 0 || b.probers.size > 0 || b.misses.size > 0;

/**
 * When the link next has something to report: now when it holds traffic, plays, or a session whose
 * entry is due; else when the first held entry falls due; null when it holds nothing.
 */
function pendingAt(l: Link, now: number, entryEveryMs: number): number | null {
  if (l.plays.length > 0) return now;
  let at = Number.POSITIVE_INFINITY;
  const held = (id: string) => {
    at = Math.min(at, (l.entrySentAt.get(id) ?? Number.NEGATIVE_INFINITY) + entryEveryMs);
  };
  for (const b of l.batch.values()) {
    if (hasTraffic(b)) return now;
    for (const id of b.sessions.keys()) held(id);
  }
  for (const id of l.cmcd.keys()) held(id);
  for (const id of l.away.keys()) held(id);
  return at === Number.POSITIVE_INFINITY ? null : Math.max(now, at);
}

/** An OCA's empty batch (its window starting now). */
function newBatch(now: number): OcaBatch {
  return {
    startedAt: now,
    bytes: 0,
    signals: new Map(),
    otherSignals: { requests: 0, errors: 0, latencyMsSum: 0 },
    clientMembers: new Set(),
    clientSessions: new Set(),
    bytesFrom: { embedded: 0, ixp: 0, origin: 0 },
    sessions: new Map(),
    servedNow: new Set(),
    lastServed: new Map(),
    homeSessions: new Set(),
    sessionStreams: new Map(),
    probers: new Set(),
    misses: new Map(),
  };
}

/**
 * Takes the pending batch as the link's next numbered report (null when there is nothing to report
 * now). Sessions whose entry is not due (one went within `entryEveryMs`) stay in the link for a later
 * report, their bytes and CMCD summing; a held session served since the last report adds its member to
 * the report's healthy traffic (`probers`), which the site weighs as it weighs a probe's.
 */
function takeReport(l: Link, now: number, entryEveryMs: number): EdgeReport | null {
  const due = pendingAt(l, now, entryEveryMs);
  if (due === null || due > now) return null;
  const isDue = (id: string) => !(now - (l.entrySentAt.get(id) ?? Number.NEGATIVE_INFINITY) < entryEveryMs);
  const sent = new Set<string>();
  const nextBatch = new Map<string, OcaBatch>();
  const ocas: EdgeReport["ocas"] = {};
  for (const [ocaId, b] of l.batch) {
    const sessions: EdgeReport["ocas"][string]["sessions"] = [];
    const members = new Set(b.probers);
    let kept: OcaBatch | undefined;
    for (const [id, bytes] of b.sessions) {
      const streams = b.sessionStreams.get(id);
      const lastAt = b.lastServed.get(id);
      if (isDue(id) && sessions.length < MAX_REPORT_ITEMS) {
        sessions.push({
          id,
          bytes,
          ...(b.homeSessions.has(id) ? { home: true } : {}),
          ...(streams ? { streams } : {}),
          ...(lastAt !== undefined ? { lastAt } : {}),
        });
        sent.add(id);
        continue;
      }
      kept ??= newBatch(now);
      kept.sessions.set(id, bytes);
      if (lastAt !== undefined) kept.lastServed.set(id, lastAt);
      if (b.homeSessions.has(id)) kept.homeSessions.add(id);
      if (streams) kept.sessionStreams.set(id, streams);
      if (streams && b.servedNow.has(id) && members.size < MAX_PROBERS) members.add(streams);
    }
    if (kept) nextBatch.set(ocaId, kept);
    if (!hasTraffic(b) && sessions.length === 0) continue;
    ocas[ocaId] = {
      bytes: b.bytes,
      ...cappedSignals(b, now - b.startedAt),
      ...(b.clientMembers.size ? { clientReporters: [...b.clientMembers], clientReporterSessions: [...b.clientSessions] } : {}),
      bytesFrom: b.bytesFrom,
      sessions,
      ...(members.size ? { probers: [...members] } : {}),
      misses: [...b.misses].map(([titleId, m]) => ({ titleId, kind: "content" as const, count: m.count, bytes: m.bytes })),
    };
  }
  const cmcd: CmcdReport[] = [];
  const nextCmcd = new Map<string, CmcdReport>();
  for (const [id, r] of l.cmcd) {
    if (isDue(id) && cmcd.length < MAX_REPORT_ITEMS) {
      cmcd.push(r);
      sent.add(id);
    } else nextCmcd.set(id, r);
  }
  const away: Array<{ id: string; bytes: number }> = [];
  const nextAway = new Map<string, number>();
  for (const [id, bytes] of l.away) {
    if (isDue(id) && away.length < MAX_REPORT_ITEMS) {
      away.push({ id, bytes });
      sent.add(id);
    } else nextAway.set(id, bytes);
  }
  const report: EdgeReport = {
    seq: ++l.seq,
    windowMs: now - l.windowStart,
    ocas,
    ...(l.plays.length ? { plays: l.plays } : {}),
    ...(cmcd.length ? { cmcd } : {}),
    ...(away.length ? { servedAway: away } : {}),
  };
  for (const id of sent) setBounded(l.entrySentAt, id, now, ENTRY_TIMES_MAX);
  // A time an interval old holds nothing back (its session's next entry goes at once, as with none):
  // forgotten, oldest first, so a link keeps the sessions of its last interval, not each session it
  // ever sent (up to ENTRY_TIMES_MAX for every site the isolate serves or sends CMCD to).
  for (const [id, at] of l.entrySentAt) {
    if (now - at < entryEveryMs) break;
    l.entrySentAt.delete(id);
  }
  l.batch = nextBatch;
  l.plays = [];
  l.cmcd = nextCmcd;
  l.away = nextAway;
  l.windowStart = now;
  return report;
}

/**
 * One call to the site: the reports not answered yet (as they were, oldest first) and the pending
 * batch, numbered, so the site counts each once whether an earlier call was lost before or after it
 * committed. A report leaves the link only when a call that carried it is answered. `carry` false
 * asks for the view alone (a request that cannot wait for another's sync).
 */
async function sync(env: Env, siteId: string, l: Link, carry = true): Promise<void> {
  const now = Date.now();
  let sent: TakenReport[] = [];
  if (carry) {
    // Room for a new report only when there is one: those let go put their plays back in the batch
    // first, so they ride it.
    const entryEveryMs = sessionEntryEveryMs(env);
    const send = reportsForCall(
      l.unacked,
      now,
      (dropped) => salvagePlays(l, dropped),
      () => (pendingAt(l, now, entryEveryMs) ?? Number.POSITIVE_INFINITY) <= now,
    );
    const fresh = takeReport(l, now, entryEveryMs);
    l.unacked = fresh ? [...send, { report: fresh, takenAt: now }] : send;
    // This call's own list: a later call replaces l.unacked, never adds to what this one carried.
    sent = [...l.unacked];
  }
  try {
    // The newest as the report, the older ones beside it: an object still on the code before numbered
    // reports (a deploy's rollout) counts the newest, as it always did.
    // Each with its age on this isolate's clock: the site places what it measured (health signals,
    // served bytes) at when it was measured, not at when a resend arrives.
    const out = sent.map((u): SentReport => ({ ...u.report, ageMs: Math.max(0, now - u.takenAt) }));
    const latest = out.length ? out[out.length - 1] : null;
    const earlier = out.slice(0, -1);
    const view = await withTimeout(siteStub(env, siteId).edgeSync(latest, isolateId(), earlier, ANSWER_CUT_OFF), SYNC_TIMEOUT_MS, `site ${siteId}`);
    // Cut off by the chaos switch: a failed call like any other, answered rather than thrown so that
    // workerd does not log an uncaught exception per sync (ANSWER_CUT_OFF).
    if (view.cutOff !== undefined) throw new Error(view.cutOff);
    l.view = view as SiteLiveView;
    l.unacked = acknowledge(l.unacked, sent);
    l.everyMs = paceFromView(l.view.syncEveryMs);
    l.failures = 0;
    l.openUntil = 0;
  } catch {
    // Unreachable, or the answer was lost: keep serving and steering on the last-known view; the
    // reports stay, to go again as they were with the next sync.
    l.failures++;
    if (l.failures >= FAILS_TO_OPEN) l.openUntil = Date.now() + circuitOpenMs(l.failures, Math.random());
  }
  l.syncedAt = Date.now();
}

/**
 * Reports let go unanswered (too old or too many) are never sent again as they were: their plays go
 * back in the batch (a play counts once whatever: by its session), their CMCD and bytes served away
 * ride the link's salvaged report (see unacked-reports.ts: put back in the batch, they counted again
 * under a new number when the site had committed them and its answer was lost); their bytes per OCA,
 * sessions, misses and load sample are lost. The batch holds at most MAX_REPORT_ITEMS plays: past that,
 * the newest are not counted.
 */
function salvagePlays(l: Link, dropped: readonly TakenReport[]): void {
  for (const u of dropped) {
    if (u.report.plays) l.plays = [...u.report.plays, ...l.plays].slice(0, MAX_REPORT_ITEMS);
  }
}

/**
 * Starts a sync unless one is running, the view is fresh, or the site's circuit is open. The promise
 * (null when none started) is the caller's own, to await or `waitUntil`.
 */
function maybeSync(env: Env, siteId: string, l: Link, force: boolean): Promise<void> | null {
  const now = Date.now();
  if (l.openUntil > now) return null;
  if (!force && now - l.syncedAt < l.everyMs) return null;
  return l.syncs.start(() => sync(env, siteId, l), now);
}

/** A view older than this many sync intervals is refreshed before the steering server answers from it (`awaitRefresh`). */
const AWAIT_VIEW_OLDER_THAN_SYNCS = 3;

/**
 * A site's live view as this isolate knows it, and whether it is stale (the site could not be reached).
 * An expired view is refreshed through `waitUntil`. With `awaitRefresh` (the steering server: its
 * answers are the ones that move players) a missing view, or one older than
 * AWAIT_VIEW_OLDER_THAN_SYNCS of the site's intervals, is refreshed first; a younger one is answered
 * from at once and refreshed behind it, so a busy isolate's polls do not queue behind each sync (the
 * next poll sees the new view). A request
 * that must wait while another request's sync runs makes its own call rather than wait on that one.
 */
export async function siteView(
  env: Env,
  siteId: string,
  waitUntil: (p: Promise<unknown>) => void,
  opts: { awaitRefresh?: boolean } = {},
): Promise<{ view: SiteLiveView | null; stale: boolean }> {
  const l = link(siteId);
  const now = Date.now();
  const mustWait = opts.awaitRefresh && l.openUntil <= now && (l.view === null || now - l.syncedAt > AWAIT_VIEW_OLDER_THAN_SYNCS * l.everyMs);
  const refresh = maybeSync(env, siteId, l, false);
  if (mustWait && (refresh || l.syncs.busy())) {
    const own = refresh ?? sync(env, siteId, l, false);
    // Kept alive past a client that goes away mid-call (its reports stay on the link regardless).
    waitUntil(own);
    await own;
  } else if (refresh) waitUntil(refresh);
  // Stale once the circuit would open: one failed call (a blip, forgiven by the circuit too) marked the
  // site stale, and every session of this isolate whose nearest site it is moved for a sync interval.
  return { view: l.view, stale: l.failures >= FAILS_TO_OPEN || l.openUntil > Date.now() };
}

/** An OCA's health as last known by this isolate; a stale view is refreshed in the background. */
export function ocaHealth(env: Env, siteId: string, ocaId: string, waitUntil: (p: Promise<unknown>) => void): OcaHealth {
  const l = link(siteId);
  const refresh = maybeSync(env, siteId, l, false);
  if (refresh) waitUntil(refresh);
  return l.view?.ocas.find((o) => o.ocaId === ocaId)?.health ?? "healthy";
}

function batchOf(l: Link, ocaId: string): OcaBatch {
  let o = l.batch.get(ocaId);
  if (!o) l.batch.set(ocaId, (o = newBatch(Date.now())));
  // A batch that held only sessions waiting for their entry starts its window with its first traffic.
  else if (!hasTraffic(o)) o.startedAt = Date.now();
  return o;
}

/**
 * Makes sure a pending batch reaches the site within its interval even if no further request comes,
 * and that entries held back reach it when due (the last viewer's final bytes would otherwise wait for
 * a request that may never come), within the flush's budget.
 */
function scheduleFlush(env: Env, siteId: string, l: Link, waitUntil: (p: Promise<unknown>) => void): void {
  const now = Date.now();
  const delay = Math.max(0, l.everyMs - (now - l.syncedAt));
  const entryEveryMs = sessionEntryEveryMs(env);
  // A running flush stops at its budget's end: one that would stop before what this request holds can
  // fall due is replaced by this request's own (it ends at its next wake), or the last viewer's final
  // bytes would wait for a request that may never come. What this request adds goes at the next sync
  // but one at the latest (a sync may be in flight: SYNC_TIMEOUT_MS), a held entry within its interval
  // after. At most once an interval, and never more often than every few seconds when the site asks a
  // long interval: a replacement too must have more budget left than the one it replaces.
  const span = FLUSH_BUDGET_MS - (SYNC_TIMEOUT_MS + 1_000);
  const gap = Math.min(l.everyMs, span - l.everyMs - SYNC_TIMEOUT_MS);
  if (l.flushes.busy(now) && l.flushUntil < now + Math.min(entryEveryMs + l.everyMs, span - gap)) l.flushes = newFlushes();
  const flushes = l.flushes;
  flushes.startBehind(async () => {
    const deadline = Date.now() + span;
    l.flushUntil = deadline;
    await new Promise((r) => setTimeout(r, delay));
    if (l.flushes !== flushes) return;
    // Another request's sync may be running: watch for its end on this request's own clock.
    for (const end = Date.now() + SYNC_TIMEOUT_MS + 1_000; l.syncs.busy() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 25));
    // One that ran meanwhile (this flush replaced a flush during its sync) set the next sync's time.
    const paced = l.syncedAt + l.everyMs - Date.now();
    if (paced > 0 && l.openUntil <= Date.now()) {
      await new Promise((r) => setTimeout(r, paced));
      if (l.flushes !== flushes) return;
    }
    if (pendingAt(l, Date.now(), entryEveryMs) !== null || l.unacked.length > 0) await maybeSync(env, siteId, l, true);
    // A report the site did not answer is tried again, not left for the next request to this site:
    // after up to an interval, jittered so that isolates a site's blip failed together do not come
    // back together, or once the circuit closes, a few times within the flush's budget. Past that it
    // waits on the link for the next request (up to UNACKED_MAX_AGE_MS). Held entries go when due.
    let retries = 0;
    for (;;) {
      if (l.flushes !== flushes) return;
      const now = Date.now();
      let at: number;
      let wake: number;
      if (l.unacked.length > 0) {
        if (retries++ >= FLUSH_RETRIES) return;
        at = wake = now + Math.max(l.openUntil - now, Math.max(250, l.everyMs) * (0.5 + Math.random() / 2));
      } else {
        const next = pendingAt(l, now, entryEveryMs);
        if (next === null) return;
        at = Math.max(next, l.syncedAt + l.everyMs, l.openUntil);
        // Waiting on a held entry, it looks again every interval: what requests add meanwhile (a play, a
        // new session's first entry, an OCA's errors) goes as it would without it, for their flushes
        // cannot start while this one runs.
        wake = Math.min(at, Math.max(now, l.syncedAt, l.openUntil) + Math.max(250, l.everyMs));
      }
      if (at > deadline) return;
      await new Promise((r) => setTimeout(r, Math.max(25, wake - now)));
      if (wake < at) continue;
      if (l.flushes !== flushes) return;
      await maybeSync(env, siteId, l, true);
    }
  }, waitUntil);
}

/**
 * Probing members an OCA's report carries at most. The site weighs a few (THRESHOLDS.degradeClientReports)
 * after leaving out the members who reported the OCA, so the bound is wide: reporters that also probe
 * must not crowd honest probers out of a report (an isolate sees a few probes an OCA a second).
 */
export const MAX_PROBERS = 256;

/**
 * Counts bytes an OCA served to a session (null: to a probe, the OCA's bytes only, no session entry);
 * sent with the site's next sync. `home`: the site is the
 * session's home (its viewing history keeps these bytes even when they arrive before the play's record).
 * `streams`: the session's member, as its streams object's id (the site weighs healthy traffic per member).
 */
export function recordServed(
  env: Env,
  siteId: string,
  ocaId: string,
  sessionId: string | null,
  bytes: number,
  waitUntil: (p: Promise<unknown>) => void,
  { from = "embedded", home = false, streams }: { from?: ServedFrom; home?: boolean; streams?: string } = {},
): void {
  const l = link(siteId);
  const o = batchOf(l, ocaId);
  o.bytes += bytes;
  o.bytesFrom[from] += bytes;
  // No session (a probe): the OCA's bytes, and its member as healthy traffic the site may weigh.
  if (sessionId === null && streams && o.probers.size < MAX_PROBERS) o.probers.add(streams);
  const prev = sessionId === null ? undefined : o.sessions.get(sessionId);
  if (sessionId !== null && (prev !== undefined || o.sessions.size < SESSIONS_HELD_MAX)) {
    o.sessions.set(sessionId, (prev ?? 0) + bytes);
    o.servedNow.add(sessionId);
    o.lastServed.set(sessionId, Date.now());
    if (home) o.homeSessions.add(sessionId);
    if (streams) o.sessionStreams.set(sessionId, streams);
  }
  scheduleFlush(env, siteId, l, waitUntil);
}

/**
 * Counts bytes another site's OCA served to a session whose home is `homeSiteId`: they ride the home
 * site's next sync, whose viewing history counts what each of its sessions was served anywhere (a
 * session no player reports on is otherwise counted as nothing).
 */
export function recordServedAway(env: Env, homeSiteId: string, sessionId: string, bytes: number, waitUntil: (p: Promise<unknown>) => void): void {
  if (!(bytes > 0)) return;
  const l = link(homeSiteId);
  const prev = l.away.get(sessionId);
  if (prev !== undefined || l.away.size < SESSIONS_HELD_MAX) l.away.set(sessionId, (prev ?? 0) + bytes);
  scheduleFlush(env, homeSiteId, l, waitUntil);
}

/** Counts a request an OCA answered a session, whether it failed (5xx), and how long it took; sent with the next sync. */
export function recordOutcome(
  env: Env,
  siteId: string,
  ocaId: string,
  sessionId: string,
  outcome: { error: boolean; latencyMs: number },
  waitUntil: (p: Promise<unknown>) => void,
): void {
  const l = link(siteId);
  const o = batchOf(l, ocaId);
  let s = o.signals.get(sessionId);
  if (!s) {
    s = o.signals.size < MAX_REPORT_ITEMS ? { requests: 0, errors: 0, latencyMsSum: 0 } : o.otherSignals;
    if (s !== o.otherSignals) o.signals.set(sessionId, s);
  }
  s.requests += 1;
  if (outcome.error) s.errors += 1;
  s.latencyMsSum += Math.max(0, outcome.latencyMs);
  scheduleFlush(env, siteId, l, waitUntil);
}

/** A member's client reported the OCA failing it (a QoE error on it, a switch away); one per member per sync. */
export function recordClientReport(
  env: Env,
  siteId: string,
  ocaId: string,
  memberId: string,
  sessionId: string,
  waitUntil: (p: Promise<unknown>) => void,
): void {
  const l = link(siteId);
  const o = batchOf(l, ocaId);
  if (o.clientMembers.size < MAX_REPORT_ITEMS) o.clientMembers.add(memberId);
  if (o.clientSessions.size < MAX_REPORT_ITEMS) o.clientSessions.add(sessionId);
  scheduleFlush(env, siteId, l, waitUntil);
}

/**
 * What this isolate keeps in memory for a site (tests): the times of entries sent lately, the sessions
 * whose entry is held (per OCA, summed), their CMCD and bytes served away, and the reports not answered.
 */
export function linkMemory(siteId: string): { entryTimes: number; sessions: number; cmcd: number; away: number; unacked: number } {
  const l = links.get(siteId);
  let sessions = 0;
  for (const b of l?.batch.values() ?? []) sessions += b.sessions.size;
  return { entryTimes: l?.entrySentAt.size ?? 0, sessions, cmcd: l?.cmcd.size ?? 0, away: l?.away.size ?? 0, unacked: l?.unacked.length ?? 0 };
}

/** An OCA's fault switch as last known by this isolate (null: none). */
export function ocaFault(siteId: string, ocaId: string): OcaFault | null {
  return link(siteId).view?.ocas.find((o) => o.ocaId === ocaId)?.fault ?? null;
}

/** Counts a content miss (the OCA lacked the file and served it from a parent or origin); sent with the next sync. */
export function recordMiss(env: Env, siteId: string, ocaId: string, titleId: string, bytes: number, waitUntil: (p: Promise<unknown>) => void): void {
  const l = link(siteId);
  const o = batchOf(l, ocaId);
  const m = o.misses.get(titleId);
  if (m) {
    m.count++;
    m.bytes += bytes;
  } else if (o.misses.size < MAX_REPORT_ITEMS) o.misses.set(titleId, { count: 1, bytes });
  scheduleFlush(env, siteId, l, waitUntil);
}

/**
 * Records a play at its home site: it rides the site's next sync (within its interval), so a play costs no
 * Durable Object call of its own and a busy site gets one call per isolate per second, not one per play.
 */
export function recordPlayAt(env: Env, siteId: string, play: PlayReport, waitUntil: (p: Promise<unknown>) => void): void {
  const l = link(siteId);
  if (l.plays.length >= MAX_REPORT_ITEMS) {
    // A full batch goes now rather than dropping plays. While a sync is running or the site's circuit is
    // open, it cannot: a play past MAX_REPORT_ITEMS waiting is then not counted (the bound on what an
    // isolate keeps for a site it cannot reach; the session's bytes still count, kept for its play).
    waitUntil(maybeSync(env, siteId, l, true) ?? Promise.resolve());
  }
  if (l.plays.length < MAX_REPORT_ITEMS) l.plays.push(play);
  scheduleFlush(env, siteId, l, waitUntil);
}

/** Adds one session's CMCD to the pending batch. */
function mergeCmcd(l: Link, r: CmcdReport): void {
  const prev = l.cmcd.get(r.sessionId);
  if (prev) l.cmcd.set(r.sessionId, sumCmcd(prev, r));
  else if (l.cmcd.size < SESSIONS_HELD_MAX) l.cmcd.set(r.sessionId, { ...r });
}

/**
 * Records what a player said in CMCD on one request served to a session, at the session's home site
 * (from its signed token): it rides that site's next sync, like a play. `bytes` is what was served.
 */
export function recordCmcd(
  env: Env,
  homeSiteId: string,
  s: { sessionId: string; titleId: string; oca: string; bytes: number; at: number },
  sample: { sid: string | null; br: number | null; bl: number | null; mtp: number | null; bs: boolean; su: boolean },
  waitUntil: (p: Promise<unknown>) => void,
): void {
  const l = link(homeSiteId);
  mergeCmcd(l, {
    sessionId: s.sessionId,
    titleId: s.titleId,
    sid: sample.sid,
    requests: 1,
    bytes: s.bytes,
    stalls: sample.bs ? 1 : 0,
    startups: sample.su ? 1 : 0,
    bitrateKbps: sample.br,
    bufferMs: sample.bl,
    throughputKbps: sample.mtp,
    topBitrateKbps: sample.br,
    lastOca: s.oca,
    firstAt: s.at,
    lastAt: s.at,
  });
  scheduleFlush(env, homeSiteId, l, waitUntil);
}
