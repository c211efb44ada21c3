/** The benchmark's verdict: per-policy summaries, the targets, the terminal table, the JSON. */
import { summarise, type DayMetrics, type Summary } from "./metrics";
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

/** Summaries of the measured days (after warm-up) and the targets of issue 3. */
export function evaluate(run: SimRun): Report {
  const warmup = run.world.cfg.warmup;
  const summaries: Record<string, Summary> = {};
  for (const [name, days] of Object.entries(run.days)) summaries[name] = summarise(days.slice(warmup));
  const targets: Target[] = [];
  const p = summaries.prediction;
  if (p) {
    const o = summaries.oracle;
    const l = summaries.lru;
    if (o) {
      const gap = o.embeddedShare - p.embeddedShare;
      targets.push({
        name: "embedded share within 3 points of the oracle",
        met: gap <= 3,
        detail: `oracle ${f2(o.embeddedShare)}% - prediction ${f2(p.embeddedShare)}% = ${f2(gap)} points`,
      });
    }
    if (l) {
      const lead = p.embeddedShare - l.embeddedShare;
      targets.push({
        name: "embedded share at least 5 points ahead of LRU",
        met: lead >= 5,
        detail: `prediction ${f2(p.embeddedShare)}% - LRU ${f2(l.embeddedShare)}% = ${f2(lead)} points`,
      });
    }
    targets.push({
      name: "origin share under 1%",
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
export function table(run: SimRun, report: Report): string {
  const header = [
    "policy",
    "embedded %",
    "min..max",
    "IXP % (parent, other region)",
    "origin %",
    "fill TB/night",
    "from origin",
    "window max",
    "nights ok",
    "removes/night emb | ixp",
    "max copies",
  ];
  const rows = Object.entries(report.summaries).map(([name, s]) => [
    name,
    f2(s.embeddedShare),
    `${f1(s.embeddedShareMin)}..${f1(s.embeddedShareMax)}`,
    `${f2(s.ixpShare)} (${f2(s.ixpParentShare)}, ${f2(s.ixpCrossRegionShare)})`,
    s.originShare.toFixed(3),
    f2(s.fillBytesPerNight / TB) + (name === "lru" ? "*" : ""),
    f2(s.fillFromOriginPerNight / TB),
    s.maxWindowUse === null ? "n/a" : `${f1(100 * s.maxWindowUse)}%`,
    s.maxWindowUse === null ? "n/a" : `${s.nightsInWindow}/${s.nights}`,
    `${f1(s.embeddedRemovesPerNight)} | ${f1(s.ixpRemovesPerNight)}`,
    String(s.maxReplicas),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const lines = [pad(header, widths), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map((r) => pad(r, widths))];
  lines.push("* LRU fills whole titles on misses, at request time (peak hours), not in the fill window.");
  if (run.world.cfg.fallback === "steering") {
    lines.push("IXP: a miss goes to the parent IXP site, else (as steering ranks every IXP site by distance) to any IXP site");
    lines.push("holding the title; planned IXP sites share the catalogue between them. LRU misses go to the parent only.");
  } else {
    lines.push("IXP: a miss goes to the parent IXP site only, else origin (--fallback parent).");
  }
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
