/** What sites and the data plane exchange: shared so the data plane never imports a Durable Object. */

/**
 * An OCA's health as its site sees it: decided automatically from signals (healthy, degraded, failed),
 * or set by an operator (drained, failed; a restore hands back to the automatic state). Healthy OCAs are
 * steered to first, degraded ones behind their peers, drained and failed ones not at all; failed ones
 * refuse requests.
 */
export type OcaHealth = "healthy" | "degraded" | "drained" | "failed";

/** A fault switch on an OCA (Chaos Monkey / Latency Monkey), applied by the data plane to what it serves. */
export interface OcaFault {
  /** Share of requests answered 503 (0-1). */
  errorRate: number;
  /** Added before each answer, ms. */
  addedLatencyMs: number;
  /** Bodies paced to this rate (bits/s); null: not capped. */
  throughputBps: number | null;
}

/** Sessions and misses one OCA's report itemises: the data plane stops adding there, the site reads no more. */
export const MAX_REPORT_ITEMS = 1000;

/**
 * Why a request did not find its title where Open Connect would want it:
 * - `content`: the OCA did not hold the file it was asked for (or the client's home site held no copy);
 * - `health`: the home site held a copy but steering sent the client elsewhere (health or load).
 */
export type MissKind = "content" | "health";

/** Bytes a session reported (a QoE batch), passed from its event shard to its home site. */
export interface ByteReport {
  /** The report's id in its event shard's run (increasing): a forward sent again skips what the site already counted. */
  id?: number;
  sessionId: string;
  titleId: string;
  startedAt: number;
  estBytes: number;
  topBps: number;
  bytes: number;
  /** When the batch arrived (ms). */
  at: number;
}

/** A play whose home is the site, as the play request records it (batched with the site's report). */
export interface PlayReport {
  sessionId: string;
  titleId: string;
  /** Local day of the play at the site. */
  day: number;
  estBytes: number;
  topBps: number;
  startedAt: number;
  /** When the session can no longer report (its token's expiry plus the last batch's grace, ms): its estimate is settled then. */
  endsAt?: number;
  /** Why the play was not steered to its home site first, if it was not. */
  miss?: { ocaId: string; kind: MissKind };
}

/**
 * What players said on their media requests (CMCD) about one session whose home is the site, since the
 * last report, whichever OCA served them. Bytes are the data plane's own count of what it served with
 * CMCD attached; the rest is the player's claim, bounded by the edge (`workers/edge/cmcd.ts`).
 */
export interface CmcdReport {
  /** From the signed URL token, never from the player's `sid`. */
  sessionId: string;
  titleId: string;
  /** The player's own CMCD session id, when it sent one. */
  sid: string | null;
  requests: number;
  bytes: number;
  /** Requests flagged `bs` (the buffer ran dry since the previous one): stalls. */
  stalls: number;
  /** Requests flagged `su` (start-up or rebuffering). */
  startups: number;
  /** The last encoded bitrate (`br`, kbps), buffer length (`bl`, ms) and measured throughput (`mtp`, kbps) sent. */
  bitrateKbps: number | null;
  bufferMs: number | null;
  throughputKbps: number | null;
  /** The highest `br` sent. */
  topBitrateKbps: number | null;
  /** The OCA of the last request ("{siteId}/{ocaId}", or "origin"). */
  lastOca: string;
  firstAt: number;
  lastAt: number;
}

/**
 * What the data plane and the play request tell a site, batched: per OCA, bytes served, the sessions
 * served (with their bytes) and misses since the last report; the plays whose home is the site; and
 * what its sessions' players said in CMCD.
 */
export interface EdgeReport {
  /** The report's number on its isolate's link to the site (from 1): a report sent again keeps it, and the site counts a number once. */
  seq?: number;
  windowMs: number;
  plays?: PlayReport[];
  cmcd?: CmcdReport[];
  /** Bytes other sites' OCAs served to sessions whose home is this site (counted in their viewing history, not in this site's load). */
  servedAway?: Array<{ id: string; bytes: number }>;
  ocas: Record<
    string,
    {
      bytes: number;
      requests: number;
      /** Requests the OCA answered with a 5xx (or could not answer). */
      errors?: number;
      /** Sum of server-side response times, ms. */
      latencyMsSum?: number;
      /**
       * Members whose clients reported the OCA failing them (ids, each once): the site counts distinct
       * members over its window, so one account's sessions and syncs weigh as one.
       */
      clientReporters?: string[];
      /** The reporting clients' sessions (not counted as healthy traffic that outweighs their reports). */
      clientReporterSessions?: string[];
      /** Bytes served by where they came from. */
      bytesFrom?: Partial<Record<ServedFrom, number>>;
      /**
       * `home`: the session's home is this site (its bytes are kept for its play's record if they arrive
       * first). `streams`: its member's streams object id, from its signed token (healthy traffic that
       * outweighs clients' reports is counted per member).
       */
      sessions: Array<{
        id: string;
        bytes: number;
        home?: boolean;
        streams?: string;
        /** When the OCA last served the session (ms): an entry the isolate held arrives up to SESSION_ENTRY_EVERY_MS later. */
        lastAt?: number;
      }>;
      /**
       * Members (streams object ids) whose probes of the OCA it answered (`probe=1`): no session entry,
       * but healthy traffic the site weighs against clients' reports (kept in its memory for the window).
       */
      probers?: string[];
      misses?: Array<{ titleId: string; kind: MissKind; count: number; bytes: number }>;
    }
  >;
}

/** Where bytes an OCA served came from: its own copy (its site's tier), a parent site's, or origin. */
export type ServedFrom = "embedded" | "ixp" | "origin";

/** At or above this load an OCA moves behind the others of its tier for new sessions (steering). */
export const OVERLOADED = 0.85;

/**
 * The load at which the OCA a running session plays from counts as overloaded for that session: its
 * full throughput, not OVERLOADED. New sessions go elsewhere from OVERLOADED on; were running ones to
 * leave there too, every session leading with an OCA would leave at once when it crossed it and come
 * back at once when its load fell, the crowd swinging between two OCAs on every poll.
 */
export const PLAYING_OVERLOADED = 1;

/**
 * Which of steering's marks a load has reached: 0 under OVERLOADED, 1 overloaded for new sessions, 2
 * overloaded for the sessions playing from the OCA too (PLAYING_OVERLOADED). A site republishes its
 * load to D1 at once when an OCA's class changes: D1's figure is steering's fallback when the site
 * cannot be reached, and a figure in another class than the OCA's would steer by a verdict it no
 * longer has.
 */
export function loadClass(load: number): 0 | 1 | 2 {
  return load >= PLAYING_OVERLOADED ? 2 : load >= OVERLOADED ? 1 : 0;
}

/** An OCA's live state for steering. */
export interface OcaLive {
  ocaId: string;
  health: OcaHealth;
  /** Who set the health: the site's automatic judgement, or an operator (which wins until a restore). */
  healthBy?: "auto" | "operator";
  /** Why, and since when (the last transition). */
  healthReason?: string;
  healthSince?: number;
  /** The OCA's fault switch, when one is set. */
  fault?: OcaFault | null;
  /** Egress over the throughput limit (1 = at the limit). */
  load: number;
  egressBps: number;
  sessions: number;
}

/**
 * What a caller passes to a site's `edgeSync` or `opsSummary` when it handles a site cut off by the chaos
 * switch: the site then answers with `cutOff` set (why, its figures empty) rather than throwing, since
 * workerd logs every exception out of a Durable Object's RPC method as "Uncaught (in promise)", stack and
 * all, however the caller handles it. A caller that does not pass it (code before) is still thrown the refusal.
 */
export const ANSWER_CUT_OFF = "answer-cut-off";
export type AnswerCutOff = typeof ANSWER_CUT_OFF;
/** On an answer to a caller that passed ANSWER_CUT_OFF: set when the site is cut off. */
export interface CutOffMark {
  cutOff?: string;
}

/** A site's live view, as steering and the data plane read it. */
export interface SiteLiveView {
  siteId: string;
  at: number;
  ocas: OcaLive[];
  /** How often the site asks each isolate to sync (ms; an edge sync's answer only): see workers/shared/sync-pace.ts. */
  syncEveryMs?: number;
}
