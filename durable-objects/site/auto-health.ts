import type { OcaFault } from "../../workers/shared/site-view";
import { isMemberId } from "../../shared/ids";
import { first, rows, run } from "./sql";

/**
 * Automatic OCA health, decided by the site from signals with no operator in the loop (Traffic
 * Monitor's model): what each OCA served (requests, errors and latency, carried in the data plane's
 * batched reports), a synthetic probe of its storage (a known object read back and verified), and
 * clients' reports of failed requests and OCA switches (QoE events, forwarded by the event shards).
 *
 * States: `healthy`; `degraded` (slow or erring: steered behind its peers); `failed` (out of the list).
 * Hysteresis: a worse verdict applies at once (a sick OCA leaves within one report), a better one only
 * after it has held for RECOVER_MS, so an OCA on the edge of a threshold does not flap; that hold doubles
 * with each automatic failure in the last FLAP_MEMORY_MS (an OCA that fails only under load), and a
 * degraded OCA's with each time it left healthy (one slow or erring only under load). Every
 * transition is recorded with its reason. An operator's drain / fail wins over all of this until a
 * restore, which also starts the automatic state afresh.
 */

export type AutoHealth = "healthy" | "degraded" | "failed";

/** Signals are judged over this trailing window. */
export const WINDOW_MS = 5_000;
/** A better verdict must hold this long before the state improves. */
export const RECOVER_MS = 10_000;
/**
 * Flap damping: each automatic failure of an OCA within FLAP_MEMORY_MS before the one it recovers from
 * doubles its hold (up to MAX_RECOVER_FACTOR times RECOVER_MS). An OCA that fails only under traffic
 * judges healthy once steering has taken its traffic away: without this it would come back, fail its
 * returning viewers and leave again every RECOVER_MS plus a window, for as long as its fault lasts.
 * A degraded OCA's hold doubles the same way with each time it left healthy in FLAP_MEMORY_MS: one slow
 * only under its share of traffic is steered behind its peers, judges healthy on the little left, and
 * would otherwise reorder every player's pathways every RECOVER_MS plus a window.
 */
export const FLAP_MEMORY_MS = 10 * 60_000;
export const MAX_RECOVER_FACTOR = 16;
/** The site probes each OCA's storage at most this often (on its syncs). */
export const PROBE_EVERY_MS = 1_000;
/** A failed probe is repeated after this long, so two in a row need not wait for another sync. */
export const CONFIRM_PROBE_MS = 500;

/** Thresholds (over the window). */
export const THRESHOLDS = {
  /** Fewer requests than this say nothing about an error rate or a mean latency. */
  minRequests: 5,
  /**
   * Failing is judged on fewer: a player leaves a failing OCA after one or two errors, so an OCA that
   * failed most of at least this many requests is out at once (the probes bring it back).
   */
  minFailingRequests: 2,
  failErrorRate: 0.5,
  degradeErrorRate: 0.05,
  /** Mean server-side latency, or a probe's, at or above this degrades. */
  degradeLatencyMs: 300,
  /** Consecutive failed probes that fail an OCA. */
  failProbes: 2,
  /**
   * Members whose clients reported the OCA failing them in the window that degrade it, unless healthy
   * traffic from at least as many other members contradicts them. Distinct members on both sides, not
   * sessions or reports: one account's streams count once. Client reports alone never fail an OCA:
   * clients can lie.
   */
  degradeClientReports: 3,
} as const;

export const AUTO_HEALTH_SCHEMA = [
  // One row per OCA per storage probe (per report too before schema v14: see TRAFFIC_SCHEMA), pruned past the window.
  `CREATE TABLE IF NOT EXISTS oca_signals (
     oca_id TEXT NOT NULL, at INTEGER NOT NULL, requests INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
     latency_ms_sum REAL NOT NULL DEFAULT 0, probe_ok INTEGER, probe_ms REAL, client_reports INTEGER NOT NULL DEFAULT 0)`,
  `CREATE INDEX IF NOT EXISTS oca_signals_by_oca ON oca_signals (oca_id, at)`,
  `CREATE TABLE IF NOT EXISTS oca_auto_health (
     oca_id TEXT PRIMARY KEY, state TEXT NOT NULL, since INTEGER NOT NULL, reason TEXT NOT NULL,
     better_since INTEGER, failed_probes INTEGER NOT NULL DEFAULT 0)`,
  `CREATE TABLE IF NOT EXISTS health_transitions (
     id INTEGER PRIMARY KEY AUTOINCREMENT, oca_id TEXT NOT NULL, at INTEGER NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
     reason TEXT NOT NULL, by TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS oca_faults (oca_id TEXT PRIMARY KEY, error_rate REAL NOT NULL, added_latency_ms INTEGER NOT NULL, throughput_bps INTEGER)`,
];

/** Traffic signals are summed into buckets of this length, so a window holds a bounded number of rows per OCA. */
export const TRAFFIC_BUCKET_MS = 250;

/**
 * What each OCA served, summed per TRAFFIC_BUCKET_MS (pruned past the window). One row per report
 * would make the window's rows, and each judgement's read, grow with the number of isolates syncing:
 * at hundreds of syncs a second, thousands of rows an OCA on every sync.
 */
export const TRAFFIC_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS oca_traffic (
     oca_id TEXT NOT NULL, bucket INTEGER NOT NULL, requests INTEGER NOT NULL, errors INTEGER NOT NULL, latency_ms_sum REAL NOT NULL,
     PRIMARY KEY (oca_id, bucket)) WITHOUT ROWID`,
];

/** Who reported each OCA failing them, and when last (pruned past the window): counted distinct. */
export const CLIENT_REPORTERS_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS oca_client_reporters (
     oca_id TEXT NOT NULL, reporter TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (oca_id, reporter)) WITHOUT ROWID`,
];

/**
 * Healthy traffic is weighed per member (schema v19): each session served carries its member's streams
 * object id (from its signed token), and each reporter its own, so neither one account's several
 * streams nor a reporter's other streams count as other members' healthy traffic.
 */
export const TRAFFIC_MEMBERS_SCHEMA = [`ALTER TABLE oca_sessions ADD COLUMN streams TEXT`, `ALTER TABLE oca_client_reporters ADD COLUMN streams TEXT`];

/** The sessions whose clients reported each OCA, and when last (pruned past the window): not counted as traffic that outweighs their reports. */
export const REPORTER_SESSIONS_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS oca_reporter_sessions (
     oca_id TEXT NOT NULL, session_id TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (oca_id, session_id)) WITHOUT ROWID`,
];

/** A reporter as a site takes it from a report: a member id. */
export const isReporter = (x: unknown): x is string => typeof x === "string" && isMemberId(x);

/** What the window says about one OCA. */
export interface WindowSignals {
  requests: number;
  errors: number;
  latencyMsSum: number;
  probes: number;
  probeFailures: number;
  /** Probe latency of the window's successful probes as probeLatency() takes it (ms); null with fewer than two. */
  probeMs: number | null;
  /** Consecutive failed probes, newest first. */
  failedProbesInARow: number;
  /**
   * The fastest probe latency (probeLatency) of the site's other OCAs in the window (ms); null when none has one. When it is
   * slow too, the slowness is the site's (its object's busy thread, its bucket), not this OCA's.
   */
  othersProbeMs?: number | null;
  /** Distinct members whose clients reported the OCA failing them. */
  clientReports: number;
  /**
   * Distinct members the OCA served bytes to in the window (a session whose member is not known counts
   * as one), the reporting members and their sessions left out, counted up to degradeClientReports and
   * only when that many members reported it (the one verdict it weighs in).
   */
  trafficMembers: number;
}

export interface Verdict {
  state: AutoHealth;
  reason: string;
}

const pct = (x: number) => `${Math.round(x * 100)} %`;

/** The state the window's signals call for, and why (pure). */
export function judge(w: WindowSignals, t = THRESHOLDS): Verdict {
  const errorRate = w.requests > 0 ? w.errors / w.requests : 0;
  const meanMs = w.requests > 0 ? w.latencyMsSum / w.requests : 0;
  if (w.errors >= t.minFailingRequests && errorRate >= t.failErrorRate)
    return { state: "failed", reason: `error rate ${pct(errorRate)} of ${w.requests} requests` };
  if (w.failedProbesInARow >= t.failProbes) return { state: "failed", reason: `${w.failedProbesInARow} storage probes failed in a row` };
  // Healthy traffic outweighs clients' reports only from as many other members as it takes to degrade:
  // one account's requests, however many and over however many streams, cannot keep a reported OCA healthy.
  const healthyTraffic = w.requests >= t.minRequests && errorRate < t.degradeErrorRate && w.trafficMembers >= t.degradeClientReports;
  if (w.requests >= t.minRequests && errorRate >= t.degradeErrorRate)
    return { state: "degraded", reason: `error rate ${pct(errorRate)} of ${w.requests} requests` };
  if (w.requests >= t.minRequests && meanMs >= t.degradeLatencyMs)
    return { state: "degraded", reason: `mean latency ${Math.round(meanMs)} ms over ${w.requests} requests` };
  // A slow probe degrades an OCA only when another OCA of its site probes fast: when every one is slow, the
  // site's object or bucket is (moving viewers between its OCAs cannot help; their requests' own latency still judges them).
  const siteWideSlow = w.othersProbeMs !== undefined && w.othersProbeMs !== null && w.othersProbeMs >= t.degradeLatencyMs;
  if (w.probeMs !== null && w.probeMs >= t.degradeLatencyMs && !siteWideSlow) return { state: "degraded", reason: `storage probe ${Math.round(w.probeMs)} ms` };
  if (!healthyTraffic && w.clientReports >= t.degradeClientReports)
    return { state: "degraded", reason: `${w.clientReports} members reported failed requests or switched away` };
  return { state: "healthy", reason: w.requests + w.probes > 0 ? "signals within thresholds" : "no signal" };
}

const RANK: Record<AutoHealth, number> = { healthy: 0, degraded: 1, failed: 2 };

export interface AutoState {
  state: AutoHealth;
  since: number;
  reason: string;
  /** Since when verdicts better than the state have held (null: the last one was not better). */
  betterSince: number | null;
  /** The worst of those better verdicts (null or absent: none yet, or kept by a site before schema v30). */
  betterState?: AutoHealth | null;
}

/**
 * Each OCA's spell of better verdicts keeps its worst one (schema v30): a recovery goes only as far as
 * every verdict of the spell allowed.
 */
export const RECOVERY_SPELL_SCHEMA = [`ALTER TABLE oca_auto_health ADD COLUMN better_state TEXT`];

/**
 * Hysteresis (pure): worse verdicts apply at once; better ones once they have held RECOVER_MS, and then
 * to the worst verdict of that spell (a failed OCA whose verdicts were degraded until a moment ago comes
 * back degraded, not healthy: healthy must hold a spell of its own). Returns the next state, and whether
 * it is a transition.
 */
export function step(prev: AutoState, v: Verdict, now: number, recoverMs = RECOVER_MS): { next: AutoState; changed: boolean } {
  if (RANK[v.state] > RANK[prev.state]) return { next: { state: v.state, since: now, reason: v.reason, betterSince: null, betterState: null }, changed: true };
  if (RANK[v.state] === RANK[prev.state]) return { next: { ...prev, betterSince: null, betterState: null }, changed: false };
  const betterSince = prev.betterSince ?? now;
  const before = prev.betterSince === null ? null : (prev.betterState ?? null);
  const worst = before !== null && RANK[before] > RANK[v.state] ? before : v.state;
  if (now - betterSince < recoverMs) return { next: { ...prev, betterSince, betterState: worst }, changed: false };
  const held = `${Math.round((now - betterSince) / 1000)} s (was ${prev.state}: ${prev.reason})`;
  return {
    next: {
      state: worst,
      since: now,
      reason: worst === v.state ? `${v.reason} for ${held}` : `no worse than ${worst} for ${held}`,
      betterSince: null,
      betterState: null,
    },
    changed: true,
  };
}

// ---- storage ----------------------------------------------------------------------------------

/** Adds one report's traffic signals for an OCA, into the current bucket. */
export function recordTraffic(sql: SqlStorage, ocaId: string, now: number, s: { requests: number; errors: number; latencyMsSum: number }): void {
  run(
    sql,
    `INSERT INTO oca_traffic (oca_id, bucket, requests, errors, latency_ms_sum) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (oca_id, bucket) DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors,
       latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum`,
    ocaId,
    now - (now % TRAFFIC_BUCKET_MS),
    s.requests,
    s.errors,
    s.latencyMsSum,
  );
}

/** Successful probes a probe latency is judged on, at least: one stalled probe (a busy isolate, a pause) is not a slow OCA. */
export const PROBES_TO_JUDGE = 2;

/**
 * An OCA's probe latency over the window (pure): the lower median of its successful probes, null with
 * fewer than PROBES_TO_JUDGE. A mean let one probe stalled for a second degrade an OCA whose other probes
 * took 20 ms; the lower median of two needs both slow, of five three, as a slow OCA's all are.
 */
export function probeLatency(ms: readonly number[]): number | null {
  if (ms.length < PROBES_TO_JUDGE) return null;
  const sorted = [...ms].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Adds one storage probe's result for an OCA. */
export function recordProbe(sql: SqlStorage, ocaId: string, now: number, ok: boolean, probeMs: number): void {
  run(sql, `INSERT INTO oca_signals (oca_id, at, probe_ok, probe_ms) VALUES (?, ?, ?, ?)`, ocaId, now, ok ? 1 : 0, probeMs);
}

/** A member whose client reported an OCA failing it, with its streams object id (how the traffic it is weighed against names members). */
export interface ClientReporter {
  member: string;
  streams: string;
}

/** Notes the members whose clients reported an OCA failing them, and their sessions (each once per OCA: the latest report stands). */
export function recordClientReporters(
  sql: SqlStorage,
  ocaId: string,
  now: number,
  reporters: readonly ClientReporter[],
  sessions: readonly string[] = [],
): void {
  for (const r of reporters)
    run(
      sql,
      `INSERT INTO oca_client_reporters (oca_id, reporter, at, streams) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET at = excluded.at, streams = excluded.streams`,
      ocaId,
      r.member,
      now,
      r.streams,
    );
  for (const s of sessions)
    run(sql, `INSERT INTO oca_reporter_sessions (oca_id, session_id, at) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET at = excluded.at`, ocaId, s, now);
}

/**
 * Probing members kept per OCA, at most (newest): as many as a report's items, so members who report the
 * OCA and probe it too (left out when weighed) cannot crowd honest probers out short of that many accounts.
 */
export const PROBERS_KEPT = 1_000;

/**
 * Members whose probes each OCA answered lately (`probe=1`: a probe makes no session entry), kept in the
 * object's memory, newest last: healthy traffic weighed against clients' reports like other members'
 * sessions, whichever reached the site first, at no row written. A restart forgets them (a window's worth).
 */
export class RecentProbers {
  private readonly byOca = new Map<string, Map<string, number>>();

  /** Notes probing members of an OCA at `now` (streams object ids, validated by the caller). */
  note(ocaId: string, members: readonly string[], now: number): void {
    let m = this.byOca.get(ocaId);
    if (!m) this.byOca.set(ocaId, (m = new Map()));
    for (const streams of members) {
      m.delete(streams);
      m.set(streams, now);
    }
    for (const oldest of m.keys()) {
      if (m.size <= PROBERS_KEPT) break;
      m.delete(oldest);
    }
  }

  /** The OCA's probing members seen at or after `from`. */
  since(ocaId: string, from: number): string[] {
    return [...(this.byOca.get(ocaId) ?? [])].filter(([, at]) => at >= from).map(([streams]) => streams);
  }

  /** Forgets an OCA's probers (an operator's restore starts its window afresh). */
  forget(ocaId: string): void {
    this.byOca.delete(ocaId);
  }
}

/**
 * The window's signals for an OCA (and drops its rows older than the window). Every statement reads
 * this OCA's rows of the window through its key: bounded by the window, not by the site's traffic.
 */
export function windowSignals(sql: SqlStorage, ocaId: string, now: number, windowMs = WINDOW_MS, probers: () => readonly string[] = () => []): WindowSignals {
  const from = now - windowMs;
  // Buckets that began before the window are dropped; the one the window starts in still counts.
  const fromBucket = from - (from % TRAFFIC_BUCKET_MS);
  run(sql, `DELETE FROM oca_signals WHERE oca_id = ? AND at < ?`, ocaId, from);
  run(sql, `DELETE FROM oca_traffic WHERE oca_id = ? AND bucket < ?`, ocaId, fromBucket);
  run(sql, `DELETE FROM oca_client_reporters WHERE oca_id = ? AND at < ?`, ocaId, from);
  run(sql, `DELETE FROM oca_reporter_sessions WHERE oca_id = ? AND at < ?`, ocaId, from);
  const sum = first<{ requests: number; errors: number; lat: number; probes: number; probe_failures: number; reports: number }>(
    sql,
    `SELECT t.requests, t.errors, t.lat, p.probes, p.probe_failures,
            (SELECT COUNT(*) FROM oca_client_reporters WHERE oca_id = ?1 AND at >= ?2) AS reports
     FROM (SELECT COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(errors), 0) AS errors, COALESCE(SUM(latency_ms_sum), 0) AS lat
           FROM oca_traffic WHERE oca_id = ?1 AND bucket >= ?3) AS t,
          (SELECT COUNT(probe_ok) AS probes, COALESCE(SUM(probe_ok = 0), 0) AS probe_failures
           FROM oca_signals WHERE oca_id = ?1 AND at >= ?2) AS p`,
    ocaId,
    from,
    fromBucket,
  )!;
  const recent = rows<{ probe_ok: number }>(sql, `SELECT probe_ok FROM oca_signals WHERE oca_id = ? AND probe_ok IS NOT NULL ORDER BY at DESC LIMIT 10`, ocaId);
  let inARow = 0;
  for (const r of recent) {
    if (r.probe_ok !== 0) break;
    inARow++;
  }
  // Every successful probe of the site's OCAs in the window: a few per OCA (one a second at most, on syncs).
  const probed = new Map<string, number[]>();
  for (const r of rows<{ oca_id: string; probe_ms: number }>(sql, `SELECT oca_id, probe_ms FROM oca_signals WHERE at >= ? AND probe_ok = 1`, from)) {
    const list = probed.get(r.oca_id);
    if (list) list.push(r.probe_ms);
    else probed.set(r.oca_id, [r.probe_ms]);
  }
  const own = probed.get(ocaId) ?? [];
  probed.delete(ocaId);
  const others = [...probed.values()].map(probeLatency).filter((ms): ms is number => ms !== null);
  const need = THRESHOLDS.degradeClientReports;
  const trafficMembers =
    sum.reports >= need
      ? first<{ n: number }>(
          sql,
          `SELECT COUNT(*) AS n FROM (SELECT DISTINCT m FROM (
             SELECT COALESCE(s.streams, s.session_id) AS m FROM oca_sessions s WHERE s.oca_id = ?1 AND s.last_seen >= ?2
               AND NOT EXISTS (SELECT 1 FROM oca_reporter_sessions r WHERE r.oca_id = ?1 AND r.session_id = s.session_id)
               AND (s.streams IS NULL OR NOT EXISTS (SELECT 1 FROM oca_client_reporters c WHERE c.oca_id = ?1 AND c.streams = s.streams))
             UNION ALL
             SELECT p.value AS m FROM json_each(?4) p
               WHERE NOT EXISTS (SELECT 1 FROM oca_client_reporters c WHERE c.oca_id = ?1 AND c.streams = p.value)) LIMIT ?3)`,
          ocaId,
          from,
          need,
          // Listed only when weighed (most evaluations have too few reporters to): up to PROBERS_KEPT.
          JSON.stringify(probers()),
        )!.n
      : 0;
  return {
    requests: sum.requests,
    errors: sum.errors,
    latencyMsSum: sum.lat,
    probes: sum.probes,
    probeFailures: sum.probe_failures,
    probeMs: probeLatency(own),
    failedProbesInARow: inARow,
    clientReports: sum.reports,
    trafficMembers,
    othersProbeMs: others.reduce<number | null>((min, ms) => (min === null || ms < min ? ms : min), null),
  };
}

/** An OCA's automatic state as stored (healthy, with no signal yet, when none is). */
export function autoState(sql: SqlStorage, ocaId: string): AutoState {
  const r = first<{ state: AutoHealth; since: number; reason: string; better_since: number | null; better_state: AutoHealth | null }>(
    sql,
    `SELECT state, since, reason, better_since, better_state FROM oca_auto_health WHERE oca_id = ?`,
    ocaId,
  );
  return r
    ? { state: r.state, since: r.since, reason: r.reason, betterSince: r.better_since, betterState: r.better_state }
    : { state: "healthy", since: 0, reason: "no signal yet", betterSince: null, betterState: null };
}

function saveState(sql: SqlStorage, ocaId: string, s: AutoState): void {
  run(
    sql,
    `INSERT OR REPLACE INTO oca_auto_health (oca_id, state, since, reason, better_since, better_state) VALUES (?, ?, ?, ?, ?, ?)`,
    ocaId,
    s.state,
    s.since,
    s.reason,
    s.betterSince,
    s.betterState ?? null,
  );
}

/** Records a transition (automatic or an operator's) for operators to read. */
export function recordTransition(sql: SqlStorage, ocaId: string, at: number, from: string, to: string, reason: string, by: "auto" | "operator"): void {
  run(sql, `INSERT INTO health_transitions (oca_id, at, from_state, to_state, reason, by) VALUES (?, ?, ?, ?, ?, ?)`, ocaId, at, from, to, reason, by);
  // A bounded log: the last 200 transitions per site.
  run(sql, `DELETE FROM health_transitions WHERE id <= (SELECT MAX(id) FROM health_transitions) - 200`);
}

/**
 * An OCA's automatic failures, and its automatic spells out of healthy (to degraded or failed), within
 * FLAP_MEMORY_MS of `now`, since an operator last set its health (a restore starts afresh). Read from the
 * transition log (at most 200 rows a site): lower bounds.
 */
export function recentDemotions(sql: SqlStorage, ocaId: string, now: number): { failures: number; spells: number } {
  const r = first<{ failures: number; spells: number }>(
    sql,
    `SELECT COALESCE(SUM(to_state = 'failed'), 0) AS failures, COALESCE(SUM(from_state = 'healthy'), 0) AS spells
     FROM health_transitions WHERE oca_id = ?1 AND by = 'auto' AND at >= ?2
       AND id > COALESCE((SELECT MAX(id) FROM health_transitions WHERE oca_id = ?1 AND by = 'operator'), 0)`,
    ocaId,
    now - FLAP_MEMORY_MS,
  )!;
  return { failures: r.failures, spells: r.spells };
}

/** How long better verdicts must hold for an OCA that failed (or left healthy) `failures` times lately (the latest included). */
export const recoverHoldMs = (failures: number): number => RECOVER_MS * Math.min(MAX_RECOVER_FACTOR, 2 ** Math.max(0, failures - 1));

/** Judges an OCA's window and moves its automatic state; returns the transition, if any. */
export function evaluate(
  sql: SqlStorage,
  ocaId: string,
  now: number,
  probers: () => readonly string[] = () => [],
): { from: AutoHealth; to: AutoHealth; reason: string } | null {
  const prev = autoState(sql, ocaId);
  const verdict = judge(windowSignals(sql, ocaId, now, WINDOW_MS, probers));
  // The state entered, or the one recovered from: a failed OCA's hold counts its failures, a degraded
  // one's its spells out of healthy too. The log is read only when the OCA is not healthy or is leaving it.
  const worse = RANK[verdict.state] > RANK[prev.state];
  const kind = worse ? verdict.state : prev.state;
  const d = kind === "healthy" ? { failures: 0, spells: 0 } : recentDemotions(sql, ocaId, now);
  const held = kind === "failed" ? d.failures : Math.max(d.failures, d.spells);
  const { next, changed } = step(prev, verdict, now, recoverHoldMs(held));
  // A repeat demotion says so, and how long it will be held out: what the operator reads of it.
  if (changed && worse) {
    const count = kind === "failed" ? d.failures + 1 : d.spells + 1;
    const hold = recoverHoldMs(kind === "failed" ? count : Math.max(d.failures, count));
    if (hold > RECOVER_MS)
      next.reason += ` (${kind === "failed" ? "failed" : "left healthy"} ${count} times in ${FLAP_MEMORY_MS / 60_000} min: back once better for ${hold / 1000} s)`;
  }
  // Written only when it moved: most evaluations confirm the state as it was.
  if (changed || next.betterSince !== prev.betterSince || (next.betterState ?? null) !== (prev.betterState ?? null)) saveState(sql, ocaId, next);
  if (!changed) return null;
  recordTransition(sql, ocaId, now, prev.state, next.state, next.reason, "auto");
  return { from: prev.state, to: next.state, reason: next.reason };
}

/** An operator's restore: the automatic state starts afresh as healthy, and the window is forgotten. */
export function resetAuto(sql: SqlStorage, ocaId: string, now: number): void {
  saveState(sql, ocaId, { state: "healthy", since: now, reason: "restored by an operator", betterSince: null });
  run(sql, `DELETE FROM oca_signals WHERE oca_id = ?`, ocaId);
  run(sql, `DELETE FROM oca_traffic WHERE oca_id = ?`, ocaId);
  run(sql, `DELETE FROM oca_client_reporters WHERE oca_id = ?`, ocaId);
  run(sql, `DELETE FROM oca_reporter_sessions WHERE oca_id = ?`, ocaId);
}

/** The last transitions of an OCA, newest first. */
export function transitions(sql: SqlStorage, ocaId: string, limit = 10): Array<{ at: number; from: string; to: string; reason: string; by: string }> {
  return rows<{ at: number; from_state: string; to_state: string; reason: string; by: string }>(
    sql,
    `SELECT at, from_state, to_state, reason, by FROM health_transitions WHERE oca_id = ? ORDER BY id DESC LIMIT ?`,
    ocaId,
    limit,
  ).map((r) => ({ at: r.at, from: r.from_state, to: r.to_state, reason: r.reason, by: r.by }));
}

// ---- fault switches ---------------------------------------------------------------------------

export function faultOf(sql: SqlStorage, ocaId: string): OcaFault | null {
  const r = first<{ error_rate: number; added_latency_ms: number; throughput_bps: number | null }>(
    sql,
    `SELECT error_rate, added_latency_ms, throughput_bps FROM oca_faults WHERE oca_id = ?`,
    ocaId,
  );
  return r ? { errorRate: r.error_rate, addedLatencyMs: r.added_latency_ms, throughputBps: r.throughput_bps } : null;
}

export function setFault(sql: SqlStorage, ocaId: string, fault: OcaFault | null): void {
  if (!fault || (fault.errorRate === 0 && fault.addedLatencyMs === 0 && fault.throughputBps === null))
    run(sql, `DELETE FROM oca_faults WHERE oca_id = ?`, ocaId);
  else
    run(
      sql,
      `INSERT OR REPLACE INTO oca_faults (oca_id, error_rate, added_latency_ms, throughput_bps) VALUES (?, ?, ?, ?)`,
      ocaId,
      fault.errorRate,
      fault.addedLatencyMs,
      fault.throughputBps,
    );
}
