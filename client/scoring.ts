/**
 * Which OCA to stream from: scoring of probe results weighted by the steering rank, eligibility
 * (penalty box after errors, steering's current list), hysteresis before moving, and throughput
 * collapse detection. Pure: every method takes `now` (ms), no I/O. Unit-tested in workerd.
 */

export interface OcaRef {
  ocaId: string;
  siteId: string;
  tier: string;
  /** Rank in the play response (1 = best). */
  rank: number;
}

export interface ProbeResult {
  ocaId: string;
  ok: boolean;
  /** When the probe finished (ms, the caller's clock). */
  at: number;
  status?: number;
  /** Time to the response headers. */
  ttfbMs?: number;
  /** Bits/s over the body of the probe. */
  throughputBps?: number;
  bytes?: number;
  error?: string;
}

export interface SelectorParams {
  /** Reference download (bytes) for the expected fetch time: about one top-rung segment. */
  refBytes: number;
  /**
   * Added to every expected fetch time: about half a segment. While OCAs deliver a segment well
   * within its duration, TTFB and throughput differences do not matter to playback, and the
   * steering order (embedded before IXP before origin) decides; only an OCA that gets close to not
   * sustaining the top rung loses to a lower-ranked one (never to origin while a cache is eligible).
   */
  slackMs: number;
  /** Score multiplier per position in the steering order: the server's ranking matters (offload, cost). */
  rankPenalty: number;
  /** A candidate must score this much better (0.3 = 30 % lower expected time) to displace the current OCA... */
  switchMargin: number;
  /** ...on this many consecutive evaluations (probe rounds). */
  switchConfirmations: number;
  /** How long an OCA stays out after an HTTP error or timeout, after a failed probe, after a collapse. */
  failPenaltyMs: number;
  probeFailPenaltyMs: number;
  collapsePenaltyMs: number;
  /** Assumed for an OCA not probed yet. */
  defaultTtfbMs: number;
  defaultThroughputBps: number;
  /** Consecutive downloads below the collapse threshold that count as a throughput collapse. */
  collapseSamples: number;
  /** After a move, stay at least this long unless the OCA becomes unavailable (no flapping). */
  minDwellMs: number;
}

export const DEFAULT_SELECTOR: SelectorParams = {
  refBytes: 1_000_000,
  slackMs: 2_000,
  rankPenalty: 0.35,
  switchMargin: 0.3,
  switchConfirmations: 2,
  failPenaltyMs: 60_000,
  probeFailPenaltyMs: 30_000,
  collapsePenaltyMs: 20_000,
  defaultTtfbMs: 150,
  defaultThroughputBps: 5_000_000,
  collapseSamples: 2,
  minDwellMs: 15_000,
};

/**
 * Why `value` cannot be selector parameter `key` (configure() checks with it), or null when it can.
 * Every parameter is a finite number >= 0; a streak or confirmation count is a whole number >= 1 (0
 * would declare a collapse on every download, or move on no evidence), and the switch margin is below
 * 1 (from 1 on, no OCA could ever score better by it).
 */
export function selectorParamError(key: string, value: unknown): string | null {
  if (!Object.hasOwn(DEFAULT_SELECTOR, key)) return "unknown selector parameter";
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return "expected a number >= 0";
  if ((key === "collapseSamples" || key === "switchConfirmations") && !(Number.isInteger(value) && value >= 1)) return "expected a whole number >= 1";
  if (key === "switchMargin" && value >= 1) return "expected a number >= 0 and < 1";
  return null;
}

/** Expected time (ms) to fetch `refBytes` from an OCA with this time to first byte and throughput. */
export function expectedFetchMs(ttfbMs: number, throughputBps: number, refBytes: number): number {
  const tput = Math.max(1, throughputBps);
  return Math.max(0, ttfbMs) + (refBytes * 8000) / tput;
}

/** `v` when it is a finite number, else `fallback`. */
const finiteOr = (v: unknown, fallback: number): number => (typeof v === "number" && Number.isFinite(v) ? v : fallback);

/**
 * Lower is better: expected fetch time plus slack, times the rank penalty of its steering position. A
 * measurement that is not a finite number (NaN from a broken timing) counts as none: a NaN score
 * compares as neither better nor worse, and would win the hysteresis against every OCA.
 */
export function scoreOca(rankIndex: number, probe: Pick<ProbeResult, "ttfbMs" | "throughputBps"> | undefined, p: SelectorParams = DEFAULT_SELECTOR): number {
  const ttfb = finiteOr(probe?.ttfbMs, p.defaultTtfbMs);
  const tput = finiteOr(probe?.throughputBps, p.defaultThroughputBps);
  return (expectedFetchMs(ttfb, tput, p.refBytes) + p.slackMs) * (1 + p.rankPenalty * Math.max(0, rankIndex));
}

export type Exclusion = "failed" | "probe_failed" | "collapse" | "not_steered";

export interface Ranked {
  ocaId: string;
  score: number;
  rankIndex: number;
}

export interface Decision {
  /** Eligible OCAs, best first. */
  ranking: Ranked[];
  /** Where to go now, or null to stay. */
  switchTo: string | null;
  /** Why: the current OCA failed, failed its probe, collapsed, was dropped or demoted by steering, or another is clearly better. */
  reason?: "failed" | "probe_failed" | "throughput_collapse" | "steering" | "better_oca" | "initial";
}

export class OcaSelector {
  readonly params: SelectorParams;
  private readonly ocas: OcaRef[];
  private readonly probes = new Map<string, ProbeResult>();
  /** The latest successful probe per OCA: what a failed probe is scored on (it measured nothing). */
  private readonly measured = new Map<string, ProbeResult>();
  private readonly penalties = new Map<string, { until: number; why: Exclusion }>();
  private serverOrder: string[] | null = null;
  private pending: { ocaId: string; count: number } | null = null;
  private lastMoveAt = -Infinity;
  private readonly lowStreak = new Map<string, number>();
  /** Consecutive failed probes per OCA: one lost probe of the current OCA is not enough to leave it. */
  private readonly probeFails = new Map<string, number>();
  /** The play response's origin entries (the last resort), looked up on every comparison of a ranking. */
  private readonly origins: Set<string>;

  constructor(ocas: readonly OcaRef[], params: Partial<SelectorParams> = {}) {
    this.ocas = [...ocas].sort((a, b) => a.rank - b.rank);
    this.origins = new Set(this.ocas.filter((o) => o.tier === "origin").map((o) => o.ocaId));
    this.params = { ...DEFAULT_SELECTOR, ...(Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Partial<SelectorParams>) };
  }

  get ids(): string[] {
    return this.ocas.map((o) => o.ocaId);
  }

  has(ocaId: string): boolean {
    return this.ocas.some((o) => o.ocaId === ocaId);
  }

  private isOrigin(ocaId: string): boolean {
    return this.origins.has(ocaId);
  }

  recordProbe(r: ProbeResult): void {
    if (!this.has(r.ocaId)) return;
    this.probes.set(r.ocaId, r);
    if (r.ok) this.measured.set(r.ocaId, r);
    this.probeFails.set(r.ocaId, r.ok ? 0 : (this.probeFails.get(r.ocaId) ?? 0) + 1);
    if (!r.ok) this.penalise(r.ocaId, r.at, "probe_failed");
    else if (this.penalties.get(r.ocaId)?.why === "probe_failed") this.penalties.delete(r.ocaId);
  }

  probe(ocaId: string): ProbeResult | undefined {
    return this.probes.get(ocaId);
  }

  /** An HTTP error, a timeout or a throughput collapse on this OCA: out of the running for a while. */
  fail(ocaId: string, now: number, why: "failed" | "collapse" = "failed"): void {
    this.penalise(ocaId, now, why);
    this.lowStreak.set(ocaId, 0);
    if (this.pending?.ocaId === ocaId) this.pending = null;
  }

  /** Lifts a penalty that turned out not to be the OCA's fault (the client's own network was down). */
  forgive(ocaId: string): void {
    this.penalties.delete(ocaId);
  }

  private penalise(ocaId: string, now: number, why: Exclusion): void {
    const ms = why === "collapse" ? this.params.collapsePenaltyMs : why === "probe_failed" ? this.params.probeFailPenaltyMs : this.params.failPenaltyMs;
    const prev = this.penalties.get(ocaId);
    const live = prev && prev.until > now ? prev : undefined;
    this.penalties.set(ocaId, {
      until: Math.max(now + ms, live?.until ?? 0),
      // A hard failure is not softened by a later, milder reason.
      why: live?.why === "failed" ? "failed" : why,
    });
  }

  /** The steering server's current order (failed/drained OCAs are absent). Unknown ids and repeats are ignored. */
  setServerOrder(ids: readonly string[] | null): void {
    // The list comes off the network: an id said twice must not rank (and be probed, and be handed to
    // the player) twice, nor a long list of repeats be sorted on every ranking.
    this.serverOrder = ids ? [...new Set(ids.filter((id) => this.has(id)))] : null;
  }

  get serverPriority(): string[] | null {
    return this.serverOrder ? [...this.serverOrder] : null;
  }

  /**
   * True while `ocaId` sits in the penalty box (failed, failed its probe, collapsed): not worth moving
   * to, even when the fallback ranking names it (every OCA is in the box).
   */
  penalised(ocaId: string, now: number): boolean {
    return (this.penalties.get(ocaId)?.until ?? Number.NEGATIVE_INFINITY) > now;
  }

  /** Why an OCA is not eligible now, or null when it is. */
  exclusion(ocaId: string, now: number): Exclusion | null {
    const pen = this.penalties.get(ocaId);
    if (pen && pen.until > now) return pen.why;
    if (this.serverOrder && this.serverOrder.length > 0 && !this.serverOrder.includes(ocaId)) return "not_steered";
    return null;
  }

  private order(): string[] {
    if (this.serverOrder && this.serverOrder.length > 0) {
      // Steering's order first; OCAs it no longer lists keep their play-response order behind it.
      return [...this.serverOrder, ...this.ids.filter((id) => !this.serverOrder!.includes(id))];
    }
    return this.ids;
  }

  /** Eligible OCAs, best first. Falls back, in this order, to OCAs steering dropped, then to the least recently failed. */
  ranking(now: number): Ranked[] {
    const order = this.order();
    const scored = (ids: string[]) =>
      ids
        .map((ocaId) => {
          const rankIndex = order.indexOf(ocaId);
          return { ocaId, rankIndex, score: this.score(ocaId, rankIndex) };
        })
        // Origin is the last resort: it ranks behind every cache in the running, whatever the probes
        // say (a lucky probe, or a loaded machine, can make it measure fastest; its egress is what the
        // caches exist to save).
        .sort((a, b) => Number(this.isOrigin(a.ocaId)) - Number(this.isOrigin(b.ocaId)) || a.score - b.score || a.rankIndex - b.rankIndex);
    const eligible = order.filter((id) => this.exclusion(id, now) === null);
    if (eligible.length) return scored(eligible);
    const unpenalised = order.filter((id) => !this.penalised(id, now));
    if (unpenalised.length) return scored(unpenalised);
    // Everything is in the penalty box: the one whose penalty ends first is the last resort.
    const soonest = [...this.penalties.entries()].filter(([id]) => this.has(id)).sort((a, b) => a[1].until - b[1].until)[0];
    return soonest ? scored([soonest[0]]) : [];
  }

  /**
   * An OCA's score at `rankIndex`. A failed probe measured nothing, yet it must not make the OCA look
   * better than before: it scores as the worse of the last successful measurement and the defaults for
   * an OCA not probed yet. (Scored on the defaults alone, an OCA measured slow whose next probe timed
   * out was ranked ahead of measured ones once its penalty ended; scored on its last success alone, one
   * fast probe long ago would keep an OCA that no longer answers ahead for good.)
   */
  private score(ocaId: string, rankIndex: number): number {
    const latest = this.probes.get(ocaId);
    if (!latest || latest.ok) return scoreOca(rankIndex, latest, this.params);
    const lastOk = this.measured.get(ocaId);
    return Math.max(scoreOca(rankIndex, undefined, this.params), lastOk ? scoreOca(rankIndex, lastOk, this.params) : 0);
  }

  /** The OCA to start with (no hysteresis). */
  pick(now: number): string | null {
    return this.ranking(now)[0]?.ocaId ?? null;
  }

  /** The caller moved to another OCA at `now` (starts the dwell time). */
  noteMove(now: number): void {
    this.lastMoveAt = now;
    this.pending = null;
  }

  /**
   * Should we move away from `current`?
   * - At once when it is no longer eligible (failed, collapsed, steering dropped it).
   * - Not within `minDwellMs` of the last move otherwise (no flapping).
   * - When steering now orders the best candidate ahead of `current` (the server moved load away
   *   from it), or with no steering answer the play response does (an OCA recovered after a
   *   failover), and our measurements agree (the candidate scores better): follow that order.
   * - Otherwise only when the candidate beats `current` by `switchMargin` on `switchConfirmations`
   *   consecutive probe rounds (hysteresis: measurements alone must be clearly and repeatedly better).
   *
   * `probeRound` says whether new measurements came in (a probe round); an evaluation without them
   * (a steering answer) applies the rules above but neither counts toward nor resets the hysteresis:
   * re-reading the same measurements is not a second round.
   */
  evaluate(current: string | null, now: number, probeRound = true): Decision {
    const ranking = this.ranking(now);
    const best = ranking[0];
    if (!best) return { ranking, switchTo: null };
    if (current === null) return { ranking, switchTo: best.ocaId, reason: "initial" };
    const why = this.exclusion(current, now);
    // A lost probe of the current OCA counts toward the hysteresis, like a worse score: it takes
    // `switchConfirmations` in a row to leave (media requests that fail still leave at once).
    if (why === "probe_failed" && (this.probeFails.get(current) ?? 0) < this.params.switchConfirmations) return { ranking, switchTo: null };
    if (why !== null) {
      this.pending = null;
      // Every other OCA is in the penalty box too (the fallback ranking's last resort): moving from one
      // penalised OCA to another gains nothing and, as each collapses or fails in turn, would never end.
      if (best.ocaId === current || this.penalised(best.ocaId, now)) return { ranking, switchTo: null };
      const reason = why === "not_steered" ? "steering" : why === "collapse" ? "throughput_collapse" : why;
      return { ranking, switchTo: best.ocaId, reason };
    }
    const cur = ranking.find((r) => r.ocaId === current);
    if (!cur || best.ocaId === current || now - this.lastMoveAt < this.params.minDwellMs) {
      this.pending = null;
      return { ranking, switchTo: null };
    }
    // Off origin once a cache can take the viewer again (after the dwell time).
    if (this.isOrigin(current) && !this.isOrigin(best.ocaId)) {
      this.pending = null;
      return { ranking, switchTo: best.ocaId, reason: "better_oca" };
    }
    // Steering's order, else the play response's, puts the best candidate ahead of `current` and the
    // measurements agree: follow it. After a failover the recovered OCA ahead (the ISP's own, say) is
    // taken back once it scores better, not only when it beats the fallback by the whole margin.
    const order = this.order();
    if (order.indexOf(best.ocaId) < order.indexOf(current) && best.score < cur.score) {
      this.pending = null;
      return { ranking, switchTo: best.ocaId, reason: this.serverOrder?.length ? "steering" : "better_oca" };
    }
    if (!probeRound) return { ranking, switchTo: null };
    if (best.score >= cur.score * (1 - this.params.switchMargin)) {
      this.pending = null;
      return { ranking, switchTo: null };
    }
    this.pending = this.pending?.ocaId === best.ocaId ? { ocaId: best.ocaId, count: this.pending.count + 1 } : { ocaId: best.ocaId, count: 1 };
    if (this.pending.count >= this.params.switchConfirmations) {
      this.pending = null;
      return { ranking, switchTo: best.ocaId, reason: "better_oca" };
    }
    return { ranking, switchTo: null };
  }

  /**
   * A download from `ocaId` ran at `bps`; `thresholdBps` is what the lowest rung needs (with margin).
   * Returns true on a throughput collapse: `collapseSamples` consecutive downloads below the threshold.
   */
  noteThroughput(ocaId: string, bps: number, thresholdBps: number): boolean {
    const streak = bps < thresholdBps ? (this.lowStreak.get(ocaId) ?? 0) + 1 : 0;
    // A collapse is declared once; the next one needs a streak of its own.
    const collapse = streak >= this.params.collapseSamples;
    this.lowStreak.set(ocaId, collapse ? 0 : streak);
    return collapse;
  }
}
