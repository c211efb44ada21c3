/** What sites and the data plane exchange: shared so the data plane never imports a Durable Object. */

/** An OCA's health as its site sees it. Only healthy OCAs are steered to; failed ones refuse requests. */
export type OcaHealth = "healthy" | "drained" | "failed";

/**
 * Why a request did not find its title where Open Connect would want it:
 * - `content`: the OCA did not hold the file it was asked for (or the client's home site held no copy);
 * - `health`: the home site held a copy but steering sent the client elsewhere (health or load).
 */
/** Sessions and misses one OCA's report itemises: the data plane stops adding there, the site reads no more. */
export const MAX_REPORT_ITEMS = 1000;

export type MissKind = "content" | "health";

/** Bytes a session reported (a QoE batch), passed from its event shard to its home site. */
export interface ByteReport {
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
  /** Why the play was not steered to its home site first, if it was not. */
  miss?: { ocaId: string; kind: MissKind };
}

/**
 * What the data plane and the play request tell a site, batched: per OCA, bytes served, the sessions
 * served (with their bytes) and misses since the last report; and the plays whose home is the site.
 */
export interface EdgeReport {
  windowMs: number;
  plays?: PlayReport[];
  ocas: Record<
    string,
    {
      bytes: number;
      requests: number;
      sessions: Array<{ id: string; bytes: number }>;
      misses?: Array<{ titleId: string; kind: MissKind; count: number; bytes: number }>;
    }
  >;
}

/** An OCA's live state for steering. */
export interface OcaLive {
  ocaId: string;
  health: OcaHealth;
  /** Egress over the throughput limit (1 = at the limit). */
  load: number;
  egressBps: number;
  sessions: number;
}

/** A site's live view, as steering and the data plane read it. */
export interface SiteLiveView {
  siteId: string;
  at: number;
  ocas: OcaLive[];
}
