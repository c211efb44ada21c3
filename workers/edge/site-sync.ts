import type { EdgeReport, OcaHealth, SiteLiveView } from "../shared/site-view";
import { withTimeout } from "../shared/with-timeout";

/**
 * The data plane's link to each site's Durable Object: bytes and sessions served are batched per
 * site in this isolate and sent at most once per SYNC_MS, in the background; the reply (the site's
 * live view) tells the data plane which OCAs are failed. Never one Durable Object call per segment,
 * and never one a viewer waits for.
 */
const SYNC_MS = 1_000;
const SYNC_TIMEOUT_MS = 500;

interface OcaBatch {
  bytes: number;
  requests: number;
  /** Bytes per session; a Map, as session ids come from URLs. */
  sessions: Map<string, number>;
  /** Content misses per title. */
  misses: Map<string, { count: number; bytes: number }>;
}

interface SiteLink {
  view: SiteLiveView | null;
  syncedAt: number;
  windowStart: number;
  batch: Map<string, OcaBatch>;
  inflight: Promise<void> | null;
  /** A flush of the pending batch is scheduled (within SYNC_MS). */
  flushing: boolean;
}

/** Sessions counted per OCA per report; more are served but not itemised (the site caps the same way). */
const MAX_SESSIONS = 1000;

const links = new Map<string, SiteLink>();

function link(siteId: string): SiteLink {
  let l = links.get(siteId);
  if (!l) {
    l = { view: null, syncedAt: 0, windowStart: Date.now(), batch: new Map(), inflight: null, flushing: false };
    links.set(siteId, l);
  }
  return l;
}

async function sync(env: Env, siteId: string, l: SiteLink): Promise<void> {
  const now = Date.now();
  const ocas: EdgeReport["ocas"] = Object.fromEntries(
    [...l.batch].map(([ocaId, b]) => [
      ocaId,
      {
        bytes: b.bytes,
        requests: b.requests,
        sessions: [...b.sessions].map(([id, bytes]) => ({ id, bytes })),
        misses: [...b.misses].map(([titleId, m]) => ({ titleId, kind: "content" as const, count: m.count, bytes: m.bytes })),
      },
    ]),
  );
  const report: EdgeReport = { windowMs: now - l.windowStart, ocas };
  l.batch = new Map();
  l.windowStart = now;
  const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName(siteId));
  try {
    l.view = (await withTimeout(stub.edgeSync(Object.keys(ocas).length ? report : null), SYNC_TIMEOUT_MS, "site sync")) as SiteLiveView;
  } catch {
    // The site is unreachable: keep serving on the last-known health rather than failing viewers.
  }
  l.syncedAt = Date.now();
}

/**
 * An OCA's health as last known by this isolate. When that is older than SYNC_MS, a sync (carrying
 * the pending batch) starts in the background: a segment request never waits on the site.
 */
export function ocaHealth(env: Env, siteId: string, ocaId: string, waitUntil: (p: Promise<unknown>) => void): OcaHealth {
  const l = link(siteId);
  if (Date.now() - l.syncedAt >= SYNC_MS && !l.inflight) {
    l.inflight = sync(env, siteId, l).finally(() => (l.inflight = null));
    waitUntil(l.inflight);
  }
  return l.view?.ocas.find((o) => o.ocaId === ocaId)?.health ?? "healthy";
}

function batchOf(l: SiteLink, ocaId: string): OcaBatch {
  let o = l.batch.get(ocaId);
  if (!o) l.batch.set(ocaId, (o = { bytes: 0, requests: 0, sessions: new Map(), misses: new Map() }));
  return o;
}

/**
 * Makes sure a pending batch reaches the site within SYNC_MS even if no further request comes:
 * one delayed sync per site, kept alive with waitUntil.
 */
function scheduleFlush(env: Env, siteId: string, l: SiteLink, waitUntil: (p: Promise<unknown>) => void): void {
  if (l.flushing) return;
  l.flushing = true;
  const delay = Math.max(0, SYNC_MS - (Date.now() - l.syncedAt));
  waitUntil(
    new Promise((r) => setTimeout(r, delay))
      .then(async () => {
        if (l.inflight) await l.inflight;
        if (l.batch.size === 0) return;
        l.inflight = sync(env, siteId, l).finally(() => (l.inflight = null));
        await l.inflight;
      })
      .finally(() => (l.flushing = false)),
  );
}

/** Counts bytes an OCA served to a session; sent with the site's next sync. */
export function recordServed(env: Env, siteId: string, ocaId: string, sessionId: string, bytes: number, waitUntil: (p: Promise<unknown>) => void): void {
  const l = link(siteId);
  const o = batchOf(l, ocaId);
  o.bytes += bytes;
  o.requests += 1;
  const prev = o.sessions.get(sessionId);
  if (prev !== undefined || o.sessions.size < MAX_SESSIONS) o.sessions.set(sessionId, (prev ?? 0) + bytes);
  scheduleFlush(env, siteId, l, waitUntil);
}

/** Counts a content miss (the OCA lacked the file and served it from a parent or origin); sent with the next sync. */
export function recordMiss(env: Env, siteId: string, ocaId: string, titleId: string, bytes: number, waitUntil: (p: Promise<unknown>) => void): void {
  const l = link(siteId);
  const o = batchOf(l, ocaId);
  const m = o.misses.get(titleId);
  if (m) {
    m.count++;
    m.bytes += bytes;
  } else if (o.misses.size < MAX_SESSIONS) o.misses.set(titleId, { count: 1, bytes });
  scheduleFlush(env, siteId, l, waitUntil);
}
