/**
 * `npm run bench:scale`: the capacity model. Counts the storage operations of each request type on the
 * real code in workerd (test/capacity-counts.test.ts), multiplies them by a national evening peak and
 * by an Open Connect-sized one, compares each database's and each object's rate with the platform's
 * documented limits (flagging any over), and prices a million plays and a petabyte delivered at list
 * prices beside a commercial CDN. Prints a table and writes docs/capacity.md.
 */
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { EVENT_SHARDS } from "../shared/event-shards";
import { REPROBE_EVERY_MS, REPROBE_OCAS } from "../shared/probe-pace";
import { QOE_BATCH_EVERY_MS } from "../shared/qoe-batch";
import { TOUCH_EVERY_MS } from "../shared/stream-touch";
import { MAX_SYNC_EVERY_MS, SYNCS_PER_S_TARGET, syncEveryMs } from "../workers/shared/sync-pace";

type Counts = Record<string, number>;

/** Runs a counting test in workerd and returns the JSON it printed after `marker`. */
function counted<T>(file: string, marker: string): T {
  console.log(`counting in workerd (${file}) …`);
  const run = spawnSync("npx", ["vitest", "run", "--config", "vitest.config.ts", file], { encoding: "utf8", maxBuffer: 64 << 20 });
  const line = `${run.stdout}\n${run.stderr}`.split("\n").find((l) => l.includes(`${marker} `));
  if (run.status !== 0 || !line) {
    console.error(run.stdout.slice(-4000), run.stderr.slice(-4000));
    throw new Error(`${file} failed`);
  }
  return JSON.parse(line.slice(line.indexOf(`${marker} `) + marker.length + 1)) as T;
}

const counts = counted<Record<string, Counts>>("test/capacity-counts.test.ts", "CAPACITY_COUNTS");
/** Rows one sync reads from the site's SQLite, at a small site and one 100 times larger (test/site-sync-cost.test.ts). */
const syncRows = counted<Record<"small" | "large", { n: number; rowsPerSync: number }>>("test/site-sync-cost.test.ts", "SITE_SYNC_ROWS");
const n = (req: string, prefix: string) =>
  Object.entries(counts[req] ?? {})
    .filter(([k]) => k.startsWith(prefix) && !k.endsWith(".edgeSync"))
    .reduce((s, [, v]) => s + v, 0);

/** Documented platform limits (Cloudflare docs, as recorded here). */
/**
 * Isolates that tell a live stream's member object of its activity, each at most once per
 * TOUCH_EVERY_MS: the one answering its steering polls and QoE batches and the one serving its segments
 * (one isolate may do both; counted as two).
 */
const TOUCHING_ISOLATES = 2;

const LIMITS = {
  /** "Each individual Durable Object ... soft limit of 1,000 requests per second" (Durable Objects FAQ / limits). */
  doPerObject: 1000,
  /** A D1 database is single-threaded: about 1,000 queries/s at 1 ms per query (D1 limits FAQ). */
  d1PerDatabase: 1000,
};

/** List prices (USD), Workers Paid, as recorded on 2026-12-02; check the pricing pages before relying on them. */
const PRICE = {
  workersPerM: 0.3,
  doRequestsPerM: 0.15,
  d1RowsReadPerM: 0.001,
  d1RowsWrittenPerM: 1.0,
  r2ClassAPerM: 4.5,
  r2ClassBPerM: 0.36,
  /** Amazon CloudFront, US, over 5 PB a month: $0.020/GB; HTTPS requests $0.0100 per 10,000. */
  cdnPerGB: 0.02,
  cdnPer10kRequests: 0.01,
};

interface Scenario {
  name: string;
  viewers: number;
  playsPerS: number;
  segmentS: number;
  steeringTtlS: number;
  /** a QoE batch every this many seconds per viewer (progress reports) */
  qoeEveryS: number;
  /** share of viewers whose home is the busiest site */
  busiestSiteShare: number;
  /** Worker isolates serving the country at once (each keeps its own catalogue view and site links) */
  isolates: number;
  /** changes a minute, at peak, to titles in the isolates' working sets (publishes, takedowns, copies listed or dropped) */
  hotTitleChangesPerMin: number;
  catalogueTtlS: number;
  /**
   * share of isolates nearest the busiest D1 read replica: with read replication on, the views' reads
   * (workers/shared/replica-reads.ts) go to the replica nearest each isolate, one per D1 region
   */
  replicaShare: number;
  coloHitRatio: number;
  mbps: number;
}

const SCENARIOS: Scenario[] = [
  {
    name: "national evening peak",
    viewers: 5_000_000,
    playsPerS: 2_000,
    segmentS: 4,
    steeringTtlS: 5,
    qoeEveryS: QOE_BATCH_EVERY_MS / 1000,
    busiestSiteShare: 0.1,
    isolates: 500,
    hotTitleChangesPerMin: 2,
    catalogueTtlS: 5,
    // One country (the US): the eastern and western North America replicas, the east the larger share.
    replicaShare: 0.6,
    coloHitRatio: 0.95,
    mbps: 4,
  },
  {
    name: "Open Connect-sized (global peak)",
    viewers: 40_000_000,
    playsPerS: 15_000,
    segmentS: 4,
    steeringTtlS: 5,
    qoeEveryS: QOE_BATCH_EVERY_MS / 1000,
    busiestSiteShare: 0.01,
    isolates: 5_000,
    hotTitleChangesPerMin: 2,
    catalogueTtlS: 5,
    // Six D1 regions; eastern North America, nearest for Latin America too, the busiest.
    replicaShare: 0.35,
    coloHitRatio: 0.95,
    mbps: 4,
  },
];

interface Row {
  what: string;
  perS: number;
  limit: number | null;
  over: boolean;
}

/**
 * Background reads of the catalogue view, all isolates: per isolate, one statement per TTL ("which
 * titles changed?"; the live topology's version rides it, test/replica-reads.test.ts), the plans every 12
 * TTLs, and a reload per change of a title it caches (what its next play and poll read again, counted:
 * \`titleChange\`). Fills run off-peak, so at peak few cached titles change.
 */
function catalogueRefreshPerS(s: Scenario): number {
  return s.isolates / s.catalogueTtlS + s.isolates / (12 * s.catalogueTtlS) + (s.isolates * s.hotTitleChangesPerMin * n("titleChange", "d1.")) / 60;
}

function model(s: Scenario): Row[] {
  const polls = s.viewers / s.steeringTtlS;
  // video and audio: two segment requests per segment duration per viewer
  const segments = (2 * s.viewers) / s.segmentS;
  const qoe = s.viewers / s.qoeEveryS;
  // The SDK's re-probes: a range of a segment from each of REPROBE_OCAS OCAs every REPROBE_EVERY_MS, served as segments are.
  const probes = (s.viewers * REPROBE_OCAS * 1000) / REPROBE_EVERY_MS;
  const perReq = (prefix: string) =>
    s.playsPerS * n("play", prefix) +
    polls * n("steeringPoll", prefix) +
    (segments + probes) * (s.coloHitRatio * n("segmentColoHit", prefix) + (1 - s.coloHitRatio) * n("segmentColoMiss", prefix)) +
    qoe * n("qoeBatch", prefix);
  const catalogueRefresh = catalogueRefreshPerS(s);
  const busiest = s.busiestSiteShare;
  // The site's object: one sync per isolate per the interval the site asks (a second up to
  // SYNCS_PER_S_TARGET isolates, longer beyond; plays and served bytes ride it) and one forward per
  // event shard per second, plus any per-request calls the counts show.
  const everyS = syncEveryMs(s.isolates) / 1000;
  const siteObject = busiest * (s.playsPerS * n("play", "do.OcaSite") + qoe * n("qoeBatch", "do.OcaSite")) + s.isolates / everyS + EVENT_SHARDS;
  const eventShard = (busiest * qoe * n("qoeBatch", "do.SessionLog")) / EVENT_SHARDS;
  const rows: Row[] = [
    { what: "Worker requests (all planes; the SDK's re-probes included)", perS: s.playsPerS + polls + segments + probes + qoe, limit: null, over: false },
    { what: "D1 queries on the request path", perS: perReq("d1."), limit: LIMITS.d1PerDatabase, over: false },
    {
      what: "D1 queries, catalogue and topology view refresh (background), read replication off: all on the primary",
      perS: catalogueRefresh,
      limit: LIMITS.d1PerDatabase,
      over: false,
    },
    {
      what: `D1 queries, the same on the busiest read replica (replication on; ${Math.round(s.replicaShare * 100)} % of isolates nearest it)`,
      perS: catalogueRefresh * s.replicaShare,
      limit: LIMITS.d1PerDatabase,
      over: false,
    },
    {
      what: `busiest site's Durable Object (site links, a sync per isolate every ${everyS} s; event-shard forwards)`,
      perS: siteObject,
      limit: LIMITS.doPerObject,
      over: false,
    },
    { what: `an event shard of the busiest site (1 of ${EVENT_SHARDS})`, perS: eventShard, limit: LIMITS.doPerObject, over: false },
    // A play a minute, and a live stream's touches (at most one per TOUCH_EVERY_MS from each isolate it reaches).
    { what: "a member's Durable Object", perS: 1 / 60 + (TOUCHING_ISOLATES * 1000) / TOUCH_EVERY_MS, limit: LIMITS.doPerObject, over: false },
    { what: "R2 reads, tier buckets (colo misses)", perS: perReq("r2.tier"), limit: null, over: false },
    // The data plane's look at origin's list of titles taken down: one read per isolate per TTL, in the background.
    { what: "R2 reads, origin's withdrawn list (background)", perS: s.isolates / s.catalogueTtlS, limit: null, over: false },
    { what: "colo cache operations", perS: perReq("cache."), limit: null, over: false },
  ];
  for (const r of rows) r.over = r.limit !== null && r.perS > r.limit;
  return rows;
}

function costs(s: Scenario) {
  const perPlayRequests = n("play", "do.");
  const millionPlays = PRICE.workersPerM + perPlayRequests * PRICE.doRequestsPerM;
  const segBytes = (s.mbps * 1e6 * s.segmentS) / 8 / 2; // video and audio requests share the bitrate
  const segmentsPerPB = 1e15 / segBytes;
  const seconds = segmentsPerPB / ((2 * s.viewers) / s.segmentS);
  const polls = (s.viewers / s.steeringTtlS) * seconds;
  const qoe = (s.viewers / s.qoeEveryS) * seconds;
  const probes = ((s.viewers * REPROBE_OCAS * 1000) / REPROBE_EVERY_MS) * seconds;
  const workers = ((segmentsPerPB + probes + polls + qoe) / 1e6) * PRICE.workersPerM;
  const r2 = (((segmentsPerPB + probes) * (1 - s.coloHitRatio)) / 1e6) * PRICE.r2ClassBPerM;
  const touches = ((s.viewers * TOUCHING_ISOLATES * 1000) / TOUCH_EVERY_MS) * seconds;
  const dos = ((qoe * n("qoeBatch", "do.") + touches) / 1e6) * PRICE.doRequestsPerM;
  const perPB = workers + r2 + dos;
  const cdnPerPB = 1e6 * PRICE.cdnPerGB + (segmentsPerPB / 1e4) * PRICE.cdnPer10kRequests;
  return { millionPlays, perPB, cdnPerPB, segmentsPerPB };
}

const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(x >= 1 ? 1 : 3));
let md = `# Capacity model

Generated by \`npm run bench:scale\` on ${new Date().toISOString().slice(0, 10)}. Operation counts come from
\`test/capacity-counts.test.ts\`, which runs the real Worker in workerd with counting bindings; the
rates multiply them by each scenario. Site-link syncs (\`edgeSync\`, at most one per isolate per site
per the interval the site asks) are modelled per isolate, not per request.

## Storage operations per request (steady state, counted)

| request | operations |
| ------- | ---------- |
${Object.entries(counts)
  .map(
    ([k, v]) =>
      `| ${k} | ${
        Object.entries(v)
          .map(([op, c]) => `${op} ×${c}`)
          .join(", ") || "none"
      } |`,
  )
  .join("\n")}

\`titleChange\` is not a request: it is what one change of a cached title makes an isolate read again
(its next play of the title and its sessions' next steering poll).

Limits used: a Durable Object handles about ${LIMITS.doPerObject.toLocaleString("en-US")} requests/s (the
documented soft limit per object); a D1 database about ${LIMITS.d1PerDatabase.toLocaleString("en-US")}
queries/s (single-threaded, 1 ms queries). R2 and the Cache API publish no per-bucket request rate.
`;
for (const s of SCENARIOS) {
  const rows = model(s);
  const c = costs(s);
  console.log(`\n${s.name}: ${s.viewers.toLocaleString("en-US")} viewers, ${s.playsPerS.toLocaleString("en-US")} plays/s`);
  console.table(rows.map((r) => ({ what: r.what, "per second": fmt(r.perS), limit: r.limit ?? "—", over: r.over ? "OVER" : "" })));
  console.log(`cost: $${c.millionPlays.toFixed(2)} per million plays; $${fmt(c.perPB)} per PB delivered vs $${fmt(c.cdnPerPB)} on a commercial CDN`);
  md += `
## ${s.name}

${s.viewers.toLocaleString("en-US")} concurrent viewers, ${s.playsPerS.toLocaleString("en-US")} play starts/s, ${s.segmentS} s segments
(video and audio), steering TTL ${s.steeringTtlS} s, a QoE batch every ${s.qoeEveryS} s, re-probes of ${REPROBE_OCAS} OCAs every ${REPROBE_EVERY_MS / 1000} s (counted as segments), ${Math.round(s.busiestSiteShare * 100)} % of
viewers at the busiest site, ${s.isolates.toLocaleString("en-US")} isolates, catalogue TTL ${s.catalogueTtlS} s (${s.hotTitleChangesPerMin} changes a minute to titles isolates cache), colo hit ratio
${Math.round(s.coloHitRatio * 100)} %, ${s.mbps} Mbps a stream.

| what | per second | limit | |
| ---- | ---------: | ----: | - |
${rows.map((r) => `| ${r.what} | ${fmt(r.perS)} | ${r.limit === null ? "—" : r.limit.toLocaleString("en-US")} | ${r.over ? "**over**" : ""} |`).join("\n")}

Cost at list prices: **$${c.millionPlays.toFixed(2)} per million plays** (Worker request and Durable Object calls);
**$${fmt(c.perPB)} per petabyte delivered** (${fmt(c.segmentsPerPB / 1e6)} M segment requests with the steering polls
and QoE batches of the same viewing, each live stream's touches of its member's object, once a minute from each of two isolates, R2 reads of colo misses; R2 egress is free) against **$${fmt(c.cdnPerPB)}** on
Amazon CloudFront's lowest US tier ($${PRICE.cdnPerGB}/GB, $${PRICE.cdnPer10kRequests} per 10,000 requests).
`;
}
const globalReplica = catalogueRefreshPerS(SCENARIOS[1]) * SCENARIOS[1].replicaShare;
const globalEveryS = syncEveryMs(SCENARIOS[1].isolates) / 1000;
const capIsolates = (SYNCS_PER_S_TARGET * MAX_SYNC_EVERY_MS) / 1000;
md += `
## What is over, and what would fix it

- **QoE batches** go to one of ${EVENT_SHARDS} event shards of the session's home site (by session id);
  each shard forwards the reported bytes to the site's object once a second, and plays ride the site
  link's sync, so the site's object sees about one call per isolate and per shard a second. A bigger
  busiest site needs more shards (\`EVENT_SHARDS\`).
- **The catalogue view's background refresh** asks D1 one indexed question per isolate per TTL
  (which titles changed since the last look: stamps kept by triggers; the same statement brings the
  live topology's version) and reloads only a title that changed, so it grows with isolates, not with titles. These reads go through D1 sessions
  (\`workers/shared/replica-reads.ts\`): with read replication on (a setting of the database: see the
  README's Deploy) each isolate's replica answers them, and the primary takes only writes and the
  few reads that must see the latest write. At a national peak that is a few hundred queries a second
  even on the primary alone. With thousands of isolates worldwide the primary alone would be over its rate;
  with replication the busiest replica takes its region's share, ${fmt(globalReplica)} a second in the global scenario${globalReplica > LIMITS.d1PerDatabase ? " (still over: a longer `CATALOGUE_TTL_S` at that scale divides it)" : ""}.
- **The busiest site's object** takes one site-link sync per isolate per interval. It counts the
  isolates syncing with it and asks each for a longer interval past ${SYNCS_PER_S_TARGET} of them (\`workers/shared/sync-pace.ts\`:
  a second up to ${SYNCS_PER_S_TARGET}, ${globalEveryS} s for ${fmt(SCENARIOS[1].isolates)}, at most ${MAX_SYNC_EVERY_MS / 1000} s), so it takes about ${SYNCS_PER_S_TARGET} syncs a second however many
  isolates there are. The price is freshness: at the global scenario its health and load reach each isolate
  within ${globalEveryS} s rather than one. Past ${fmt(capIsolates)} isolates a site (the ${MAX_SYNC_EVERY_MS / 1000} s cap) it takes more than the target, and past
  about ${fmt((LIMITS.doPerObject * MAX_SYNC_EVERY_MS) / 1000)} more than its limit; a per-colo aggregator in front of the site is the next step there.
  What one sync costs the object does not grow with the site: it reads ${syncRows.small.rowsPerSync} rows of its SQLite at a site
  whose tables hold ${fmt(syncRows.small.n)} rows each (active sessions and files per OCA, views, CMCD, sessions), and
  ${syncRows.large.rowsPerSync} at one whose tables hold ${fmt(syncRows.large.n)} (counted by \`test/site-sync-cost.test.ts\`: traffic signals summed per quarter second,
  each OCA's used bytes kept by triggers, active sessions counted once a second), so ${SYNCS_PER_S_TARGET} syncs a second
  read about ${fmt(SYNCS_PER_S_TARGET * syncRows.large.rowsPerSync)} rows a second.
- Play, steering polls and QoE batches make **no D1 query** on the request path, and colo-cache
  hits make **no R2 call** (asserted by the counting test).
`;
const out = path.join(import.meta.dirname, "..", "docs", "capacity.md");
await writeFile(out, md);
console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
