import { DurableObject } from "cloudflare:workers";
import { ocaKey, originKey } from "../shared/file-keys";
import { findSite, parentChain, servedCountries, topology, topologyVersion, type OcaSpec, type SiteSpec } from "../workers/shared/topology";
import { viewLagMs } from "../workers/shared/view-ttl";
import { MAX_PROBERS, siteStub, tierBucket } from "../workers/shared/site-link";
import { MAX_UNACKED_REPORTS, measuredAt } from "../workers/shared/unacked-reports";
import { memberStreamsId } from "../workers/shared/stream-activity";
import { steeringTable } from "../workers/shared/steering-table";
import { catalogueDb, type LiveVersion } from "../workers/shared/catalogue-db";
import { COPY_STALL_MS, copyFrom, type TitleFile } from "./site/copy-file";
import * as fillQueue from "./site/fill-queue";
import * as holdings from "./site/holdings";
import { ActiveSessions, ingestEdgeReport, ingestServedElsewhere, liveView, missesByKind, missesByTitle, recordMiss, reportBytes } from "./site/load";
import { capacityOf, clearHealthRow, healthOf, operatorHealthOf, setCapacityRow, setHealthRow, setThroughputRow, throughputOf } from "./site/oca-settings";
import * as autoHealth from "./site/auto-health";
import { liveTopology } from "../workers/shared/topology-live";
import * as served from "./site/served";
import { appliedMigrations, migrate } from "./site/schema";
import * as plan from "./site/plan";
import { chooseSource, type ParentOffer } from "./site/sources";
import { getMeta, getMetaJson, rows, run, setMeta } from "./site/sql";
import {
  addToDay,
  batchingViews,
  finiteNonNegative as finite,
  history,
  isPlayReport,
  pruneViews,
  recordPlays,
  recordReport,
  settleSessions,
  type PlayRecord,
} from "./site/viewing-history";
import { dayNumber, localDayStart, localHour } from "../fill/day";
import { HISTORY_DAYS } from "../fill/predict";
import {
  MAX_REPORT_ITEMS,
  loadClass,
  type ByteReport,
  type EdgeReport,
  type MissKind,
  type OcaFault,
  type OcaHealth,
  type OcaLive,
  type PlayReport,
  type SiteLiveView,
  ANSWER_CUT_OFF,
  type AnswerCutOff,
  type CutOffMark,
} from "../workers/shared/site-view";
import { isSafeId, isSessionId, isStreamsId } from "../shared/ids";
import { PUBLISH_LOAD_MS, PUBLISH_LOAD_QUIET_MS } from "../shared/load-publication";

import type { FillSource, HeldFile } from "./site/holdings";
import { cmcdSession, ingestCmcd, type CmcdSession } from "./site/cmcd";
import { IsolatesHeard } from "./site/isolates-heard";
import { CatchUpBudget } from "./site/catch-up-budget";
import { countedUpTo, countOnce, forgetQuietSenders, noteCountedUpTo } from "./site/counted-up-to";
import * as retired from "./site/retired-ocas";
import { cutOffReason, cutOffSummary, cutOffView } from "./site/cut-off";

/** A copy found its OCA's room taken by another fill between the plan's check and its own reservation. */
class NoRoom extends Error {}
/** A copy found its OCA retired (or hidden while its earlier rows go) by the time it held the copy's lock. */
class Retired extends Error {}

export type { EdgeReport, OcaHealth, OcaLive, SiteLiveView } from "../workers/shared/site-view";
export type { TitleFile } from "./site/copy-file";
export type { PlayRecord, ReportRecord } from "./site/viewing-history";
export type { FillSource, HeldFile } from "./site/holdings";
export type { ApplyPlanInput, ApplyPlanResult, CycleFigures, FillProgress, FillResult, OcaState, OpsSummary, RetiringOca, SiteState } from "./site/rpc-types";
import type {
  ApplyPlanInput,
  ApplyPlanResult,
  BySource,
  CycleFigures,
  FillProgress,
  FillResult,
  OcaState,
  OpsSummary,
  RetiringOca,
  SiteState,
} from "./site/rpc-types";

/** Whether a held title was last found complete at the catalogue's current version of it. */
const isCompleteAt = (t: { titleId: string; completeVersion: number | null }, current: Map<string, number>): boolean =>
  t.completeVersion !== null && t.completeVersion === current.get(t.titleId);

/** A source the fill reads from, resolved to a bucket and key. */
interface Source {
  source: FillSource;
  label: string;
  bucket: R2Bucket;
  key: string;
}

const TICK_MS = 1_000;
/** The longest a failing part of the alarm's work (a fill run, the reconcile) waits before its next try (see retryAfter). */
const ALARM_RETRY_CAP_MS = 5 * 60_000;

const ALARM_BUDGET_MS = 20_000;
/**
 * Titles one alarm run reconciles (held here or listed for the site): a site of thousands of titles is
 * checked a slice per run, all of it every few minutes while the fill runs, and no run reads every
 * file of every title it holds from D1.
 */
const RECONCILE_TITLES = 32;
/** Titles describe() checks against the catalogue's files at most per call (see describe). */
const DESCRIBE_CHECKS = 8;
/** Titles per OCA and misses describe() lists unless asked for another count (at most DESCRIBE_LIST_MAX). */
const DESCRIBE_TITLES_DEFAULT = 100;
const DESCRIBE_MISSES_DEFAULT = 100;
const DESCRIBE_LIST_MAX = 1000;
/** Viewing-history rows in a page unless asked for another count (at most DESCRIBE_LIST_MAX × 5). */
const VIEWS_PAGE_DEFAULT = 1000;
/** Planned titles lastCycle() lists unless asked for another count (at most DESCRIBE_LIST_MAX × 5). */
const PLAN_PAGE_DEFAULT = 1000;
/** A count a caller asked for, whole and within 0..DESCRIBE_LIST_MAX × 5 (the RPC's own bound: callers validate theirs). */
const boundedCount = (n: number | undefined, fallback: number): number =>
  n === undefined || !Number.isFinite(n) ? fallback : Math.min(DESCRIBE_LIST_MAX * 5, Math.max(0, Math.floor(n)));

interface ReconcileCounts {
  published: number;
  unpublished: number;
  pruned: number;
}
/** Of an alarm run, at most this long goes to deleting what a cut-off run left half-made or half-evicted. */
const STRANDED_BUDGET_MS = 5_000;
/**
 * Files one manual fill call copies at most: each copy is three R2 calls (read, write, check), so 2,000
 * stay well within the 10,000 subrequests a request may make on Workers Paid, whatever a title's length.
 */
export const FILL_FILES_PER_CALL_MAX = 2_000;
/** Keys one R2 delete call takes at most. */
const R2_DELETE_MAX = 1_000;
/** How long one alarm waits for a parent site's answer before treating it as having nothing. */
const PARENT_TIMEOUT_MS = 5_000;

const EMPTY_DONE = (): BySource<{ files: number; bytes: number }> => ({
  peer: { files: 0, bytes: 0 },
  parent: { files: 0, bytes: 0 },
  origin: { files: 0, bytes: 0 },
});

/**
 * One Durable Object per OCA site: the truth of its OCAs, what each holds, health, load, misses,
 * viewing history and fill. This class is the RPC surface; each concern lives in a module under
 * `site/` that takes the storage it needs. It is the one writer of the site's rows in the D1
 * steering view (`workers/shared/steering-table.ts`), which it repairs on every alarm run.
 */
export class OcaSite extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly running = new Map<string, Promise<FillResult>>();
  /** Per (OCA, title): copies, publishes and evictions of one copy never interleave. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Isolates syncing lately, which set the interval each is asked to sync at. */
  private readonly isolatesHeard = new IsolatesHeard();
  /** Each OCA's health and load class (loadClass) as last published to D1 (in memory: after a restart the next sync publishes). */
  private publishedShape: string | null = null;
  /** Each OCA's active sessions, counted at most once a second (every sync's answer carries them). */
  private readonly activeSessions = new ActiveSessions();
  /** Members whose probes each OCA answered lately (in memory: healthy traffic, no row written per probe). */
  private readonly probers = new autoHealth.RecentProbers();
  /** Reports event shards' catch-up forwards may bring in now (see CatchUpBudget). */
  private readonly catchUp = new CatchUpBudget();
  /** (OCA, title) pairs describe() found incomplete though all their rows were ready, at that ready count: not checked again until it changes. */
  private readonly checkedIncomplete = new Map<string, number>();
  /** Retired OCAs whose clean-up is under way (read from storage at each change): who the site hides (see `site`). */
  private retiring = new Map<string, { stage: retired.RetiredStage; leftAtVersion: number }>();
  /** How long a copy may make no progress before it is given up (see COPY_STALL_MS; tests shorten it). */
  private copyStallMs = COPY_STALL_MS;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage);
      this.loadRetiring();
      // The site's spec (its OCAs) comes from the live topology.
      await liveTopology(env);
    });
  }

  // ---- identity and small helpers -------------------------------------------------------------

  /**
   * The site this object stands for, from the name it was addressed by, without the retired OCAs it
   * hides: one whose earlier rows are still being deleted (even re-added: it starts empty once they are
   * gone), or listed only by a topology older than its retire.
   */
  private get site(): SiteSpec {
    const site = this.spec;
    if (this.retiring.size === 0) return site;
    const version = topologyVersion();
    const hidden = (ocaId: string) => {
      const r = this.retiring.get(ocaId);
      return r !== undefined && (r.stage === "rows" || version < r.leftAtVersion);
    };
    return site.ocas.some((o) => hidden(o.id)) ? { ...site, ocas: site.ocas.filter((o) => !hidden(o.id)) } : site;
  }

  /** The site as the topology states it, every OCA listed. */
  private get spec(): SiteSpec {
    const name = this.ctx.id.name;
    const site = name ? findSite(name) : undefined;
    if (!site) throw new Error(`OcaSite object has no known site name (${name ?? "unnamed"})`);
    return site;
  }

  private oca(ocaId: string): OcaSpec | undefined {
    return this.site.ocas.find((o) => o.id === ocaId);
  }

  private bucket(site: SiteSpec = this.site): R2Bucket {
    return tierBucket(this.env, site);
  }

  private stub(siteId: string) {
    return siteStub(this.env, siteId);
  }

  private serial<T>(ocaId: string, titleId: string, fn: () => Promise<T>): Promise<T> {
    const key = `${ocaId}|${titleId}`;
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return next;
  }

  private capacity(ocaId: string): number {
    const o = this.oca(ocaId);
    return o ? capacityOf(this.sql, o) : 0;
  }

  private throughput(ocaId: string): number {
    const o = this.oca(ocaId);
    return o ? throughputOf(this.sql, o) : 0;
  }

  /** The catalogue's files of titles, from D1. */
  private catalogueFiles(titleIds: string[]): Promise<Map<string, TitleFile[]>> {
    return catalogueDb.files(this.env.DB, titleIds);
  }

  // ---- operators ------------------------------------------------------------------------------

  /** Sets an OCA's usable capacity in bytes; null returns it to the topology's value. */
  async setCapacity(ocaId: string, capacityBytes: number | null): Promise<{ ok: boolean; capacityBytes: number }> {
    if (!this.oca(ocaId)) return { ok: false, capacityBytes: 0 };
    setCapacityRow(this.sql, ocaId, capacityBytes);
    return { ok: true, capacityBytes: this.capacity(ocaId) };
  }

  /** Sets an OCA's throughput limit in bits/s; null returns it to the topology's value. */
  async setThroughput(ocaId: string, throughputBps: number | null): Promise<{ ok: boolean; throughputBps: number }> {
    if (!this.oca(ocaId)) return { ok: false, throughputBps: 0 };
    setThroughputRow(this.sql, ocaId, throughputBps);
    await this.publishLoad(true);
    return { ok: true, throughputBps: this.throughput(ocaId) };
  }

  /** Chaos switch: while set, the site does not answer steering or the data plane, as if unreachable. */
  async setUnreachable(unreachable: boolean): Promise<{ unreachable: boolean }> {
    const was = !!getMeta(this.sql, "unreachable");
    setMeta(this.sql, "unreachable", unreachable ? 1 : null);
    // Said once, plainly, when thrown: the calls it then turns away are answered so, not logged (see cut-off.ts).
    if (was !== unreachable) console.warn(`site ${this.site.id}: chaos switch ${unreachable ? "on: unreachable until switched off" : "off: reachable again"}`);
    return { unreachable };
  }

  /** Throws while the chaos switch cuts the site off; `answer` ANSWER_CUT_OFF: returns why instead (null while reachable). */
  private assertReachable(answer?: AnswerCutOff): string | null {
    if (!getMeta(this.sql, "unreachable")) return null;
    if (answer === ANSWER_CUT_OFF) return cutOffReason(this.site.id);
    throw new Error(cutOffReason(this.site.id));
  }

  /**
   * An operator's health for an OCA, published to the steering view (its published load stays). Drain
   * and fail win over the automatic state until a restore (`healthy`), which starts it afresh.
   */
  async setHealth(ocaId: string, health: OcaHealth): Promise<{ ok: boolean }> {
    if (!this.oca(ocaId) || health === "degraded") return { ok: false };
    const now = Date.now();
    const before = this.health(ocaId).health;
    this.ctx.storage.transactionSync(() => {
      if (health === "healthy") {
        clearHealthRow(this.sql, ocaId);
        autoHealth.resetAuto(this.sql, ocaId, now);
        this.probers.forget(ocaId);
      } else setHealthRow(this.sql, ocaId, health, now);
      autoHealth.recordTransition(
        this.sql,
        ocaId,
        now,
        before,
        health,
        health === "healthy" ? "restored by an operator" : `${health} by an operator`,
        "operator",
      );
    });
    await steeringTable.setHealth(this.env.DB, this.site.id, ocaId, health, now);
    return { ok: true };
  }

  /**
   * Takes an operator's health setting off an OCA, leaving it to the site's automatic judgement as it
   * stands (not reset, unlike an operator's restore): how a retire refused after its drain undoes it.
   */
  async clearOperatorHealth(ocaId: string): Promise<{ ok: boolean }> {
    if (!this.oca(ocaId)) return { ok: false };
    const now = Date.now();
    clearHealthRow(this.sql, ocaId);
    await steeringTable.setHealth(this.env.DB, this.site.id, ocaId, this.health(ocaId).health, now);
    return { ok: true };
  }

  /** Sets (or clears, with null) an OCA's fault switch; the data plane applies it within a sync. */
  async setFault(ocaId: string, fault: OcaFault | null): Promise<{ ok: boolean; fault: OcaFault | null }> {
    if (!this.oca(ocaId)) return { ok: false, fault: null };
    autoHealth.setFault(this.sql, ocaId, fault);
    return { ok: true, fault: autoHealth.faultOf(this.sql, ocaId) };
  }

  /** An OCA's health now: an operator's drain or fail, else the automatic state. */
  private health(ocaId: string): { health: OcaHealth; by: "auto" | "operator"; reason: string; since: number } {
    const op = operatorHealthOf(this.sql, ocaId);
    if (op !== null && op.health !== "healthy") {
      // Since the operator set it: the automatic state goes on beneath, and its transitions come later in the log.
      return { health: op.health, by: "operator", reason: `${op.health} by an operator`, since: op.since };
    }
    const a = autoHealth.autoState(this.sql, ocaId);
    return { health: a.state, by: "auto", reason: a.reason, since: a.since };
  }

  /**
   * Judges each OCA's window now (in storage: the next view shows the verdict) and returns the write of
   * the changes to the D1 steering view, for the caller to await or leave running.
   */
  private evaluateHealth(now = Date.now()): Promise<void> {
    const changed: Array<{ ocaId: string; to: OcaHealth }> = [];
    this.ctx.storage.transactionSync(() => {
      for (const o of this.site.ocas) {
        const t = autoHealth.evaluate(this.sql, o.id, now, () => this.probers.since(o.id, now - autoHealth.WINDOW_MS));
        if (t && healthOf(this.sql, o.id) === "healthy") changed.push({ ocaId: o.id, to: t.to });
      }
    });
    return Promise.all(
      changed.map((c) => steeringTable.setHealth(this.env.DB, this.site.id, c.ocaId, c.to, now).catch((err) => console.error("publish health", err))),
    ).then(() => undefined);
  }

  /**
   * The synthetic probe: a known object in each OCA's storage, read back and verified (written first
   * if absent), through the OCA's fault switch like any request. At most once per PROBE_EVERY_MS.
   */
  private async probe(now = Date.now()): Promise<void> {
    if (now - Number(getMeta(this.sql, "probed_at") ?? 0) < autoHealth.PROBE_EVERY_MS) return;
    setMeta(this.sql, "probed_at", now);
    const failed = (await Promise.all(this.site.ocas.map(async (o) => ((await this.probeOca(o.id)) ? null : o.id)))).filter((id) => id !== null);
    // A failed probe is confirmed at once rather than at the next sync, which may be seconds away once
    // players have left the OCA.
    if (failed.length > 0) {
      await new Promise((r) => setTimeout(r, autoHealth.CONFIRM_PROBE_MS));
      await Promise.all(failed.map((id) => this.probeOca(id)));
    }
    await this.evaluateHealth();
  }

  /** Reads the OCA's probe object back (writing it first if absent) through its fault switch; records the result. */
  private async probeOca(ocaId: string): Promise<boolean> {
    const t0 = Date.now();
    let ok = false;
    try {
      const fault = autoHealth.faultOf(this.sql, ocaId);
      if (fault?.addedLatencyMs) await new Promise((r) => setTimeout(r, fault.addedLatencyMs));
      if (fault && Math.random() < fault.errorRate) throw new Error("fault switch");
      const key = `${this.site.id}/${ocaId}/.probe`;
      const body = `probe ${this.site.id}/${ocaId}`;
      let got = await this.bucket().get(key);
      if (!got) {
        await this.bucket().put(key, body);
        got = await this.bucket().get(key);
      }
      ok = (await got?.text()) === body;
    } catch {
      ok = false;
    }
    autoHealth.recordProbe(this.sql, ocaId, Date.now(), ok, Date.now() - t0);
    return ok;
  }

  // ---- retired OCAs ---------------------------------------------------------------------------

  /**
   * The admin API's word that an OCA left this site: retired at `retiredAt`, absent from the topology
   * from version `leftAtVersion`, its copies kept until `keepCopiesUntil` (sessions granted before the
   * retire may ask for them until then). The site hides it and deletes its rows, a batch now and the rest
   * in its alarm, then its copies once their time has come. `rowsLeft` while any of its rows is left (a
   * re-add waits for none). Refused (`ok: false`) when the object's topology lists the OCA at that
   * version or later: a call from before a re-add, come late.
   */
  async retireOca(ocaId: string, retire: { retiredAt: number; leftAtVersion: number; keepCopiesUntil: number }): Promise<{ ok: boolean; rowsLeft: boolean }> {
    await liveTopology(this.env);
    const { retiredAt, leftAtVersion, keepCopiesUntil } = retire ?? {};
    if (!isSafeId(ocaId) || ![retiredAt, leftAtVersion, keepCopiesUntil].every(Number.isSafeInteger)) return { ok: false, rowsLeft: false };
    if (topologyVersion() >= leftAtVersion && this.spec.ocas.some((o) => o.id === ocaId)) return { ok: false, rowsLeft: false };
    this.ctx.storage.transactionSync(() => retired.noteRetired(this.sql, { ocaId, retiredAt, leftAtVersion, keepUntil: keepCopiesUntil, exact: true }));
    this.loadRetiring();
    const rowsLeft = this.dropRetiredRows(ocaId, retired.CLEANUP_BATCH).more;
    await this.armAlarm(Date.now());
    return { ok: true, rowsLeft };
  }

  /** Reads the clean-ups under way into memory (what `site` hides). */
  private loadRetiring(): void {
    this.retiring = new Map(retired.pendingRetired(this.sql).map((r) => [r.ocaId, { stage: r.stage, leftAtVersion: r.leftAtVersion }]));
  }

  /**
   * Starts the clean-up of OCAs that left the site without the object being told (the admin API's call
   * lost): named by the topology's list of retired OCAs, or with rows here, and not in the topology. Not on
   * a topology older than one the object has run on (a cold start whose look failed runs on the bundled
   * one): an OCA missing from it has not left. True when one started.
   */
  private noticeRetired(now = Date.now()): boolean {
    const version = topologyVersion();
    const seen = Number(getMeta(this.sql, "topology_version") ?? 0);
    if (version < seen) return false;
    const spec = this.spec;
    const present = new Set(spec.ocas.map((o) => o.id));
    const lastRetire = new Map<string, number>();
    for (const r of topology.retired ?? []) {
      const at = Date.parse(r.at);
      if (r.siteId === spec.id && Number.isSafeInteger(at)) lastRetire.set(r.ocaId, Math.max(at, lastRetire.get(r.ocaId) ?? 0));
    }
    const keepUntil = (at: number) => at + retired.LONGEST_SESSION_MS + viewLagMs(this.env);
    let started = false;
    this.ctx.storage.transactionSync(() => {
      if (version > seen) setMeta(this.sql, "topology_version", version);
      for (const [ocaId, at] of lastRetire) {
        if (present.has(ocaId)) continue;
        if (retired.noteRetired(this.sql, { ocaId, retiredAt: at, leftAtVersion: version, keepUntil: keepUntil(at), exact: false })) started = true;
      }
      for (const ocaId of retired.ocasWithRows(this.sql)) {
        if (present.has(ocaId) || lastRetire.has(ocaId) || this.retiring.has(ocaId)) continue;
        if (retired.noteRetired(this.sql, { ocaId, retiredAt: now, leftAtVersion: version, keepUntil: keepUntil(now), exact: false })) started = true;
      }
      retired.forgetDone(this.sql, new Set(lastRetire.keys()));
    });
    if (started) this.loadRetiring();
    return started;
  }

  /**
   * Deletes up to `limit` rows of a retired OCA the site hides, in one transaction; once none is left its
   * copies wait for their time, and the reconcile starts a pass from the first title (the steering view
   * loses its listings). Nothing of an OCA the site shows (re-added: its rows are its own).
   */
  private dropRetiredRows(ocaId: string, limit: number): { deleted: number; more: boolean } {
    const r = this.ctx.storage.transactionSync(() => {
      const rec = retired.retiredOf(this.sql, ocaId);
      if (rec?.stage !== "rows" || this.oca(ocaId)) return { deleted: 0, more: false };
      const batch = retired.dropRows(this.sql, ocaId, limit);
      if (!batch.more) {
        retired.setStage(this.sql, ocaId, rec.retiredAt, "waiting");
        setMeta(this.sql, "reconcile_after", null);
      }
      return batch;
    });
    this.probers.forget(ocaId);
    for (const k of this.checkedIncomplete.keys()) if (k.startsWith(`${ocaId}|`)) this.checkedIncomplete.delete(k);
    if (!r.more) {
      this.loadRetiring();
      // Its rows gone, its steering view rows go too (not once re-added: the view's rows are then its own).
      if (!this.spec.ocas.some((o) => o.id === ocaId)) {
        this.ctx.waitUntil(steeringTable.dropOca(this.env.DB, this.spec.id, ocaId).catch((err) => console.error("drop retired OCA from the view", err)));
      }
    }
    return r;
  }

  /**
   * The alarm's share of the clean-up of retired OCAs: a batch of rows, then a batch of one OCA's copies
   * whose time has come. Returns when the next step is due (now while a batch is left; a copies' time),
   * or null when none is under way.
   */
  private async cleanUpRetired(now: number): Promise<number | null> {
    this.noticeRetired(now);
    let due: number | null = null;
    const soon = (at: number) => {
      due = due === null ? at : Math.min(due, at);
    };
    let rowsLeft = retired.CLEANUP_BATCH;
    let keysTaken = false;
    for (const r of retired.pendingRetired(this.sql)) {
      if (r.stage === "rows") {
        if (rowsLeft > 0) rowsLeft -= this.dropRetiredRows(r.ocaId, rowsLeft).deleted;
        const after = retired.retiredOf(this.sql, r.ocaId);
        soon(after?.stage === "waiting" ? Math.max(now, after.keepUntil) : now);
        continue;
      }
      if (r.stage === "waiting") {
        if (now < r.keepUntil) {
          soon(r.keepUntil);
          continue;
        }
        retired.setStage(this.sql, r.ocaId, r.retiredAt, "copies");
      }
      // One OCA's batch of keys a run: the run stays within a list and a few delete calls.
      soon(now);
      if (keysTaken) continue;
      keysTaken = true;
      if (!(await this.deleteRetiredCopies(r))) continue;
      // Its prefix is empty: a last sweep of rows (of an OCA still hidden) before it is done.
      this.ctx.storage.transactionSync(() => {
        const hidden = !this.oca(r.ocaId);
        if (hidden && retired.dropRows(this.sql, r.ocaId, retired.CLEANUP_BATCH).more) retired.setStage(this.sql, r.ocaId, r.retiredAt, "rows");
        else retired.setStage(this.sql, r.ocaId, r.retiredAt, "done", Date.now());
      });
    }
    this.loadRetiring();
    return due;
  }

  /**
   * Deletes the next batch of keys under a retired OCA's prefix (up to R2's 1,000 a call); true once
   * the listing has passed the last. An OCA re-added meanwhile shares keys with its old copies (they are
   * content-addressed): only the keys its rows do not name go, each title under its copies' lock (a copy
   * reserves its row before it writes), and never its probe object.
   */
  private async deleteRetiredCopies(r: retired.RetiredOca): Promise<boolean> {
    const bucket = this.bucket();
    const prefix = `${this.site.id}/${r.ocaId}/`;
    const page = await bucket.list({ prefix, startAfter: r.afterKey || undefined, limit: retired.CLEANUP_BATCH });
    let files = 0;
    let bytes = 0;
    const gone = (objects: R2Object[]) => {
      files += objects.length;
      bytes += objects.reduce((sum, o) => sum + o.size, 0);
    };
    if (!this.oca(r.ocaId)) {
      if (page.objects.length > 0) await bucket.delete(page.objects.map((o) => o.key));
      gone(page.objects);
    } else {
      for (const [titleId, objects] of retired.byTitle(prefix, page.objects)) {
        if (titleId === ".probe") continue;
        await this.serial(r.ocaId, titleId, async () => {
          const held = retired.keysHeld(this.sql, this.site.id, r.ocaId, titleId);
          const old = objects.filter((o) => !held.has(o.key));
          if (old.length > 0) await bucket.delete(old.map((o) => o.key));
          gone(old);
        });
      }
    }
    const last = page.objects.at(-1)?.key ?? r.afterKey;
    this.ctx.storage.transactionSync(() => retired.noteDeleted(this.sql, r.ocaId, r.retiredAt, last, files, bytes));
    return !page.truncated;
  }

  /** Arms the alarm for `at` unless it is armed sooner. */
  private async armAlarm(at: number): Promise<void> {
    const armed = await this.ctx.storage.getAlarm();
    if (armed === null || armed > at) await this.ctx.storage.setAlarm(at);
  }

  /** The clean-ups under way, for operators. */
  private retiringNow(now = Date.now()): RetiringOca[] {
    return retired.pendingRetired(this.sql).map((r) => ({
      ocaId: r.ocaId,
      retiredAt: r.retiredAt,
      deleteCopiesFrom: r.keepUntil,
      stage: retired.stageAt(r, now) as RetiringOca["stage"],
      filesLeft: r.filesLeft,
      bytesLeft: r.bytesLeft,
    }));
  }

  // ---- live load --------------------------------------------------------------------------------

  private live(now = Date.now()): OcaLive[] {
    const health = new Map(this.site.ocas.map((o) => [o.id, this.health(o.id)]));
    return liveView(
      this.sql,
      this.site.ocas.map((o) => ({ ...o, health: health.get(o.id)!.health, throughputBps: throughputOf(this.sql, o) })),
      now,
      this.activeSessions,
    ).map((l) => {
      const h = health.get(l.ocaId)!;
      return { ...l, healthBy: h.by, healthReason: h.reason, healthSince: h.since, fault: autoHealth.faultOf(this.sql, l.ocaId) };
    });
  }

  /** The site's live view for steering; throws while the site is unreachable. */
  async steeringView(): Promise<SiteLiveView> {
    await liveTopology(this.env);
    this.assertReachable();
    return { siteId: this.site.id, at: Date.now(), ocas: this.live() };
  }

  /**
   * The data plane's batched reports: bytes, sessions and misses per OCA since its last report, plays
   * and CMCD. `report` is the newest; `earlier` those the isolate has not had answered, sent again as
   * they were: each is numbered and counts once. Returns the site's live view, so the data plane learns
   * which OCAs are failed without asking per request, with the interval to sync at: longer when more
   * isolates sync than the object should take (`isolate` names the caller; see IsolatesHeard). Cut
   * off by the chaos switch, it counts nothing and throws, or answers so with `answerCutOff` (cut-off.ts).
   */
  async edgeSync(
    report: EdgeReport | null,
    isolate?: string,
    earlier?: readonly EdgeReport[],
    answerCutOff?: AnswerCutOff,
  ): Promise<SiteLiveView & CutOffMark> {
    await liveTopology(this.env);
    const cutOff = this.assertReachable(answerCutOff);
    if (cutOff !== null) return cutOffView(this.site.id, cutOff);
    const now = Date.now();
    const syncEveryMs = this.isolatesHeard.note(isolate, now);
    // The isolate's reports not answered yet and its new one, by number: at most a few. (An isolate
    // still on the code of a rollout's first step sends them all as an array in `report`.)
    const bounded = (list: unknown) => (Array.isArray(list) ? list.slice(-MAX_UNACKED_REPORTS) : []);
    const seqOf = (r: EdgeReport) => (Number.isSafeInteger(r.seq) ? (r.seq as number) : 0);
    const sent = [...bounded(earlier), ...(Array.isArray(report) ? bounded(report) : [report])]
      .filter((r): r is EdgeReport => !!r && typeof r === "object" && !!r.ocas && typeof r.ocas === "object")
      .sort((a, b) => seqOf(a) - seqOf(b))
      .slice(-MAX_UNACKED_REPORTS);
    let signalled = false;
    let counted = 0;
    this.ctx.storage.transactionSync(() => {
      for (const r of sent) {
        // A report counted before (its answer was lost after this commit) counts nothing again.
        if (!countOnce(this.sql, isolate, r.seq, now)) continue;
        counted++;
        try {
          // Each in its own savepoint: one that cannot be counted is logged and stays counted as
          // seen, rather than failing every later call of its isolate (which resends it with them).
          // The views each of its sessions adds to are written once per (day, title), inside its savepoint.
          if (this.ctx.storage.transactionSync(() => batchingViews(this.sql, () => this.ingestReport(r, now, measuredAt(r, now))))) signalled = true;
        } catch (err) {
          // Storage itself failing (full, I/O) fails the call: the isolate keeps its reports for later.
          if (/SQLITE_(FULL|IOERR|NOMEM|BUSY|LOCKED)|database or disk is full/i.test(String(err))) throw err;
          console.error(`site ${this.site.id}: report ${String(r.seq)} of isolate ${String(isolate)} not counted`, err);
        }
      }
      if (counted > 0) {
        forgetQuietSenders(this.sql, "isolate", now);
        // Sessions that can no longer be watching give up their estimates (a bounded number), once the
        // bytes these reports carried are counted.
        batchingViews(this.sql, () => settleSessions(this.sql, now));
      }
    });
    // New signals are judged at once (a failing OCA leaves within this sync's view); otherwise the probes judge.
    // Judged before the load is read for D1: both writes carry this moment, and the load's health must
    // be the verdict, not the state before it, whichever lands last.
    if (signalled) this.ctx.waitUntil(this.evaluateHealth(now));
    // D1 is written behind the answer: the reports are committed above, and an isolate that gave up
    // waiting for the answer sends them again, so the answer never waits on D1. A sync that brought no
    // report publishes too (paced alike): load decays with no traffic, and D1 would otherwise keep the
    // last busy figure of a site its viewers left.
    this.ctx.waitUntil(this.publishLoad(false).catch((err) => console.error("publish load", err)));
    // The probe runs beside the answer; its verdict lands in the next view.
    this.ctx.waitUntil(this.probe(now).catch((err) => console.error("probe", err)));
    return { siteId: this.site.id, at: Date.now(), ocas: this.live(), syncEveryMs };
  }

  /**
   * Counts one report of the data plane and the play requests (in the caller's transaction); true when
   * it carried health signals. `at`: when it was measured (a report sent again is older than its
   * arrival): its bytes count in that hour, its health signals in that moment's window.
   */
  private ingestReport(report: EdgeReport, now: number, at = now): boolean {
    let signalled = false;
    // The local day and hour the report's bytes count in.
    const day = dayNumber(at, this.site.timeZone);
    const hour = localHour(at, this.site.timeZone);
    // Plays whose home is this site, batched by the play requests of that isolate: first, as the same
    // report may carry the bytes their sessions were served since (counted per known session).
    this.countPlays((Array.isArray(report.plays) ? report.plays : []).slice(0, MAX_REPORT_ITEMS).filter(isPlayReport));
    ingestEdgeReport(this.sql, this.site.ocas, report, now, at);
    ingestServedElsewhere(this.sql, report, topology.origin.id, now);
    // Bytes the origin pathway served to clients whose home is this site (the offload figures only).
    if (Object.hasOwn(report.ocas, topology.origin.id)) {
      const o = report.ocas[topology.origin.id];
      served.addServed(this.sql, day, hour, o.bytesFrom, reportBytes(o.bytes));
    }
    // What each OCA served, as health signals.
    for (const o of this.site.ocas) {
      if (!Object.hasOwn(report.ocas, o.id)) continue;
      const r = report.ocas[o.id];
      const requests = Math.min(1e7, Math.max(0, Math.round(Number(r.requests) || 0)));
      const errors = Math.min(requests, Math.max(0, Math.round(Number(r.errors) || 0)));
      const latencyMsSum = Math.min(requests * 600_000, Math.max(0, Number(r.latencyMsSum) || 0));
      served.addServed(this.sql, day, hour, r.bytesFrom, reportBytes(r.bytes));
      const reporters = (Array.isArray(r.clientReporters) ? r.clientReporters : [])
        .slice(0, MAX_REPORT_ITEMS)
        .filter(autoHealth.isReporter)
        .map((member) => ({ member, streams: memberStreamsId(this.env, member) }));
      const reporterSessions = (Array.isArray(r.clientReporterSessions) ? r.clientReporterSessions : []).slice(0, MAX_REPORT_ITEMS).filter(isSessionId);
      if (requests > 0) autoHealth.recordTraffic(this.sql, o.id, at, { requests, errors, latencyMsSum });
      // Who reported or probed the OCA counts while the report is within the health window (noted now:
      // a later time of the same member, from another isolate, is not moved back).
      const current = now - at < autoHealth.WINDOW_MS;
      if (reporters.length && current) autoHealth.recordClientReporters(this.sql, o.id, now, reporters, reporterSessions);
      const probers = (Array.isArray(r.probers) ? r.probers : []).slice(0, MAX_PROBERS).filter(isStreamsId);
      if (probers.length && current) this.probers.note(o.id, probers, now);
      if (requests > 0 || reporters.length) signalled = true;
    }
    // What players of this site's sessions said in CMCD, whichever OCA served them (after the plays: their bytes count against a play's estimate).
    ingestCmcd(this.sql, report.cmcd, day, now);
    return signalled;
  }

  /**
   * Publishes load and health to the D1 steering view (the last-known view when the site cannot be
   * reached): at most every PUBLISH_LOAD_MS when an OCA's health or load class (loadClass: the marks
   * steering ranks by) changed since the last publication, else every PUBLISH_LOAD_QUIET_MS.
   */
  private async publishLoad(force: boolean): Promise<void> {
    const now = Date.now();
    const since = now - Number(getMeta(this.sql, "load_published_at") ?? 0);
    if (!force && since < PUBLISH_LOAD_MS) return;
    const live = this.live(now);
    const shape = live.map((o) => `${o.ocaId}:${o.health}:${loadClass(o.load)}`).join("|");
    if (!force && since < PUBLISH_LOAD_QUIET_MS && shape === this.publishedShape) return;
    setMeta(this.sql, "load_published_at", now);
    this.publishedShape = shape;
    try {
      await steeringTable.setLoad(this.env.DB, this.site.id, live, now);
    } catch (err) {
      // Not published: the next sync past PUBLISH_LOAD_MS tries again, rather than one PUBLISH_LOAD_QUIET_MS on.
      if (this.publishedShape === shape) this.publishedShape = null;
      throw err;
    }
  }

  // ---- state for operators --------------------------------------------------------------------

  /**
   * Site state for operators: OCAs, capacity, holdings per title, health, misses, fills, progress. An
   * OCA's titles and the misses run to the catalogue's size: at most `limits.titles` titles per OCA (by
   * id; `titlesTotal`, and `titlesCursor` for `ocaTitles`) and the `limits.misses` most frequent misses
   * (`missesTotal`) are listed.
   */
  async describe(limits: { titles?: number; misses?: number } = {}): Promise<SiteState> {
    await liveTopology(this.env);
    // A retire the object was not told of is found here too, and the alarm begins its clean-up.
    if (this.noticeRetired()) await this.armAlarm(Date.now());
    const site = this.site;
    const titlesMax = boundedCount(limits.titles, DESCRIBE_TITLES_DEFAULT);
    const { perOca, current } = await this.heldWithCompleteness();
    const live = this.live();
    const ocas = site.ocas.map((o, i): OcaState => {
      const titles = perOca[i].titles;
      const listed = titles.slice(0, titlesMax);
      return {
        ...this.ocaFigures(o, titles, live, 10),
        titles: this.titleStates(o.id, listed, current),
        titlesTotal: titles.length,
        ...(titles.length > listed.length && listed.length > 0 ? { titlesCursor: listed[listed.length - 1].titleId } : {}),
      };
    });
    const bySource = holdings.bySource(this.sql);
    const files = Object.values(bySource).reduce((s, v) => s + v.files, 0);
    const bytes = Object.values(bySource).reduce((s, v) => s + v.bytes, 0);
    const schemaVersion = appliedMigrations(this.sql).at(-1)?.version ?? 0;
    const misses = missesByTitle(this.sql, boundedCount(limits.misses, DESCRIBE_MISSES_DEFAULT));
    return {
      site,
      schemaVersion,
      ocas,
      misses: misses.top,
      missesTotal: misses.total,
      fills: { files, bytes, bySource },
      progress: this.progress(),
      syncs: this.isolatesHeard.pace(Date.now()),
      retiring: this.retiringNow(),
    };
  }

  /**
   * A page of an OCA's titles for operators, by id after `after` (the `titlesCursor` of describe() or of
   * the page before), at most `limit`; null when the site has no such OCA.
   */
  async ocaTitles(ocaId: string, after: string | null, limit: number): Promise<{ titles: OcaState["titles"]; cursor?: string } | null> {
    await liveTopology(this.env);
    if (!this.oca(ocaId)) return null;
    const max = boundedCount(limit, DESCRIBE_TITLES_DEFAULT);
    const { perOca, current } = await this.heldWithCompleteness(ocaId);
    const titles = perOca[0]?.titles ?? [];
    const start = after === null ? 0 : titles.findIndex((t) => t.titleId > after);
    const listed = start < 0 ? [] : titles.slice(start, start + max);
    const more = start >= 0 && start + listed.length < titles.length && listed.length > 0;
    return { titles: this.titleStates(ocaId, listed, current), ...(more ? { cursor: listed[listed.length - 1].titleId } : {}) };
  }

  /** Held titles of an OCA as operators see them: sums, complete at the current version, planned. */
  private titleStates(ocaId: string, titles: ReturnType<typeof holdings.titlesOn>, current: Map<string, number>): OcaState["titles"] {
    if (titles.length === 0) return [];
    const planned = new Set(rows<{ title_id: string }>(this.sql, `SELECT title_id FROM plan WHERE oca_id = ?`, ocaId).map((r) => r.title_id));
    return titles.map((t) => ({
      titleId: t.titleId,
      files: t.files,
      bytes: t.bytes,
      readyFiles: t.ready,
      complete: isCompleteAt(t, current),
      planned: planned.has(t.titleId),
    }));
  }

  /**
   * Each OCA's titles (a row each, from the sums) and the catalogue's current version of each. Complete
   * means every file of the title's current version is ready here with the catalogue's checksum: as
   * last found by a check against the catalogue (each copy's publish, the reconcile), which the sums
   * forget when a ready file goes. A few titles all ready but not found complete at their current
   * version (after an upgrade, or a note from before a re-publish) are checked per call, the rest left
   * to later calls and the reconcile; the D1 reads are the held titles' versions and those few titles' files.
   */
  private async heldWithCompleteness(onlyOca?: string): Promise<{
    perOca: Array<{ ocaId: string; titles: ReturnType<typeof holdings.titlesOn> }>;
    current: Map<string, number>;
  }> {
    const perOca = this.site.ocas
      .filter((o) => onlyOca === undefined || o.id === onlyOca)
      .map((o) => ({ ocaId: o.id, titles: holdings.titlesOn(this.sql, o.id) }));
    const heldIds = [...new Set(perOca.flatMap((p) => p.titles.map((t) => t.titleId)))];
    const current = await catalogueDb.currentVersions(this.env.DB, heldIds);
    const unchecked = perOca
      .flatMap(({ ocaId, titles }) =>
        titles
          .filter(
            (t) =>
              current.has(t.titleId) &&
              t.completeVersion !== current.get(t.titleId) &&
              t.ready > 0 &&
              t.ready === t.files &&
              this.checkedIncomplete.get(`${ocaId}|${t.titleId}`) !== t.ready,
          )
          .map((t) => ({ ocaId, t })),
      )
      .slice(0, DESCRIBE_CHECKS);
    if (unchecked.length > 0) {
      const catalogue = await catalogueDb.currentFiles(this.env.DB, [...new Set(unchecked.map((u) => u.t.titleId))]);
      for (const { ocaId, t } of unchecked) {
        const v = catalogue.get(t.titleId);
        if (v && holdings.isComplete(holdings.readyFiles(this.sql, ocaId, t.titleId), v.files)) {
          holdings.noteComplete(this.sql, ocaId, t.titleId, v.version);
          t.completeVersion = v.version;
          this.checkedIncomplete.delete(`${ocaId}|${t.titleId}`);
        } else this.checkedIncomplete.set(`${ocaId}|${t.titleId}`, t.ready);
      }
    }
    return { perOca, current };
  }

  /** An OCA's figures for operators (describe() and the dashboard): settings, used bytes, health, load, its last transitions. */
  private ocaFigures(o: OcaSpec, titles: ReadonlyArray<{ bytes: number }>, live: OcaLive[], transitions: number): Omit<OcaState, "titles"> {
    const load = live.find((l) => l.ocaId === o.id)!;
    return {
      ocaId: o.id,
      capacityBytes: capacityOf(this.sql, o),
      throughputBps: throughputOf(this.sql, o),
      usedBytes: titles.reduce((s, t) => s + t.bytes, 0),
      health: load.health,
      load,
      transitions: autoHealth.transitions(this.sql, o.id, transitions),
    };
  }

  /**
   * The operators' dashboard's view of the site: describe() with counts where it has lists (complete
   * titles per OCA, misses by kind, planned titles per OCA, parked tasks), so a refresh of every site
   * carries a few rows each, not every title of every OCA. Cut off by the chaos switch, it throws, or
   * answers so with `answerCutOff` (cut-off.ts).
   */
  async opsSummary(answerCutOff?: AnswerCutOff): Promise<OpsSummary & CutOffMark> {
    await liveTopology(this.env);
    // The chaos switch's unreachable site is unreachable to the dashboard too (it shows it so).
    const cutOff = this.assertReachable(answerCutOff);
    if (cutOff !== null) return cutOffSummary(cutOff);
    const { perOca, current } = await this.heldWithCompleteness();
    const live = this.live();
    return {
      ocas: this.site.ocas.map((o, i) => {
        const titles = perOca[i].titles;
        return {
          ...this.ocaFigures(o, titles, live, 5),
          completeTitles: titles.filter((t) => isCompleteAt(t, current)).length,
        };
      }),
      misses: missesByKind(this.sql),
      day: await this.plannedDay(),
      planned: plan.plannedByOca(this.sql),
      cycle: getMetaJson<CycleFigures | null>(this.sql, "last_cycle", null),
      progress: { ...this.progressFigures(), parked: fillQueue.parkedCount(this.sql) },
      syncs: this.isolatesHeard.pace(Date.now()),
    };
  }

  private progress(): FillProgress {
    return { ...this.progressFigures(), parked: fillQueue.parkedTasks(this.sql), parkedTotal: fillQueue.parkedCount(this.sql) };
  }

  /** The fill's progress without the parked tasks' list. */
  private progressFigures(): Omit<FillProgress, "parked"> {
    const until = getMeta(this.sql, "fill_until");
    const rate = getMeta(this.sql, "fill_rate_bps");
    return {
      pending: fillQueue.pendingByOca(this.sql, plan.unqueuedByOca(this.sql)),
      done: getMetaJson(this.sql, "cycle_done", EMPTY_DONE()),
      fillUntil: until ? Number(until) : null,
      fillRateBps: rate ? Number(rate) : null,
      lastError: getMeta(this.sql, "last_error"),
    };
  }

  // ---- what the site holds, for children and the planner -------------------------------------

  /** Which usable OCA of this site holds a ready copy of each file of a title (`fileId` of path and checksum -> holder). */
  async holdersOf(titleId: string): Promise<Record<string, HeldFile>> {
    // Not a retired OCA's rows still being deleted: its copies go once their time comes.
    return Object.fromEntries(holdings.holdersOf(this.sql, titleId, (ocaId) => this.oca(ocaId) !== undefined && this.health(ocaId).health !== "failed"));
  }

  /** True when the current plan puts the title on one of this site's OCAs (children wait for it). */
  async plansTitle(titleId: string): Promise<boolean> {
    return rows(this.sql, `SELECT 1 AS x FROM plan WHERE title_id = ? LIMIT 1`, titleId).length > 0;
  }

  /** Each OCA's capacity, throughput limit and health: what the planner needs of them (describe() without the titles). */
  async ocaSettings(): Promise<Array<{ ocaId: string; capacityBytes: number; throughputBps: number; health: OcaHealth }>> {
    await liveTopology(this.env);
    return this.site.ocas.map((o) => ({
      ocaId: o.id,
      capacityBytes: capacityOf(this.sql, o),
      throughputBps: throughputOf(this.sql, o),
      health: this.health(o.id).health,
    }));
  }

  /** Titles held per OCA (see holdings.heldByOca): the planner's `current`. */
  async holdingsByOca(): Promise<Record<string, string[]>> {
    return holdings.heldByOca(
      this.sql,
      this.site.ocas.map((o) => o.id),
    );
  }

  // ---- viewing history ------------------------------------------------------------------------

  /** Adds to the viewing history of a day as given (trusted callers only: tests and history imports). */
  async recordViews(day: number, titleId: string, v: { plays?: number; bytes?: number; estBytes?: number }): Promise<void> {
    addToDay(this.sql, day, titleId, { plays: Math.max(0, v.plays ?? 0), bytes: Math.max(0, v.bytes ?? 0), estBytes: Math.max(0, v.estBytes ?? 0) });
  }

  /**
   * A play whose home is this site: it counts with its estimate until its client reports. When the
   * play was not steered to this site first, the reason is counted as a miss (health: the site held
   * the title; content: it did not).
   */
  async recordPlay(p: PlayRecord, miss?: { ocaId: string; kind: MissKind }): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      this.countPlays([{ ...p, miss }]);
      // Sessions that can no longer be watching give up their estimates, a bounded number per play.
      settleSessions(this.sql, Date.now());
    });
  }

  /** Demand is read (by the plan, by operators) with every session that can no longer be watching settled (see settleSessions). */
  private settleDue(): void {
    const now = Date.now();
    // Each round settles up to a call's bound, and what it settles leaves both indexes: this ends.
    for (let i = 0; i < 1_000; i++) if (this.ctx.storage.transactionSync(() => settleSessions(this.sql, now)) === 0) break;
  }

  /** Plays at their home site, and their misses (one write per OCA, title and kind): the one path for batched and direct play records. */
  private countPlays(plays: readonly PlayReport[]): void {
    const fresh = recordPlays(this.sql, plays);
    const misses = new Map<string, { ocaId: string; titleId: string; kind: MissKind; n: number }>();
    for (const p of plays) {
      // A play sent again (its sync timed out after this site had counted it) is not a second miss.
      if (!p.miss || !fresh.has(p.sessionId) || !this.oca(p.miss.ocaId) || (p.miss.kind !== "content" && p.miss.kind !== "health")) continue;
      const key = `${p.miss.ocaId}/${p.titleId}/${p.miss.kind}`;
      const m = misses.get(key) ?? { ocaId: p.miss.ocaId, titleId: p.titleId, kind: p.miss.kind, n: 0 };
      m.n++;
      misses.set(key, m);
    }
    for (const m of misses.values()) recordMiss(this.sql, m.ocaId, m.titleId, m.kind, m.n, 0);
  }

  /**
   * An event shard's forward: its reports counted as recordReports counts them, unless the forward is
   * a catch-up (a full call of a shard well behind: a backlog) and the site has taken its share of
   * those lately (CatchUpBudget). Then nothing is counted and the shard is told when to come back.
   */
  async forwardReports(
    reports: ByteReport[],
    forward: { shard: string; upTo: number; catchUp?: boolean },
  ): Promise<{ counted: number; deferredMs?: undefined } | { counted: 0; deferredMs: number }> {
    if (forward?.catchUp === true) {
      const waitMs = this.catchUp.take(Array.isArray(reports) ? reports.length : 0, Date.now());
      if (waitMs > 0) return { counted: 0, deferredMs: waitMs };
    }
    return { counted: await this.recordReports(reports, forward) };
  }

  /**
   * Bytes reported by home sessions, forwarded in one call by an event shard: each counted within its
   * session's caps, in one transaction. Returns the bytes counted. (Shards call forwardReports; an
   * event shard of the code before calls this.)
   */
  async recordReports(reports: ByteReport[], forward?: { shard: string; upTo: number }): Promise<number> {
    const tz = this.site.timeZone;
    return this.ctx.storage.transactionSync(() =>
      batchingViews(this.sql, () => {
        // Reports at or below the shard's last forward were counted by it (this one is that forward again).
        const seen = forward ? countedUpTo(this.sql, "shard", forward.shard) : 0;
        let counted = 0;
        for (const r of (Array.isArray(reports) ? reports : []).slice(0, MAX_REPORT_ITEMS)) {
          if (!r || !isSessionId(r.sessionId) || typeof r.titleId !== "string" || !isSafeId(r.titleId)) continue;
          if (forward && (typeof r.id !== "number" || r.id <= seen)) continue;
          if (![r.startedAt, r.estBytes, r.topBps, r.bytes, r.at].every(finite)) continue;
          counted += recordReport(this.sql, { ...r, day: dayNumber(r.startedAt, tz), reportDay: dayNumber(r.at, tz), now: r.at, siteNow: Date.now() }).counted;
        }
        if (forward) {
          noteCountedUpTo(this.sql, "shard", forward.shard, forward.upTo, Date.now());
          forgetQuietSenders(this.sql, "shard", Date.now());
        }
        return counted;
      }),
    );
  }

  /** Bytes served per local day by source (own copies, a parent's, origin), for days [fromDay, toDay]. */
  async servedByDay(fromDay: number, toDay: number): Promise<ReturnType<typeof served.servedByDay>> {
    return served.servedByDay(this.sql, fromDay, toDay);
  }

  /** Bytes served per local hour for days [fromDay, toDay], one row of 24 per day, oldest first. */
  async servedByHour(fromDay: number, toDay: number): Promise<number[][]> {
    served.checkDayRange(fromDay, toDay);
    return served.servedByHour(this.sql, fromDay, toDay);
  }

  /** Adds served bytes to one local hour (history imported by operators or tests, as recordViews). */
  async recordServedHour(day: number, hour: number, bytes: number): Promise<void> {
    served.addServedHour(this.sql, day, hour, bytes);
  }

  /**
   * Demand per title per day for days [fromDay, toDay], oldest first; from `openDay` on (the caller's
   * today, when it reads today so far) sessions on their estimate count what they were served so far.
   */
  async history(fromDay: number, toDay: number, openDay?: number): Promise<Record<string, number[]>> {
    served.checkDayRange(fromDay, toDay);
    this.settleDue();
    return history(this.sql, fromDay, toDay, Number.isSafeInteger(openDay) ? openDay : undefined);
  }

  /** What a session's player said in CMCD, if its home is this site and any arrived. */
  async cmcdSession(sessionId: string): Promise<CmcdSession | null> {
    this.assertReachable();
    return cmcdSession(this.sql, sessionId);
  }

  /** Raw viewing history rows, for operators. */
  /** The viewing history from `fromDay` to `toDay` by day then title: its first 5,000 rows (`viewsPage` pages it). */
  async views(fromDay: number, toDay: number): Promise<Array<{ day: number; titleId: string; plays: number; bytes: number; estBytes: number }>> {
    return (await this.viewsPage(fromDay, toDay, { limit: DESCRIBE_LIST_MAX * 5 })).views;
  }

  /**
   * The viewing history from `fromDay` to `toDay` by day then title, a page at a time: at most `limit`
   * rows after `after` (the last row of the page before), with the next page's start when more remain.
   */
  async viewsPage(
    fromDay: number,
    toDay: number,
    page: { limit?: number; after?: { day: number; titleId: string } } = {},
  ): Promise<{ views: Array<{ day: number; titleId: string; plays: number; bytes: number; estBytes: number }>; next?: { day: number; titleId: string } }> {
    this.settleDue();
    const limit = boundedCount(page.limit, VIEWS_PAGE_DEFAULT);
    const after = page.after ?? { day: fromDay - 1, titleId: "" };
    const got = rows<{ day: number; title_id: string; plays: number; bytes: number; est_bytes: number }>(
      this.sql,
      `SELECT * FROM views WHERE day BETWEEN ? AND ? AND (day > ? OR (day = ? AND title_id > ?)) ORDER BY day, title_id LIMIT ?`,
      fromDay,
      toDay,
      after.day,
      after.day,
      after.titleId,
      limit + 1,
    ).map((r) => ({ day: r.day, titleId: r.title_id, plays: r.plays, bytes: r.bytes, estBytes: r.est_bytes }));
    const views = got.slice(0, limit);
    const last = views[views.length - 1];
    return got.length > limit && last ? { views, next: { day: last.day, titleId: last.titleId } } : { views };
  }

  // ---- planned fill ---------------------------------------------------------------------------

  /** The day of the last applied plan, so a repeated cron run does nothing. */
  async plannedDay(): Promise<number | null> {
    const d = getMeta(this.sql, "planned_day");
    return d === null ? null : Number(d);
  }

  /**
   * The last cycle's figures and predictions, for operators, with a page of the plan: at most
   * `page.limit` (default PLAN_PAGE_DEFAULT) planned titles by OCA then title id, after `page.after`
   * (the `next` of the page before); `next` when more remain. A site's plan is every OCA's titles, which
   * grows with the catalogue: no call carries all of it.
   */
  async lastCycle(
    page: { after?: plan.PlanCursor | null; limit?: number } = {},
  ): Promise<{ day: number | null; plan: Record<string, string[]>; cycle: CycleFigures | null; progress: FillProgress; next?: plan.PlanCursor }> {
    const { rows: planned, next } = plan.planPage(this.sql, page.after ?? null, Math.max(1, boundedCount(page.limit, PLAN_PAGE_DEFAULT)));
    const byOca = new Map<string, string[]>();
    for (const r of planned) {
      let list = byOca.get(r.ocaId);
      if (!list) byOca.set(r.ocaId, (list = []));
      list.push(r.titleId);
    }
    return {
      day: await this.plannedDay(),
      plan: Object.fromEntries(byOca),
      cycle: getMetaJson(this.sql, "last_cycle", null),
      progress: this.progress(),
      ...(next ? { next } : {}),
    };
  }

  /**
   * Applies a fill plan: records it (each OCA's titles in the plan's order, most valuable first), drops
   * queued files that left the plan (held copies stay until their room is needed), queues the first
   * planned titles' missing files (the rest follow as the fill works through them: see queuePlanned),
   * and arms the alarm. Files already queued keep their age and attempts and take their title's new rank
   * when it is queued again.
   * The counters of an alarm run under way are not overwritten: they are read and written with no
   * await in between.
   * Refused, changing nothing, when a cycle that started later has applied its plan, or when the
   * caller's deadline for it has passed (see ApplyPlanInput.startedAt and applyBy).
   */
  async applyPlan(input: ApplyPlanInput): Promise<ApplyPlanResult> {
    await liveTopology(this.env);
    const site = this.site;
    const titles = Object.entries(input.byOca).flatMap(([ocaId, list]) => (this.oca(ocaId) ? list.map((titleId, rank) => ({ ocaId, titleId, rank })) : []));
    const now = Date.now();
    if (input.applyBy !== undefined && !(now <= input.applyBy)) return { applied: false, reason: "past_its_deadline" };
    const startedAt = Number.isFinite(input.startedAt) ? (input.startedAt as number) : now;
    // Checked and recorded in one transaction with the plan: two cycles' calls cannot both pass.
    const stale = this.ctx.storage.transactionSync(() => {
      const held = Number(getMeta(this.sql, "plan_started_at") ?? Number.NEGATIVE_INFINITY);
      if (startedAt < held) return true;
      setMeta(this.sql, "plan_started_at", startedAt);
      plan.replacePlan(this.sql, titles);
      fillQueue.dropUnplanned(this.sql);
      // Parked tasks get a fresh start with each plan.
      run(this.sql, `DELETE FROM fill_tasks WHERE parked_at IS NOT NULL`);
      setMeta(this.sql, "planned_day", input.day);
      pruneViews(this.sql, input.day);
      setMeta(this.sql, "fill_until", input.fillUntil);
      setMeta(this.sql, "fill_rate_bps", input.fillRateBps);
      setMeta(this.sql, "peer_wait_ms", input.peerWaitMs);
      setMeta(this.sql, "parent_wait_ms", input.parentWaitMs);
      setMeta(this.sql, "queue_ahead", input.queueAhead ? JSON.stringify(input.queueAhead) : null);
      setMeta(this.sql, "last_cycle", JSON.stringify(input.cycle));
      setMeta(this.sql, "cycle_done", null);
      setMeta(this.sql, "last_error", null);
      // A new plan's fill starts without the last one's backoff (see retryAfter).
      setMeta(this.sql, "fill_failures", null);
      fillQueue.resetBudget(
        this.sql,
        site.ocas.map((o) => o.id),
        now,
      );
      return false;
    });
    if (stale) return { applied: false, reason: "newer_plan_applied" };
    // Armed before the first titles are queued: the plan is recorded, so a failed read here must not
    // leave the site unfilled until tomorrow's cycle (each fill run queues titles too). The alarm also
    // reconciles the steering view, so it runs even when nothing is queued.
    await this.ctx.storage.setAlarm(now);
    await this.queuePlanned(now).catch((err) => setMeta(this.sql, "last_error", `queuing the plan's titles: ${String(err)}`));
    const q = rows<{ n: number; b: number | null }>(this.sql, `SELECT COUNT(*) AS n, SUM(bytes) AS b FROM fill_tasks`)[0];
    const titlesToQueue = [...plan.unqueuedByOca(this.sql).values()].reduce((a, b) => a + b, 0);
    return { applied: true, queuedFiles: q.n, queuedBytes: q.b ?? 0, titlesToQueue };
  }

  /**
   * Queues the missing files of planned titles not queued yet, each OCA's in its plan's order, until
   * the OCA has the plan's queue-ahead of files to copy or the call has looked at its share of titles
   * (and of catalogue rows: one D1 read per round, of a few titles). Superseded files of each title are
   * dropped as it is queued. Called by applyPlan and at the start of every fill run, so the queue stays
   * ahead of the copies while a plan of thousands of titles is never expanded at once.
   */
  private async queuePlanned(now: number): Promise<void> {
    const ahead = this.queueAhead();
    const perRead = Math.max(1, Math.min(8, ahead.titles));
    let titlesLeft = ahead.titles;
    let rowsLeft = ahead.catalogueRows;
    // One read per title per call, even when several OCAs plan it.
    const filesOf = new Map<string, TitleFile[]>();
    const versionOf = new Map<string, number | null>();
    // Complete here at the title's current version: nothing to copy, and no need to read its files.
    const heldComplete = (ocaId: string, titleId: string) => {
      const h = holdings.heldSummary(this.sql, ocaId, titleId);
      const v = versionOf.get(titleId);
      return h !== undefined && v !== undefined && v !== null && h.completeVersion === v && h.ready === h.files;
    };
    while (titlesLeft > 0 && rowsLeft > 0) {
      const want = this.site.ocas.flatMap((o) =>
        plan.queuedFiles(this.sql, o.id) < ahead.files ? plan.nextToQueue(this.sql, o.id, Math.min(perRead, titlesLeft)) : [],
      );
      if (want.length === 0) return;
      const titleIds = [...new Set(want.map((w) => w.titleId))];
      const unversioned = titleIds.filter((id) => !versionOf.has(id));
      if (unversioned.length) {
        const versions = await catalogueDb.currentVersions(this.env.DB, unversioned);
        for (const id of unversioned) versionOf.set(id, versions.get(id) ?? null);
      }
      const unread = titleIds.filter((id) => !filesOf.has(id) && want.some((w) => w.titleId === id && !heldComplete(w.ocaId, id)));
      if (unread.length) {
        const read = await this.catalogueFiles(unread);
        for (const id of unread) {
          const files = read.get(id) ?? [];
          filesOf.set(id, files);
          rowsLeft -= files.length;
        }
      }
      // Another call may have replaced the plan, queued these titles or changed the holdings while D1
      // answered: each is queued only if still planned and unqueued, at its rank now.
      this.ctx.storage.transactionSync(() => {
        const superseded = new Set<string>();
        for (const w of want) {
          const rank = plan.unqueuedRank(this.sql, w.ocaId, w.titleId);
          if (rank === null) continue;
          if (heldComplete(w.ocaId, w.titleId)) {
            fillQueue.dropTasksOf(this.sql, w.ocaId, w.titleId);
            plan.markQueued(this.sql, w.ocaId, w.titleId);
            continue;
          }
          const files = filesOf.get(w.titleId);
          // Complete when its files were not read, no longer: the next round reads them.
          if (files === undefined) continue;
          if (!superseded.has(w.titleId)) {
            fillQueue.dropSuperseded(this.sql, w.titleId, new Set(files.map(holdings.fileId)));
            superseded.add(w.titleId);
          }
          const ready = holdings.readyFiles(this.sql, w.ocaId, w.titleId);
          for (const f of files) if (!ready.has(holdings.fileId(f))) fillQueue.enqueue(this.sql, w.ocaId, w.titleId, f, now, rank);
          plan.markQueued(this.sql, w.ocaId, w.titleId);
        }
      });
      titlesLeft -= want.length;
    }
  }

  /** The plan's queue-ahead: QUEUE_AHEAD, or what the plan asked for (tests ask for less). */
  private queueAhead(): plan.QueueAhead {
    return { ...plan.QUEUE_AHEAD, ...getMetaJson<Partial<plan.QueueAhead>>(this.sql, "queue_ahead", {}) };
  }

  /** True when an OCA of the site has planned titles still to queue and room in its queue for them: the next run queues more. */
  private canQueueMore(): boolean {
    const ahead = this.queueAhead();
    return this.site.ocas.some((o) => plan.nextToQueue(this.sql, o.id, 1).length > 0 && plan.queuedFiles(this.sql, o.id) < ahead.files);
  }

  /**
   * Works through the fill queue within each OCA's fill-rate budget and the plan's window, publishes
   * each copy as soon as its title is complete, reconciles the steering view with the holdings, and
   * re-arms itself while work remains. Safe to run any number of times, and safe to be cut off at any
   * point: a file counts only once its verified copy is ready, a half-made copy is redone, and the
   * next run's reconcile repairs any publish that did not happen.
   */
  async alarm(): Promise<void> {
    await liveTopology(this.env);
    const started = Date.now();
    const fillUntil = Number(getMeta(this.sql, "fill_until") ?? 0);
    const windowOpen = started < fillUntil;
    let reconciled = true;
    let run = { waiting: false, copied: 0, failed: false };

    // Retired OCAs first: a fill run then finds none of their tasks left to skip.
    let cleanedUp = true;
    let cleanUpDue: number | null = null;
    try {
      cleanUpDue = await this.cleanUpRetired(started);
    } catch (err) {
      cleanedUp = false;
      setMeta(this.sql, "last_error", `retired OCAs' clean-up: ${String(err)}`);
    }

    if (windowOpen) {
      try {
        run = { ...(await this.fillRun(started)), failed: false };
      } catch (err) {
        // R2, D1 or a parent out mid-run: the run stops here and is tried again after a backoff (below).
        run.failed = true;
        setMeta(this.sql, "last_error", `fill run stopped: ${String(err)}`);
      }
    } else if (rows(this.sql, `SELECT 1 AS x FROM fill_tasks WHERE parked_at IS NULL LIMIT 1`).length > 0 || plan.anyUnqueued(this.sql)) {
      setMeta(this.sql, "last_error", "fill window closed with work left; the next cycle re-plans");
    }

    try {
      await this.reconcileNext();
    } catch (err) {
      reconciled = false;
      setMeta(this.sql, "last_error", `reconcile: ${String(err)}`);
    }

    // Re-armed explicitly, never left to the platform's few retries of a throwing alarm. A fill run cut
    // short by an error, or a failed reconcile, is tried again after its own backoff (a tick, doubled
    // with each failure in a row, back to a tick once it succeeds): an outage of D1 or R2 does not make
    // every site object call it every second, while the fill's pace and a reconcile pass that succeed
    // are not slowed by the other's failures.
    const now = Date.now();
    const at: number[] = [];
    const cleanUpRetry = this.retryAfter("cleanup", !cleanedUp);
    if (cleanUpRetry !== null) at.push(now + cleanUpRetry);
    // A batch left goes at the next tick; copies waiting for their time, at that time.
    else if (cleanUpDue !== null) at.push(Math.max(now + TICK_MS, cleanUpDue));
    const reconcileRetry = this.retryAfter("reconcile", !reconciled);
    if (reconcileRetry !== null) at.push(now + reconcileRetry);
    // A reconcile pass under way goes on, a slice a tick, whether or not the fill has work left.
    else if (getMeta(this.sql, "reconcile_after") !== null) at.push(now + TICK_MS);
    if (windowOpen) {
      // Planned titles still to queue with room for them: the next run queues more (see queuePlanned).
      const moreToQueue = this.canQueueMore();
      const fillRetry = this.retryAfter("fill", run.failed);
      if (fillRetry !== null) {
        if (moreToQueue || fillQueue.nextDue(this.sql) !== null) at.push(Math.min(now + fillRetry, fillUntil));
      } else {
        const due = moreToQueue ? started : fillQueue.nextDue(this.sql);
        const soon = run.waiting || run.copied === 0 ? TICK_MS : 0;
        if (due !== null) at.push(Math.max(now + soon, Math.min(due, fillUntil)));
      }
    }
    if (at.length > 0) await this.ctx.storage.setAlarm(Math.min(...at));
  }

  /**
   * Notes how a part of the alarm's work ("fill": a fill run; "reconcile": its slice; "cleanup": the
   * retired OCAs' batch) went, and returns
   * how long to wait before trying it again after a failure: a tick after the first failure in a row,
   * doubling with each further one up to ALARM_RETRY_CAP_MS. Null after a success (the count starts over).
   */
  private retryAfter(part: "fill" | "reconcile" | "cleanup", failed: boolean): number | null {
    const key = `${part}_failures`;
    if (!failed) {
      setMeta(this.sql, key, null);
      return null;
    }
    const failures = Number(getMeta(this.sql, key) ?? 0) + 1;
    setMeta(this.sql, key, failures);
    return Math.min(ALARM_RETRY_CAP_MS, TICK_MS * 2 ** Math.min(30, failures - 1));
  }

  /** One run of the fill queue within the alarm's budget: copies due tasks the budget allows. */
  private async fillRun(started: number): Promise<{ waiting: boolean; copied: number }> {
    let waiting = false;
    let copied = 0;
    const rate = Number(getMeta(this.sql, "fill_rate_bps") ?? 0) / 8; // bytes per second
    fillQueue.refillBudget(
      this.sql,
      this.site.ocas.map((o) => o.id),
      rate,
      started,
    );
    await this.dropStranded();
    await this.queuePlanned(started);
    const peerWait = Number(getMeta(this.sql, "peer_wait_ms") ?? 0);
    const parentWait = Number(getMeta(this.sql, "parent_wait_ms") ?? 0);
    const parentCache = new Map<string, { holders: Map<string, HeldFile>; plans: boolean }>();
    // Asked of D1 once per run, and only when a copy needs room.
    let lastLicensedDay: Promise<Set<string>> | undefined;
    const onLastLicensedDay = () => (lastLicensedDay ??= this.lastLicensedDay());
    // Whether the catalogue still lists each title as live (not taken down) and licensed, in a country
    // the site serves, at some moment before the plan's day ends (a re-publish may have dropped those
    // countries, or the licence there ended since the plan): asked of D1 for the titles of the next page
    // of due tasks at once, when the first of them is to be copied. Tasks come only from the plan (an
    // operator's fill copies at once, never through this queue).
    const plannedDay = getMeta(this.sql, "planned_day");
    const dayEnd = plannedDay === null ? 0 : localDayStart(Number(plannedDay) + 1, this.site.timeZone);
    const countries = servedCountries(this.site);
    const live = new Map<string, boolean>();
    const isLive = async (listed: fillQueue.FillTask): Promise<boolean> => {
      const known = live.get(listed.titleId);
      if (known !== undefined) return known;
      const ids = fillQueue.dueTitlesFrom(this.sql, listed, started).filter((id) => !live.has(id));
      if (!ids.includes(listed.titleId)) ids.push(listed.titleId);
      try {
        const now = Date.now();
        // A plan whose day is over (none should be) still fills what is licensed there now.
        const fillable = await catalogueDb.fillable(this.env.DB, ids, countries, now, Math.max(dayEnd, now + 1));
        for (const id of ids) live.set(id, fillable.has(id));
      } catch (err) {
        // D1 cannot say: the fill goes on as planned this run (the reconcile removes what is licensed nowhere).
        console.error("fill: live titles unreadable; none dropped this run", err);
        for (const id of ids) live.set(id, true);
      }
      return live.get(listed.titleId) ?? true;
    };
    for (const listed of fillQueue.dueTasks(this.sql, started)) {
      if (Date.now() - started > ALARM_BUDGET_MS) break;
      // applyPlan or an admin fill may have changed the queue while this run awaited.
      const t = fillQueue.currentTask(this.sql, listed);
      // A retired OCA's tasks go with its rows (see cleanUpRetired).
      if (!t || !this.oca(t.ocaId) || fillQueue.budgetLeft(this.sql, t.ocaId) <= 0) continue;
      // Left from an earlier plan, its title not queued again yet: queuing it gives its rank, or drops it if superseded.
      if (!plan.isQueued(this.sql, t.ocaId, t.titleId)) continue;
      // An admin fill may have made this copy meanwhile: the task is done, with no second copy.
      if (holdings.isReady(this.sql, t)) {
        fillQueue.complete(this.sql, t);
        continue;
      }
      // Taken down, or no longer licensed where the site's clients are, since its files were queued: none
      // of them is copied (no client of the site would play them; the reconcile would delete a title
      // licensed nowhere). Its plan entry stays queued, so it is not queued again before the next plan.
      if (!(await isLive(t))) {
        fillQueue.dropTitle(this.sql, t.titleId);
        continue;
      }
      const src = await this.resolveSource(t, { age: started - t.createdAt, peerWait, parentWait, parentCache });
      if ("wait" in src) {
        waiting = true;
        continue;
      }
      // No room is no fault of the source: the task waits a while (from the run's start, so the
      // tasks put off in one run come due together), its source and budget untouched.
      const noRoom = (error: string) => {
        fillQueue.deferNoRoom(this.sql, t, error, started);
        setMeta(this.sql, "last_error", error);
      };
      if (!(await this.makeRoom(t.ocaId, t.bytes, onLastLicensedDay))) {
        noRoom(`${t.ocaId} has no room for ${t.titleId}/${t.path} even after evicting unplanned titles`);
        continue;
      }
      // A plan applied while the source and the room were found may have dropped this task.
      if (!fillQueue.currentTask(this.sql, t) || !plan.isQueued(this.sql, t.ocaId, t.titleId)) continue;
      let made: boolean;
      try {
        made = await this.copyInto(t.ocaId, t.titleId, t, src);
      } catch (err) {
        if (err instanceof NoRoom) {
          noRoom(err.message);
          continue;
        }
        if (err instanceof Retired) continue;
        // Bytes read for a failed copy still count against the fill-rate budget.
        fillQueue.charge(this.sql, t.ocaId, t.bytes);
        const parked = fillQueue.fail(this.sql, t, src.label, String(err), Date.now());
        setMeta(this.sql, "last_error", `${t.ocaId} ${t.titleId}/${t.path} from ${src.label}${parked ? " (parked)" : ""}: ${String(err)}`);
        continue;
      }
      fillQueue.complete(this.sql, t);
      if (!made) continue;
      fillQueue.charge(this.sql, t.ocaId, t.bytes);
      fillQueue.countDone(this.sql, src.source, t.bytes);
      copied++;
      // Published the moment the title is complete, which it cannot be while a task of it is left here
      // (checking after every file would read the title's files from D1 once per file); if this fails,
      // or the title was completed another way, the reconcile (this run's or a later one's) repairs it.
      if (fillQueue.anyQueued(this.sql, t.ocaId, t.titleId)) continue;
      const current = await this.publishIfComplete(t.ocaId, t.titleId).catch((err) => {
        setMeta(this.sql, "last_error", `publish ${t.ocaId} ${t.titleId}: ${String(err)}`);
        return true;
      });
      // Re-published while its files were copied: complete only at an older version. Queued again, its
      // current files are read afresh and the changed ones copied this night, not the next.
      if (!current) plan.requeue(this.sql, t.ocaId, t.titleId);
    }
    return { waiting, copied };
  }

  /**
   * A crash mid-copy leaves a 'filling' row, a cut-off eviction 'evicting' rows: drop them and their
   * bytes. Copies made before content addressing are deleted here too.
   */
  private async dropStranded(): Promise<void> {
    if (this.running.size || this.locks.size) return;
    const started = Date.now();
    for (const r of holdings.stranded(this.sql)) {
      // A long clean-up leaves the rest to the next run rather than hold up the fill.
      if (Date.now() - started > STRANDED_BUDGET_MS) return;
      // Under the title's lock, and only if still stranded: an operator's fill of that title may have
      // begun since the list was read, and its fresh copy must not be deleted.
      // An operator's fill that began meanwhile reserves its files up front, as 'filling' rows this list
      // cannot tell from a cut-off copy's: the clean-up stops and the next run goes on.
      if (this.running.size) return;
      await this.serial(r.ocaId, r.titleId, async () => {
        if (this.running.size || !holdings.isStranded(this.sql, r)) return;
        await this.bucket().delete(ocaKey(this.site.id, r.ocaId, r.titleId, r.path, r.sha256));
        holdings.dropFile(this.sql, r);
      });
    }
    for (const o of holdings.legacyObjects(this.sql)) {
      await this.bucket().delete(`${this.site.id}/${o.ocaId}/${o.titleId}/${o.path}`);
      holdings.dropLegacy(this.sql, o);
    }
  }

  /** The source of a task, resolved to a bucket and key; parents are asked once per (parent, title) per run. */
  private async resolveSource(
    t: fillQueue.FillTask,
    w: { age: number; peerWait: number; parentWait: number; parentCache: Map<string, { holders: Map<string, HeldFile>; plans: boolean }> },
  ): Promise<Source | { wait: string }> {
    const site = this.site;
    const peers = holdings.peersWithFile(this.sql, t.titleId, t, t.ocaId).filter((id) => this.oca(id) && this.health(id).health !== "failed");
    const parents: ParentOffer[] = [];
    for (const parent of parentChain(site)) {
      const cacheKey = `${parent.id}|${t.titleId}`;
      let info = w.parentCache.get(cacheKey);
      if (!info) {
        info = await this.askParent(parent.id, t.titleId);
        w.parentCache.set(cacheKey, info);
      }
      parents.push({ siteId: parent.id, holder: info.holders.get(holdings.fileId(t)), plans: info.plans });
    }
    const d = chooseSource({
      file: t,
      peers,
      earlierPeerQueued:
        fillQueue.earlierPeerQueued(this.sql, t.titleId, t, t.ocaId, t.priority) || plan.earlierPeerToQueue(this.sql, t.titleId, t.ocaId, t.priority),
      parents,
      failed: t.failedSources,
      age: w.age,
      peerWaitMs: w.peerWait,
      parentWaitMs: w.parentWait,
    });
    switch (d.kind) {
      case "wait":
        return { wait: d.reason };
      case "peer":
        return { source: "peer", label: d.label, bucket: this.bucket(), key: ocaKey(site.id, d.ocaId, t.titleId, t.path, t.sha256) };
      case "parent":
        return { source: "parent", label: d.label, bucket: this.bucket(findSite(d.siteId)!), key: ocaKey(d.siteId, d.ocaId, t.titleId, t.path, t.sha256) };
      default:
        return { source: "origin", label: "origin", bucket: this.env.ORIGIN, key: originKey(t.titleId, t.path, t.sha256) };
    }
  }

  /** What a parent site holds of a title; a parent that fails or hangs offers nothing this run. */
  private async askParent(parentId: string, titleId: string): Promise<{ holders: Map<string, HeldFile>; plans: boolean }> {
    const stub = this.stub(parentId);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`parent ${parentId} timed out`)), PARENT_TIMEOUT_MS)));
    try {
      const [held, plans] = await Promise.race([Promise.all([stub.holdersOf(titleId), stub.plansTitle(titleId)]), timeout]);
      return { holders: new Map(Object.entries(held as Record<string, HeldFile>)), plans };
    } catch {
      return { holders: new Map(), plans: false };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** Copies one file into an OCA: reserve, copy and verify, then mark ready; a copy evicted meanwhile is removed. */
  private copyInto(ocaId: string, titleId: string, file: TitleFile, src: Source): Promise<boolean> {
    return this.serial(ocaId, titleId, async () => {
      const ref: holdings.FileRef = { ocaId, titleId, path: file.path, sha256: file.sha256 };
      // Made ready by the other path (the alarm or an admin fill) while this one waited for the lock:
      // copying again would turn a served copy back into 'filling', and a failed copy would delete it.
      if (holdings.isReady(this.sql, ref)) return false;
      // Retired while it waited for the lock: no row of it is made again once its clean-up has begun.
      if (!this.oca(ocaId)) throw new Retired(`${ocaId} left site ${this.site.id} (retired)`);
      const key = ocaKey(this.site.id, ocaId, titleId, file.path, file.sha256);
      if (!holdings.reserveWithin(this.sql, ocaId, titleId, file, this.capacity(ocaId), Date.now())) {
        throw new NoRoom(`${ocaId} has no room left for ${titleId}/${file.path} (another fill took it meanwhile)`);
      }
      try {
        await copyFrom(src, this.bucket(), key, file, this.copyStallMs);
      } catch (err) {
        holdings.dropFile(this.sql, ref);
        throw err;
      }
      if (!holdings.markReady(this.sql, ref, src.source, Date.now())) {
        await this.bucket().delete(key);
        throw new Error(`${titleId}/${file.path} was evicted from ${ocaId} while it was copied`);
      }
      return true;
    });
  }

  /**
   * Evicts titles that left the plan, least watched first, until `need` more bytes fit (the steering
   * view forgets each first). A title on its last licensed day here stays until its licence ends: the
   * plan, made for the next day, left it out for its licence, and viewers are still steered to it.
   */
  private async makeRoom(ocaId: string, need: number, onLastLicensedDay: () => Promise<Set<string>>): Promise<boolean> {
    const capacity = this.capacity(ocaId);
    if (holdings.usedBytes(this.sql, ocaId) + need <= capacity) return true;
    const unplanned = rows<{ title_id: string }>(
      this.sql,
      `SELECT h.title_id FROM held_titles h
       WHERE h.oca_id = ?1 AND NOT EXISTS (SELECT 1 FROM plan p WHERE p.oca_id = ?1 AND p.title_id = h.title_id)
       ORDER BY (SELECT COALESCE(SUM(v.bytes + v.est_bytes), 0) FROM views v WHERE v.title_id = h.title_id AND v.day >= ?2), h.title_id`,
      ocaId,
      // Least watched lately first: the forecast's window, not the 120 days kept (a hit of months ago outlived last week's).
      dayNumber(Date.now(), this.site.timeZone) - HISTORY_DAYS,
    );
    const lastDay = unplanned.length ? await onLastLicensedDay() : new Set<string>();
    for (const v of unplanned.filter((u) => !lastDay.has(u.title_id))) {
      if (holdings.usedBytes(this.sql, ocaId) + need <= capacity) break;
      // The list was read before an await: a plan applied since may keep the title.
      await this.evictTitle(ocaId, v.title_id, { unlessPlanned: true });
    }
    return holdings.usedBytes(this.sql, ocaId) + need <= capacity;
  }

  /**
   * Held titles the plan left out that are on their last licensed day in the site's country and whose
   * licence ends before this fill's window closes (see makeRoom): the copy that needs their room waits
   * for the licence's end, not past the window. A title licensed into the evening is evicted as any
   * other (the plan chose what replaces it for the next day). Empty when D1 cannot say: the fill goes on.
   */
  private async lastLicensedDay(): Promise<Set<string>> {
    const plannedDay = getMeta(this.sql, "planned_day");
    const unplanned = rows<{ title_id: string }>(
      this.sql,
      `SELECT DISTINCT h.title_id FROM held_titles h WHERE NOT EXISTS (SELECT 1 FROM plan p WHERE p.oca_id = h.oca_id AND p.title_id = h.title_id)`,
    ).map((r) => r.title_id);
    if (plannedDay === null || unplanned.length === 0) return new Set();
    // The plan looked at its day from that day's start: a licence ending before then kept a title out.
    const dayStart = localDayStart(Number(plannedDay), this.site.timeZone);
    const fillUntil = Number(getMeta(this.sql, "fill_until") ?? 0);
    const until = fillUntil > 0 ? Math.min(dayStart, fillUntil) : dayStart;
    try {
      return await catalogueDb.licenceEndingBy(this.env.DB, this.site.country, unplanned, Date.now(), until);
    } catch (err) {
      console.error("licences ending: D1 unreachable; no title spared this run", err);
      return new Set();
    }
  }

  /**
   * Publishes every live version of a title that the OCA holds complete; true when its current
   * version is among them. Under the copy's lock, so a concurrent eviction cannot be undone.
   */
  private publishIfComplete(ocaId: string, titleId: string): Promise<boolean> {
    return this.serial(ocaId, titleId, async () => {
      const live = (await catalogueDb.liveVersions(this.env.DB, [titleId], Date.now())).get(titleId);
      if (!live) return false;
      const ready = holdings.readyFiles(this.sql, ocaId, titleId);
      const complete = live.versions.filter((v) => holdings.isComplete(ready, v.files));
      if (live.current !== null && complete.some((v) => v.version === live.current)) holdings.noteComplete(this.sql, ocaId, titleId, live.current);
      await steeringTable.publish(
        this.env.DB,
        this.site.id,
        complete.map((v) => this.listing(ocaId, titleId, v)),
      );
      return complete.some((v) => v.version === live.current);
    });
  }

  private listing(ocaId: string, titleId: string, v: LiveVersion) {
    return { ocaId, titleId, version: v.version, files: v.files.length, bytes: v.files.reduce((s, f) => s + f.bytes, 0), health: this.health(ocaId).health };
  }

  /**
   * Makes the site's rows of the steering view match its holdings, both ways, for every title: a full
   * pass (operators and tests; the alarm reconciles a slice per run, see reconcileNext).
   */
  async reconcile(): Promise<ReconcileCounts> {
    const total: ReconcileCounts = { published: 0, unpublished: 0, pruned: 0 };
    let after = "";
    do {
      const r = await this.reconcileSlice(after);
      total.published += r.published;
      total.unpublished += r.unpublished;
      total.pruned += r.pruned;
      after = r.next;
    } while (after !== "");
    return total;
  }

  /** The alarm's reconcile: the next slice of titles after the last run's, from the first again once past the last. */
  private async reconcileNext(): Promise<void> {
    const r = await this.reconcileSlice(getMeta(this.sql, "reconcile_after") ?? "");
    setMeta(this.sql, "reconcile_after", r.next || null);
  }

  /**
   * Reconciles the titles after `after` (by id), up to RECONCILE_TITLES of them, held here or listed
   * for this site: every complete copy of a live version (current, or still played by sessions that
   * started on it) is listed, and nothing else is. Then removes files that belong to no live version of
   * their title (an old version whose last session has expired, a title taken down). Each fix re-checks
   * under the copy's lock, so a concurrent fill or eviction cannot be undone by a stale answer. `next`
   * is the last title of the slice, or "" when the slice reached the last title.
   */
  private async reconcileSlice(after: string): Promise<ReconcileCounts & { next: string }> {
    const site = this.site;
    const limit = RECONCILE_TITLES;
    const heldIds = rows<{ title_id: string }>(
      this.sql,
      `SELECT DISTINCT title_id FROM held_titles WHERE title_id > ? ORDER BY title_id LIMIT ?`,
      after,
      limit,
    ).map((r) => r.title_id);
    const listedIds = await steeringTable.listedTitlesAfter(this.env.DB, site.id, after, limit);
    // The first `limit` of either list's titles: each list holds every one of its titles up to the last of these.
    const ids = [...new Set([...heldIds, ...listedIds])].sort().slice(0, limit);
    const next = ids.length === limit ? ids[limit - 1] : "";
    const now = Date.now();
    const [allListed, counts] = await Promise.all([steeringTable.listedOf(this.env.DB, site.id, ids), catalogueDb.liveVersionCounts(this.env.DB, ids, now)]);
    const allPairs = holdings.heldPairsOf(this.sql, ids);
    // Settled: one live version, and every copy of it here found complete, with no other file, and
    // listed at it; nothing else listed. The steady state of a national site's titles: none of their
    // files is read, from D1 or here. The rest are checked file by file.
    const settled = (titleId: string): boolean => {
      const versions = counts.get(titleId) ?? [];
      if (versions.length !== 1) return false;
      const [{ version, files }] = versions;
      const pairs = allPairs.filter((p) => p.titleId === titleId);
      const listings = allListed.filter((l) => l.titleId === titleId);
      return (
        listings.length === pairs.length &&
        pairs.every(
          (p) =>
            this.oca(p.ocaId) &&
            p.completeVersion === version &&
            p.files === files &&
            p.ready === files &&
            listings.some((l) => l.ocaId === p.ocaId && l.version === version),
        )
      );
    };
    const toCheck = new Set(ids.filter((id) => !settled(id)));
    const listed = allListed.filter((l) => toCheck.has(l.titleId));
    const pairs = allPairs.filter((p) => toCheck.has(p.titleId));
    const live = await catalogueDb.liveVersions(this.env.DB, [...toCheck], now);
    const versionsOf = (titleId: string): LiveVersion[] => live.get(titleId)?.versions ?? [];
    const completeVersion = (ocaId: string, titleId: string, version: number) => {
      const v = versionsOf(titleId).find((x) => x.version === version);
      return v !== undefined && holdings.isComplete(holdings.readyFiles(this.sql, ocaId, titleId), v.files);
    };
    const isListed = new Set(listed.map((l) => `${l.ocaId}|${l.titleId}|${l.version}`));
    let published = 0;
    let unpublished = 0;
    let pruned = 0;
    for (const l of listed) {
      if (completeVersion(l.ocaId, l.titleId, l.version)) continue;
      await this.serial(l.ocaId, l.titleId, async () => {
        if (completeVersion(l.ocaId, l.titleId, l.version)) return;
        await steeringTable.unpublish(this.env.DB, [l]);
        unpublished++;
      });
    }
    for (const p of pairs) {
      if (!this.oca(p.ocaId)) continue;
      const current = live.get(p.titleId)?.current ?? null;
      if (current !== null && completeVersion(p.ocaId, p.titleId, current)) holdings.noteComplete(this.sql, p.ocaId, p.titleId, current);
      const toList = versionsOf(p.titleId).filter(
        (v) => !isListed.has(`${p.ocaId}|${p.titleId}|${v.version}`) && completeVersion(p.ocaId, p.titleId, v.version),
      );
      if (toList.length === 0) continue;
      await this.serial(p.ocaId, p.titleId, async () => {
        const still = toList.filter((v) => completeVersion(p.ocaId, p.titleId, v.version));
        await steeringTable.publish(
          this.env.DB,
          site.id,
          still.map((v) => this.listing(p.ocaId, p.titleId, v)),
        );
        published += still.length;
      });
    }
    for (const p of pairs) {
      const n = await this.pruneStale(p.ocaId, p.titleId, versionsOf(p.titleId));
      pruned += n;
      // Pruning a stale file made the title's note go (a ready row went): what is left is checked again.
      const current = live.get(p.titleId)?.current ?? null;
      if (n > 0 && current !== null && completeVersion(p.ocaId, p.titleId, current)) holdings.noteComplete(this.sql, p.ocaId, p.titleId, current);
    }
    return { published, unpublished, pruned, next };
  }

  /**
   * Deletes an OCA's files of a title that no live version uses, up to R2_DELETE_MAX keys a call (a title
   * re-encoded or taken down has thousands: a call each would make an alarm run's calls grow with them);
   * their rows go last, so a cut-off run is finished by the next.
   */
  private pruneStale(ocaId: string, titleId: string, versions: LiveVersion[]): Promise<number> {
    return this.serial(ocaId, titleId, async () => {
      const wanted = new Set(versions.flatMap((v) => v.files.map(holdings.fileId)));
      const stale = holdings
        .readyRows(this.sql, ocaId, titleId)
        .filter((f) => !wanted.has(holdings.fileId(f)))
        .map((f) => ({ ocaId, titleId, path: f.path, sha256: f.sha256 }));
      for (let i = 0; i < stale.length; i += R2_DELETE_MAX) {
        const batch = stale.slice(i, i + R2_DELETE_MAX);
        this.ctx.storage.transactionSync(() => {
          for (const ref of batch) holdings.markFileEvicting(this.sql, ref);
        });
        await this.bucket().delete(batch.map((f) => ocaKey(this.site.id, ocaId, titleId, f.path, f.sha256)));
        this.ctx.storage.transactionSync(() => {
          for (const ref of batch) holdings.dropFile(this.sql, ref);
        });
      }
      return stale.length;
    });
  }

  // ---- manual fill (admin) --------------------------------------------------------------------

  /**
   * Copies the files of a title an OCA lacks into it now, up to `maxFiles` of them (the caller calls
   * again while `done` is false): from a peer OCA of this site if one holds it, else the nearest parent
   * site that holds it with the catalogue's checksum, else origin; a failed source is skipped for the
   * next try. Each copy is a real byte copy whose size and SHA-256 are verified before it counts as
   * ready, and the title is published only once it is complete.
   */
  async fillTitle(ocaId: string, titleId: string, maxFiles = FILL_FILES_PER_CALL_MAX): Promise<FillResult> {
    const key = `${ocaId}/${titleId}`;
    // A fill of the same (OCA, title) under way: wait for it, then make this call's own (its files are
    // then skipped, not counted twice).
    for (let busy = this.running.get(key); busy; busy = this.running.get(key)) await busy.catch(() => {});
    const limit = Number.isSafeInteger(maxFiles) ? Math.min(Math.max(maxFiles, 1), FILL_FILES_PER_CALL_MAX) : FILL_FILES_PER_CALL_MAX;
    const run = this.doFill(ocaId, titleId, limit).finally(() => this.running.delete(key));
    this.running.set(key, run);
    return run;
  }

  private async doFill(ocaId: string, titleId: string, maxFiles: number): Promise<FillResult> {
    if (!this.oca(ocaId)) return { ok: false, ocaId, titleId, code: "unknown_oca", message: `site ${this.site.id} has no OCA ${ocaId}` };
    const files = (await this.catalogueFiles([titleId])).get(titleId) ?? [];
    if (files.length === 0) return { ok: false, ocaId, titleId, code: "unknown_title", message: `title ${titleId} has no files in the catalogue` };

    const ready = holdings.readyFiles(this.sql, ocaId, titleId);
    // Files with a row already (being filled) have their space reserved.
    const reserved = new Set(
      rows<{ path: string; sha256: string }>(this.sql, `SELECT path, sha256 FROM holdings WHERE oca_id = ? AND title_id = ?`, ocaId, titleId).map(
        holdings.fileId,
      ),
    );
    const missing = files.filter((f) => !ready.has(holdings.fileId(f)));
    const used = holdings.usedBytes(this.sql, ocaId);
    const need = missing.reduce((s, f) => s + (reserved.has(holdings.fileId(f)) ? 0 : f.bytes), 0);
    const capacity = this.capacity(ocaId);
    if (used + need > capacity) {
      return {
        ok: false,
        ocaId,
        titleId,
        code: "insufficient_capacity",
        message: `${ocaId} holds ${used} of ${capacity} bytes; ${titleId} needs ${need} more`,
      };
    }
    const share = missing.slice(0, maxFiles);
    // Retired while the catalogue answered: its clean-up may have begun, and no row of it is made again.
    if (!this.oca(ocaId)) return { ok: false, ocaId, titleId, code: "unknown_oca", message: `site ${this.site.id} has no OCA ${ocaId}` };
    // This call's room is taken now, checked above with no await between: a concurrent fill (another
    // admin's, the alarm's) then finds it taken and is refused before it copies, rather than both
    // filling past the OCA's capacity.
    this.ctx.storage.transactionSync(() => {
      for (const f of share) holdings.reserve(this.sql, ocaId, titleId, f, Date.now());
    });
    const failed = async (code: "copy_failed" | "insufficient_capacity" | "unknown_oca", message: string): Promise<FillResult> => {
      // The room this call took up front and did not fill goes back now, not at the next fill window's
      // clean-up. Under the copies' lock: a row another copy is filling is never taken from it.
      await this.serial(ocaId, titleId, async () => {
        for (const f of share) holdings.releaseReserved(this.sql, { ocaId, titleId, path: f.path, sha256: f.sha256 });
      });
      return { ok: false, ocaId, titleId, code, message };
    };
    const bySource: BySource<number> = { peer: 0, parent: 0, origin: 0 };
    const parentCache = new Map<string, { holders: Map<string, HeldFile>; plans: boolean }>();
    let bytes = 0;
    for (const f of share) {
      const task: fillQueue.FillTask = { ...f, ocaId, titleId, createdAt: 0, attempts: 0, failedSources: [], priority: 0 };
      for (;;) {
        const src = await this.resolveSource(task, { age: Infinity, peerWait: 0, parentWait: 0, parentCache });
        if ("wait" in src) return failed("copy_failed", `${f.path}: ${src.wait}`);
        try {
          if (await this.copyInto(ocaId, titleId, f, src)) bySource[src.source]++;
          break;
        } catch (err) {
          if (err instanceof NoRoom) return failed("insufficient_capacity", err.message);
          if (err instanceof Retired) return failed("unknown_oca", err.message);
          if (src.source === "origin") return failed("copy_failed", `${f.path} from ${src.label}: ${String(err)}`);
          task.failedSources.push(src.label);
        }
      }
      bytes += f.bytes;
    }
    const skipped = files.length - missing.length;
    const remaining = missing.length - share.length;
    if (remaining > 0) return { ok: true, done: false, ocaId, titleId, copied: share.length, skipped, remaining, bytes, bySource };
    if (!(await this.publishIfComplete(ocaId, titleId))) {
      return { ok: false, ocaId, titleId, code: "not_complete", message: `${titleId} on ${ocaId} is no longer complete (evicted or re-published meanwhile)` };
    }
    return { ok: true, done: true, ocaId, titleId, copied: share.length, skipped, remaining: 0, bytes, bySource };
  }

  /**
   * Removes a title from an OCA: its rows stop counting as ready at once, it leaves the steering view,
   * then its bytes go, then its rows. Cut off half-way, the rows stay 'evicting' (still counted as
   * used, never as held) and the next alarm run finishes the job. `unlessPlanned`: nothing is removed
   * when the current plan puts the title on the OCA (checked once the title's turn comes).
   */
  evictTitle(ocaId: string, titleId: string, opts: { unlessPlanned?: boolean } = {}): Promise<{ files: number; bytes: number }> {
    return this.serial(ocaId, titleId, async () => {
      if (opts.unlessPlanned && plan.isPlanned(this.sql, ocaId, titleId)) return { files: 0, bytes: 0 };
      holdings.markEvicting(this.sql, ocaId, titleId);
      await steeringTable.unpublish(this.env.DB, [{ ocaId, titleId }]);
      const bucket = this.bucket();
      const listed: string[] = [];
      let cursor: string | undefined;
      const prefix = `${this.site.id}/${ocaId}/${titleId}/`;
      do {
        const page = await bucket.list({ prefix, cursor });
        listed.push(...page.objects.map((o) => o.key));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      for (let i = 0; i < listed.length; i += 500) await bucket.delete(listed.slice(i, i + 500));
      return holdings.dropTitle(this.sql, ocaId, titleId);
    });
  }
}
