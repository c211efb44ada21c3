import { DurableObject } from "cloudflare:workers";
import { ocaKey, originKey } from "../workers/shared/file-keys";
import { findSite, parentChain, siteBucketBinding, type SiteSpec } from "../workers/shared/topology";
import { copyVerified, type TitleFile } from "./copy-file";
import { SITE_SCHEMA } from "./site-schema";
import { addToDay, history, recordPlay, recordReport, recordServed, type PlayRecord, type ReportRecord } from "./viewing-history";
import type { EdgeReport, OcaHealth, OcaLive, SiteLiveView } from "../workers/shared/site-view";

export type { EdgeReport, OcaHealth, OcaLive, SiteLiveView } from "../workers/shared/site-view";

export type { TitleFile } from "./copy-file";
export type { PlayRecord, ReportRecord } from "./viewing-history";

/** Where a fill copied a file from. */
export type FillSource = "peer" | "parent" | "origin";

type BySource<T> = Record<FillSource, T>;

export interface OcaState {
  ocaId: string;
  capacityBytes: number;
  throughputBps: number;
  usedBytes: number;
  health: OcaHealth;
  load: OcaLive;
  titles: Array<{ titleId: string; files: number; bytes: number; readyFiles: number; complete: boolean; planned: boolean }>;
}

export interface FillProgress {
  /** Files and bytes still to copy under the current plan, per OCA. */
  pending: Array<{ ocaId: string; files: number; bytes: number }>;
  /** Copied since the current plan was applied, by source. */
  done: BySource<{ files: number; bytes: number }>;
  /** Until when (ms) the current plan may fill; null when no plan. */
  fillUntil: number | null;
  fillRateBps: number | null;
  lastError: string | null;
}

export interface SiteState {
  site: SiteSpec;
  ocas: OcaState[];
  misses: Array<{ ocaId: string; titleId: string; count: number; bytes: number }>;
  /** Every ready copy ever made here, by source. */
  fills: { files: number; bytes: number; bySource: BySource<{ files: number; bytes: number }> };
  progress: FillProgress;
}

export type FillResult =
  | { ok: true; ocaId: string; titleId: string; copied: number; skipped: number; bytes: number; bySource: BySource<number> }
  | { ok: false; ocaId: string; titleId: string; code: "unknown_oca" | "unknown_title" | "insufficient_capacity" | "copy_failed"; message: string };

/** What a fill cycle decided, kept for operators. */
export interface CycleFigures {
  at: string;
  targetDay: number;
  predictedBytes: number;
  coveredBytes: number;
  replicas: Record<string, number>;
  adds: number;
  removes: number;
  usedBytes: Record<string, number>;
  predictions: Array<{ titleId: string; bytes: number; popularity: number; basis: string }>;
}

/** A plan for the site made by the fill cycle (fill/plan.ts), applied by the site itself. */
export interface ApplyPlanInput {
  /** Local day the plan is for (the cycle runs once per day per site). */
  day: number;
  byOca: Record<string, string[]>;
  /** Until when (ms, this machine's clock) the fill may run: the end of the site's window. */
  fillUntil: number;
  fillRateBps: number;
  /** How long a file waits for a peer (then a parent) that is itself still filling it, before escalating. */
  peerWaitMs: number;
  parentWaitMs: number;
  /** Figures of the cycle, kept for operators. */
  cycle: CycleFigures;
}

const TICK_MS = 1_000;
/** Time constant of the egress average, and how long a session counts as active after its last request. */
const EGRESS_TAU_MS = 5_000;
const SESSION_ACTIVE_MS = 30_000;
/** Load is published to the D1 steering view at most this often. */
const PUBLISH_LOAD_MS = 2_000;
const ALARM_BUDGET_MS = 20_000;
/** Sessions one OCA's report may carry (the data plane caps its batch the same way). */
export const MAX_SESSIONS_PER_REPORT = 1000;

/**
 * One Durable Object per OCA site: the truth of its OCAs, what each holds (file, bytes, state,
 * checksum), health, misses, viewing history and fill. It mirrors a steering view (which OCA holds
 * which complete title, and OCA health) into D1 so the play request reads one table instead of
 * calling every site.
 */
export class OcaSite extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly running = new Map<string, Promise<FillResult>>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      for (const stmt of SITE_SCHEMA) this.sql.exec(stmt);
    });
  }

  // ---- identity and small helpers -------------------------------------------------------------

  /** The site this object stands for, from the name it was addressed by. */
  private get site(): SiteSpec {
    const name = this.ctx.id.name;
    const site = name ? findSite(name) : undefined;
    if (!site) throw new Error(`OcaSite object has no known site name (${name ?? "unnamed"})`);
    return site;
  }

  private bucket(site: SiteSpec = this.site): R2Bucket {
    return (this.env as unknown as Record<string, R2Bucket>)[siteBucketBinding(site)];
  }

  private stub(siteId: string) {
    return this.env.OCA_SITE.get(this.env.OCA_SITE.idFromName(siteId));
  }

  private meta(key: string): string | null {
    return this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, key).toArray()[0]?.value ?? null;
  }

  private setMeta(key: string, value: string | number | null): void {
    if (value === null) this.sql.exec(`DELETE FROM meta WHERE key = ?`, key);
    else this.sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`, key, String(value));
  }

  private health(ocaId: string): OcaHealth {
    const row = this.sql.exec<{ health: OcaHealth }>(`SELECT health FROM oca_health WHERE oca_id = ?`, ocaId).toArray()[0];
    return row?.health ?? "healthy";
  }

  /** An OCA's capacity: the topology's, unless an operator set it (e.g. a disk went bad). */
  private capacity(ocaId: string): number {
    const row = this.sql.exec<{ capacity_bytes: number }>(`SELECT capacity_bytes FROM oca_capacity WHERE oca_id = ?`, ocaId).toArray()[0];
    return row?.capacity_bytes ?? this.site.ocas.find((o) => o.id === ocaId)?.capacityBytes ?? 0;
  }

  /** An OCA's throughput limit: the topology's, unless an operator lowered it. */
  private throughput(ocaId: string): number {
    const row = this.sql.exec<{ throughput_bps: number }>(`SELECT throughput_bps FROM oca_throughput WHERE oca_id = ?`, ocaId).toArray()[0];
    return row?.throughput_bps ?? this.site.ocas.find((o) => o.id === ocaId)?.throughputBps ?? 0;
  }

  private usedBytes(ocaId: string): number {
    return this.sql.exec<{ b: number | null }>(`SELECT SUM(bytes) AS b FROM holdings WHERE oca_id = ?`, ocaId).one().b ?? 0;
  }

  // ---- operators ------------------------------------------------------------------------------

  /** Sets an OCA's usable capacity in bytes; null returns it to the topology's value. */
  async setCapacity(ocaId: string, capacityBytes: number | null): Promise<{ ok: boolean; capacityBytes: number }> {
    if (!this.site.ocas.some((o) => o.id === ocaId)) return { ok: false, capacityBytes: 0 };
    if (capacityBytes === null) this.sql.exec(`DELETE FROM oca_capacity WHERE oca_id = ?`, ocaId);
    else this.sql.exec(`INSERT OR REPLACE INTO oca_capacity (oca_id, capacity_bytes) VALUES (?, ?)`, ocaId, capacityBytes);
    return { ok: true, capacityBytes: this.capacity(ocaId) };
  }

  /** Sets an OCA's throughput limit in bits/s; null returns it to the topology's value. */
  async setThroughput(ocaId: string, throughputBps: number | null): Promise<{ ok: boolean; throughputBps: number }> {
    if (!this.site.ocas.some((o) => o.id === ocaId)) return { ok: false, throughputBps: 0 };
    if (throughputBps === null) this.sql.exec(`DELETE FROM oca_throughput WHERE oca_id = ?`, ocaId);
    else this.sql.exec(`INSERT OR REPLACE INTO oca_throughput (oca_id, throughput_bps) VALUES (?, ?)`, ocaId, throughputBps);
    await this.publishLoad(true);
    return { ok: true, throughputBps: this.throughput(ocaId) };
  }

  /** Chaos switch: while set, the site does not answer steering or the data plane, as if unreachable. */
  async setUnreachable(unreachable: boolean): Promise<{ unreachable: boolean }> {
    this.setMeta("unreachable", unreachable ? 1 : null);
    return { unreachable };
  }

  private assertReachable(): void {
    if (this.meta("unreachable")) throw new Error(`site ${this.site.id} is unreachable (chaos switch)`);
  }

  /** The live state of each OCA: health, egress (decayed since the last report), active sessions. */
  private live(now = Date.now()): OcaLive[] {
    return this.site.ocas.map((o) => {
      const row = this.sql.exec<{ egress_bps: number; updated_at: number }>(`SELECT egress_bps, updated_at FROM oca_load WHERE oca_id = ?`, o.id).toArray()[0];
      const egressBps = row ? row.egress_bps * Math.exp(-Math.max(0, now - row.updated_at) / EGRESS_TAU_MS) : 0;
      const sessions = this.sql
        .exec<{ n: number }>(`SELECT COUNT(*) AS n FROM oca_sessions WHERE oca_id = ? AND last_seen > ?`, o.id, now - SESSION_ACTIVE_MS)
        .one().n;
      const limit = this.throughput(o.id);
      return { ocaId: o.id, health: this.health(o.id), egressBps: Math.round(egressBps), load: limit > 0 ? egressBps / limit : 0, sessions };
    });
  }

  /** The site's live view for steering; throws while the site is unreachable. */
  async steeringView(): Promise<SiteLiveView> {
    this.assertReachable();
    return { siteId: this.site.id, at: Date.now(), ocas: this.live() };
  }

  /**
   * The data plane's batched report: bytes and sessions per OCA since its last report. Returns the
   * site's live view, so the data plane learns which OCAs are failed without asking per request.
   */
  async edgeSync(report: EdgeReport | null): Promise<SiteLiveView> {
    this.assertReachable();
    const now = Date.now();
    if (report) {
      const windowS = Math.max(0.25, report.windowMs / 1000);
      for (const [ocaId, r] of Object.entries(report.ocas)) {
        if (!this.site.ocas.some((o) => o.id === ocaId) || !Array.isArray(r.sessions)) continue;
        const prev = this.sql.exec<{ egress_bps: number; updated_at: number }>(`SELECT egress_bps, updated_at FROM oca_load WHERE oca_id = ?`, ocaId).toArray()[0];
        const decayed = prev ? prev.egress_bps * Math.exp(-Math.max(0, now - prev.updated_at) / EGRESS_TAU_MS) : 0;
        const sample = (r.bytes * 8) / windowS;
        const w = 1 - Math.exp(-(windowS * 1000) / EGRESS_TAU_MS);
        this.sql.exec(`INSERT OR REPLACE INTO oca_load (oca_id, egress_bps, updated_at) VALUES (?, ?, ?)`, ocaId, decayed + w * (sample - decayed), now);
        for (const { id, bytes } of r.sessions.slice(0, MAX_SESSIONS_PER_REPORT)) {
          this.sql.exec(`INSERT OR REPLACE INTO oca_sessions (oca_id, session_id, last_seen) VALUES (?, ?, ?)`, ocaId, id, now);
          recordServed(this.sql, id, bytes);
        }
      }
      this.sql.exec(`DELETE FROM oca_sessions WHERE last_seen < ?`, now - SESSION_ACTIVE_MS);
      await this.publishLoad(false);
    }
    return { siteId: this.site.id, at: now, ocas: this.live(now) };
  }

  /** Publishes load to the D1 steering view (the last-known view when the site cannot be reached). */
  private async publishLoad(force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - Number(this.meta("load_published_at") ?? 0) < PUBLISH_LOAD_MS) return;
    this.setMeta("load_published_at", now);
    const live = this.live(now);
    await this.env.DB.batch(
      live.map((o) =>
        this.env.DB.prepare(
          `INSERT INTO oca_status (oca_id, site_id, health, load, sessions, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (oca_id) DO UPDATE SET load = excluded.load, sessions = excluded.sessions, updated_at = excluded.updated_at`,
        ).bind(o.ocaId, this.site.id, o.health, o.load, o.sessions, now),
      ),
    );
  }

  /** Sets an OCA's health and publishes it to the steering view. */
  async setHealth(ocaId: string, health: OcaHealth): Promise<{ ok: boolean }> {
    if (!this.site.ocas.some((o) => o.id === ocaId)) return { ok: false };
    const now = Date.now();
    this.sql.exec(`INSERT OR REPLACE INTO oca_health (oca_id, health, updated_at) VALUES (?, ?, ?)`, ocaId, health, now);
    await this.env.DB.prepare(`INSERT OR REPLACE INTO oca_status (oca_id, site_id, health, updated_at) VALUES (?, ?, ?, ?)`)
      .bind(ocaId, this.site.id, health, now)
      .run();
    return { ok: true };
  }

  /** Site state for operators: OCAs, capacity, holdings per title, health, misses, fills, progress. */
  async describe(): Promise<SiteState> {
    const site = this.site;
    // Complete means every file the catalogue lists for the title is ready here.
    const heldTitles = this.sql.exec<{ title_id: string }>(`SELECT DISTINCT title_id FROM holdings`).toArray().map((r) => r.title_id);
    const expected = new Map<string, number>();
    if (heldTitles.length) {
      const { results } = await this.env.DB.prepare(
        `SELECT title_id, COUNT(*) AS n FROM files WHERE title_id IN (SELECT value FROM json_each(?)) GROUP BY title_id`,
      )
        .bind(JSON.stringify(heldTitles))
        .all<{ title_id: string; n: number }>();
      for (const r of results) expected.set(r.title_id, r.n);
    }
    const live = this.live();
    const planned = new Set(this.sql.exec<{ k: string }>(`SELECT oca_id || '/' || title_id AS k FROM plan`).toArray().map((r) => r.k));
    const ocas = site.ocas.map((o): OcaState => {
      const titles = this.sql
        .exec<{ title_id: string; files: number; bytes: number; ready: number }>(
          `SELECT title_id, COUNT(*) AS files, SUM(bytes) AS bytes, SUM(state = 'ready') AS ready
           FROM holdings WHERE oca_id = ? GROUP BY title_id ORDER BY title_id`,
          o.id,
        )
        .toArray();
      return {
        ocaId: o.id,
        capacityBytes: this.capacity(o.id),
        throughputBps: this.throughput(o.id),
        usedBytes: titles.reduce((s, t) => s + t.bytes, 0),
        health: this.health(o.id),
        load: live.find((l) => l.ocaId === o.id)!,
        titles: titles.map((t) => ({
          titleId: t.title_id,
          files: t.files,
          bytes: t.bytes,
          readyFiles: t.ready,
          complete: t.ready === t.files && t.ready === (expected.get(t.title_id) ?? -1),
          planned: planned.has(`${o.id}/${t.title_id}`),
        })),
      };
    });
    const misses = this.sql
      .exec<{ oca_id: string; title_id: string; count: number; bytes: number }>(`SELECT * FROM misses ORDER BY oca_id, title_id`)
      .toArray()
      .map((m) => ({ ocaId: m.oca_id, titleId: m.title_id, count: m.count, bytes: m.bytes }));
    const bySource: BySource<{ files: number; bytes: number }> = { peer: { files: 0, bytes: 0 }, parent: { files: 0, bytes: 0 }, origin: { files: 0, bytes: 0 } };
    for (const r of this.sql
      .exec<{ source: FillSource; files: number; bytes: number }>(
        `SELECT source, COUNT(*) AS files, SUM(bytes) AS bytes FROM holdings WHERE state = 'ready' AND source IS NOT NULL GROUP BY source`,
      )
      .toArray()) {
      bySource[r.source] = { files: r.files, bytes: r.bytes };
    }
    const files = Object.values(bySource).reduce((s, v) => s + v.files, 0);
    const bytes = Object.values(bySource).reduce((s, v) => s + v.bytes, 0);
    return { site, ocas, misses, fills: { files, bytes, bySource }, progress: this.progress() };
  }

  private progress(): FillProgress {
    const pending = this.sql
      .exec<{ oca_id: string; files: number; bytes: number }>(`SELECT oca_id, COUNT(*) AS files, SUM(bytes) AS bytes FROM fill_tasks GROUP BY oca_id ORDER BY oca_id`)
      .toArray()
      .map((r) => ({ ocaId: r.oca_id, files: r.files, bytes: r.bytes }));
    const done = JSON.parse(this.meta("cycle_done") ?? "null") ?? { peer: { files: 0, bytes: 0 }, parent: { files: 0, bytes: 0 }, origin: { files: 0, bytes: 0 } };
    const until = this.meta("fill_until");
    const rate = this.meta("fill_rate_bps");
    return { pending, done, fillUntil: until ? Number(until) : null, fillRateBps: rate ? Number(rate) : null, lastError: this.meta("last_error") };
  }

  // ---- what the site holds --------------------------------------------------------------------

  /** Which OCA of this site holds a ready copy of each file of a title (path -> ocaId). */
  async holdersOf(titleId: string): Promise<Record<string, string>> {
    const out = new Map<string, string>();
    const rows = this.sql
      .exec<{ path: string; oca_id: string }>(`SELECT path, oca_id FROM holdings WHERE title_id = ? AND state = 'ready' ORDER BY oca_id`, titleId)
      .toArray();
    for (const r of rows) {
      if (this.health(r.oca_id) !== "failed" && !out.has(r.path)) out.set(r.path, r.oca_id);
    }
    return Object.fromEntries(out);
  }

  /** True when the current plan puts the title on one of this site's OCAs (children wait for it). */
  async plansTitle(titleId: string): Promise<boolean> {
    return this.sql.exec(`SELECT 1 FROM plan WHERE title_id = ? LIMIT 1`, titleId).toArray().length > 0;
  }

  /** Complete titles per OCA, and the current plan: the planner's `current`. */
  async holdingsByOca(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = Object.fromEntries(this.site.ocas.map((o) => [o.id, [] as string[]]));
    for (const r of this.sql
      .exec<{ oca_id: string; title_id: string }>(
        `SELECT oca_id, title_id FROM holdings GROUP BY oca_id, title_id HAVING SUM(state != 'ready') = 0 ORDER BY oca_id, title_id`,
      )
      .toArray()) {
      out[r.oca_id]?.push(r.title_id);
    }
    return out;
  }

  /** Counts a request the OCA had to serve from a parent tier or origin because it lacked the file. */
  async recordMiss(ocaId: string, titleId: string, bytes: number): Promise<void> {
    this.sql.exec(
      `INSERT INTO misses (oca_id, title_id, count, bytes) VALUES (?, ?, 1, ?)
       ON CONFLICT (oca_id, title_id) DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes`,
      ocaId,
      titleId,
      bytes,
    );
  }

  // ---- viewing history ------------------------------------------------------------------------

  /** Adds to the viewing history of a day as given (trusted callers only: tests and history imports). */
  async recordViews(day: number, titleId: string, v: { plays?: number; bytes?: number; estBytes?: number }): Promise<void> {
    addToDay(this.sql, day, titleId, { plays: Math.max(0, v.plays ?? 0), bytes: Math.max(0, v.bytes ?? 0), estBytes: Math.max(0, v.estBytes ?? 0) });
  }

  /** A play whose home is this site: it counts with its estimate until its client reports. */
  async recordPlay(p: PlayRecord): Promise<void> {
    this.ctx.storage.transactionSync(() => recordPlay(this.sql, p));
  }

  /** A client's report of bytes received, counted within its session's caps; returns what counted. */
  async recordReport(r: ReportRecord): Promise<{ counted: number; cap: number }> {
    return this.ctx.storage.transactionSync(() => recordReport(this.sql, r));
  }

  /** Demand per title per day for days [fromDay, toDay], oldest first. */
  async history(fromDay: number, toDay: number): Promise<Record<string, number[]>> {
    return history(this.sql, fromDay, toDay);
  }

  /** Raw viewing history rows, for operators. */
  async views(fromDay: number, toDay: number): Promise<Array<{ day: number; titleId: string; plays: number; bytes: number; estBytes: number }>> {
    return this.sql
      .exec<{ day: number; title_id: string; plays: number; bytes: number; est_bytes: number }>(
        `SELECT * FROM views WHERE day BETWEEN ? AND ? ORDER BY day, title_id`,
        fromDay,
        toDay,
      )
      .toArray()
      .map((r) => ({ day: r.day, titleId: r.title_id, plays: r.plays, bytes: r.bytes, estBytes: r.est_bytes }));
  }

  // ---- planned fill ---------------------------------------------------------------------------

  /** The day of the last applied plan, so a repeated cron run does nothing. */
  async plannedDay(): Promise<number | null> {
    const d = this.meta("planned_day");
    return d === null ? null : Number(d);
  }

  /** The last cycle's figures and predictions, for operators. */
  async lastCycle(): Promise<{ day: number | null; plan: Record<string, string[]>; cycle: CycleFigures | null; progress: FillProgress }> {
    const plan: Record<string, string[]> = {};
    for (const r of this.sql.exec<{ oca_id: string; title_id: string }>(`SELECT oca_id, title_id FROM plan ORDER BY oca_id, title_id`).toArray()) {
      (plan[r.oca_id] ??= []).push(r.title_id);
    }
    return { day: await this.plannedDay(), plan, cycle: JSON.parse(this.meta("last_cycle") ?? "null"), progress: this.progress() };
  }

  /**
   * Applies a fill plan: records it, queues every missing file of every planned (OCA, title), drops
   * queued files that left the plan (held copies stay until their room is needed), and arms the alarm.
   */
  async applyPlan(input: ApplyPlanInput): Promise<{ queuedFiles: number; queuedBytes: number }> {
    const site = this.site;
    const pairs = Object.entries(input.byOca).flatMap(([ocaId, titles]) =>
      site.ocas.some((o) => o.id === ocaId) ? titles.map((titleId) => ({ ocaId, titleId })) : [],
    );
    const titleIds = [...new Set(pairs.map((p) => p.titleId))];
    const files = new Map<string, TitleFile[]>();
    if (titleIds.length) {
      const { results } = await this.env.DB.prepare(
        `SELECT title_id, path, bytes, sha256 FROM files WHERE title_id IN (SELECT value FROM json_each(?)) ORDER BY title_id, path`,
      )
        .bind(JSON.stringify(titleIds))
        .all<TitleFile & { title_id: string }>();
      for (const f of results) (files.get(f.title_id) ?? files.set(f.title_id, []).get(f.title_id)!).push({ path: f.path, bytes: f.bytes, sha256: f.sha256 });
    }
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(`DELETE FROM plan`);
      for (const p of pairs) this.sql.exec(`INSERT OR IGNORE INTO plan (oca_id, title_id) VALUES (?, ?)`, p.ocaId, p.titleId);
      this.sql.exec(`DELETE FROM fill_tasks WHERE NOT EXISTS (SELECT 1 FROM plan WHERE plan.oca_id = fill_tasks.oca_id AND plan.title_id = fill_tasks.title_id)`);
      for (const p of pairs) {
        for (const f of files.get(p.titleId) ?? []) {
          const held = this.sql
            .exec<{ sha256: string; state: string }>(`SELECT sha256, state FROM holdings WHERE oca_id = ? AND title_id = ? AND path = ?`, p.ocaId, p.titleId, f.path)
            .toArray()[0];
          if (held && held.state === "ready" && held.sha256 === f.sha256) continue;
          this.sql.exec(
            `INSERT OR IGNORE INTO fill_tasks (oca_id, title_id, path, bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
            p.ocaId,
            p.titleId,
            f.path,
            f.bytes,
            f.sha256,
            now,
          );
        }
      }
      this.setMeta("planned_day", input.day);
      this.setMeta("fill_until", input.fillUntil);
      this.setMeta("fill_rate_bps", input.fillRateBps);
      this.setMeta("peer_wait_ms", input.peerWaitMs);
      this.setMeta("parent_wait_ms", input.parentWaitMs);
      this.setMeta("last_cycle", JSON.stringify(input.cycle));
      this.setMeta("cycle_done", null);
      this.setMeta("last_error", null);
      for (const o of site.ocas) this.setMeta(`tokens:${o.id}`, null);
      this.setMeta("last_tick", now);
    });
    const q = this.sql.exec<{ n: number; b: number | null }>(`SELECT COUNT(*) AS n, SUM(bytes) AS b FROM fill_tasks`).one();
    if (q.n > 0) await this.ctx.storage.setAlarm(now);
    return { queuedFiles: q.n, queuedBytes: q.b ?? 0 };
  }

  /**
   * Works through the fill queue within each OCA's fill-rate budget (a token bucket) and the plan's
   * window, then re-arms itself while work remains. Safe to run any number of times: a file counts
   * only once its verified copy is ready, and a half-made copy is redone.
   */
  async alarm(): Promise<void> {
    const started = Date.now();
    const site = this.site;
    const fillUntil = Number(this.meta("fill_until") ?? 0);
    if (started >= fillUntil) {
      this.setMeta("last_error", "fill window closed with work left; the next cycle re-plans");
      return;
    }
    const rate = Number(this.meta("fill_rate_bps") ?? 0) / 8; // bytes per second
    const lastTick = Number(this.meta("last_tick") ?? started);
    const tokens = new Map<string, number>();
    for (const o of site.ocas) {
      const have = Number(this.meta(`tokens:${o.id}`) ?? rate * (TICK_MS / 1000));
      tokens.set(o.id, Math.min(rate * (TICK_MS / 1000) * 5, have + (rate * (started - lastTick)) / 1000));
    }
    this.setMeta("last_tick", started);

    // A crash mid-copy leaves a 'filling' row: drop it (and its bytes) so the task redoes it cleanly.
    for (const r of this.sql
      .exec<{ oca_id: string; title_id: string; path: string }>(`SELECT oca_id, title_id, path FROM holdings WHERE state = 'filling'`)
      .toArray()) {
      if (!this.running.size) {
        await this.bucket().delete(ocaKey(site.id, r.oca_id, r.title_id, r.path));
        this.sql.exec(`DELETE FROM holdings WHERE oca_id = ? AND title_id = ? AND path = ?`, r.oca_id, r.title_id, r.path);
      }
    }

    const peerWait = Number(this.meta("peer_wait_ms") ?? 0);
    const parentWait = Number(this.meta("parent_wait_ms") ?? 0);
    const parentCache = new Map<string, { holders: Record<string, string>; plans: boolean }>();
    const done: BySource<{ files: number; bytes: number }> = JSON.parse(this.meta("cycle_done") ?? "null") ?? {
      peer: { files: 0, bytes: 0 },
      parent: { files: 0, bytes: 0 },
      origin: { files: 0, bytes: 0 },
    };
    const touched = new Set<string>();
    const tasks = this.sql
      .exec<{ oca_id: string; title_id: string; path: string; bytes: number; sha256: string; created_at: number }>(
        `SELECT oca_id, title_id, path, bytes, sha256, created_at FROM fill_tasks ORDER BY created_at, title_id, oca_id, path`,
      )
      .toArray();
    let waiting = false;
    for (const t of tasks) {
      if (Date.now() - started > ALARM_BUDGET_MS) break;
      if ((tokens.get(t.oca_id) ?? 0) <= 0) continue;
      const file = { path: t.path, bytes: t.bytes, sha256: t.sha256 };
      const age = started - t.created_at;
      const src = await this.pickSource(t.oca_id, t.title_id, file, { age, peerWait, parentWait, parentCache });
      if (src === "wait") {
        waiting = true;
        continue;
      }
      if (!(await this.makeRoom(t.oca_id, t.bytes))) {
        this.setMeta("last_error", `${t.oca_id} has no room for ${t.title_id}/${t.path} even after evicting unplanned titles`);
        continue;
      }
      try {
        await this.copyInto(t.oca_id, t.title_id, file, src);
      } catch (err) {
        this.sql.exec(`UPDATE fill_tasks SET attempts = attempts + 1, last_error = ? WHERE oca_id = ? AND title_id = ? AND path = ?`, String(err), t.oca_id, t.title_id, t.path);
        this.setMeta("last_error", `${t.oca_id} ${t.title_id}/${t.path}: ${String(err)}`);
        continue;
      }
      this.sql.exec(`DELETE FROM fill_tasks WHERE oca_id = ? AND title_id = ? AND path = ?`, t.oca_id, t.title_id, t.path);
      tokens.set(t.oca_id, (tokens.get(t.oca_id) ?? 0) - t.bytes);
      done[src.source].files++;
      done[src.source].bytes += t.bytes;
      touched.add(`${t.oca_id}|${t.title_id}`);
    }
    for (const [id, v] of tokens) this.setMeta(`tokens:${id}`, v);
    this.setMeta("cycle_done", JSON.stringify(done));
    for (const key of touched) {
      const [ocaId, titleId] = key.split("|");
      await this.publishIfComplete(ocaId, titleId);
    }
    const left = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM fill_tasks`).one().n;
    if (left > 0) await this.ctx.storage.setAlarm(Date.now() + (waiting || touched.size === 0 ? TICK_MS : 0));
  }

  /**
   * Where to copy a file from: a peer OCA of the site that holds it; else, if a peer is planned to
   * hold it and is still filling, wait `peerWait`; else the nearest parent site that holds it (or wait
   * `parentWait` for one that plans it); else origin.
   */
  private async pickSource(
    ocaId: string,
    titleId: string,
    file: TitleFile,
    w: { age: number; peerWait: number; parentWait: number; parentCache: Map<string, { holders: Record<string, string>; plans: boolean }> },
  ): Promise<{ source: FillSource; bucket: R2Bucket; key: string } | "wait"> {
    const site = this.site;
    const peer = this.sql
      .exec<{ oca_id: string }>(
        `SELECT oca_id FROM holdings WHERE title_id = ? AND path = ? AND state = 'ready' AND sha256 = ? AND oca_id != ? ORDER BY oca_id`,
        titleId,
        file.path,
        file.sha256,
        ocaId,
      )
      .toArray()
      .find((r) => this.health(r.oca_id) !== "failed");
    if (peer) return { source: "peer", bucket: this.bucket(), key: ocaKey(site.id, peer.oca_id, titleId, file.path) };
    // Of the OCAs still filling a file, the first by id fetches it from upstream and the rest wait for
    // it, so a popular file crosses the parent link once per site, and two peers never wait on each other.
    const peerFilling =
      this.sql.exec(`SELECT 1 FROM fill_tasks WHERE title_id = ? AND path = ? AND oca_id < ? LIMIT 1`, titleId, file.path, ocaId).toArray().length > 0;
    if (peerFilling && w.age < w.peerWait) return "wait";
    for (const parent of parentChain(site)) {
      let info = w.parentCache.get(parent.id);
      if (!info) {
        const stub = this.stub(parent.id);
        info = { holders: await stub.holdersOf(titleId), plans: await stub.plansTitle(titleId) };
        w.parentCache.set(parent.id, info);
      }
      const holder = Object.hasOwn(info.holders, file.path) ? info.holders[file.path] : undefined;
      if (holder) return { source: "parent", bucket: this.bucket(parent), key: ocaKey(parent.id, holder, titleId, file.path) };
      if (info.plans && w.age < w.peerWait + w.parentWait) return "wait";
    }
    return { source: "origin", bucket: this.env.ORIGIN, key: originKey(titleId, file.path) };
  }

  /** Copies one file into an OCA: reserve, copy and verify, then mark ready. */
  private async copyInto(ocaId: string, titleId: string, file: TitleFile, src: { source: FillSource; bucket: R2Bucket; key: string }): Promise<void> {
    this.sql.exec(
      `INSERT OR REPLACE INTO holdings (oca_id, title_id, path, bytes, sha256, state, source, updated_at) VALUES (?, ?, ?, ?, ?, 'filling', NULL, ?)`,
      ocaId,
      titleId,
      file.path,
      file.bytes,
      file.sha256,
      Date.now(),
    );
    try {
      const obj = await src.bucket.get(src.key);
      if (!obj) throw new Error(`${src.source} copy ${src.key} disappeared`);
      await copyVerified(obj, this.bucket(), ocaKey(this.site.id, ocaId, titleId, file.path), file);
    } catch (err) {
      this.sql.exec(`DELETE FROM holdings WHERE oca_id = ? AND title_id = ? AND path = ?`, ocaId, titleId, file.path);
      throw err;
    }
    this.sql.exec(
      `UPDATE holdings SET state = 'ready', source = ?, updated_at = ? WHERE oca_id = ? AND title_id = ? AND path = ?`,
      src.source,
      Date.now(),
      ocaId,
      titleId,
      file.path,
    );
  }

  /** Evicts titles that left the plan, least watched first, until `need` more bytes fit (the steering view forgets each first). */
  private async makeRoom(ocaId: string, need: number): Promise<boolean> {
    const capacity = this.capacity(ocaId);
    if (this.usedBytes(ocaId) + need <= capacity) return true;
    const victims = this.sql
      .exec<{ title_id: string }>(
        `SELECT h.title_id FROM holdings h
         WHERE h.oca_id = ?1 AND NOT EXISTS (SELECT 1 FROM plan p WHERE p.oca_id = ?1 AND p.title_id = h.title_id)
         GROUP BY h.title_id
         ORDER BY (SELECT COALESCE(SUM(v.bytes + v.est_bytes), 0) FROM views v WHERE v.title_id = h.title_id), h.title_id`,
        ocaId,
      )
      .toArray();
    for (const v of victims) {
      if (this.usedBytes(ocaId) + need <= capacity) break;
      await this.evictTitle(ocaId, v.title_id);
    }
    return this.usedBytes(ocaId) + need <= capacity;
  }

  private async publishIfComplete(ocaId: string, titleId: string): Promise<void> {
    const { results } = await this.env.DB.prepare(`SELECT path, bytes, sha256 FROM files WHERE title_id = ?`).bind(titleId).all<TitleFile>();
    const ready = new Map(
      this.sql
        .exec<{ path: string; sha256: string }>(`SELECT path, sha256 FROM holdings WHERE oca_id = ? AND title_id = ? AND state = 'ready'`, ocaId, titleId)
        .toArray()
        .map((r) => [r.path, r.sha256]),
    );
    if (results.length > 0 && results.every((f) => ready.get(f.path) === f.sha256)) await this.publishTitle(ocaId, titleId, results);
  }

  // ---- manual fill (admin) --------------------------------------------------------------------

  /**
   * Copies every file of a title into one OCA now: from a peer OCA of this site if one holds it, else
   * the nearest parent site that holds it, else origin. Each copy is a real byte copy whose size and
   * SHA-256 are verified (R2 checks the digest on write) before it counts as ready.
   */
  async fillTitle(ocaId: string, titleId: string): Promise<FillResult> {
    const key = `${ocaId}/${titleId}`;
    let run = this.running.get(key);
    if (!run) {
      run = this.doFill(ocaId, titleId).finally(() => this.running.delete(key));
      this.running.set(key, run);
    }
    return run;
  }

  private async doFill(ocaId: string, titleId: string): Promise<FillResult> {
    const site = this.site;
    if (!site.ocas.some((o) => o.id === ocaId)) return { ok: false, ocaId, titleId, code: "unknown_oca", message: `site ${site.id} has no OCA ${ocaId}` };
    const { results: files } = await this.env.DB.prepare(`SELECT path, bytes, sha256 FROM files WHERE title_id = ? ORDER BY path`)
      .bind(titleId)
      .all<TitleFile>();
    if (files.length === 0) return { ok: false, ocaId, titleId, code: "unknown_title", message: `title ${titleId} has no files in the catalogue` };

    const held = new Map(
      this.sql
        .exec<{ path: string; sha256: string; state: string; bytes: number }>(
          `SELECT path, sha256, state, bytes FROM holdings WHERE oca_id = ? AND title_id = ?`,
          ocaId,
          titleId,
        )
        .toArray()
        .map((r) => [r.path, r]),
    );
    const missing = files.filter((f) => {
      const h = held.get(f.path);
      return !h || h.state !== "ready" || h.sha256 !== f.sha256;
    });
    const used = this.usedBytes(ocaId);
    const need = missing.reduce((s, f) => s + f.bytes - (held.get(f.path)?.bytes ?? 0), 0);
    const capacity = this.capacity(ocaId);
    if (used + need > capacity) {
      return { ok: false, ocaId, titleId, code: "insufficient_capacity", message: `${ocaId} holds ${used} of ${capacity} bytes; ${titleId} needs ${need} more` };
    }
    const bySource: BySource<number> = { peer: 0, parent: 0, origin: 0 };
    const parentCache = new Map<string, { holders: Record<string, string>; plans: boolean }>();
    let bytes = 0;
    for (const f of missing) {
      const src = await this.pickSource(ocaId, titleId, f, { age: Infinity, peerWait: 0, parentWait: 0, parentCache });
      if (src === "wait") continue; // cannot happen with no waits; keeps the types honest
      try {
        await this.copyInto(ocaId, titleId, f, src);
      } catch (err) {
        return { ok: false, ocaId, titleId, code: "copy_failed", message: `${f.path} from ${src.source}: ${String(err)}` };
      }
      bySource[src.source]++;
      bytes += f.bytes;
    }
    await this.publishTitle(ocaId, titleId, files);
    return { ok: true, ocaId, titleId, copied: missing.length, skipped: files.length - missing.length, bytes, bySource };
  }

  /** Publishes a complete copy to the steering view (only complete copies are steered to). */
  private async publishTitle(ocaId: string, titleId: string, files: TitleFile[]): Promise<void> {
    const now = Date.now();
    await this.env.DB.batch([
      this.env.DB.prepare(
        `INSERT OR REPLACE INTO oca_titles (site_id, oca_id, title_id, files, bytes, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
      ).bind(this.site.id, ocaId, titleId, files.length, files.reduce((s, f) => s + f.bytes, 0), now),
      this.env.DB.prepare(`INSERT OR IGNORE INTO oca_status (oca_id, site_id, health, updated_at) VALUES (?, ?, ?, ?)`).bind(
        ocaId,
        this.site.id,
        this.health(ocaId),
        now,
      ),
    ]);
  }

  /** Removes a title from an OCA: leaves the steering view first, then deletes the bytes. */
  async evictTitle(ocaId: string, titleId: string): Promise<{ files: number; bytes: number }> {
    await this.env.DB.prepare(`DELETE FROM oca_titles WHERE oca_id = ? AND title_id = ?`).bind(ocaId, titleId).run();
    const bucket = this.bucket();
    const listed: string[] = [];
    let cursor: string | undefined;
    const prefix = `${this.site.id}/${ocaId}/${titleId}/`;
    do {
      const page = await bucket.list({ prefix, cursor });
      listed.push(...page.objects.map((o) => o.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    const rows = this.sql
      .exec<{ path: string; bytes: number }>(`SELECT path, bytes FROM holdings WHERE oca_id = ? AND title_id = ?`, ocaId, titleId)
      .toArray();
    for (let i = 0; i < listed.length; i += 500) await bucket.delete(listed.slice(i, i + 500));
    this.sql.exec(`DELETE FROM holdings WHERE oca_id = ? AND title_id = ?`, ocaId, titleId);
    return { files: rows.length, bytes: rows.reduce((s, r) => s + r.bytes, 0) };
  }
}
