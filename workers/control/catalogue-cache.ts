import { SingleFlight } from "../shared/single-flight";
import { catalogueDb, type LicenceRow } from "../shared/catalogue-db";
import { checkLicence } from "./catalogue";
import { stoppedBy, type LicenceStop } from "../../shared/withdrawn";
import { steeringTable, type CandidateRow } from "../shared/steering-table";
import { SwrCache } from "../shared/swr-cache";
import { ApiError } from "../shared/errors";
import { viewTtlMs } from "../shared/view-ttl";
import { setBounded } from "../shared/bounded-map";
import { D1ReadTimeout, type D1Reads, newestBookmark, readReplica, VIEW_READ_TIMEOUT_MS } from "../shared/replica-reads";
import { topologyVersionSeen } from "../shared/topology-live";
import { compareBrowse } from "./browse-page";
import { coloNamespace } from "../shared/colo-namespace";
import { lookWindowMs, sessionsFrom, sharedLook, shareLook } from "./colo-look";
import { browseShare, plansShare, type SharedLoad, sharedEntry, shareEntry, titleContextShare, versionRowsShare } from "./colo-loads";

/**
 * The control plane's per-isolate view of the catalogue and the steering view: what play and
 * steering read on every request. Each title's entry is loaded from D1 once and kept while the title
 * does not change: every CATALOGUE_TTL_S the isolate asks D1 one question, which titles changed since
 * its last look (stamps kept by triggers, migration 0005; the same statement brings the live
 * topology's version), and drops only those entries. Isolates of a colo that saw the same state
 * share the answer through the Cache API for half a TTL (colo-look.ts). So the steady state costs one
 * D1 query per colo per half TTL (one per isolate per TTL where the Cache API keeps nothing) whatever
 * the number of titles or isolates, and neither hot path waits on D1 (the question is asked in the
 * background while requests go on). A title published,
 * re-published or taken down shows within 2 × CATALOGUE_TTL_S (plus a read replica's lag: every read
 * here goes through `readReplica`). While D1 cannot be reached, what was cached keeps serving for
 * STALE_IF_ERROR_MS after the last successful look. A D1 that hangs holds a request at most LOOK_WAIT_MS
 * when the isolate has a view to answer from (else the read's bound, VIEW_READ_TIMEOUT_MS), and once it
 * is known to hang no request waits on it: one look per TTL asks again behind a request's answer. Known
 * to hang means to this isolate: a colo's shared answer refreshes its view but says nothing of its own
 * reads, so only one of those answered ends the hang (while it lasts, a look the colo answers asks D1 too).
 */

/** How long cached catalogue answers keep serving while D1 is unreachable. */
export const STALE_IF_ERROR_MS = 10 * 60_000;
/** A change stamped this long before the latest stamp a look saw is still seen by the next (clock steps, slow commits). */
const CHANGE_SLACK_MS = 2_000;
/** Plans change by migration only: they are kept this many catalogue TTLs. */
const PLANS_TTLS = 12;

type TitleContext = NonNullable<Awaited<ReturnType<typeof catalogueDb.titleContext>>>;
type Plans = Awaited<ReturnType<typeof catalogueDb.plans>>;
type Stamp = { stamp: number; changedAt: number } | null;
interface VersionView {
  candidates: CandidateRow[];
  /** Null: up; 0: an unknown title. */
  takenDownAt: number | null;
  /** Until when the longest licence runs (null: open-ended; 0: none). */
  licensedUntil: number | null;
  /** By country. */
  licences: Map<string, LicenceRow>;
  /** By country, what registrations stopped of the licence there. */
  stops: Map<string, LicenceStop[]>;
}

/** Where a session of a title stands: served, the title stopped everywhere, or the licence that granted it stopped. */
export type SessionStanding = "up" | "taken_down" | "not_licensed";

/**
 * A title is up while it is not taken down and one of its licences has not ended (its last licence
 * ending takes it down); a session granted at `grantedAt` under `country`'s licence plays while that
 * country is licensed now and no registration stopped the licence since it was granted.
 */
function standing(view: VersionView, session: { country: string | null; grantedAt: number }, now: number): SessionStanding {
  if (view.takenDownAt !== null || (view.licensedUntil !== null && view.licensedUntil <= now)) return "taken_down";
  const { country, grantedAt } = session;
  if (country === null || !checkLicence(view.licences.get(country) ?? null, country, now).ok) return "not_licensed";
  return stoppedBy(view.stops.get(country), grantedAt, now) ? "not_licensed" : "up";
}

/** Bounded maps of entries by title (least recently used go first), each with the stamp it was loaded at. */
export class StampedEntries<V> {
  private readonly entries = new Map<string, { value: V; titleId: string; stamp: Stamp }>();
  /**
   * Each title's keys: a change look drops a changed title's entries without walking the whole map (a
   * health change stamps every title its OCA holds, thousands in one look, in every isolate).
   */
  private readonly keysOf = new Map<string, Set<string>>();
  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  set(key: string, titleId: string, value: V, stamp: Stamp): void {
    // A look that saw a newer change while this was loading: the loaded value is already old.
    const seen = latestSeen.get(titleId);
    if (seen && (!stamp || seen.changedAt > stamp.changedAt || (seen.changedAt === stamp.changedAt && seen.stamp > stamp.stamp))) return;
    this.remove(key);
    this.entries.set(key, { value, titleId, stamp });
    const keys = this.keysOf.get(titleId);
    if (keys) keys.add(key);
    else this.keysOf.set(titleId, new Set([key]));
    while (this.entries.size > this.max) this.remove(this.entries.keys().next().value as string);
  }

  /** Drops the title's entries unless they were loaded at `stamp` (a title that appeared drops its "unknown"). */
  invalidate(titleId: string, stamp: Stamp): void {
    const keys = this.keysOf.get(titleId);
    if (!keys) return;
    for (const k of [...keys]) {
      const e = this.entries.get(k);
      if (!(e?.stamp && stamp && e.stamp.stamp === stamp.stamp && e.stamp.changedAt === stamp.changedAt)) this.remove(k);
    }
  }

  /** How many entries are kept (tests). */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.keysOf.clear();
  }

  private remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    const keys = this.keysOf.get(e.titleId);
    keys?.delete(key);
    if (keys?.size === 0) this.keysOf.delete(e.titleId);
  }
}

/** The newest change each look reported per title (bounded), so a load that raced a change is not kept. */
const latestSeen = new Map<string, { stamp: number; changedAt: number }>();

const titles = new StampedEntries<TitleContext>(2000);
/** Ids asked for that name no title, apart: a flood of made-up ids cannot push real titles out. */
const unknownTitles = new StampedEntries<null>(500);
const versions = new StampedEntries<VersionView>(4000);
/** Every map of entries by title: what a change look invalidates and a fresh start drops. */
const titleEntries = [titles, unknownTitles, versions];
/**
 * Fresh starts so far. A load begun before one is not kept: the look that started afresh names no
 * change (latestSeen is emptied), and the next looks start past what it passed over.
 */
let freshStarts = 0;
const dropTitleEntries = () => {
  freshStarts++;
  for (const entries of titleEntries) entries.clear();
};
const plans = new SwrCache<Plans>({ max: 1, staleIfErrorMs: STALE_IF_ERROR_MS });
type Browse = Awaited<ReturnType<typeof catalogueDb.browse>>;
/**
 * A country's browse list as loaded: every title playable there at some moment until the list can no
 * longer be served (its licence starting or ending meanwhile), and the list at one moment, kept until
 * the next start or end.
 */
interface BrowseLoad {
  rows: Browse;
  at?: { list: Browse; from: number; until: number };
}
/** The browse list per country (ISO 3166 has about 250). */
const browseLists = new SwrCache<BrowseLoad>({ max: 300, staleIfErrorMs: STALE_IF_ERROR_MS });

/**
 * The titles of a loaded list playable at `now`: a licence's start or end shows in the list at that
 * moment, as play answers it, not when the list is next loaded (up to 2 × TTL, or while D1 is down
 * STALE_IF_ERROR_MS, later).
 */
function playableAt(load: BrowseLoad, now: number): Browse {
  if (load.at && now >= load.at.from && now < load.at.until) return load.at.list;
  let until = Number.POSITIVE_INFINITY;
  for (const r of load.rows) {
    if (r.available_from > now) until = Math.min(until, r.available_from);
    else if (r.available_until !== null && r.available_until > now) until = Math.min(until, r.available_until);
  }
  const list = load.rows.filter((r) => r.available_from <= now && (r.available_until === null || r.available_until > now));
  load.at = { list, from: now, until };
  return list;
}

/**
 * The isolate's last look at D1's changes. `okAt`: when the last successful look started (answered by
 * D1 or by the colo: the view is that fresh); `failedAt`: when D1 last failed a read (a look started
 * then, or a load): D1 is failing while that is later than `okAt`. `hungAt`: when D1 last left one of
 * this isolate's reads unanswered past its bound; `ownOkAt`: when the last read this isolate asked D1
 * itself, and D1 answered, started: D1 hangs (for this isolate) while `hungAt` is later.
 */
const watch: {
  since: number | null;
  seen: { latest: number; mark: number } | null;
  lookedAt: number;
  okAt: number;
  failedAt: number;
  hungAt: number;
  ownOkAt: number;
  /** The next look asks D1 itself, not the colo (a change made here). */
  ownLook: boolean;
  /** Changes made here so far (`changedHere`): a look begun before the latest does not stand for the look it asks. */
  changes: number;
  /**
   * The bookmark of the newest colo answer taken: every read starts no older (colo-look.ts), so what it
   * loads, and shares, is at least as new as the state it is keyed by.
   */
  floor: string | null;
  /** Looks answered by the colo's shared answer (tests). */
  sharedLooks: number;
  background: SingleFlight;
} = {
  since: null,
  seen: null,
  lookedAt: 0,
  okAt: 0,
  failedAt: 0,
  hungAt: 0,
  ownOkAt: 0,
  ownLook: false,
  changes: 0,
  floor: null,
  sharedLooks: 0,
  background: new SingleFlight(30_000),
};

/**
 * How long a request that holds a view waits for a look at D1's changes before answering from that view
 * (the look goes on behind the answer). D1 answers a look in milliseconds; one that has not answered
 * by then is counted as failed, so the requests after it do not wait at all (stale-if-error).
 */
export const LOOK_WAIT_MS = 2_000;

type WaitUntil = (p: Promise<unknown>) => void;

const unavailableError = () =>
  new ApiError(503, "catalogue_unavailable", "the catalogue cannot be read right now; retry shortly", undefined, { "Retry-After": "5" });

/** D1 failed a read since the last successful look: requests answer from what is held, and one look per TTL asks again. */
const failing = () => watch.failedAt > watch.okAt;
/**
 * D1 left one of this isolate's reads unanswered since it last answered one: a load then does not wait
 * on it either and answers 503 at once (one that refuses at once is still asked: that costs no wait), and
 * no look is waited for. A colo's shared answer does not end it: other isolates reach D1, this one may not.
 */
const hanging = () => watch.hungAt > watch.ownOkAt;
/**
 * Requests do not wait on D1: it fails, or hangs for this isolate. Not the same: a read that hung past a
 * look the colo answered, begun before the read's bound ran out, leaves the isolate hanging yet not failing.
 */
const troubled = () => failing() || hanging();

/** Notes a read of this isolate's own (started at `startedAt`) that D1 answered. */
function answered(startedAt: number): void {
  watch.ownOkAt = Math.max(watch.ownOkAt, startedAt);
}

/** Notes a read D1 failed (started at `startedAt`), and whether it hung. */
function failed(startedAt: number, err: unknown): void {
  watch.failedAt = Math.max(watch.failedAt, startedAt);
  if (err instanceof D1ReadTimeout) watch.hungAt = Math.max(watch.hungAt, startedAt);
}

/** Whether `run` settles within `ms`; if not, it goes on behind the request's answer (its own promise, its own waitUntil). */
async function settlesWithin(run: Promise<void>, ms: number, waitUntil?: WaitUntil): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const settled = await Promise.race([run.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)))]);
  if (timer !== null) clearTimeout(timer);
  if (!settled) waitUntil?.(run);
  return settled;
}

/**
 * Loads an entry through a D1 session (a read replica deployed: see `readReplica`, which bounds the read).
 * D1 failing with nothing cached to fall back on is a documented 503, never a bare 500; while D1 hangs a
 * load does not ask it (the look asks, once per TTL) and answers the 503 at once.
 */
async function load<T>(env: Env, read: (db: D1Reads) => Promise<T>, waitUntil?: WaitUntil, shared?: SharedLoad<T>): Promise<T> {
  // Loads that sync() does not precede (browse lists, plans) ask again through the look too.
  await probe(env, waitUntil);
  // The state this isolate has seen, taken before the read: what the read then finds is at least as new.
  // None while a change made here is not looked for yet (a browse list or the plans, which no look
  // precedes): the colo's entry at that state may predate the change.
  const seen = viewTtlMs(env) > 0 && shared && !watch.ownLook ? watch.seen : null;
  const held = shared ? await sharedEntry(coloNamespace(env), seen, shared) : null;
  if (held !== null) return held;
  if (hanging()) throw unavailableError();
  const startedAt = Date.now();
  try {
    const value = await readReplica(sessionsFrom(env.DB, watch.floor), read);
    answered(startedAt);
    if (shared) {
      const put = shareEntry(coloNamespace(env), seen, shared, value);
      if (waitUntil) waitUntil(put);
      else await put;
    }
    return value;
  } catch (err) {
    console.error("catalogue read failed", err);
    failed(startedAt, err);
    throw unavailableError();
  }
}

/** Whether stamp `a` is a later change than `b` (time, then the title's count of changes). */
const laterStamp = (a: { stamp: number; changedAt: number }, b: { stamp: number; changedAt: number }) =>
  a.changedAt > b.changedAt || (a.changedAt === b.changedAt && a.stamp > b.stamp);

/**
 * Asks D1 (or the colo's shared answer, unless `inD1`) which titles changed since the last look and drops
 * their entries; true when the colo answered.
 */
async function lookForChanges(env: Env, startedAt: number, inD1: boolean, waitUntil?: WaitUntil): Promise<boolean> {
  // Whether this look is a first one is what it asked, not what a look that ended meanwhile left: a first
  // look lists no change, so one that ended after another must still start afresh.
  const since = watch.since;
  const seen = watch.seen;
  const changes = watch.changes;
  const ttl = viewTtlMs(env);
  // A change made through this isolate is looked for in D1 itself: a colo's answer may predate it.
  let answer = watch.ownLook || inD1 ? null : await sharedLook(coloNamespace(env), ttl, startedAt, seen);
  const byColo = answer !== null;
  if (answer) {
    watch.sharedLooks++;
    if (answer.bookmark !== null && (watch.floor === null || answer.bookmark > watch.floor)) watch.floor = answer.bookmark;
  } else {
    const look = await readReplica(sessionsFrom(env.DB, watch.floor), (db) => catalogueDb.changedSince(db, since ?? Number.MAX_SAFE_INTEGER, seen));
    answered(startedAt);
    answer = { ...look, bookmark: newestBookmark() };
    // The colo's other isolates take it; this request does not wait for the cache to (its own waitUntil).
    const put = shareLook(coloNamespace(env), ttl, startedAt, seen, look, answer.bookmark);
    if (waitUntil) waitUntil(put);
    else await put;
  }
  const { latest, mark, topologyVersion, changed } = answer;
  // Too many to list, or a first look: start afresh.
  if (since === null || changed.length > 10_000) {
    dropTitleEntries();
    latestSeen.clear();
  } else {
    for (const c of changed) {
      // Looks may end out of order: an older answer neither forgets a later change nor drops what was loaded at it.
      const listed = { stamp: c.view_stamp, changedAt: c.view_changed_at };
      const known = latestSeen.get(c.id);
      const stamp = known && laterStamp(known, listed) ? known : listed;
      setBounded(latestSeen, c.id, stamp, 20_000);
      for (const entries of titleEntries) entries.invalidate(c.id, stamp);
    }
  }
  // The state moves only forward (the latest change, then its mark, only grow): an answer from before
  // one already taken would key this isolate's loads, and the colo entries it reads, by an older state.
  const at = watch.seen;
  if (at === null || latest > at.latest || (latest === at.latest && mark >= at.mark)) {
    watch.since = latest - CHANGE_SLACK_MS;
    watch.seen = { latest, mark };
  }
  // The live topology's version rode the same statement: its own look need not ask.
  await topologyVersionSeen(sessionsFrom(env.DB, watch.floor), topologyVersion);
  // A look begun before a change made here does not stand for the look that change asks for.
  if (watch.changes === changes) {
    watch.ownLook = false;
    watch.lookedAt = Math.max(watch.lookedAt, startedAt);
  }
  watch.okAt = Math.max(watch.okAt, startedAt);
  return byColo;
}

/** Counts a look (started at `startedAt`) as failed: what is held serves until STALE_IF_ERROR_MS after the last good one. */
function lookFailed(startedAt: number, err: unknown): void {
  watch.lookedAt = Date.now();
  failed(startedAt, err);
  dropIfPastStale();
}

/** Past STALE_IF_ERROR_MS of failing (or hanging) since the last good look, nothing held is served any more (a title then answers 503). */
function dropIfPastStale(): void {
  if (!troubled() || Date.now() - watch.okAt < STALE_IF_ERROR_MS) return;
  if (titleEntries.some((entries) => entries.size > 0)) dropTitleEntries();
}

/**
 * One look at D1's changes, waited for at most `waitMs` (then counted failed and left running behind the
 * answer). While D1 hangs for this isolate, a look the colo answers asks D1 too: the colo's answer
 * refreshes the view, D1's own tells whether this isolate's reads are answered again (no request waits
 * for it: a hanging isolate's looks run behind the answer, see `sync` and `probe`).
 */
async function look(env: Env, waitMs: number, waitUntil?: WaitUntil): Promise<void> {
  const startedAt = Date.now();
  const askD1Too = hanging();
  const run = lookForChanges(env, startedAt, false, waitUntil).then(
    (byColo) => (byColo && askD1Too ? lookInD1(env, waitUntil) : undefined),
    (err) => {
      console.error("catalogue change look failed", err);
      lookFailed(startedAt, err);
    },
  );
  if (!(await settlesWithin(run, waitMs, waitUntil))) {
    console.error(`catalogue change look: no answer from D1 within ${waitMs} ms; serving what is held`);
    lookFailed(startedAt, new D1ReadTimeout(waitMs));
  }
}

/** A look asked of D1 itself after the colo answered one (the view is fresh): a failure counts only as a failed read. */
async function lookInD1(env: Env, waitUntil?: WaitUntil): Promise<void> {
  const startedAt = Date.now();
  try {
    await lookForChanges(env, startedAt, true, waitUntil);
  } catch (err) {
    console.error("catalogue change look in D1 failed", err);
    failed(startedAt, err);
  }
}

/**
 * While D1 is failing, or hangs for this isolate: once per TTL one request asks again (its own look, through
 * the single flight), so the isolate recovers by itself when D1 is back; every other request goes on at
 * once with what is held. Loads call it too (browse lists, plans: no `sync` precedes them): while D1
 * hangs they ask it nothing, so without this look an isolate serving only them would hang for ever.
 * D1 refusing, the request waits for that look (a refusal is quick, and the request then sees D1 back);
 * D1 hanging, the look runs behind its answer (no request waits on a D1 known to hang).
 */
async function probe(env: Env, waitUntil?: WaitUntil): Promise<void> {
  if (!troubled()) return;
  dropIfPastStale();
  if (Date.now() - watch.lookedAt < viewTtlMs(env)) return;
  if (hanging()) {
    watch.background.startBehind(() => look(env, VIEW_READ_TIMEOUT_MS + LOOK_WAIT_MS, waitUntil), waitUntil);
    return;
  }
  const run = watch.background.start(() => look(env, LOOK_WAIT_MS, waitUntil));
  if (run) await run;
}

/**
 * Brings the isolate's entries up to date: nothing within the TTL, a look in the background up to 1.5 ×
 * TTL, and beyond that the request waits for the look (a first look up to the read's bound, a later one
 * LOOK_WAIT_MS: it holds a view to answer from). A look may be answered by the colo's shared answer,
 * up to half a TTL old (colo-look.ts), so a view is never more than 2 × TTL behind D1. If D1 cannot answer, cached entries serve until
 * STALE_IF_ERROR_MS after the last successful look, then every read answers 503; while it fails, or
 * hangs for this isolate, requests do not wait for it (see `probe`). A request that must wait makes its
 * own look (see SingleFlight).
 */
async function sync(env: Env, waitUntil?: WaitUntil): Promise<void> {
  // D1 hanging for this isolate, even while the colo's answers keep its view fresh (not failing): no
  // request waits on a look, not even one a change made here asks for; what is held answers, within
  // STALE_IF_ERROR_MS of the last good look (an isolate idle that long no longer serves its old view).
  if (troubled()) return probe(env, waitUntil);
  const ttl = viewTtlMs(env);
  const age = Date.now() - watch.lookedAt;
  if (age < ttl && watch.since !== null) return;
  if (age < ttl + lookWindowMs(ttl) && watch.since !== null) {
    watch.background.startBehind(() => look(env, VIEW_READ_TIMEOUT_MS + LOOK_WAIT_MS, waitUntil), waitUntil);
    return;
  }
  await look(env, watch.since === null ? VIEW_READ_TIMEOUT_MS : LOOK_WAIT_MS, waitUntil);
}

export const catalogueCache = {
  /**
   * The catalogue changed through this isolate (an operator's registration or takedown): its next read
   * waits for a look at D1's changes instead of serving what it holds for up to 2 × TTL, and its browse
   * lists load again. Other isolates learn it within their TTL, as ever.
   */
  changedHere(): void {
    watch.lookedAt = Number.NEGATIVE_INFINITY;
    watch.ownLook = true;
    watch.changes++;
    browseLists.clear();
  },

  /** Whether this isolate holds a view of the title, known or unknown (asking for it then reads no D1 unless the view is stale). */
  holds(titleId: string): boolean {
    return titles.get(titleId) !== undefined || unknownTitles.get(titleId) !== undefined;
  },

  /** A title with its renditions, licences and current candidates; null when unknown. */
  async title(env: Env, titleId: string, waitUntil?: WaitUntil): Promise<TitleContext | null> {
    await sync(env, waitUntil);
    const cached = titles.get(titleId) ?? unknownTitles.get(titleId);
    if (cached !== undefined) return cached;
    const at = freshStarts;
    const ctx = await load(env, (db) => catalogueDb.titleContext(db, titleId), waitUntil, titleContextShare(titleId));
    if (at !== freshStarts) return ctx;
    if (ctx) titles.set(titleId, titleId, ctx, { stamp: ctx.title.view_stamp, changedAt: ctx.title.view_changed_at });
    else unknownTitles.set(titleId, titleId, null, null);
    return ctx;
  },

  /** The titles playable now in a country (the browse list), refreshed every 0.75 CATALOGUE_TTL_S in the background. */
  async browse(env: Env, country: string, waitUntil?: WaitUntil): Promise<Browse> {
    // Sorted again in code-unit order, the order of browse pages and their cursors (SQLite orders UTF-8
    // bytes, which differs past U+D7FF), once per load rather than per page. A load is served for up to
    // STALE_IF_ERROR_MS (D1 down), so it holds the titles whose licence starts within that.
    // A list another isolate of the colo loaded in this half TTL's window serves too (it reaches a TTL
    // further): taken again every 0.75 TTL, a list at most half a TTL old keeps a change's 2 × TTL.
    const ttl = viewTtlMs(env);
    const loadSorted = () => {
      const now = Date.now();
      const until = now + Math.max(STALE_IF_ERROR_MS, 2 * ttl) + ttl + 1;
      const shared = ttl > 0 ? browseShare(country, Math.floor(now / lookWindowMs(ttl))) : undefined;
      return load(env, (db) => catalogueDb.browse(db, country, now, until), waitUntil, shared).then((rows): BrowseLoad => ({ rows: rows.sort(compareBrowse) }));
    };
    return playableAt(await browseLists.get(country, 0.75 * ttl, loadSorted, waitUntil), Date.now());
  },

  /** A plan by id, or null. */
  async plan(env: Env, planId: string, waitUntil?: WaitUntil) {
    const keptMs = PLANS_TTLS * viewTtlMs(env);
    const read = () => load(env, (db) => catalogueDb.plans(db), waitUntil, keptMs > 0 ? plansShare(Math.floor(Date.now() / keptMs)) : undefined);
    return (await plans.get("plans", keptMs, read, waitUntil)).get(planId) ?? null;
  },

  /**
   * The candidates of one title version (a session's steering), and where a session granted at
   * `session.grantedAt` under `session.country`'s licence stands now: up, the title taken down (or its
   * last licence ended), or that licence stopped.
   */
  async version(
    env: Env,
    titleId: string,
    version: number,
    session: { country: string | null; grantedAt: number },
    waitUntil?: WaitUntil,
  ): Promise<{ standing: SessionStanding; candidates: CandidateRow[] }> {
    await sync(env, waitUntil);
    const key = `${titleId}|${version}`;
    let view = versions.get(key);
    if (!view) {
      const at = freshStarts;
      const [rows, state, licences, stopRows] = await load(
        env,
        (db) =>
          db
            .batch([
              steeringTable.candidates(db, titleId, version),
              catalogueDb.titleState(db, titleId),
              catalogueDb.licences(db, titleId),
              catalogueDb.licenceStops(db, titleId),
            ])
            .then((results) => results.map((r) => r.results)),
        waitUntil,
        versionRowsShare(titleId, version),
      );
      const stops = new Map<string, LicenceStop[]>();
      for (const r of stopRows as Array<{ country: string; at: number; granted_before: number }>) {
        const stop = { at: r.at, grantedBefore: r.granted_before };
        const list = stops.get(r.country);
        if (list) list.push(stop);
        else stops.set(r.country, [stop]);
      }
      const s = state[0] as { taken_down_at: number | null; view_stamp: number; view_changed_at: number } | undefined;
      const byCountry = new Map((licences as LicenceRow[]).map((l) => [l.country, l]));
      const ends = [...byCountry.values()].map((l) => l.available_until);
      view = {
        candidates: rows as CandidateRow[],
        takenDownAt: s ? s.taken_down_at : 0,
        licensedUntil: ends.length === 0 ? 0 : ends.includes(null) ? null : Math.max(...(ends as number[])),
        licences: byCountry,
        stops,
      };
      if (at === freshStarts) versions.set(key, titleId, view, s ? { stamp: s.view_stamp, changedAt: s.view_changed_at } : null);
    }
    return { standing: standing(view, session, Date.now()), candidates: view.candidates };
  },

  /** The next read waits for a look, as after an isolate sat idle past 1.5 × TTL (tests). */
  staleNow(): void {
    watch.lookedAt = Number.NEGATIVE_INFINITY;
  },

  /** Forgets everything (tests). */
  clear(): void {
    dropTitleEntries();
    plans.clear();
    browseLists.clear();
    latestSeen.clear();
    watch.since = null;
    watch.seen = null;
    watch.lookedAt = 0;
    watch.okAt = 0;
    watch.failedAt = 0;
    watch.hungAt = 0;
    watch.ownOkAt = 0;
    watch.ownLook = false;
    watch.floor = null;
  },

  /** How many looks the colo's shared answer served since the isolate started (tests; `clear` keeps it). */
  get sharedLooks(): number {
    return watch.sharedLooks;
  },
};
