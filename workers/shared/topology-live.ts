import { applyTopology, bundledTopology, topologyVersion, type Topology } from "./topology";
import { SingleFlight } from "./single-flight";
import { withTimeout } from "./with-timeout";
import { viewTtlMs } from "./view-ttl";
import { readReplica } from "./replica-reads";

/**
 * The live topology's store and refresh. The topology is one versioned JSON document in D1
 * (`topology_doc`, migration 0006), written by the admin API; absent, the bundled demo topology
 * stands. Each isolate (Worker or site object) asks D1 once per CATALOGUE_TTL_S whether the version
 * moved (in the catalogue's change look where that runs: `topologyVersionSeen`; else with its own
 * statement), and fetches the document only when it did, in the background while
 * requests go on; its first look is awaited, so a cold isolate never steers to a retired OCA. A change
 * shows in both planes within 2 × CATALOGUE_TTL_S (plus a read replica's lag: looks go through
 * `readReplica`; the admin API's read-modify-write reads the primary).
 */

/** A look never holds a request (or a site object's start) longer than this; the current topology stands. */
const LOOK_TIMEOUT_MS = 2_000;

/** `fedAt`: when the catalogue's change look last brought the version (see topologyVersionSeen). */
const look: { at: number; done: boolean; fedAt: number; background: SingleFlight } = {
  at: 0,
  done: false,
  fedAt: 0,
  background: new SingleFlight(LOOK_TIMEOUT_MS + 1_000),
};

async function lookOnce(db: D1Database): Promise<void> {
  const row = await withTimeout(
    readReplica(db, (r) =>
      r
        .prepare(`SELECT version, CASE WHEN version != ? THEN doc END AS doc FROM topology_doc WHERE id = 1`)
        .bind(topologyVersion())
        .first<{ version: number; doc: string | null }>(),
    ),
    LOOK_TIMEOUT_MS,
    "topology look",
  );
  // Only ever forward: looks can overlap, and one that read before a change was stored must not
  // undo it (versions only grow; no stored document means the bundled one, version 0).
  if (row && row.doc !== null && row.version > topologyVersion()) applyTopology(JSON.parse(row.doc) as Topology, row.version);
  look.done = true;
}

/** One look, counted as the latest (a D1 failure keeps the current topology). */
function refresh(db: D1Database): Promise<void> {
  return lookOnce(db)
    .catch((err) => console.error("topology look failed", err))
    .finally(() => {
      look.at = Date.now();
    });
}

/** Brings this isolate's topology up to date (see the module comment). A D1 failure keeps the current one. */
export async function liveTopology(env: { DB: D1Database; CATALOGUE_TTL_S?: string }, waitUntil?: (p: Promise<unknown>) => void): Promise<void> {
  const ttl = viewTtlMs(env);
  const now = Date.now();
  const age = now - look.at;
  // While the catalogue's looks bring the version, this isolate's own look waits half a TTL longer, so
  // theirs come first and it runs only when they stop (an isolate serving segments alone).
  const ownLookAfter = now - look.fedAt < 2 * ttl ? 1.5 * ttl : ttl;
  if (look.done && age < ownLookAfter) return;
  // A cold isolate whose look failed a moment ago (a look ran, none succeeded: D1 down or hanging) does
  // not hold every request for the next: until the TTL has passed, the current topology stands, as it
  // does when a look times out.
  if (!look.done && look.at > 0 && age < ttl) return;
  if (look.done && age < 2 * ttl) {
    look.background.startBehind(() => refresh(env.DB), waitUntil);
    return;
  }
  // A look this call must wait for is its own (see SingleFlight): another request's, or another site
  // object's (objects share an isolate), may never settle in this one's I/O context.
  await refresh(env.DB);
}

/**
 * The topology's version as the catalogue's change look read it in its own statement (one question per
 * isolate per TTL for both views, not two): a version this isolate has (or an older one) counts as a
 * look; a newer one is fetched now. A failed fetch keeps the current topology, as any look does.
 */
export async function topologyVersionSeen(db: D1Database, version: number): Promise<void> {
  look.fedAt = Date.now();
  if (version > topologyVersion()) {
    await refresh(db);
    return;
  }
  look.at = Date.now();
  look.done = true;
}

/** Forgets every look, as a new isolate starts (tests). */
export function forgetTopologyLooks(): void {
  look.at = 0;
  look.done = false;
  look.fedAt = 0;
}

/** The stored document and its version (the bundled topology as version 0 when none is stored). */
export async function storedTopology(db: D1Database): Promise<{ version: number; doc: Topology }> {
  const row = await db.prepare(`SELECT version, doc FROM topology_doc WHERE id = 1`).first<{ version: number; doc: string }>();
  return row ? { version: row.version, doc: JSON.parse(row.doc) as Topology } : { version: 0, doc: bundledTopology() };
}

/**
 * Stores a new version if the stored one is still `expected` (optimistic concurrency: two operators'
 * changes never overwrite each other); false when another change came first. Applies it in this isolate
 * unless a later version is already applied there.
 */
export async function storeTopology(db: D1Database, doc: Topology, expected: number): Promise<boolean> {
  const next = expected + 1;
  const json = JSON.stringify(doc);
  const r =
    expected === 0
      ? await db.prepare(`INSERT OR IGNORE INTO topology_doc (id, version, doc, updated_at) VALUES (1, ?, ?, ?)`).bind(next, json, Date.now()).run()
      : await db
          .prepare(`UPDATE topology_doc SET version = ?, doc = ?, updated_at = ? WHERE id = 1 AND version = ?`)
          .bind(next, json, Date.now(), expected)
          .run();
  if ((r.meta.changes ?? 0) === 0) return false;
  // Only ever forward, as a look: a later version may have reached this isolate while D1 answered
  // (a look, or another request's change), and this one would put back what that one took out.
  if (next > topologyVersion()) applyTopology(doc, next);
  return true;
}
