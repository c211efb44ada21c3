/** What sites and the data plane exchange: shared so the data plane never imports a Durable Object. */

/** An OCA's health as its site sees it. Only healthy OCAs are steered to; failed ones refuse requests. */
export type OcaHealth = "healthy" | "drained" | "failed";

/** What the data plane tells a site, batched: per OCA, bytes served and the sessions served (with their bytes) since the last report. */
export interface EdgeReport {
  windowMs: number;
  ocas: Record<string, { bytes: number; requests: number; sessions: Array<{ id: string; bytes: number }> }>;
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
