/** The benchmark's verdict: per-policy summaries, the targets, the terminal table, the JSON. */
import { REACTIVE, summarise, type DayMetrics, type PolicyName, type Summary } from "./metrics";
import type { SimRun } from "./simulate";
import { DEFAULT_PLAN_PARAMS } from "../fill/plan";
import { DEFAULT_PREDICT_PARAMS } from "../fill/predict";
import { DEFAULT_TRACE, hoursShare, PEAK_HOUR_SHARE } from "./trace";

export interface Target {
  name: string;
  met: boolean;
  detail: string;
}

export interface Report {
  summaries: Record<string, Summary>;
  targets: Target[];
}

const TB = 1e12;
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

/** The best reactive cache's summary (highest embedded share), if any ran. */
export function bestReactive(summaries: Record<string, Summary>): { name: string; summary: Summary } | null {
  let best: { name: string; summary: Summary } | null = null;
  for (const name of REACTIVE) {
    const summary = summaries[name];
    if (summary && (!best || summary.embeddedShare > best.summary.embeddedShare)) best = { name, summary };
  }
  return best;
}

/** Summaries of the measured days (after warm-up) and the targets of issues 3 and 12. */
export function evaluate(run: SimRun): Report {
  const warmup = run.world.cfg.warmup;
  const summaries: Record<string, Summary> = {};
  for (const [name, days] of Object.entries(run.days)) summaries[name] = summarise(days.slice(warmup));
  const targets: Target[] = [];
  const p = summaries.prediction;
  if (p) {
    const o = summaries.oracle;
    if (o) {
      const gap = o.embeddedShare - p.embeddedShare;
      targets.push({
        name: "embedded share within 3 points of the oracle",
        met: gap <= 3,
        detail: `oracle ${f2(o.embeddedShare)}% - prediction ${f2(p.embeddedShare)}% = ${f2(gap)} points`,
      });
    }
    const best = bestReactive(summaries);
    if (best) {
      const lead = p.embeddedShare - best.summary.embeddedShare;
      targets.push({
        name: "embedded share no more than 0.5 points below the best reactive cache",
        met: lead >= -0.5,
        detail: `prediction ${f2(p.embeddedShare)}% - ${best.name} ${f2(best.summary.embeddedShare)}% = ${f2(lead)} points`,
      });
    }
    const e = summaries.expected;
    if (o && e) {
      targets.push({
        name: "(for reference) gap that is chance: oracle minus the expected-demand planner",
        met: true,
        detail: `oracle ${f2(o.embeddedShare)}% - expected ${f2(e.embeddedShare)}% = ${f2(o.embeddedShare - e.embeddedShare)} points; prediction is ${f2(e.embeddedShare - p.embeddedShare)} behind expected`,
      });
    }
    targets.push({
      name: "origin share under 1% (misses to the parent IXP site only)",
      met: p.originShare < 1,
      detail: `${p.originShare.toFixed(3)}% (worst day ${p.maxOriginShareDay.toFixed(3)}%)`,
    });
    targets.push({
      name: "every night's fill inside its window",
      met: p.nightsInWindow === p.nights,
      detail: `${p.nightsInWindow}/${p.nights} nights; busiest OCA used ${f1(100 * (p.maxWindowUse ?? 0))}% of its ${run.world.cfg.fillWindowHours} h window at ${run.world.cfg.fillRateBps / 1e9} Gbps`,
    });
  }
  return { summaries, targets };
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
}

/** The terminal table (one row per policy) and the targets. */
export function table(report: Report): string {
  const header = [
    "policy",
    "embedded %",
    "min..max",
    "IXP %",
    "origin %",
    "missed req %",
    "peak upstream %",
    "peak-hour upstream %",
    "peak fill TB/day",
    "launch-day emb %",
    "fill TB/night",
    "window max",
    "nights ok",
    "OCA peak use",
    "OCA-h over",
    "removes/night emb | ixp",
  ];
  const rows = Object.entries(report.summaries).map(([name, s]) => [
    name,
    f2(s.embeddedShare),
    `${f1(s.embeddedShareMin)}..${f1(s.embeddedShareMax)}`,
    f2(s.ixpShare),
    s.originShare.toFixed(3),
    f1(s.missedRequestShare),
    f1(s.peakUpstreamShare),
    f1(s.peakHourUpstreamShare),
    f2(s.peakFillBytesPerDay / TB),
    f1(s.releaseDayEmbeddedShare),
    f2(s.fillBytesPerNight / TB) + (REACTIVE.includes(name as PolicyName) ? "*" : ""),
    s.maxWindowUse === null ? "n/a" : `${f1(100 * s.maxWindowUse)}%`,
    s.maxWindowUse === null ? "n/a" : `${s.nightsInWindow}/${s.nights}`,
    s.maxOcaPeakUse === null ? "n/a" : `${f1(100 * s.maxOcaPeakUse)}%`,
    s.ocaHoursOver === null ? "n/a" : String(s.ocaHoursOver),
    `${f1(s.embeddedRemovesPerNight)} | ${f1(s.ixpRemovesPerNight)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const lines = [pad(header, widths), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map((r) => pad(r, widths))];
  lines.push("* reactive caches copy whole titles on misses, at request time (evening peak included), not in the fill window.");
  lines.push("A miss goes to the parent IXP site only, else origin. Evening peak: 19:00-23:00 local. OCA peak use: the busiest");
  lines.push("OCA-hour's egress over its throughput (reactive caches are one cache per site: n/a).");
  lines.push("");
  for (const t of report.targets) lines.push(`${t.met ? "MET    " : "NOT MET"}  ${t.name}: ${t.detail}`);
  return lines.join("\n");
}

/** Everything the run measured, for bench/out/offload.json. */
export function toJson(run: SimRun, report: Report): unknown {
  const w = run.world;
  const site = (s: (typeof w.topo.sites)[number]) => ({
    id: s.id,
    tier: s.tier,
    region: s.region,
    parent: s.parent ?? null,
    timeZone: s.timeZone,
    ocas: s.ocas.length,
    capacityBytes: s.ocas.reduce((a, o) => a + o.capacityBytes, 0),
    ocaThroughputBps: s.ocas[0]?.throughputBps ?? 0,
    sessionsPerDay: s.sessionsPerDay,
  });
  const days: Record<string, DayMetrics[]> = {};
  for (const [name, d] of Object.entries(run.days)) days[name] = d;
  return {
    config: w.cfg,
    predictParams: { ...DEFAULT_PREDICT_PARAMS, ...w.cfg.predict },
    planParams: { ...DEFAULT_PLAN_PARAMS, ...w.cfg.plan },
    trace: {
      ...DEFAULT_TRACE,
      titles: w.trace.titles.length,
      catalogueBytes: w.trace.catalogueBytes,
      releases: w.trace.releases.length,
      meanSessionBytes: Math.round(w.trace.meanSessionBytes),
      peakHourShare: PEAK_HOUR_SHARE,
      fillWindowShareOfViewing: hoursShare(2, 14),
      firstMeasuredDate: w.date(w.cfg.warmup),
    },
    topology: w.topo.sites.map(site),
    summaries: report.summaries,
    targets: report.targets,
    days,
    elapsedMs: run.elapsedMs,
  };
}
