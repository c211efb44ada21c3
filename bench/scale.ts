/**
 * `npm run bench:scale`: the capacity model. Counts the storage operations of each request type on the
 * real code in workerd (test/capacity-counts.test.ts), and the SQLite rows each makes every object and
 * D1 read and write, multiplies them by a national evening peak and by an Open Connect-sized one,
 * compares each database's and each object's rate with the platform's documented limits (flagging any
 * over), and prices a million plays, a petabyte delivered and a night's fill at list prices beside a
 * commercial CDN. Prints a table and writes docs/capacity.md.
 */
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { EVENT_SHARDS } from "../shared/event-shards";
import { PUBLISH_LOAD_MS, PUBLISH_LOAD_QUIET_MS } from "../shared/load-publication";
import { REPROBE_EVERY_MS, REPROBE_OCAS } from "../shared/probe-pace";
import { SEEN_BUCKET_MS, SESSION_ENTRY_EVERY_MS } from "../shared/session-activity";
import { QOE_BATCH_EVERY_MS } from "../shared/qoe-batch";
import { TOUCH_EVERY_MS } from "../shared/stream-touch";
import { bundledTopology } from "../workers/shared/topology";
import { MAX_SYNC_EVERY_MS, SYNCS_PER_S_TARGET, syncEveryMs } from "../workers/shared/sync-pace";
import { CRON_REGION_CONCURRENCY, SITE_CYCLE_TIMEOUT_MS } from "../workers/control/cron-pool";
import { busyIsolates, type Rows, siteTimerRowsPerS, viewLooksPerS } from "./capacity-model";

type Counts = Record<string, number>;

/** Runs a counting test in workerd; `take(marker)` returns the JSON it printed after `marker`. */
function counted(file: string, config = "vitest.config.ts"): <T>(marker: string) => T {
  console.log(`counting in workerd (${file}) …`);
  const run = spawnSync("npx", ["vitest", "run", "--config", config, file], { encoding: "utf8", maxBuffer: 64 << 20 });
  const lines = `${run.stdout}\n${run.stderr}`.split("\n");
  return <T>(marker: string) => {
    const line = lines.find((l) => l.includes(`${marker} `));
    if (run.status !== 0 || !line) {
      console.error(run.stdout.slice(-4000), run.stderr.slice(-4000));
      throw new Error(`${file} failed (or printed no ${marker})`);
    }
    return JSON.parse(line.slice(line.indexOf(`${marker} `) + marker.length + 1)) as T;
  };
}

/**
 * The rows each request type makes each object read and write, counted on the real code
 * (test/capacity-counts.test.ts, CAPACITY_ROWS): per play, touch, QoE batch, report in a site's sync,
 * forward, the site's once-a-second work, a file filled, and D1's background looks.
 */
interface RowCounts {
  play: { member: Rows; site: Rows };
  playAfresh: { member: Rows };
  playNewMember: { member: Rows };
  playFirstReport: { site: Rows };
  playExpiry: { member: Rows; site: Rows };
  stop: { member: Rows };
  streamTouch: { member: Rows };
  steeringPoll: { all: Rows };
  syncFixed: { site: Rows };
  syncPerSession: { site: Rows };
  syncPerProbe: { site: Rows };
  qoeBatch: { shard: Rows };
  qoeBatchFirst: { shard: Rows };
  qoeSessionFirstBatch: { shard: Rows };
  qoeBatchReadPerEarlierBatch: number;
  qoeBatchExpiry: { shard: Rows };
  forwardFixed: { shard: Rows; site: Rows };
  forwardPerReport: { shard: Rows; site: Rows };
  /** A site's second: its OCAs' probe (the site's rows), and its load publication's D1 statements and rows. */
  siteSecond: { ocas: number; site: Rows; r2: Counts; d1: Rows; d1Statements: number };
  /** A load publication's own rows at the site (its time noted), beyond the probe's. */
  sitePublication: { site: Rows };
  /** A site object's own look at the live topology (once per TTL): D1 statements and rows. */
  siteLook: { d1Statements: number; d1: Rows };
  fillPerFile: { files: number; site: Rows; r2: Counts; d1: Rows };
  d1Background: { lookRowsReadPerStatement: number; reloadRowsRead: number };
}

const capacityTest = counted("test/capacity-counts.test.ts");
const counts = capacityTest<Record<string, Counts>>("CAPACITY_COUNTS");
const rowCounts = capacityTest<RowCounts>("CAPACITY_ROWS");
/** Rows one sync reads from the site's SQLite, at a small site and one 100 times larger (test/site-sync-cost.test.ts). */
const syncRows = counted("test/site-sync-cost.test.ts")<Record<"small" | "large", { n: number; rowsPerSync: number }>>("SITE_SYNC_ROWS");
/**
 * Milliseconds of a site object's one thread: a sync's own work, each session's entry in it, a forward's
 * own work and each report it carries (bench/workerd/site-time.test.ts, timed on this machine's local
 * runtime: deployed hardware may differ by a small factor either way).
 */
const siteTime = counted(
  "bench/workerd/site-time.test.ts",
  "vitest.bench.config.ts",
)<{
  syncMs: number;
  syncPerSessionMs: number;
  forwardMs: number;
  forwardPerReportMs: number;
}>("SITE_TIME");
/**
 * A site's turn in the hourly fill cron (runScheduledFill), counted and timed on the real cron in workerd
 * (bench/workerd/cron-cost.test.ts): the subrequests of a site that plans and of one that skips (already
 * planned: one call; outside its window: none), the invocation's own, each turn's local ms and the
 * round trips it waits for one after another.
 */
const cronCost = counted(
  "bench/workerd/cron-cost.test.ts",
  "vitest.bench.config.ts",
)<{
  planned: number;
  invocationSubrequests: number;
  planSubrequestsPerSite: number;
  skipSubrequestsPerSite: number;
  planCounts: Counts;
  planMsPerSite: number;
  skipMsPerSite: number;
  planRoundTripsPerSite: number;
  skipRoundTripsPerSite: number;
}>("CRON_COST");
const n = (req: string, prefix: string) =>
  Object.entries(counts[req] ?? {})
    .filter(([k]) => k.startsWith(prefix) && !k.endsWith(".edgeSync"))
    .reduce((s, [, v]) => s + v, 0);

/**
 * Isolates that tell a live stream's member object of its activity, each at most once per
 * TOUCH_EVERY_MS: the one answering its steering polls and QoE batches and the one serving its segments
 * (one isolate may do both; counted as two).
 */
const TOUCHING_ISOLATES = 2;

/** The pages each price and limit below comes from. */
const SOURCES = {
  workersPricing: "https://developers.cloudflare.com/workers/platform/pricing/",
  doPricing: "https://developers.cloudflare.com/durable-objects/platform/pricing/",
  doLimits: "https://developers.cloudflare.com/durable-objects/platform/limits/",
  doFaq: "https://developers.cloudflare.com/durable-objects/reference/faq/",
  d1Pricing: "https://developers.cloudflare.com/d1/platform/pricing/",
  d1Limits: "https://developers.cloudflare.com/d1/platform/limits/",
  r2Pricing: "https://developers.cloudflare.com/r2/pricing/",
  workersLimits: "https://developers.cloudflare.com/workers/platform/limits/",
  cpuChangelog: "https://developers.cloudflare.com/changelog/2025-03-25-higher-cpu-limits/",
  cloudfrontPricing: "https://aws.amazon.com/cloudfront/pricing/",
};

/** Documented platform limits (Cloudflare docs, as recorded here). */
const LIMITS = {
  /** "An individual Object has a soft limit of 1,000 requests per second" (Durable Objects FAQ and limits). */
  doPerObject: 1000,
  /** A D1 database is single-threaded: about 1,000 queries/s at 1 ms per query (D1 limits FAQ). */
  d1PerDatabase: 1000,
  /** Wall time of one Cron Trigger invocation: 15 minutes (Workers limits, "Wall time limits by invocation type"). */
  cronWallMs: 15 * 60_000,
  /** Subrequests per invocation, Workers Paid: 10,000 by default (up to 10 million with `limits.subrequests`); site object calls, D1 queries and R2 operations count. */
  subrequestsPerInvocation: 10_000,
  /** CPU time per invocation: 30 s by default, up to 5 minutes with `limits.cpu_ms` (wrangler.toml sets none). */
  cpuMs: 30_000,
};

/**
 * A call's round trip from the cron's machine to a site's object, deployed: assumed. Cron Triggers run on
 * whichever machine has room, and a site's object lives near the site (another continent, at worst).
 */
const CRON_ROUND_TRIP_MS = 100;
/** Sites that hang in a cron run, each holding its region until its timeout (SITE_CYCLE_TIMEOUT_MS): assumed. */
const HANGING_SITE_SHARE = 0.01;

/**
 * List prices (USD), Workers Paid, as recorded on 2026-12-02 and looked up again for the storage rows and
 * R2 operations; check the pricing pages (SOURCES) before relying on them. Every unit is priced at the
 * rate past the plan's monthly included amount (10 M Worker requests, 1 M object requests, 25 billion
 * rows read and 50 M rows written each for Durable Objects' SQLite and for D1, 1 M class A and 10 M
 * class B R2 operations): at these volumes those amounts are a rounding.
 */
const PRICE = {
  workersPerM: 0.3,
  /** Workers Standard: CPU time, per million CPU milliseconds. */
  workersCpuPerMMs: 0.02,
  doRequestsPerM: 0.15,
  /** Durable Objects' duration, per million GB-s: 128 MB an object while it is active (or idle but unable to hibernate). */
  doDurationPerMGbS: 12.5,
  /** SQLite-backed Durable Objects: rows read and written (a delete and a `setAlarm()` each count as rows written). */
  doRowsReadPerM: 0.001,
  doRowsWrittenPerM: 1.0,
  d1RowsReadPerM: 0.001,
  d1RowsWrittenPerM: 1.0,
  /** Class A: PutObject and other writes; class B: GetObject, HeadObject; egress free. */
  r2ClassAPerM: 4.5,
  r2ClassBPerM: 0.36,
  /** R2 standard storage, per GB-month. */
  r2StoragePerGbMonth: 0.015,
  /** Amazon CloudFront, US, over 5 PB a month: $0.020/GB; HTTPS requests $0.0100 per 10,000. */
  cdnPerGB: 0.02,
  cdnPer10kRequests: 0.01,
};

/** Dollars for rows at a price pair (per million read, per million written). */
const rowsCost = (r: Rows, readPerM: number, writtenPerM: number) => (r.read * readPerM + r.written * writtenPerM) / 1e6;
const doRowsCost = (r: Rows) => rowsCost(r, PRICE.doRowsReadPerM, PRICE.doRowsWrittenPerM);
const d1RowsCost = (r: Rows) => rowsCost(r, PRICE.d1RowsReadPerM, PRICE.d1RowsWrittenPerM);
const sum = (...list: Rows[]): Rows => list.reduce((a, r) => ({ read: a.read + r.read, written: a.written + r.written }), { read: 0, written: 0 });
const times = (r: Rows, k: number): Rows => ({ read: r.read * k, written: r.written * k });

/** A Durable Object's memory as duration bills it: 128 MB. */
const DO_GB = 128 / 1024;
/**
 * Wall-clock ms a member object's call keeps it active (billed duration; it may hibernate between calls).
 * Assumed: the admission call costs about 2.7 ms of CPU locally (README's bench:play), its durable write more.
 */
const MEMBER_CALL_MS = 10;
/**
 * CPU ms per request, the Worker's workerd process locally (`npm run bench:play`, README, run of 2026-12-05):
 * an upper bound of the CPU time Workers bill, as it includes the runtime's own handling of a request (a
 * trivial route's 1.15 ms). A QoE batch is taken at the one-Durable-Object-call route's figure.
 */
const CPU_MS = { play: 3.41, steeringPoll: 1.41, segmentColoHit: 2.65, segmentColoMiss: 2.97, qoeBatch: 2.38 };
/**
 * QoE batches a play sends beside its periodic ones: the SDK sends a start and a stop at once
 * (client/reporter.ts), each a Worker request and its event shard's \`recordEvents\`; the stop also calls the
 * member's object (\`release\`, asserted by the counting test).
 */
const BATCHES_PER_PLAY = 2;

/**
 * Sites publishing their load each PUBLISH_LOAD_MS (an OCA's health or load class changed (0.85 or 1.0 crossed) since their last
 * publication; the rest publish each PUBLISH_LOAD_QUIET_MS): assumed, at a steady peak, a tenth.
 */
const CHANGING_SITES = 0.1;
/** Seconds between a site's load publications on average (shared/load-publication.ts), with CHANGING_SITES. */
const PUBLISH_LOAD_S = 1 / (CHANGING_SITES / (PUBLISH_LOAD_MS / 1000) + (1 - CHANGING_SITES) / (PUBLISH_LOAD_QUIET_MS / 1000));
const PUBLISH_PACE = `every ${PUBLISH_LOAD_MS / 1000} s when an OCA's health or load class changed (0.85 or 1.0 crossed) (assumed ${CHANGING_SITES * 100} % of sites), else every ${PUBLISH_LOAD_QUIET_MS / 1000} s: on average every ${PUBLISH_LOAD_S.toFixed(1)} s`;

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
  /** Cloudflare colos the viewers' requests land in: a colo's isolates share the catalogue's looks and loads (the Cache API). Assumed. */
  colos: number;
  /** Countries whose browse list a colo serves (read once per colo per TTL each). Assumed. */
  browseCountriesPerColo: number;
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
  /** Sites (embedded and IXP) in all: each probes its OCAs once a second and publishes its load every 2 s, whatever its traffic. Assumed. */
  sites: number;
  /** OCAs per site. Assumed. */
  ocasPerSite: number;
  /** Sites each isolate syncs with (those its viewers' segments and steering reach: nearby embedded sites and their IXPs). Assumed. */
  sitesPerIsolate: number;
  /** The catalogue's churn: bytes filled into each OCA a night. Assumed; the fill's rate and window cap it (config/topology.json). */
  fillBytesPerOcaPerNight: number;
  /** What a day delivers, in hours at the evening peak (to spread a night's fill over a day's bytes). Assumed. */
  peakHoursPerDay: number;
  /** Bytes each OCA's copies hold in its tier bucket (R2 storage, billed per GB-month). Assumed. */
  storedBytesPerOca: number;
  /** Share of sites whose fill window opens in the busiest UTC hour (one time zone's): they all plan in that hour's cron. Assumed. */
  busiestHourSiteShare: number;
  /** Sites of a region: an IXP site and its embedded children, whose turns the cron takes one after another. Assumed. */
  sitesPerRegion: number;
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
    // Cloudflare's cities in the United States, about.
    colos: 40,
    browseCountriesPerColo: 1,
    hotTitleChangesPerMin: 2,
    catalogueTtlS: 5,
    // One country (the US): the eastern and western North America replicas, the east the larger share.
    replicaShare: 0.6,
    coloHitRatio: 0.95,
    mbps: 4,
    sites: 40,
    ocasPerSite: 3,
    sitesPerIsolate: 5,
    fillBytesPerOcaPerNight: 2e12,
    peakHoursPerDay: 10,
    storedBytesPerOca: 100e12,
    // Eastern time: about half of the country's sites.
    busiestHourSiteShare: 0.5,
    sitesPerRegion: 10,
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
    // Cloudflare's cities worldwide, about; a colo near a border serves a few countries.
    colos: 330,
    browseCountriesPerColo: 3,
    hotTitleChangesPerMin: 2,
    catalogueTtlS: 5,
    // Six D1 regions; eastern North America, nearest for Latin America too, the busiest.
    replicaShare: 0.35,
    coloHitRatio: 0.95,
    mbps: 4,
    sites: 1_000,
    ocasPerSite: 3,
    sitesPerIsolate: 5,
    fillBytesPerOcaPerNight: 2e12,
    peakHoursPerDay: 10,
    storedBytesPerOca: 100e12,
    // Central European time: most of Europe's sites, the largest share of one hour.
    busiestHourSiteShare: 0.25,
    sitesPerRegion: 10,
  },
];

interface Row {
  what: string;
  perS: number;
  limit: number | null;
  over: boolean;
}

/**
 * Background reads of the views, D1 statements a second, shared per colo (bench/capacity-model.ts
 * \`viewLooksPerS\`): "which titles changed?" (the live topology's version rides it,
 * test/replica-reads.test.ts), the plans, browse lists and a reload per change of a cached title (what
 * the next play and poll read again, counted: \`titleChange\`); and each site object's own look at the
 * live topology per TTL (counted: \`siteLook\`). At the isolates the requests' CPU keeps busy when that is
 * more than the scenario assumes (they make a colo's herd). Fills run off-peak, so at peak few cached titles change.
 */
function catalogueRefresh(s: Scenario) {
  return viewLooksPerS(
    { ...s, isolates: isolatesOf(s) },
    { titleChangeStatements: n("titleChange", "d1."), siteLookStatements: rowCounts.siteLook.d1Statements },
  );
}
/** The same refresh were each isolate to ask for itself (no Cache API: a workers.dev route), for comparison. */
function perIsolateRefreshPerS(s: Scenario): number {
  return isolatesOf(s) * (1 / s.catalogueTtlS + 1 / (12 * s.catalogueTtlS) + (s.hotTitleChangesPerMin * n("titleChange", "d1.")) / 60);
}
function catalogueRefreshPerS(s: Scenario): number {
  return catalogueRefresh(s).total;
}

/**
 * The isolates counted wherever isolates multiply (site-link syncs, the views' looks): those the peak's
 * requests keep fully busy at the CPU per request measured locally (an upper bound), or the scenario's
 * own count when that is more. Counting the scenario's figure alone made those rates lower bounds.
 */
function isolatesOf(s: Scenario): number {
  return Math.max(s.isolates, cpuIsolatesOf(s));
}

/**
 * The isolates a peak's requests keep fully busy at the CPU per request measured locally: the
 * scenario's isolate count (which the looks and syncs multiply) should be no lower.
 */
function cpuIsolatesOf(s: Scenario): number {
  const segmentCpuMs = s.coloHitRatio * CPU_MS.segmentColoHit + (1 - s.coloHitRatio) * CPU_MS.segmentColoMiss;
  const qoe = s.viewers / s.qoeEveryS;
  return busyIsolates([
    { perS: s.playsPerS, cpuMs: CPU_MS.play },
    { perS: s.playsPerS * BATCHES_PER_PLAY + qoe, cpuMs: CPU_MS.qoeBatch },
    { perS: s.viewers / s.steeringTtlS, cpuMs: CPU_MS.steeringPoll },
    { perS: (2 * s.viewers) / s.segmentS + (s.viewers * REPROBE_OCAS * 1000) / REPROBE_EVERY_MS, cpuMs: segmentCpuMs },
  ]);
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
  const refresh = catalogueRefresh(s);
  const catalogueRefreshS = refresh.total;
  const busiest = s.busiestSiteShare;
  // The site's object: one sync per isolate per the interval the site asks (a second up to
  // SYNCS_PER_S_TARGET isolates, longer beyond; plays and served bytes ride it) and one forward per
  // event shard per second, plus any per-request calls the counts show.
  const isolates = isolatesOf(s);
  const everyS = syncEveryMs(isolates) / 1000;
  const siteObject = busiest * (s.playsPerS * n("play", "do.OcaSite") + qoe * n("qoeBatch", "do.OcaSite")) + isolates / everyS + EVENT_SHARDS;
  // Periodic batches, and each play's start and stop.
  const eventShard = (busiest * (qoe + s.playsPerS * BATCHES_PER_PLAY) * n("qoeBatch", "do.SessionLog")) / EVENT_SHARDS;
  // The sites' load publication: one batch per site every PUBLISH_LOAD_S, a statement per OCA (counted), writes: the primary's.
  const publication = loadPublicationPerS(s);
  const cpuIsolates = cpuIsolatesOf(s);
  const rows: Row[] = [
    {
      what: "Worker requests (all planes; the SDK's re-probes and each play's start and stop batches included)",
      perS: s.playsPerS * (1 + BATCHES_PER_PLAY) + polls + segments + probes + qoe,
      limit: null,
      over: false,
    },
    {
      what: `Worker isolates these requests keep fully busy (CPU s a second, at the CPU per request measured locally, an upper bound; each isolate runs one request's JavaScript at a time): counted below wherever isolates multiply (site-link syncs, the views' looks) in place of the ${fc(s.isolates)} the scenario assumes`,
      perS: cpuIsolates,
      // Not a platform limit (the platform starts isolates as load needs): the figure the rows below count at.
      limit: null,
      over: false,
    },
    { what: "D1 queries on the request path", perS: perReq("d1."), limit: LIMITS.d1PerDatabase, over: false },
    {
      what: `D1 queries on the primary, read replication off: the catalogue and topology views' refresh (background: looks, reloads, plans and browse lists shared by each of ${fc(s.colos)} colos' isolates through the Cache API, ${fmt(refresh.herd)} askers a share at ${fc(isolatesOf(s))} isolates; each site object's own look at the topology, ${fmt(s.sites / s.catalogueTtlS)} a second) and the sites' load publication (${fmt(publication.statements)} statements/s in ${fmt(publication.batches)} batches)`,
      perS: catalogueRefreshS + publication.statements,
      limit: LIMITS.d1PerDatabase,
      over: false,
    },
    {
      what: `D1 queries on the primary, read replication on: the sites' load publication (writes; a statement per OCA, one batch per site ${PUBLISH_PACE})`,
      perS: publication.statements,
      limit: LIMITS.d1PerDatabase,
      over: false,
    },
    {
      what: `D1 queries, the same on the busiest read replica (replication on; ${Math.round(s.replicaShare * 100)} % of isolates nearest it)`,
      perS: catalogueRefreshS * s.replicaShare,
      limit: LIMITS.d1PerDatabase,
      over: false,
    },
    {
      what: `busiest site's Durable Object (site links: ${fc(isolates)} isolates, a sync each every ${everyS} s${isolates / everyS > SYNCS_PER_S_TARGET ? `, the longest interval the site asks, so past its target of ${fc(SYNCS_PER_S_TARGET)} a second` : ""}; event-shard forwards)`,
      perS: siteObject,
      limit: LIMITS.doPerObject,
      over: false,
    },
    {
      what: `busiest site's Durable Object, ms of its one thread's work a second (timed locally: a sync ${fmtMs(siteTime.syncMs)}, a session's entry ${fmtMs(siteTime.syncPerSessionMs)}, a forward ${fmtMs(siteTime.forwardMs)}, a report in it ${fmtMs(siteTime.forwardPerReportMs)} ms)`,
      perS: siteObjectMs(s),
      limit: 1000,
      over: false,
    },
    { what: `an event shard of the busiest site (1 of ${EVENT_SHARDS})`, perS: eventShard, limit: LIMITS.doPerObject, over: false },
    // A play a minute, and a live stream's touches (at most one per TOUCH_EVERY_MS from each isolate it reaches).
    { what: "a member's Durable Object", perS: 1 / 60 + (TOUCHING_ISOLATES * 1000) / TOUCH_EVERY_MS, limit: LIMITS.doPerObject, over: false },
    { what: "R2 reads, tier buckets (colo misses)", perS: perReq("r2.tier"), limit: null, over: false },
    // The data plane's look at origin's list of titles taken down: shared per colo (workers/shared/colo-shared-text.ts), in the background.
    {
      what: "R2 reads, origin's withdrawn list (background: one per colo per half TTL, shared by its isolates through the Cache API, times the colo's askers)",
      perS: (s.colos * catalogueRefresh(s).herd) / (s.catalogueTtlS / 2),
      limit: null,
      over: false,
    },
    { what: "colo cache operations", perS: perReq("cache."), limit: null, over: false },
  ];
  for (const r of rows) r.over = r.limit !== null && r.perS > r.limit;
  return rows;
}

/** A row of the cron's table: a figure for one invocation, and its limit. */
interface CronRow {
  what: string;
  value: number;
  unit: "subrequests" | "s";
  limit: number;
  over: boolean;
}

/**
 * The busiest hour's cron invocation: that hour's sites plan, every other site checks whether it has
 * (an upper bound: a site outside its window makes no call), against one invocation's limits. Wall time
 * is each turn's local ms plus a deployed round trip for each call it waits for in turn; regions run
 * CRON_REGION_CONCURRENCY at once (workers/control/fill-cycle.ts), a site at a time within each.
 */
function cronRows(s: Scenario): CronRow[] {
  const c = cronCost;
  const planning = Math.round(s.sites * s.busiestHourSiteShare);
  const skipping = s.sites - planning;
  const planS = (c.planMsPerSite + c.planRoundTripsPerSite * CRON_ROUND_TRIP_MS) / 1000;
  const skipS = (c.skipMsPerSite + c.skipRoundTripsPerSite * CRON_ROUND_TRIP_MS) / 1000;
  const sequential = planning * planS + skipping * skipS;
  // A pool of regions: the work spread over its lanes, and never less than one region of planning sites.
  const pooled = Math.max(sequential / CRON_REGION_CONCURRENCY, s.sitesPerRegion * planS);
  const hanging = Math.ceil(s.sites * HANGING_SITE_SHARE);
  const hangS = SITE_CYCLE_TIMEOUT_MS / 1000;
  const limitS = LIMITS.cronWallMs / 1000;
  const rows: CronRow[] = [
    {
      what: `hourly fill cron, busiest hour: subrequests (${fc(planning)} sites planning, ${fmt(c.planSubrequestsPerSite)} each; ${fc(skipping)} checking they have, ${fmt(c.skipSubrequestsPerSite)} each; ${fc(c.invocationSubrequests)} the invocation's own)`,
      value: planning * c.planSubrequestsPerSite + skipping * c.skipSubrequestsPerSite + c.invocationSubrequests,
      unit: "subrequests",
      limit: LIMITS.subrequestsPerInvocation,
      over: false,
    },
    {
      what: `hourly fill cron, busiest hour: wall time a site at a time, as before (a planning site ${fmt(planS)} s: ${fmtMs(c.planMsPerSite)} ms locally and ${fmt(c.planRoundTripsPerSite)} round trips in turn; a check ${fmt(skipS)} s)`,
      value: sequential,
      unit: "s",
      limit: limitS,
      over: false,
    },
    {
      what: `hourly fill cron, busiest hour: wall time, ${CRON_REGION_CONCURRENCY} regions at once (as now; regions of ${s.sitesPerRegion} sites)`,
      value: pooled,
      unit: "s",
      limit: limitS,
      over: false,
    },
    {
      what: `the same with ${fc(hanging)} site${hanging === 1 ? "" : "s"} (${HANGING_SITE_SHARE * 100} %) hanging to ${hangS} s timeouts, a site at a time, as before`,
      value: sequential + hanging * hangS,
      unit: "s",
      limit: limitS,
      over: false,
    },
    {
      what: `the same, ${CRON_REGION_CONCURRENCY} regions at once (as now; each hanging site holds one lane)`,
      value: Math.max((sequential + hanging * hangS) / CRON_REGION_CONCURRENCY, s.sitesPerRegion * planS + hangS),
      unit: "s",
      limit: limitS,
      over: false,
    },
    {
      what: "hourly fill cron, busiest hour: CPU time, at most (the turns' local ms, which include the site objects' own work)",
      value: (planning * c.planMsPerSite + skipping * c.skipMsPerSite) / 1000,
      unit: "s",
      limit: LIMITS.cpuMs / 1000,
      over: false,
    },
  ];
  for (const r of rows) r.over = r.value > r.limit;
  return rows;
}

/** The cron's figures in the table's cells. */
const cronCell = (r: CronRow, v: number) => (r.unit === "s" ? `${fmt(v)} s` : fc(Math.round(v)));

/** The sites' load publication to D1's steering view: batches (one per site every PUBLISH_LOAD_S) and statements (one per OCA, counted) a second. */
function loadPublicationPerS(s: Scenario): { batches: number; statements: number } {
  const batches = s.sites / PUBLISH_LOAD_S;
  return { batches, statements: (batches * s.ocasPerSite * R.siteSecond.d1Statements) / R.siteSecond.ocas };
}

const fmtMs = (ms: number) => (ms >= 1 ? ms.toFixed(1) : ms.toFixed(3));

/**
 * The busiest site object's work a second, in ms of its thread: its isolates' syncs, each of its
 * viewers' sessions in them (one entry per segment, at most one per sync), and its event shards'
 * forwards with a report per QoE batch. An object has one thread: over 1,000 it falls behind.
 */
function siteObjectMs(s: Scenario, viewers = s.viewers * s.busiestSiteShare): number {
  const isolates = isolatesOf(s);
  const everyS = syncEveryMs(isolates) / 1000;
  const entries = viewers / entryEveryS(s, everyS);
  const reports = viewers / s.qoeEveryS;
  return (
    (isolates / everyS) * siteTime.syncMs + entries * siteTime.syncPerSessionMs + EVENT_SHARDS * siteTime.forwardMs + reports * siteTime.forwardPerReportMs
  );
}

/** The most viewers one site object keeps up with (its work a second at 1,000 ms), the rest of the scenario as it is. */
function viewersPerSiteObject(s: Scenario): number {
  const fixed = siteObjectMs(s, 0);
  const perViewer = siteObjectMs(s, 1) - fixed;
  return Math.max(0, (1000 - fixed) / perViewer);
}

/** What the busiest site object's time says, for the report. */
function siteTimeNote(s: Scenario): string {
  const viewers = s.viewers * s.busiestSiteShare;
  const ms = siteObjectMs(s);
  const most = viewersPerSiteObject(s);
  // The isolates' syncs and the shards' forwards alone (no viewer's entry or report) may fill the thread: then no viewer count keeps up.
  const fixedMs = siteObjectMs(s, 0);
  const verdict =
    most <= 0
      ? `**more than its one thread has**: its isolates' syncs and its shards' forwards alone take ${fc(fixedMs)} ms of it a second, whatever its viewers (syncs time out at 500 ms, forwards queue)`
      : ms > 1000
        ? `**more than its one thread has**: it would fall behind (syncs time out at 500 ms, forwards queue) at about ${fc(most)} viewers, ${fc(viewers / most)} times fewer than this site's`
        : `within its one thread (${Math.round(ms / 10)} % of it); it would fall behind at about ${fc(most)} viewers`;
  const r = shardedRemedy(s);
  return `The busiest site's object (${fc(viewers)} viewers whose home it is) spends about ${fc(ms)} ms of its thread a second on this
peak's syncs, session entries and forwarded reports, timed on this machine's local runtime: ${verdict}.
The calls a second are within the documented soft limit; the work per call is what binds.
Projected from the same timed figures (not built): with each session's entries and reports taken by its
event shard instead (an isolate sending the entries it holds grouped by shard, every ${SESSION_ENTRY_EVERY_MS / 1000} s, and each
shard forwarding per-title sums once a second), the site's object would spend about ${fc(r.siteMs)} ms a second
(its syncs and the shards' forwards), each of the ${EVENT_SHARDS} shards about ${fc(r.shardMs)} ms on ${fc(r.shardCallsPerS)} calls a second more
(${fc(r.shardCallsPerS + r.shardQoeCallsPerS)} with its QoE batches${r.shardCallsPerS + r.shardQoeCallsPerS > LIMITS.doPerObject ? `: over the ${fc(LIMITS.doPerObject)} a second of an object, so more shards there` : ""}),
and an isolate would make at most ${fmt(r.isolateCallsPerS)} more calls a second per home site whose sessions it serves.
With an aggregator per colo and site in front of the site's object as well (a colo's isolates sync with it; it syncs once a
second, its sync costing the object what one isolate's does, and its isolates' entries going to the shards as above), the
site's object would take ${fc(s.colos)} syncs a second, about ${fc(s.colos * siteTime.syncMs + EVENT_SHARDS * siteTime.forwardMs)} ms of its thread with the shards' forwards${
    r.shardCallsPerS > LIMITS.doPerObject
      ? `, and each shard ${fc(s.colos / (SESSION_ENTRY_EVERY_MS / 1000))} calls a second of entries from the aggregators instead of ${fc(r.shardCallsPerS)} from isolates`
      : ""
  }.`;
}

/**
 * The structural remedy's figures, projected with the timed costs: session entries and reports moved
 * from the site's object to its event shards (by session id), whatever else stays the same.
 */
function shardedRemedy(s: Scenario): { siteMs: number; shardMs: number; shardCallsPerS: number; shardQoeCallsPerS: number; isolateCallsPerS: number } {
  const viewers = s.viewers * s.busiestSiteShare;
  const everyS = syncEveryMs(isolatesOf(s)) / 1000;
  const perShard = (ms: number) => ms / EVENT_SHARDS;
  const entriesMs = (viewers / entryEveryS(s, everyS)) * siteTime.syncPerSessionMs;
  const reportsMs = (viewers / s.qoeEveryS) * siteTime.forwardPerReportMs;
  const entryFlushS = SESSION_ENTRY_EVERY_MS / 1000;
  // An isolate's held entries go to a shard at most once per interval; the shard's call costs what a sync's own work does.
  const shardCallsPerS = isolatesOf(s) / entryFlushS;
  return {
    siteMs: siteObjectMs(s, 0),
    shardMs: perShard(entriesMs + reportsMs) + shardCallsPerS * siteTime.syncMs,
    shardCallsPerS,
    // As the model counts a shard's calls (its QoE batches, each play's start and stop).
    shardQoeCallsPerS: (s.busiestSiteShare * (s.viewers / s.qoeEveryS + s.playsPerS * BATCHES_PER_PLAY) * n("qoeBatch", "do.SessionLog")) / EVENT_SHARDS,
    isolateCallsPerS: EVENT_SHARDS / entryFlushS,
  };
}

/** A segment request's bytes: video and audio requests share the stream's bitrate. */
const segmentBytes = (s: Scenario) => (s.mbps * 1e6 * s.segmentS) / 8 / 2;

/** Seconds between a session's entries at its site: a segment's, a sync's or the isolate's own pace, the longest. */
const entryEveryS = (s: Scenario, syncEveryS: number) => Math.max(s.segmentS, syncEveryS, SESSION_ENTRY_EVERY_MS / 1000);

/** What the storage rows multiply at peak, all sites together. */
function rates(s: Scenario) {
  // The isolates syncing with a typical site, and the interval it asks of them.
  const everyS = syncEveryMs((isolatesOf(s) * s.sitesPerIsolate) / s.sites) / 1000;
  const syncs = (isolatesOf(s) * s.sitesPerIsolate) / everyS;
  // A session's entry in its OCA's site's reports: one per segment fetch (video and audio together), at
  // most one per sync and one per SESSION_ENTRY_EVERY_MS (an isolate sums what came between). A re-probe
  // (marked probe=1) makes none: its bytes are its OCA's, counted per probe.
  const segmentEntries = s.viewers / entryEveryS(s, everyS);
  const probeEntries = (s.viewers * REPROBE_OCAS) / Math.max(REPROBE_EVERY_MS / 1000, everyS);
  const qoe = s.viewers / s.qoeEveryS;
  // Every shard of every site forwards once a second while its sessions report.
  const shards = Math.min(s.sites * EVENT_SHARDS, qoe);
  const touches = (s.viewers * TOUCHING_ISOLATES * 1000) / TOUCH_EVERY_MS;
  // Little's law: a session lasts viewers / plays a second; a batch finds half its session's batches stored before it, on average.
  const sessionS = s.viewers / s.playsPerS;
  const earlierBatches = sessionS / s.qoeEveryS / 2;
  // The looks, plans and browse lists a colo's isolates share, and the changes they read again (bench/capacity-model.ts).
  const { looks: catalogueLooks, changesReloaded } = catalogueRefresh(s);
  return { everyS, syncs, segmentEntries, probeEntries, qoe, shards, touches, sessionS, earlierBatches, catalogueLooks, changesReloaded };
}

const R = rowCounts;
/** A play's rows at its member's object: its admission (the object started afresh: it reads its table), its stop, its row deleted at its token's expiry. */
const memberRowsPerPlay = sum(R.playAfresh.member, R.stop.member, R.playExpiry.member);
/** A play's rows at its home site: its record in a sync, its session's first report there, its session's row deleted after 2 days. */
const siteRowsPerPlay = sum(R.play.site, R.playFirstReport.site, R.playExpiry.site);
/** A QoE batch's rows at its event shard (stored, its rows deleted after 7 days; the forward's), its reads with `earlier` batches of its session stored. */
const batchRows = (earlier: number): Rows => ({
  read: R.qoeSessionFirstBatch.shard.read + R.qoeBatchReadPerEarlierBatch * earlier + R.qoeBatchExpiry.shard.read + R.forwardPerReport.shard.read,
  written: R.qoeBatch.shard.written + R.qoeBatchExpiry.shard.written + R.forwardPerReport.shard.written,
});

/** One line of the storage-rows table: rows a second at peak and what of them is counted. */
interface RowLine {
  what: string;
  perS: Rows;
  /** D1's rows (else a Durable Object's SQLite). */
  d1: boolean;
  /** Priced per play (else per petabyte delivered). */
  perPlay: boolean;
  basis: string;
}

function storage(s: Scenario): RowLine[] {
  const r = rates(s);
  const perOca = (s.sites * s.ocasPerSite) / R.siteSecond.ocas;
  const entryEvery = entryEveryS(s, r.everyS);
  return [
    {
      what: "member objects: plays (admission, stop, the stream's row deleted)",
      perS: times(memberRowsPerPlay, s.playsPerS),
      d1: false,
      perPlay: true,
      basis: "counted per play",
    },
    {
      what: `member objects: stream touches (from each of ${TOUCHING_ISOLATES} isolates a minute)`,
      perS: times(R.streamTouch.member, r.touches),
      d1: false,
      perPlay: false,
      basis: "counted per touch",
    },
    {
      what: "event shards: QoE batches (stored, report forwarded, rows deleted after 7 days)",
      perS: times(batchRows(r.earlierBatches), r.qoe),
      d1: false,
      perPlay: false,
      basis:
        R.qoeBatchReadPerEarlierBatch > 0
          ? `counted per batch; its reads grow with its session's batches (${fmt(r.earlierBatches)} before it on average, from a ${fmt(r.sessionS / 60)}-minute mean session)`
          : `counted per batch; its reads do not grow with its session's batches (${fmt(r.earlierBatches)} before it on average: the shard sums them once and keeps the figure)`,
    },
    {
      what: "event shards: each shard's alarm and forward, once a second",
      perS: times(sum(R.qoeBatchFirst.shard, R.forwardFixed.shard), r.shards),
      d1: false,
      perPlay: false,
      basis: `counted per forward × ${fmt(r.shards)} shards`,
    },
    {
      what: `event shards and site objects: each play's start and stop batches (${BATCHES_PER_PLAY} a play: stored, forwarded, deleted after 7 days)`,
      perS: times(sum(batchRows(0), batchRows(2 * r.earlierBatches), times(R.forwardPerReport.site, BATCHES_PER_PLAY)), s.playsPerS),
      d1: false,
      perPlay: true,
      basis: "counted per batch; the stop's reads with its session's batches stored",
    },
    {
      what: "site objects: plays (record in a sync, first report, the session's row deleted)",
      perS: times(siteRowsPerPlay, s.playsPerS),
      d1: false,
      perPlay: true,
      basis: "counted per play",
    },
    {
      what: `site objects: sessions' segments in syncs (an entry per session every ${entryEvery} s, with its CMCD)`,
      perS: times(R.syncPerSession.site, r.segmentEntries),
      d1: false,
      perPlay: false,
      basis: "counted per entry × entries from the pace",
    },
    {
      // The samples above repeat a session's entry seconds apart, within one bucket: its move is added here.
      what: `site objects: a session's activity moved to the next ${SEEN_BUCKET_MS / 1000} s bucket (its index entry)`,
      perS: { read: s.viewers / (SEEN_BUCKET_MS / 1000), written: (2 * s.viewers) / (SEEN_BUCKET_MS / 1000) },
      d1: false,
      perPlay: false,
      basis: "2 rows written per move (test/site-sync-cost.test.ts), one move per session per bucket",
    },
    {
      what: `site objects: re-probes in syncs (${REPROBE_OCAS} OCAs every ${REPROBE_EVERY_MS / 1000} s, marked probe=1: no session entry)`,
      perS: times(R.syncPerProbe.site, r.probeEntries),
      d1: false,
      perPlay: false,
      basis: "counted per probe × probes from the pace",
    },
    {
      what: `site objects: each sync's own rows (${fmt(r.syncs)} syncs/s: ${s.sitesPerIsolate} sites per isolate, every ${r.everyS} s)`,
      perS: times(R.syncFixed.site, r.syncs),
      d1: false,
      perPlay: false,
      basis: "counted per sync × assumed sites per isolate",
    },
    {
      what: "site objects: QoE forwards (each report, each forward)",
      perS: sum(times(R.forwardPerReport.site, r.qoe), times(R.forwardFixed.site, r.shards)),
      d1: false,
      perPlay: false,
      basis: "counted per report and per forward",
    },
    {
      what: `site objects: OCA probes each second and load publication (${s.sites.toLocaleString("en-US")} sites × ${s.ocasPerSite} OCAs; ${PUBLISH_PACE})`,
      perS: siteTimerRowsPerS(R.siteSecond.site, R.sitePublication.site, perOca, PUBLISH_LOAD_S),
      d1: false,
      perPlay: false,
      basis: "counted per probe and per publication × assumed sites",
    },
    {
      what: "D1: catalogue and topology views' background refresh (looks and reloads shared by each colo's isolates, each site object's own topology look)",
      perS: {
        read:
          r.catalogueLooks * R.d1Background.lookRowsReadPerStatement +
          r.changesReloaded * R.d1Background.reloadRowsRead +
          (s.sites / s.catalogueTtlS) * R.siteLook.d1.read,
        written: 0,
      },
      d1: true,
      perPlay: false,
      basis: "counted per look and per change × assumed colos",
    },
    {
      what: `D1: sites' load in the steering view (${PUBLISH_PACE})`,
      perS: times(R.siteSecond.d1, perOca / PUBLISH_LOAD_S),
      d1: true,
      perPlay: false,
      basis: "counted per publication × assumed sites",
    },
  ];
}

const lineCost = (l: RowLine) => (l.d1 ? d1RowsCost(l.perS) : doRowsCost(l.perS));

/** R2 operations by class: class A writes and lists, class B reads and heads (deletes are free). */
function r2Classes(ops: Counts): { a: number; b: number } {
  let a = 0;
  let b = 0;
  for (const [k, v] of Object.entries(ops)) {
    const op = k.split(".").at(-1);
    if (op === "put" || op === "list" || op === "createMultipartUpload") a += v;
    else if (op === "get" || op === "head") b += v;
  }
  return { a, b };
}

/** The fill window and rate each OCA has by default (config/topology.json): what a night can fill at most. */
const fillDefaults = bundledTopology().fill;
const ceilingBytesPerOca = (fillDefaults.ocaFillRateBps / 8) * (fillDefaults.windowEndHour - fillDefaults.windowStartHour) * 3600;

/** A night's fill in a scenario: files copied (each a segment's size), R2 operations, the site objects' rows, D1's rows. */
function fillNight(s: Scenario, bytesPerOca: number) {
  const files = (s.sites * s.ocasPerSite * bytesPerOca) / segmentBytes(s);
  const perFile = r2Classes(R.fillPerFile.r2);
  const classA = files * perFile.a;
  const classB = files * perFile.b;
  const r2 = (classA * PRICE.r2ClassAPerM + classB * PRICE.r2ClassBPerM) / 1e6;
  const rows = doRowsCost(times(R.fillPerFile.site, files));
  const d1 = d1RowsCost(times(R.fillPerFile.d1, files));
  return { files, classA, classB, r2, rows, d1, total: r2 + rows + d1 };
}

function costs(s: Scenario) {
  // A play's object calls: its admission, its start and stop batches' `recordEvents`, the stop's `release`.
  const perPlayRequests = n("play", "do.") + BATCHES_PER_PLAY * n("qoeBatch", "do.") + 1;
  const playCalls = PRICE.workersPerM * (1 + BATCHES_PER_PLAY) + perPlayRequests * PRICE.doRequestsPerM;
  // Per million plays: CPU ms at the local upper bound, and the member object's two calls' duration.
  const playCpu = (CPU_MS.play + BATCHES_PER_PLAY * CPU_MS.qoeBatch) * PRICE.workersCpuPerMMs;
  const playDuration = 2 * (MEMBER_CALL_MS / 1000) * DO_GB * PRICE.doDurationPerMGbS;
  const playLines = storage(s).filter((l) => l.perPlay);
  const playRows = (1e6 * playLines.reduce((a, l) => a + lineCost(l), 0)) / s.playsPerS;
  const millionPlays = playCalls + playCpu + playDuration + playRows;
  const segBytes = segmentBytes(s);
  const segmentsPerPB = 1e15 / segBytes;
  const seconds = segmentsPerPB / ((2 * s.viewers) / s.segmentS);
  const polls = (s.viewers / s.steeringTtlS) * seconds;
  const qoe = (s.viewers / s.qoeEveryS) * seconds;
  const probes = ((s.viewers * REPROBE_OCAS * 1000) / REPROBE_EVERY_MS) * seconds;
  const workers = ((segmentsPerPB + probes + polls + qoe) / 1e6) * PRICE.workersPerM;
  const r = rates(s);
  // R2: colo misses, and each site's probe of its OCAs once a second.
  const probeReads = ((s.sites * s.ocasPerSite * r2Classes(R.siteSecond.r2).b) / R.siteSecond.ocas) * seconds;
  const r2 = (((segmentsPerPB + probes) * (1 - s.coloHitRatio)) / 1e6) * PRICE.r2ClassBPerM + (probeReads / 1e6) * PRICE.r2ClassBPerM;
  const touches = ((s.viewers * TOUCHING_ISOLATES * 1000) / TOUCH_EVERY_MS) * seconds;
  // Object calls: QoE batches, touches, the sites' syncs, and each shard's alarm and forward.
  const background = (r.syncs + 2 * r.shards) * seconds;
  const dos = ((qoe * n("qoeBatch", "do.") + touches + background) / 1e6) * PRICE.doRequestsPerM;
  const lines = storage(s).filter((l) => !l.perPlay);
  const rowsDo = lines.filter((l) => !l.d1).reduce((a, l) => a + lineCost(l), 0) * seconds;
  const rowsD1 = lines.filter((l) => l.d1).reduce((a, l) => a + lineCost(l), 0) * seconds;
  // Workers' CPU time, at the local upper bound per request type.
  const segmentCpuMs = s.coloHitRatio * CPU_MS.segmentColoHit + (1 - s.coloHitRatio) * CPU_MS.segmentColoMiss;
  const cpuMs = (segmentsPerPB + probes) * segmentCpuMs + polls * CPU_MS.steeringPoll + qoe * CPU_MS.qoeBatch;
  const cpu = (cpuMs / 1e6) * PRICE.workersCpuPerMMs;
  // Objects' duration: every site object and busy event shard taken as active the whole time (an upper
  // bound: each is called every second or more often), a member object only while a touch runs.
  const gbS = (s.sites + r.shards) * DO_GB * seconds + touches * (MEMBER_CALL_MS / 1000) * DO_GB;
  const duration = (gbS / 1e6) * PRICE.doDurationPerMGbS;
  const perPB = workers + cpu + r2 + dos + duration + rowsDo + rowsD1;
  const cdnPerPB = 1e6 * PRICE.cdnPerGB + (segmentsPerPB / 1e4) * PRICE.cdnPer10kRequests;
  const fill = fillNight(s, s.fillBytesPerOcaPerNight);
  const fillCeiling = fillNight(s, ceilingBytesPerOca);
  const dayPB = (s.viewers * s.mbps * 1e6 * s.peakHoursPerDay * 3600) / 8 / 1e15;
  const fillPerPB = fill.total / dayPB;
  // R2 storage of every OCA's copies in its tier bucket, a month, over a month's delivery (30 such days).
  const storedGB = (s.sites * s.ocasPerSite * s.storedBytesPerOca) / 1e9;
  const storageMonth = storedGB * PRICE.r2StoragePerGbMonth;
  const storagePerPB = storageMonth / (30 * dayPB);
  return {
    millionPlays,
    perPlayRequests,
    playCalls,
    playCpu,
    playDuration,
    playRows,
    perPB,
    workers,
    cpu,
    r2,
    dos,
    duration,
    rowsDo,
    rowsD1,
    cdnPerPB,
    segmentsPerPB,
    seconds,
    fill,
    fillCeiling,
    dayPB,
    fillPerPB,
    storedGB,
    storageMonth,
    storagePerPB,
  };
}

const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(x >= 1 ? 1 : 3));
/** A counted figure: whole when it is, else to a tenth (an average or a difference of samples). */
const fc = (x: number) => (Number.isInteger(x) ? x.toLocaleString("en-US") : x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(x >= 1 ? 1 : 2));
const usd = (x: number) => (x >= 100 ? `$${Math.round(x).toLocaleString("en-US")}` : `$${x.toFixed(2)}`);
const rowCells = (r: Rows) => `${fc(r.read)} | ${fc(r.written)}`;
const ops = (c: Counts) =>
  Object.entries(c)
    .map(([k, v]) => `${k} ×${fc(v)}`)
    .join(", ");

let md = `# Capacity model

Generated by \`npm run bench:scale\` on ${new Date().toISOString().slice(0, 10)}. Operation counts and SQLite rows come from
\`test/capacity-counts.test.ts\`, which runs the real Worker in workerd with counting bindings and
counts the rows each Durable Object's SQLite and D1 read and write; the rates multiply them by each
scenario. Site-link syncs (\`edgeSync\`, at most one per isolate per site per the interval the site
asks) are modelled per isolate, not per request. Each figure below says whether it is counted or
assumed.

## Storage operations per request (steady state, counted)

| request | operations |
| ------- | ---------- |
${Object.entries(counts)
  .map(([k, v]) => `| ${k} | ${ops(v) || "none"} |`)
  .join("\n")}

\`titleChange\` is not a request: it is what one change of a cached title makes an isolate read again
(its next play of the title and its sessions' next steering poll), once per colo: the colo's other isolates
read it from the Cache API (\`workers/control/colo-loads.ts\`).

## SQLite rows per request (steady state, counted)

Rows as Cloudflare bills them: a Durable Object's are its cursors' \`rowsRead\` and \`rowsWritten\`
(index entries count; a delete counts as rows written; a \`setAlarm()\` is one row written), D1's its
results' \`rows_read\` and \`rows_written\`. The test counts them in every object through the runtime's
own SQL interface (the objects' code unchanged), names the object each row was at, and asserts where
none may be: a play writes at its member's object and, in the next sync, at its home site, never at
an event shard or another site; a steering poll with no touch due writes nothing anywhere. Figures
marked "each more" are differences between samples carrying one item and four (medians of three).

| what | object | rows read | rows written |
| ---- | ------ | --------: | -----------: |
| play: admission, the member's object in memory | member | ${rowCells(R.play.member)} |
| play: admission, the object started afresh (reads its table) | member | ${rowCells(R.playAfresh.member)} |
| play: a new member's first (makes the table) | member | ${rowCells(R.playNewMember.member)} |
| play: its stop (the slot freed) | member | ${rowCells(R.stop.member)} |
| play: its stream's row deleted at token expiry | member | ${rowCells(R.playExpiry.member)} |
| play: its record in the home site's next sync, each more | site | ${rowCells(R.play.site)} |
| play: its session's first report there, beyond a later one's | site | ${rowCells(R.playFirstReport.site)} |
| play: its session's row deleted after 2 days | site | ${rowCells(R.playExpiry.site)} |
| stream touch (a poll, batch or segment, at most once a minute per isolate) | member | ${rowCells(R.streamTouch.member)} |
| steering poll, no touch due | any | ${rowCells(R.steeringPoll.all)} |
| a session's segments in a sync (bytes, activity, CMCD), each more | site | ${rowCells(R.syncPerSession.site)} |
| a re-probe in a sync (marked probe=1: the OCA's bytes, no session entry), each more | site | ${rowCells(R.syncPerProbe.site)} |
| a sync's own rows (numbering, one OCA's load, bytes and signals) | site | ${rowCells(R.syncFixed.site)} |
| QoE batch, each more | event shard | ${rowCells(R.qoeBatch.shard)} |
| QoE batch, a session's first (its shard's first since a forward, so the alarm is set too); each batch of the session stored before a batch adds ${fc(R.qoeBatchReadPerEarlierBatch)} rows read | event shard | ${rowCells(R.qoeSessionFirstBatch.shard)} |
| QoE batch, the first after a forward (the alarm set again) | event shard | ${rowCells(R.qoeBatchFirst.shard)} |
| QoE batch, its rows deleted after 7 days | event shard | ${rowCells(R.qoeBatchExpiry.shard)} |
| forward, each report (shard; site) | event shard; site | ${fc(R.forwardPerReport.shard.read)}; ${fc(R.forwardPerReport.site.read)} | ${fc(R.forwardPerReport.shard.written)}; ${fc(R.forwardPerReport.site.written)} |
| forward, its own rows (shard; site) | event shard; site | ${fc(R.forwardFixed.shard.read)}; ${fc(R.forwardFixed.site.read)} | ${fc(R.forwardFixed.shard.written)}; ${fc(R.forwardFixed.site.written)} |
| a site's second: its ${R.siteSecond.ocas} OCAs probed; also ${ops(R.siteSecond.r2)} | site | ${rowCells(R.siteSecond.site)} |
| a site's load publication (${PUBLISH_PACE}), beyond the probe's rows; also D1 ${fc(R.siteSecond.d1.read)} read and ${fc(R.siteSecond.d1.written)} written in ${fc(R.siteSecond.d1Statements)} statements | site | ${rowCells(R.sitePublication.site)} |
| a site object's own look at the live topology, once per catalogue TTL (no catalogue look feeds its isolate): ${fc(R.siteLook.d1Statements)} D1 statement${R.siteLook.d1Statements === 1 ? "" : "s"} | D1 | ${rowCells(R.siteLook.d1)} |
| a file filled (the plan applied and the alarm run to the end, averaged over ${R.fillPerFile.files} files of 3 titles); also ${ops(R.fillPerFile.r2)}, D1 ${fc(R.fillPerFile.d1.read)} read and ${fc(R.fillPerFile.d1.written)} written | site | ${rowCells(R.fillPerFile.site)} |
| D1: a background look of the catalogue view, per statement | D1 | ${fc(R.d1Background.lookRowsReadPerStatement)} | 0 |
| D1: what one change of a cached title makes an isolate read again | D1 | ${fc(R.d1Background.reloadRowsRead)} | 0 |

The test's tables are small: what a sync reads stays flat as a site grows (below), as does what a QoE
batch reads (its shard sums a session's batches once and keeps the figure), but D1's reload reads a title's
rows (more at a title many OCAs hold). Reads are priced a thousand times below writes, so it moves the
totals little.

## Prices and limits, and where they come from

List prices as of 2026 (Workers Paid), from the pages below; check them before relying on them. Every
unit is priced at the rate past the monthly included amount (10 M Worker requests, 1 M object
requests, 25 billion rows read and 50 M rows written for Durable Objects' SQLite and again for D1,
1 M class A and 10 M class B R2 operations): at these volumes those amounts are a rounding.

| what | figure | source |
| ---- | ------ | ------ |
| Worker requests | $${PRICE.workersPerM} per million | ${SOURCES.workersPricing} |
| Worker CPU time | $${PRICE.workersCpuPerMMs} per million CPU ms | ${SOURCES.workersPricing} |
| Durable Object requests (each RPC call, each alarm) | $${PRICE.doRequestsPerM} per million | ${SOURCES.doPricing} |
| Durable Object duration | $${PRICE.doDurationPerMGbS.toFixed(2)} per million GB-s (128 MB an object while active) | ${SOURCES.doPricing} |
| Durable Objects' SQLite rows read / written | $${PRICE.doRowsReadPerM} / $${PRICE.doRowsWrittenPerM.toFixed(2)} per million (a \`setAlarm()\` and a delete count as rows written) | ${SOURCES.doPricing} |
| D1 rows read / written | $${PRICE.d1RowsReadPerM} / $${PRICE.d1RowsWrittenPerM.toFixed(2)} per million | ${SOURCES.d1Pricing} |
| R2 class A (PutObject) / class B (GetObject, HeadObject); egress free | $${PRICE.r2ClassAPerM.toFixed(2)} / $${PRICE.r2ClassBPerM} per million | ${SOURCES.r2Pricing} |
| R2 storage | $${PRICE.r2StoragePerGbMonth}/GB-month | ${SOURCES.r2Pricing} |
| Amazon CloudFront, US, over 5 PB a month | $${PRICE.cdnPerGB.toFixed(3)}/GB, $${PRICE.cdnPer10kRequests.toFixed(4)} per 10,000 HTTPS requests | ${SOURCES.cloudfrontPricing} |
| a Durable Object's requests | about ${LIMITS.doPerObject.toLocaleString("en-US")}/s (soft limit per object) | ${SOURCES.doLimits}, ${SOURCES.doFaq} |
| a D1 database's queries | about ${LIMITS.d1PerDatabase.toLocaleString("en-US")}/s (single-threaded, 1 ms queries) | ${SOURCES.d1Limits} |
| a Cron Trigger invocation | ${LIMITS.cronWallMs / 60_000} minutes of wall time; ${LIMITS.subrequestsPerInvocation.toLocaleString("en-US")} subrequests (Workers Paid's default, up to 10 million with \`limits.subrequests\`; object calls, D1 queries and R2 operations count); ${LIMITS.cpuMs / 1000} s of CPU time by default, up to 5 minutes with \`limits.cpu_ms\` | ${SOURCES.workersLimits}, ${SOURCES.cpuChangelog} |

R2 and the Cache API publish no per-bucket request rate (R2's one rate limit on objects: a write a second to one key, which
no path here repeats).
`;
for (const s of SCENARIOS) {
  const rows = model(s);
  const c = costs(s);
  const lines = storage(s);
  const r = rates(s);
  const doTotal = sum(...lines.filter((l) => !l.d1).map((l) => l.perS));
  const d1Total = sum(...lines.filter((l) => l.d1).map((l) => l.perS));
  console.log(`\n${s.name}: ${s.viewers.toLocaleString("en-US")} viewers, ${s.playsPerS.toLocaleString("en-US")} plays/s`);
  console.table(rows.map((x) => ({ what: x.what, "per second": fmt(x.perS), limit: x.limit ?? "—", over: x.over ? "OVER" : "" })));
  console.table(lines.map((l) => ({ rows: l.what, "read/s": fmt(l.perS.read), "written/s": fmt(l.perS.written), "$/hour": fmt(lineCost(l) * 3600) })));
  console.log(siteTimeNote(s).replace(/\n/g, " "));
  const cron = cronRows(s);
  console.table(cron.map((x) => ({ what: x.what, "per invocation": cronCell(x, x.value), limit: cronCell(x, x.limit), over: x.over ? "OVER" : "" })));
  console.log(
    `cost: $${c.millionPlays.toFixed(2)} per million plays; $${fmt(c.perPB)} per PB delivered vs $${fmt(c.cdnPerPB)} on a commercial CDN; fill $${fmt(c.fill.total)} a night ($${fmt(c.fillPerPB)} per PB of a day's delivery)`,
  );
  md += `
## ${s.name}

${s.viewers.toLocaleString("en-US")} concurrent viewers, ${s.playsPerS.toLocaleString("en-US")} play starts/s, ${s.segmentS} s segments
(video and audio), steering TTL ${s.steeringTtlS} s, a QoE batch every ${s.qoeEveryS} s, re-probes of ${REPROBE_OCAS} OCAs every ${REPROBE_EVERY_MS / 1000} s (counted as segments), ${Math.round(s.busiestSiteShare * 100)} % of
viewers at the busiest site, ${s.isolates.toLocaleString("en-US")} isolates, catalogue TTL ${s.catalogueTtlS} s (${s.hotTitleChangesPerMin} changes a minute to titles isolates cache), colo hit ratio
${Math.round(s.coloHitRatio * 100)} %, ${s.mbps} Mbps a stream. Assumed for the storage rows and the fill: ${s.sites.toLocaleString("en-US")} sites of ${s.ocasPerSite} OCAs,
each isolate syncing with ${s.sitesPerIsolate} of them, ${fc(s.fillBytesPerOcaPerNight / 1e12)} TB filled into each OCA a night (the catalogue's churn), a day
delivering what ${s.peakHoursPerDay} hours at this peak do.

| what | per second | limit | |
| ---- | ---------: | ----: | - |
${rows.map((x) => `| ${x.what} | ${fmt(x.perS)} | ${x.limit === null ? "—" : x.limit.toLocaleString("en-US")} | ${x.over ? "**over**" : ""} |`).join("\n")}

${siteTimeNote(s)}

The hourly fill cron at its busiest hour, one invocation (counted and timed by \`bench/workerd/cron-cost.test.ts\` on the real
cron, whose run with ${cronCost.planned} sites planning made ${ops(cronCost.planCounts)}; a deployed
round trip assumed ${CRON_ROUND_TRIP_MS} ms; ${Math.round(s.busiestHourSiteShare * 100)} % of sites planning in that hour, assumed; the limits: ${SOURCES.workersLimits}, ${SOURCES.cpuChangelog}):

| what | per invocation | limit | |
| ---- | -------------: | ----: | - |
${cron.map((x) => `| ${x.what} | ${cronCell(x, x.value)} | ${cronCell(x, x.limit)} | ${x.over ? "**over**" : ""} |`).join("\n")}

SQLite rows at this peak (counted rows per item, times the rates above; the basis says which part is assumed):

| rows per second | read | written | cost an hour | basis |
| --------------- | ---: | ------: | -----------: | ----- |
${lines.map((l) => `| ${l.what} | ${fmt(l.perS.read)} | ${fmt(l.perS.written)} | ${usd(lineCost(l) * 3600)} | ${l.basis} |`).join("\n")}
| **all Durable Objects' SQLite** | ${fmt(doTotal.read)} | ${fmt(doTotal.written)} | **${usd(doRowsCost(doTotal) * 3600)}** | |
| **all D1** | ${fmt(d1Total.read)} | ${fmt(d1Total.written)} | **${usd(d1RowsCost(d1Total) * 3600)}** | |

Cost at list prices: **$${c.millionPlays.toFixed(2)} per million plays**: $${c.playCalls.toFixed(2)} of Worker requests and
Durable Object calls (the play, and its start and stop QoE batches, which the SDK sends at once: ${1 + BATCHES_PER_PLAY} requests and ${fc(c.perPlayRequests)} object calls, the
stop's release at the member's object one of them), $${c.playCpu.toFixed(2)} of CPU time and $${c.playDuration.toFixed(2)} of object duration (upper bounds), $${c.playRows.toFixed(2)} of SQLite rows
(${fc(memberRowsPerPlay.written)} written at the member's object, ${fc(siteRowsPerPlay.written)} at the home site, ${fc(batchRows(0).written + R.forwardPerReport.site.written)} for each of the start and stop batches, counted).

**$${fmt(c.perPB)} per petabyte delivered** (${fmt(c.segmentsPerPB / 1e6)} M segment requests, ${fmt(c.seconds)} s of this peak, with the
steering polls, QoE batches and stream touches of the same viewing and the background the same seconds
carry: $${fmt(c.workers)} Worker requests, $${fmt(c.cpu)} Worker CPU time (at the Worker process's CPU per request measured locally by
\`npm run bench:play\`, ${CPU_MS.segmentColoHit} ms a colo-hit segment: an upper bound, as it includes the runtime's own handling), $${fmt(c.dos)} Durable Object calls (QoE batches, touches, ${fmt(r.syncs)} syncs/s, each shard's
alarm and forward), $${fmt(c.duration)} Durable Object duration (every site object and busy event shard active throughout, a member
object ${MEMBER_CALL_MS} ms a touch: assumed, an upper bound), $${fmt(c.r2)} R2 reads (colo misses, OCA probes; egress is free), **$${fmt(c.rowsDo)} Durable Objects' SQLite
rows**, $${fmt(c.rowsD1)} D1 rows) against **$${fmt(c.cdnPerPB)}** on Amazon CloudFront's lowest US tier ($${PRICE.cdnPerGB}/GB,
$${PRICE.cdnPer10kRequests} per 10,000 requests).

**The nightly fill: $${fmt(c.fill.total)} a night** at the assumed churn (${fmt(c.fill.files / 1e6)} M files of ${fmt(segmentBytes(s) / 1e6)} MB, a segment's
size: R2 $${fmt(c.fill.r2)} for ${fmt(c.fill.classA / 1e6)} M class A puts and ${fmt(c.fill.classB / 1e6)} M class B reads of the source and checks of
the copy; the site objects' rows $${fmt(c.fill.rows)}; D1 rows $${fmt(c.fill.d1)}; each as counted per file, the plan's and the alarm runs' own
work spread over one fill's ${R.fillPerFile.files} files), **$${fmt(c.fillPerPB)} per petabyte** of the
${fmt(c.dayPB)} PB a day delivers. Every OCA filling its whole window at its default rate
(${fmt(ceilingBytesPerOca / 1e12)} TB a night: ${fillDefaults.ocaFillRateBps / 1e9} Gbit/s for ${fillDefaults.windowEndHour - fillDefaults.windowStartHour} h, config/topology.json) would cost $${fmt(c.fillCeiling.total)} a night.

**What the OCAs' copies hold in R2: $${fmt(c.storageMonth)} a month** at an assumed ${fc(s.storedBytesPerOca / 1e12)} TB an OCA (${fmt(c.storedGB / 1e6)} PB in
the tier buckets at $${PRICE.r2StoragePerGbMonth}/GB-month; the origin's one copy of the catalogue not counted), **$${fmt(c.storagePerPB)} per petabyte** of
the ${fmt(30 * c.dayPB)} PB a month delivers. With the fill and the storage: **$${fmt(c.perPB + c.fillPerPB + c.storagePerPB)} per petabyte**.
`;
}
const globalReplica = catalogueRefreshPerS(SCENARIOS[1]) * SCENARIOS[1].replicaShare;
const globalPublication = loadPublicationPerS(SCENARIOS[1]);
const globalEveryS = syncEveryMs(isolatesOf(SCENARIOS[1])) / 1000;
const capIsolates = (SYNCS_PER_S_TARGET * MAX_SYNC_EVERY_MS) / 1000;
/** Each scenario's isolates assumed and those its requests' CPU keeps busy (the model's first row). */
const isolateCheck = SCENARIOS.map((s) => ({ s, busy: cpuIsolatesOf(s) }));
md += `
## What is over, and what would fix it
${isolateCheck
  .filter((x) => x.busy > x.s.isolates)
  .map(
    (x) => `
- **Worker isolates**, ${x.s.name}: the scenario assumes ${fc(x.s.isolates)}, but its requests at the CPU per request measured locally
  keep about ${fc(x.busy)} fully busy (an isolate runs one request's JavaScript at a time; the local figures are upper bounds).
  Every rate that multiplies isolates (the site links' syncs and their rows, the views' refresh at D1) is counted at the busy figure, so
  those rates are upper bounds; at the scenario's own count the syncs would be up to ${fmt(x.busy / x.s.isolates)} times fewer.`,
  )
  .join("")}

- **QoE batches** go to one of ${EVENT_SHARDS} event shards of the session's home site (by session id);
  each shard forwards the reported bytes to the site's object once a second, and plays ride the site
  link's sync, so the site's object sees about one call per isolate and per shard a second. A bigger
  busiest site needs more shards (\`EVENT_SHARDS\`).
- **The catalogue view's background refresh** asks D1 one indexed question per colo per half TTL
  (which titles changed since the state its isolates saw: stamps kept by triggers; the same statement brings the
  live topology's version; the answer shared by the colo's isolates through the Cache API,
  \`workers/control/colo-look.ts\`) and reloads only a title that changed, once per colo (\`colo-loads.ts\`: a title's
  context, a version's view, browse lists and plans, keyed by the state their loader saw), so it grows with colos,
  not with titles or isolates (each isolate asking for itself, one question per TTL, its plans and a reload per change,
  would make ${fmt(perIsolateRefreshPerS(SCENARIOS[1]))} a second in the global scenario at its busy isolates). These reads go through D1 sessions
  (\`workers/shared/replica-reads.ts\`): with read replication on (a setting of the database: see the
  README's Deploy) each isolate's replica answers them, and the primary takes only writes and the
  few reads that must see the latest write. On the primary alone that is ${fmt(catalogueRefreshPerS(SCENARIOS[0]))} queries a second at the national peak and
  ${fmt(catalogueRefreshPerS(SCENARIOS[1]))} at the global one${catalogueRefreshPerS(SCENARIOS[1]) > LIMITS.d1PerDatabase ? " (over its rate: at that scale replication is needed)" : ""};
  with replication the busiest replica takes its region's share, ${fmt(globalReplica)} a second in the global scenario${globalReplica > LIMITS.d1PerDatabase ? " (still over: a longer `CATALOGUE_TTL_S` at that scale divides it)" : ""}.
  Where the Cache API keeps nothing (a workers.dev route) each isolate asks for itself, as before.
- **The sites' load publication** writes to D1's steering view, so it is the primary's whatever the replicas:
  one batch per site ${PUBLISH_PACE}, a statement per OCA (counted), ${fmt(globalPublication.statements)} statements a second in ${fmt(globalPublication.batches)}
  batches at ${fmt(SCENARIOS[1].sites)} sites${globalPublication.statements > LIMITS.d1PerDatabase ? ": over the 1,000 a second the D1 limit page's 1 ms a query allows. Each is a one-row upsert by key, and a batch is one transaction, so the primary's time may well be less (not measured) (a longer quiet interval at that scale divides it)" : ""}.
- **The busiest site's object** takes one site-link sync per isolate per interval. It counts the
  isolates syncing with it and asks each for a longer interval past ${SYNCS_PER_S_TARGET} of them (\`workers/shared/sync-pace.ts\`:
  a second up to ${SYNCS_PER_S_TARGET}, ${globalEveryS} s for ${fmt(isolatesOf(SCENARIOS[1]))}, at most ${MAX_SYNC_EVERY_MS / 1000} s: an isolate's pending report is flushed
  within \`waitUntil\`'s 30 s), so it takes about ${SYNCS_PER_S_TARGET} syncs a second up to ${fmt(capIsolates)} isolates. The price is freshness: its health and load reach each isolate
  within the interval rather than a second. Past ${fmt(capIsolates)} isolates (the ${MAX_SYNC_EVERY_MS / 1000} s cap) it takes more than the target, and past
  about ${fmt((LIMITS.doPerObject * MAX_SYNC_EVERY_MS) / 1000)} more than its limit: ${fmt(isolatesOf(SCENARIOS[1]) / (MAX_SYNC_EVERY_MS / 1000))} a second at the global scenario's ${fmt(isolatesOf(SCENARIOS[1]))} busy isolates${isolatesOf(SCENARIOS[1]) / (MAX_SYNC_EVERY_MS / 1000) > LIMITS.doPerObject ? " (over)" : ""}.
  The next step there (not built) is an aggregator per colo and site in front of the site: a colo's isolates
  sync with it, it stores what they report, answers with the site's view it last read, and syncs once a second with the
  site, numbering its own reports, so the site takes a sync per colo (${fmt(SCENARIOS[1].colos)} at the global scenario) whatever the isolates.
  What one sync costs the object does not grow with the site: it reads ${syncRows.small.rowsPerSync} rows of its SQLite at a site
  whose tables hold ${fmt(syncRows.small.n)} rows each (active sessions and files per OCA, views, CMCD, sessions), and
  ${syncRows.large.rowsPerSync} at one whose tables hold ${fmt(syncRows.large.n)} (counted by \`test/site-sync-cost.test.ts\`: traffic signals summed per quarter second,
  each OCA's used bytes kept by triggers, active sessions counted once a second), so ${SYNCS_PER_S_TARGET} syncs a second
  read about ${fmt(SYNCS_PER_S_TARGET * syncRows.large.rowsPerSync)} rows a second.
- **SQLite rows are most of the cost per petabyte.** A row written costs what ${fmt(PRICE.doRowsWrittenPerM / PRICE.doRequestsPerM)} object calls do,
  and every session's entry in a site's sync writes ${fc(R.syncPerSession.site.written)} (its activity on the OCA, its bytes served, its
  CMCD and its viewing history, with their index entries), every QoE batch ${fc(batchRows(0).written + R.forwardPerReport.site.written)} over its life (one row and its
  key's index entry, the forward's row at the site, the delete after 7 days: a batch was a row per event and
  per batch, and a queued report, 13 rows counted so, until the ninth session), and an SDK's re-probe none (its URL says
  \`probe=1\`: the OCA's bytes, no session entry; each probed OCA was an entry of 3 rows). What might cut the
  rest (not measured here): a site keeping sessions' activity in memory (as it counts active sessions once
  a second) and writing it less often than every sync, and a session's CMCD and viewing figures kept in
  one row rather than two tables' rows.
- Play, steering polls and QoE batches make **no D1 query** on the request path, and colo-cache
  hits make **no R2 call** (asserted by the counting test).
`;
const out = path.join(import.meta.dirname, "..", "docs", "capacity.md");
await writeFile(out, md);
console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
