import { env } from "cloudflare:test";
import { expect, it } from "vitest";
import { dayNumber, localHour } from "../../fill/day";
import { median } from "../../shared/stats";
import { runScheduledFill } from "../../workers/control/fill-cycle";
import { topology } from "../../workers/shared/topology";
import { countingCronEnv, subrequests, type CallCounts } from "./counting-cron-env";

/**
 * What a site's turn in the hourly cron (runScheduledFill) costs one invocation: its subrequests (site
 * object calls, D1 statements, R2 operations, counted by a counting env around the real cron) and its
 * wall time, for a site that plans and for one that skips (already planned; outside its window: no
 * call). The cron runs at 02:00 in Berlin, when the Frankfurt and Amsterdam regions (5 sites) open their
 * windows and plan, and the American sites are outside theirs; then at 03:00, when those 5 skip.
 *
 * Wall time is timed on the local runtime, where a call to a site object costs about a millisecond. The
 * sequential round trips each turn waits for are measured too: the same cron with every call delayed
 * by DELAY_MS, less the plain one, over DELAY_MS. The capacity model (bench/scale.ts) adds a deployed
 * round trip for each. Never asserted beyond sanity: `npm run bench:scale` reads the CRON_COST line.
 */

const BERLIN = "Europe/Berlin";
const HOUR = 3_600_000;
/** Delay added to each call, to count the round trips a turn waits for in sequence. */
const DELAY_MS = 100;
const SAMPLES = 3;
const TITLES = 40;
/** Days of history seeded before the first cron's day (the predictor reads 14). */
const HISTORY = 16;

/** 02:00 in Berlin `days` days from now, on the hour. */
function berlin2am(days: number): number {
  let t = Date.now() + days * 86_400_000;
  t -= t % HOUR;
  while (localHour(t, BERLIN) !== 2) t += HOUR;
  return t;
}

/** Calls to site objects in `counts`. */
const siteCalls = (counts: CallCounts) => Object.entries(counts).reduce((s, [k, v]) => s + (k.startsWith("do.") ? v : 0), 0);

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

/** Titles licensed in Germany and the Netherlands, each with a few files' bytes. */
async function seedCatalogue(): Promise<string[]> {
  const ids = Array.from({ length: TITLES }, (_, k) => `cron-cost-${k}`);
  const now = Date.now();
  const statements = ids.flatMap((id, k) => [
    env.DB.prepare("INSERT INTO titles (id, name, duration_s, available_from, updated_at) VALUES (?, ?, 3600, 0, ?)").bind(id, id, now),
    env.DB.prepare("INSERT INTO title_versions (title_id, version, files, bytes, created_at) VALUES (?, 1, 3, ?, ?)").bind(id, 1e8 * (1 + (k % 5)), now),
    ...["DE", "NL"].map((c) => env.DB.prepare("INSERT INTO licences (title_id, country, available_from) VALUES (?, ?, 0)").bind(id, c)),
    ...[0, 1, 2].map((f) =>
      env.DB.prepare("INSERT INTO files (title_id, version, path, bytes, sha256) VALUES (?, 1, ?, ?, 'x')").bind(id, `seg-${f}.m4s`, 1e8 / 3),
    ),
  ]);
  await env.DB.batch(statements);
  return ids;
}

/** The cron at `at`: its counts, its wall ms, and the sites that planned. */
async function cronAt(at: number, delayMs = 0): Promise<{ counts: CallCounts; ms: number; planned: number; skipped: number }> {
  const counts: CallCounts = {};
  const t0 = performance.now();
  // A region at a time: a turn's own cost (the model runs regions CRON_REGION_CONCURRENCY at once itself).
  const reports = await runScheduledFill(countingCronEnv(counts, delayMs), at, { regionConcurrency: 1 });
  const ms = performance.now() - t0;
  const planned = reports.filter((r) => r.ran).length;
  const skipped = reports.filter((r) => !r.ran && r.reason === "already planned for tomorrow").length;
  return { counts, ms, planned, skipped };
}

it("counts and times a site's turn in the hourly cron: planning, and skipping", async () => {
  const region = topology.sites.filter((s) => s.timeZone === BERLIN || s.timeZone === "Europe/Amsterdam");
  const titles = await seedCatalogue();
  const first = dayNumber(berlin2am(20), BERLIN);
  // Thick histories (no region reads its country), a different mix each site.
  for (const s of region)
    for (let d = first - HISTORY; d < first + 2 * SAMPLES; d++)
      for (const [k, t] of titles.entries()) await site(s.id).recordViews(d, t, { plays: 10, bytes: 1e9 * (1 + ((k + s.id.length) % 7)) });

  // The first look of this isolate's topology and catalogue, not a turn's.
  await cronAt(berlin2am(10) + 12 * HOUR);

  const plain: Array<{ ms: number; perSite: number }> = [];
  const delayed: number[] = [];
  let plan: Awaited<ReturnType<typeof cronAt>> | null = null;
  const skipPlain: number[] = [];
  const skipDelayed: number[] = [];
  let skip: Awaited<ReturnType<typeof cronAt>> | null = null;
  for (let k = 0; k < 2 * SAMPLES; k++) {
    const at = berlin2am(20 + k);
    const delay = k < SAMPLES ? 0 : DELAY_MS;
    const run = await cronAt(at, delay);
    expect(run.planned, `day ${k}`).toBe(region.length);
    if (delay === 0) {
      plain.push({ ms: run.ms, perSite: run.ms / run.planned });
      plan ??= run;
    } else delayed.push(run.ms);
    // 03:00: every site of those regions has planned for tomorrow and skips.
    const later = await cronAt(at + HOUR, delay);
    expect(later.skipped, `day ${k}, 03:00`).toBe(region.length);
    if (delay === 0) {
      skipPlain.push(later.ms);
      skip ??= later;
    } else skipDelayed.push(later.ms);
  }
  if (!plan || !skip) throw new Error("no cron ran");
  // The cron's own: its look of the live topology (once an invocation, when its TTL has passed; the tests' TTL is 0).
  const fixed = subrequests(skip.counts) - siteCalls(skip.counts);
  const fixedRounds = fixed;
  const planMs = median(plain.map((p) => p.ms));
  const skipMs = median(skipPlain);
  const out = {
    sites: topology.sites.length,
    planned: plan.planned,
    skipped: skip.skipped,
    invocationSubrequests: fixed,
    planSubrequestsPerSite: (subrequests(plan.counts) - fixed) / plan.planned,
    skipSubrequestsPerSite: (subrequests(skip.counts) - fixed) / skip.skipped,
    planCounts: plan.counts,
    skipCounts: skip.counts,
    planMsPerSite: planMs / plan.planned,
    skipMsPerSite: skipMs / skip.skipped,
    planRoundTripsPerSite: ((median(delayed) - planMs) / DELAY_MS - fixedRounds) / plan.planned,
    skipRoundTripsPerSite: ((median(skipDelayed) - skipMs) / DELAY_MS - fixedRounds) / skip.skipped,
    delayMs: DELAY_MS,
    samples: SAMPLES,
  };
  expect(out.planSubrequestsPerSite).toBeGreaterThan(out.skipSubrequestsPerSite);
  console.log(`CRON_COST ${JSON.stringify(out)}`);
});
