import { DurableObject } from "cloudflare:workers";
import type { QoeEvent } from "../shared/events";
import {
  adoptLegacyEvents,
  adoptLegacyPending,
  batchForwards,
  type BatchReport,
  type BatchSession,
  batchesToForward,
  type Dropped,
  droppedSoFar,
  type EventTables,
  EVENT_RETENTION_MS,
  expireEvents,
  forwardDue,
  nextExpiryAt,
  noteDropped,
  noteForwarded,
  type ReportRow,
  reportOf,
  SHARD_MIGRATIONS,
  sessionEvents,
  sessionEventsStored,
  storeBatch,
} from "./site/session-events";
import { migrate } from "./site/schema";
import { siteStub } from "../workers/shared/site-link";
import { findSite } from "../workers/shared/topology";
import { liveTopology } from "../workers/shared/topology-live";
import { isMissingMethod } from "../workers/shared/missing-method";
import { withTimeout } from "../workers/shared/with-timeout";
import { MAX_REPORT_ITEMS } from "../workers/shared/site-view";
import { first, rows, run } from "./site/sql";
import { setBounded } from "../workers/shared/bounded-map";

/**
 * The QoE events of a site's sessions, sharded: one object per (site, shard), the shard chosen by
 * session id, so no single object takes a busy site's whole event stream. Each stores batches once per
 * batch id and passes the bytes they report to the site's object in one call per FORWARD_MS (an alarm),
 * where the viewing history counts them within each session's caps.
 */
const FORWARD_MS = 1_000;
/** Batches one forward looks at, at most: no more than the site takes from one call (those with bytes for it go in the call). */
const FORWARD_MAX = MAX_REPORT_ITEMS;
/**
 * How far behind a full forward must be to be a catch-up, which the site may hold back: a shard whose
 * live traffic fills every call keeps within a second or two, one with a backlog after an outage is
 * minutes behind.
 */
export const CATCH_UP_BEHIND_MS = 10 * FORWARD_MS;
/** The longest wait after failed forwards: each failure in a row doubles the wait from FORWARD_MS. */
const FAILED_WAIT_MAX_MS = 30_000;
/** How often a shard whose site left the topology looks again (it may come back), instead of every 30 s for good. */
export const SITE_GONE_WAIT_MS = 3_600_000;
/**
 * The longest a forward waits for the site's answer (a full call costs the site some 30 ms; a busy one
 * queues it behind its syncs). A site that never answers would otherwise hold the alarm, and so every
 * later forward, for good. Timed out, the forward fails as any other (its back-off applies) and goes
 * again: should the site have counted it after all, its reports' numbers (`upTo`) keep it counted once.
 */
export const FORWARD_TIMEOUT_MS = 5_000;
/** Live batches a shard behind may forward unrationed, at most (see SessionLog.liveAllowance): two calls, more than arrive while it waits on the site. */
const LIVE_ALLOWANCE_MAX = 2 * FORWARD_MAX;
/**
 * Sessions whose stored events a shard keeps in memory, at most: more than a busy site's shard serves
 * at once (500,000 viewers over 64 shards is under 8,000 each). One forgotten is summed again once.
 */
export const EVENTS_STORED_KEPT = 20_000;

/**
 * When to forward next after `failures` failed forwards in a row: FORWARD_MS doubled per failure up to
 * FAILED_WAIT_MAX_MS, each wait drawn from its upper half, so a site's 64 shards do not call a site that
 * came back all in the same second.
 */
export function failedForwardWaitMs(failures: number, random = Math.random()): number {
  const wait = Math.min(FAILED_WAIT_MAX_MS, FORWARD_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(wait * (0.5 + random / 2));
}

export class SessionLog extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Whether the tables events had before a batch was one row still hold some (read and expired beside the batches). */
  private tables: EventTables = { legacy: false };
  /** Whether the queue of byte reports of the code before still holds some (forwarded before any batch). */
  private legacyPending = false;
  /**
   * Batches stored since the shard last forwarded without the site's catch-up share (in memory, at most
   * LIVE_ALLOWANCE_MAX). A shard behind forwards this much unrationed: its live traffic joins the back of
   * its backlog, and if it too waited for the share (5,000 reports a second for the site's 64 shards), a
   * site whose shards receive more than that would never see a backlog drain. Only the catching up waits.
   */
  private liveAllowance = 0;
  /**
   * Events each recent session has stored, as its batches' allowance counts them: read once per session
   * (summing its batches), then kept, so a session's 125th batch reads no more than its first. Rows an
   * expiry or a trim deletes stay counted: the allowance is of events sent, not of events still held.
   */
  private readonly eventsStored = new Map<string, number>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, SHARD_MIGRATIONS);
      this.sql.exec(`INSERT OR IGNORE INTO shard_epoch (id, epoch) VALUES (1, ?)`, crypto.randomUUID());
      this.tables = { legacy: adoptLegacyEvents(this.sql) };
      this.legacyPending = adoptLegacyPending(this.sql);
    });
  }

  /** The site this shard belongs to ("{site}:{shard}"). */
  private get siteId(): string {
    return (this.ctx.id.name ?? "").split(":")[0];
  }

  /** Stores a batch once per id; its bytes go to the site with the next forward. A retried batch changes nothing. */
  async recordEvents(input: {
    session: Required<BatchSession>;
    batchId: string;
    events: QoeEvent[];
    now: number;
  }): Promise<{ duplicate: boolean; accepted: number; bytes: number; over?: boolean }> {
    const { session, batchId, events, now } = input;
    const bytes = events.reduce((s, e) => s + (e.bytes ?? 0), 0);
    const { stored, before, dropped } = this.ctx.storage.transactionSync(() => {
      const dropped = expireEvents(this.sql, now, undefined, this.tables);
      const before = this.eventsStored.get(session.sessionId) ?? sessionEventsStored(this.sql, session.sessionId, this.tables);
      return { stored: storeBatch(this.sql, session, batchId, events, bytes, now, this.tables, before), before, dropped };
    });
    this.sayDropped(dropped, "past the retention or the shard's cap");
    // Noted once the transaction has committed (one that threw stored nothing).
    setBounded(this.eventsStored, session.sessionId, stored === "stored" ? before + events.length : before, EVENTS_STORED_KEPT);
    if (stored === "duplicate") {
      // Sent again: the first call may have stored it and failed before it armed the forward (the object
      // reset mid-call, say). Its bytes, if still to go, would wait for some other batch to arm it.
      if (batchForwards(events, bytes) && this.forwardUnarmed(await this.ctx.storage.getAlarm(), now) && forwardDue(this.sql)) {
        await this.ctx.storage.setAlarm(now + FORWARD_MS);
      }
      return { duplicate: true, accepted: 0, bytes: 0 };
    }
    if (stored === "over") return { duplicate: false, accepted: 0, bytes: 0, over: true };
    this.liveAllowance = Math.min(LIVE_ALLOWANCE_MAX, this.liveAllowance + 1);
    const alarmAt = await this.ctx.storage.getAlarm();
    if (batchForwards(events, bytes)) {
      if (this.forwardUnarmed(alarmAt, now)) await this.ctx.storage.setAlarm(now + FORWARD_MS);
    } else if (alarmAt === null) {
      // Nothing for the site, and no wake armed: the forward still due if any, else the wake that expires
      // batches (a quiet shard kept such batches past the retention until some other batch came).
      await this.armNext(FORWARD_MS);
    }
    return { duplicate: false, accepted: events.length, bytes };
  }

  /**
   * True when no forward is armed: no alarm, or only the far one that expires old batches (or looks again
   * for a site gone). A forward's own waits, failures' included, are never longer than FAILED_WAIT_MAX_MS.
   */
  private forwardUnarmed(alarmAt: number | null, now: number): boolean {
    return alarmAt === null || alarmAt > now + FAILED_WAIT_MAX_MS;
  }

  /** The reports this shard dropped before its site counted them, and their bytes (for operators: the site's figure lacks them). */
  async droppedReports(): Promise<Dropped> {
    return droppedSoFar(this.sql);
  }

  /** A session's stored events, oldest first. */
  async sessionEvents(sessionId: string): Promise<QoeEvent[]> {
    return sessionEvents(this.sql, sessionId, undefined, this.tables);
  }

  /**
   * Forwards the bytes of the batches past the cursor to the site in one call, then moves the cursor;
   * what is not acknowledged (within FORWARD_TIMEOUT_MS) is sent again, later after each failure in a row (failedForwardWaitMs). The
   * forward names its shard run and the ids it carries, so a forward sent again (its answer lost after
   * the site committed it) is counted once. A backlog goes a full call at a time, at once after each,
   * as the site takes them: it may defer a call well behind (a catch-up: CatchUpBudget), and the shard
   * comes back when told.
   */
  async alarm(): Promise<void> {
    // Forwards failed in a row, kept in storage: the object hibernates 10 s after its last call, and a
    // count in memory would start every wait past that afresh from FORWARD_MS.
    const { epoch, failures } = rows<{ epoch: string; failures: number }>(this.sql, `SELECT epoch, failures FROM shard_epoch`)[0];
    const shard = `${this.ctx.id.name ?? ""}/${epoch}`;
    let nextInMs = FORWARD_MS;
    try {
      if (this.legacyPending) await this.forwardLegacy(shard);
      else {
        const now = Date.now();
        const { reports, upTo, looked, oldestAt, staleUpTo } = batchesToForward(this.sql, FORWARD_MAX, now - EVENT_RETENTION_MS);
        if (upTo === null) return await this.armExpiry();
        if (staleUpTo !== null) {
          // Nothing went to the site: the failures in a row stay as they were, and the rest goes at once.
          this.giveUpStale(staleUpTo, now);
          return await this.armNext(0);
        }
        // A forward that took all it could look at leaves more; a catch-up when it is also well behind.
        const full = looked === FORWARD_MAX;
        // A call the live traffic stored since has paid for is not a catch-up, however far behind.
        const catchUp = full && Date.now() - (oldestAt ?? Date.now()) > CATCH_UP_BEHIND_MS && this.liveAllowance < looked;
        const deferredMs = reports.length ? await this.forward(reports, { shard, upTo, catchUp }) : 0;
        if (deferredMs > 0) nextInMs = deferredMs + Math.round(Math.random() * FORWARD_MS);
        else {
          noteForwarded(this.sql, upTo);
          if (!catchUp) this.liveAllowance = Math.max(0, this.liveAllowance - looked);
          if (full) nextInMs = 0;
        }
      }
      if (failures > 0) run(this.sql, `UPDATE shard_epoch SET failures = 0`);
    } catch (err) {
      run(this.sql, `UPDATE shard_epoch SET failures = ?`, failures + 1);
      // What arrives while the site cannot be reached is backlog: the live traffic's worth counts again from its return.
      this.liveAllowance = 0;
      nextInMs = failedForwardWaitMs(failures + 1);
      console.error("forward reports", this.siteId, err);
      // A site an operator removed (or a shard that cannot tell its site) is asked again hourly, not every 30 s for good.
      if (await this.siteGone()) nextInMs = SITE_GONE_WAIT_MS;
    }
    await this.armNext(nextInMs);
  }

  /** The next forward in `nextInMs` when one is due, else the wake that expires old batches (or none). */
  private async armNext(nextInMs: number): Promise<void> {
    if (this.legacyPending || forwardDue(this.sql)) await this.ctx.storage.setAlarm(Date.now() + nextInMs);
    else await this.armExpiry();
  }

  /**
   * Gives up the batches up to `upTo` that outlived the retention unforwarded (their site unreachable all
   * that while, or gone, when no batch arrives to expire them): the cursor goes past them and expiry takes
   * them, as it takes any batch past the retention. A shard of a site gone otherwise kept them, and woke
   * hourly to forward them, for good. Expiry takes as many as a forward looks at, so it keeps pace.
   */
  private giveUpStale(upTo: number, now: number): void {
    const dropped = this.ctx.storage.transactionSync(() => {
      const given = noteDropped(this.sql, upTo);
      noteForwarded(this.sql, upTo);
      const expired = expireEvents(this.sql, now, undefined, this.tables, FORWARD_MAX);
      return { reports: given.reports + expired.reports, bytes: given.bytes + expired.bytes };
    });
    this.sayDropped(dropped, "past the retention unforwarded");
  }

  /**
   * Logs reports dropped before the site counted them: the site's viewing history lacks their bytes for
   * good, which its operators must hear of (the shard also keeps the running count: droppedSoFar).
   */
  private sayDropped(d: Dropped, why: string): void {
    if (d.reports > 0) console.warn(`event shard ${this.ctx.id.name ?? ""}: dropped ${d.reports} reports (${d.bytes} bytes) its site never counted, ${why}`);
  }

  /**
   * With nothing to forward: batches past the retention go (a shard with no new batch would otherwise
   * keep them; a busy one expires them as batches arrive), and the shard wakes when the oldest it may
   * expire passes the retention (none: no alarm).
   */
  private async armExpiry(): Promise<void> {
    const now = Date.now();
    let at = nextExpiryAt(this.sql);
    if (at !== null && at + EVENT_RETENTION_MS <= now) {
      this.sayDropped(
        this.ctx.storage.transactionSync(() => expireEvents(this.sql, now, undefined, this.tables)),
        "past the retention",
      );
      at = nextExpiryAt(this.sql);
    }
    if (at !== null) await this.ctx.storage.setAlarm(Math.max(now + FORWARD_MS, at + EVENT_RETENTION_MS + FORWARD_MS));
  }

  /** True when the topology (read afresh, within its view TTL) has no site of this shard's name. */
  private async siteGone(): Promise<boolean> {
    try {
      await liveTopology(this.env);
    } catch {
      return false;
    }
    return findSite(this.siteId) === undefined;
  }

  /** Sends a forward to the site: 0 when counted, or the ms the site asks the shard to wait. */
  private async forward(reports: BatchReport[], f: { shard: string; upTo: number; catchUp: boolean }): Promise<number> {
    const site = siteStub(this.env, this.siteId);
    try {
      return (await this.inTime<{ deferredMs?: number }>(site.forwardReports(reports, f))).deferredMs ?? 0;
    } catch (err) {
      // A site object still on the code before (a gradual deployment) takes every forward as it did.
      if (!isMissingMethod(err, "forwardReports")) throw err;
      await this.inTime(site.recordReports(reports, { shard: f.shard, upTo: f.upTo }));
      return 0;
    }
  }

  /** A call to the site, failed when it has not answered within FORWARD_TIMEOUT_MS. */
  private inTime<T>(call: PromiseLike<T>): Promise<T> {
    return withTimeout(Promise.resolve(call), FORWARD_TIMEOUT_MS, `forward to site ${this.siteId}`);
  }

  /** The queue the code before kept, forwarded as it did (its ids are below every batch's). */
  private async forwardLegacy(shard: string): Promise<void> {
    const pending = rows<ReportRow>(
      this.sql,
      `SELECT id, session_id, title_id, started_at, est_bytes, top_bps, bytes, at FROM pending_reports ORDER BY id LIMIT ?`,
      FORWARD_MAX,
    );
    if (pending.length) {
      // Not a catch-up: the queue is what the code before held, forwarded as it did (a failure is the caller's).
      await this.inTime(siteStub(this.env, this.siteId).recordReports(pending.map(reportOf), { shard, upTo: pending[pending.length - 1].id }));
      run(this.sql, `DELETE FROM pending_reports WHERE id <= ?`, pending[pending.length - 1].id);
    }
    this.legacyPending = !!first(this.sql, `SELECT 1 AS x FROM pending_reports LIMIT 1`);
  }
}
