import { DurableObject } from "cloudflare:workers";
import type { QoeEvent } from "../shared/events";
import { adoptLegacyEvents, type EventTables, expireEvents, SHARD_MIGRATIONS, sessionEvents, storeBatch } from "./site/session-events";
import { migrate } from "./site/schema";
import { siteStub } from "../workers/shared/site-link";
import type { ByteReport } from "../workers/shared/site-view";
import { rows, run } from "./site/sql";

/**
 * The QoE events of a site's sessions, sharded: one object per (site, shard), the shard chosen by
 * session id, so no single object takes a busy site's whole event stream. Each stores batches once per
 * batch id and passes the bytes they report to the site's object in one call per FORWARD_MS (an alarm),
 * where the viewing history counts them within each session's caps.
 */
const FORWARD_MS = 1_000;
const FORWARD_MAX = 1_000;
/** Reports waiting for the site, at most: while the site cannot be reached, newer bytes stay in the events only. */
const PENDING_MAX = 100_000;

export class SessionLog extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Whether the tables events had before a batch was one row still hold some (read and expired beside the batches). */
  private tables: EventTables = { legacy: false };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, SHARD_MIGRATIONS);
      this.sql.exec(`INSERT OR IGNORE INTO shard_epoch (id, epoch) VALUES (1, ?)`, crypto.randomUUID());
      this.tables = { legacy: adoptLegacyEvents(this.sql) };
    });
  }

  /** The site this shard belongs to ("{site}:{shard}"). */
  private get siteId(): string {
    return (this.ctx.id.name ?? "").split(":")[0];
  }

  /** Stores a batch once per id; its bytes go to the site with the next forward. A retried batch changes nothing. */
  async recordEvents(input: {
    session: { sessionId: string; titleId: string; startedAt: number; estBytes: number; topBps: number };
    batchId: string;
    events: QoeEvent[];
    now: number;
  }): Promise<{ duplicate: boolean; accepted: number; bytes: number; over?: boolean }> {
    const { session, batchId, events, now } = input;
    const bytes = events.reduce((s, e) => s + (e.bytes ?? 0), 0);
    // A stop's batch goes to the site even with no bytes: it settles the session's play estimate.
    const forwards = bytes > 0 || events.some((e) => e.type === "stop");
    const stored = this.ctx.storage.transactionSync(() => {
      expireEvents(this.sql, now, undefined, this.tables);
      const verdict = storeBatch(this.sql, session, batchId, events, bytes, now, this.tables);
      if (verdict !== "stored") return verdict;
      // The span of ids bounds the reports waiting (they go from the low end): two rows read, where a count read every one.
      const backlog =
        rows<{ n: number | null }>(this.sql, `SELECT (SELECT MAX(id) FROM pending_reports) - (SELECT MIN(id) FROM pending_reports) + 1 AS n`)[0].n ?? 0;
      if (forwards && backlog < PENDING_MAX) {
        run(
          this.sql,
          `INSERT INTO pending_reports (session_id, title_id, started_at, est_bytes, top_bps, bytes, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          session.sessionId,
          session.titleId,
          session.startedAt,
          session.estBytes,
          session.topBps,
          bytes,
          now,
        );
      }
      return verdict;
    });
    if (stored === "duplicate") return { duplicate: true, accepted: 0, bytes: 0 };
    if (stored === "over") return { duplicate: false, accepted: 0, bytes: 0, over: true };
    if (forwards && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + FORWARD_MS);
    return { duplicate: false, accepted: events.length, bytes };
  }

  /** A session's stored events, oldest first. */
  async sessionEvents(sessionId: string): Promise<QoeEvent[]> {
    return sessionEvents(this.sql, sessionId, undefined, this.tables);
  }

  /** Forwards pending byte reports to the site in one call; what is not acknowledged is sent again. */
  async alarm(): Promise<void> {
    const pending = rows<{
      id: number;
      session_id: string;
      title_id: string;
      started_at: number;
      est_bytes: number;
      top_bps: number;
      bytes: number;
      at: number;
    }>(this.sql, `SELECT * FROM pending_reports ORDER BY id LIMIT ?`, FORWARD_MAX);
    if (pending.length === 0) return;
    const reports: ByteReport[] = pending.map((p) => ({
      id: p.id,
      sessionId: p.session_id,
      titleId: p.title_id,
      startedAt: p.started_at,
      estBytes: p.est_bytes,
      topBps: p.top_bps,
      bytes: p.bytes,
      at: p.at,
    }));
    try {
      // The forward names its shard and the ids it carries: a forward sent again (its answer lost after
      // the site committed it) is counted once.
      const epoch = rows<{ epoch: string }>(this.sql, `SELECT epoch FROM shard_epoch`)[0].epoch;
      await siteStub(this.env, this.siteId).recordReports(reports, { shard: `${this.ctx.id.name ?? ""}/${epoch}`, upTo: pending[pending.length - 1].id });
      run(this.sql, `DELETE FROM pending_reports WHERE id <= ?`, pending[pending.length - 1].id);
    } catch (err) {
      console.error("forward reports", this.siteId, err);
    }
    const more = rows(this.sql, `SELECT 1 AS x FROM pending_reports LIMIT 1`).length > 0;
    if (more) await this.ctx.storage.setAlarm(Date.now() + FORWARD_MS);
  }
}
