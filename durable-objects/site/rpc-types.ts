import type { SiteSpec } from "../../workers/shared/topology";
import type { MissKind, OcaHealth, OcaLive } from "../../workers/shared/site-view";
import type { FillSource } from "./holdings";
import type { ParkedTask } from "./fill-queue";
import type { QueueAhead } from "./plan";

/** What the site object's RPC methods take and answer, beside their code (oca-site.ts). */

export type BySource<T> = Record<FillSource, T>;

export interface OcaState {
  ocaId: string;
  capacityBytes: number;
  throughputBps: number;
  usedBytes: number;
  health: OcaHealth;
  load: OcaLive;
  /** The last health transitions, newest first: automatic (with the signals' reason) or an operator's. */
  transitions: Array<{ at: number; from: string; to: string; reason: string; by: string }>;
  /** Its titles by id, the first page (see SiteState). */
  titles: Array<{ titleId: string; files: number; bytes: number; readyFiles: number; complete: boolean; planned: boolean }>;
  /** How many titles it holds (rows of any state), listed or not. */
  titlesTotal?: number;
  /** Where the next page of its titles starts, when more remain (`GET /admin/sites/{id}/ocas/{oca}/titles?cursor=`). */
  titlesCursor?: string;
}

export interface FillProgress {
  /**
   * Files and bytes queued to copy under the current plan, per OCA (parked ones included), and the
   * planned titles whose files are not queued yet (they are queued as the fill works through the queue).
   */
  pending: Array<{ ocaId: string; files: number; bytes: number; parked: number; titlesToQueue: number }>;
  /** Copies that kept failing and wait for an operator or the next plan, with their reason: the first PARKED_LISTED_MAX. */
  parked: ParkedTask[];
  /** How many copies are parked, listed or not (absent from an object on the code before). */
  parkedTotal?: number;
  /** Copied since the current plan was applied, by source. */
  done: BySource<{ files: number; bytes: number }>;
  /** Until when (ms) the current plan may fill; null when no plan. */
  fillUntil: number | null;
  fillRateBps: number | null;
  lastError: string | null;
}

export interface SiteState {
  site: SiteSpec;
  schemaVersion: number;
  ocas: OcaState[];
  /** The most frequent misses (by count), at most the limit asked for. */
  misses: Array<{ ocaId: string; titleId: string; kind: MissKind; count: number; bytes: number }>;
  /** How many (OCA, title, kind) misses there are, listed or not. */
  missesTotal?: number;
  /** Every ready copy ever made here, by source. */
  fills: { files: number; bytes: number; bySource: BySource<{ files: number; bytes: number }> };
  progress: FillProgress;
  /** Isolates that synced lately and the interval the site asks of them (ms): see workers/shared/sync-pace.ts. */
  syncs: { isolates: number; everyMs: number };
  /** Retired OCAs whose rows and copies are still being deleted (see RetiringOca). */
  retiring: RetiringOca[];
}

/**
 * A retired OCA being cleaned up. `rows`: its rows here are being deleted (the site hides it meanwhile,
 * even re-added); `waiting`: its copies are kept until `deleteCopiesFrom`, as sessions granted before the
 * retire may still ask for them; `copies`: they are being deleted from the tier bucket, a batch at a time.
 */
export interface RetiringOca {
  ocaId: string;
  retiredAt: number;
  deleteCopiesFrom: number;
  stage: "rows" | "waiting" | "copies";
  /** Copies it held when its clean-up began (by the site's rows), less those deleted since. */
  filesLeft: number;
  bytesLeft: number;
}

/** The dashboard's view of a site (see OcaSite.opsSummary): describe() and lastCycle() with counts for lists. */
export interface OpsSummary {
  ocas: Array<Omit<OcaState, "titles"> & { completeTitles: number }>;
  misses: Record<MissKind, { count: number; bytes: number }>;
  day: number | null;
  /** Planned titles per OCA. */
  planned: Record<string, number>;
  cycle: CycleFigures | null;
  progress: Omit<FillProgress, "parked"> & { parked: number };
  syncs: SiteState["syncs"];
}

/**
 * One call of a manual fill. `done` false: the call copied its share of files and `remaining` are left
 * (a call copies at most FILL_FILES_PER_CALL_MAX, within the platform's subrequests per request); the
 * title is published by the call that copies its last file.
 */
export type FillResult =
  | { ok: true; done: boolean; ocaId: string; titleId: string; copied: number; skipped: number; remaining: number; bytes: number; bySource: BySource<number> }
  | {
      ok: false;
      ocaId: string;
      titleId: string;
      code: "unknown_oca" | "unknown_title" | "insufficient_capacity" | "copy_failed" | "not_complete";
      message: string;
    };

/** What a fill cycle decided, kept for operators. */
export interface CycleFigures {
  at: string;
  targetDay: number;
  predictedBytes: number;
  coveredBytes: number;
  /** Share of a day's bytes in the site's busiest local hour (replica counts are sized on it). */
  peakShare?: number;
  /** IXP sites: bytes the children are predicted to miss after their own fill. */
  childMissBytes?: number;
  /** A same-day re-plan: the morning showed a shift of the region's mix (fill/shift.ts). */
  sameDay?: boolean;
  /** Copies per title: the 100 titles with the most (the figures are read on every dashboard refresh). */
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
  /** How far ahead of the fill its queue is kept (durable-objects/site/plan.ts's QUEUE_AHEAD unless given; tests set it small). */
  queueAhead?: Partial<QueueAhead>;
  /** Figures of the cycle, kept for operators. */
  cycle: CycleFigures;
  /**
   * When the cycle that made the plan started (ms, the caller's clock). A plan from a cycle that started
   * before the one the site holds is refused: an overlapping or abandoned cycle finishing late must not
   * put its older view back. Without it the plan counts as started when it is applied.
   */
  startedAt?: number;
  /** The caller gives the cycle up at this instant (ms): a plan arriving later is refused, not applied unseen. */
  applyBy?: number;
}

/** What applying a plan did: queued files, or nothing when the plan was refused as stale. */
export type ApplyPlanResult =
  | { applied: true; queuedFiles: number; queuedBytes: number; titlesToQueue: number }
  | { applied: false; reason: "newer_plan_applied" | "past_its_deadline" };
