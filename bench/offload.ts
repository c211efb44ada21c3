/**
 * Edge-offload benchmark (`npm run bench:offload`): simulates the trace over the scaled-up topology
 * with four policies at the same capacity and reports, per policy and day after warm-up, the byte
 * share served by embedded sites, IXP sites and origin, nightly fill bytes against the fill window,
 * and replacements. Writes bench/out/offload.json and bench/out/offload.svg.
 *
 *   tsx bench/offload.ts [--seed 1] [--days 28] [--warmup 14] [--alpha 0.9] [--capacity 0.10]
 *                        [--ixp 0.35] [--titles 2000] [--sessions 60000] [--fill-rate-gbps 1] [--worker-timing] [--no-replan]
 *                        [--policies prediction,yesterday,oracle,lru,s3fifo,wtinylfu]
 *                        [--out bench/out] [--quiet]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runMatrix } from "./matrix";
import { MATRIX, pickCells } from "./matrix-cells";
import { heatmap, matrixTable, verdicts } from "./matrix-report";
import { POLICIES, type PolicyName } from "./metrics";
import { evaluate, table, toJson } from "./report";
import { simulate } from "./simulate";
import { chart } from "./svg";
import type { SimConfig } from "./world";

const here = dirname(fileURLToPath(import.meta.url));

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    days: { type: "string", default: "28" },
    warmup: { type: "string", default: "14" },
    alpha: { type: "string", default: "0.9" },
    capacity: { type: "string", default: "0.10" },
    ixp: { type: "string", default: "0.95" },
    titles: { type: "string", default: "2000" },
    // Sessions per embedded site per day (mean): 60,000 sizes its OCAs at 3.4-16 Gbit/s, a 2012 Open
    // Connect appliance; 12,000 (the old default) gave 0.7-3.2 Gbit/s, smaller than any real OCA.
    sessions: { type: "string", default: "60000" },
    "fill-rate-gbps": { type: "string", default: "1" },
    "window-hours": { type: "string", default: "12" },
    "worker-timing": { type: "boolean", default: false },
    "no-replan": { type: "boolean", default: false },
    policies: { type: "string", default: POLICIES.join(",") },
    out: { type: "string", default: join(here, "out") },
    quiet: { type: "boolean", default: false },
    matrix: { type: "boolean", default: false },
    "matrix-days": { type: "string", default: "14" },
    "matrix-cells": { type: "string", default: "" },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  console.log(
    "tsx bench/offload.ts [--seed N] [--days N] [--warmup N] [--alpha A] [--capacity F] [--ixp F] [--titles N]\n" +
      "  [--sessions N] [--fill-rate-gbps G] [--window-hours H] [--worker-timing] [--no-replan]\n" +
      "  [--policies prediction,yesterday,oracle,lru,s3fifo,wtinylfu] [--out DIR] [--quiet]\n" +
      "tsx bench/offload.ts --matrix [--matrix-days 14] [--matrix-cells 'c20% t5000,hit season'] [--warmup N] [--ixp F] ...   (the scenario matrix)",
  );
  process.exit(0);
}

function num(name: string, v: string | undefined, { min = -Infinity, int = false } = {}): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < min || (int && !Number.isInteger(x))) {
    console.error(`--${name}: expected ${int ? "an integer" : "a number"} >= ${min}, got ${v}`);
    process.exit(2);
  }
  return x;
}

const policies = values.policies!.split(",").map((p) => p.trim()) as PolicyName[];
for (const p of policies) {
  if (!POLICIES.includes(p)) {
    console.error(`--policies: unknown policy ${p} (known: ${POLICIES.join(", ")})`);
    process.exit(2);
  }
}

const cfg: SimConfig = {
  seed: num("seed", values.seed, { int: true }),
  days: num("days", values.days, { min: 1, int: true }),
  warmup: num("warmup", values.warmup, { min: 0, int: true }),
  alpha: num("alpha", values.alpha, { min: 0 }),
  capacityFraction: num("capacity", values.capacity, { min: 0 }),
  ixpFraction: num("ixp", values.ixp, { min: 0 }),
  titles: num("titles", values.titles, { min: 10, int: true }),
  sessionsPerSite: num("sessions", values.sessions, { min: 1 }),
  fillRateBps: num("fill-rate-gbps", values["fill-rate-gbps"], { min: 0 }) * 1e9,
  fillWindowHours: num("window-hours", values["window-hours"], { min: 0 }),
  workerTiming: values["worker-timing"],
  sameDayReplan: !values["no-replan"],
  policies,
};

if (values.matrix) {
  await matrix();
  process.exit(0);
}

/** The scenario matrix: every cell and seed in a process pool, then the table, JSON and heatmap. */
async function matrix(): Promise<void> {
  const base: SimConfig = { ...cfg, days: num("matrix-days", values["matrix-days"], { min: 1, int: true }), policies: [...POLICIES] };
  // --matrix-cells: only the cells whose names contain one of these (comma-separated); all by default.
  const only = pickCells(
    (values["matrix-cells"] ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean),
  );
  if (only.length === 0) throw new Error(`--matrix-cells ${values["matrix-cells"]}: no cell's name contains any of these`);
  const t0 = Date.now();
  const runs = await runMatrix(
    base,
    (done, total, r) => {
      const gap = r.summaries.oracle.embeddedShare - r.summaries.prediction.embeddedShare;
      const eta = ((Date.now() - t0) / done) * (total - done);
      console.log(
        `[${String(done).padStart(String(total).length)}/${total}] ${r.cell.name} seed ${r.seed}: gap to oracle ${gap.toFixed(2)}, ` +
          `${(r.elapsedMs / 1000).toFixed(0)} s; about ${Math.ceil(eta / 60_000)} min left`,
      );
    },
    only,
  );
  const vs = verdicts(runs, only);
  const out = resolve(values.out!);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "matrix.json"), JSON.stringify({ config: base, matrix: MATRIX, verdicts: vs, runs }, null, 1));
  writeFileSync(join(out, "matrix.svg"), heatmap(vs, MATRIX.alphas));
  console.log(`\n${runs.length} runs, ${((Date.now() - t0) / 60_000).toFixed(1)} min, IXP capacity ${base.ixpFraction * 100}% of the catalogue\n`);
  console.log(matrixTable(vs));
  console.log(`\nwrote ${join(out, "matrix.json")} and ${join(out, "matrix.svg")}`);
}

const pct = (a: number, b: number) => (b > 0 ? ((100 * a) / b).toFixed(1) : "-");
const run = simulate(cfg, (k, total, today) => {
  if (values.quiet) return;
  const parts = Object.entries(today).map(([name, m]) => `${name} ${pct(m.embeddedBytes, m.totalBytes)}%`);
  console.log(`day ${String(k + 1).padStart(String(total).length)}/${total}${k < cfg.warmup ? " (warm-up)" : ""}  embedded share: ${parts.join(", ")}`);
});

const report = evaluate(run);
const out = resolve(values.out!);
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "offload.json"), JSON.stringify(toJson(run, report), null, 1));
const measured = Object.fromEntries(Object.entries(run.days).map(([name, days]) => [name, days.slice(cfg.warmup)]));
const title = `Edge offload: ${cfg.titles} titles, Zipf ${cfg.alpha}, embedded capacity ${cfg.capacityFraction * 100}% of catalogue (seed ${cfg.seed})`;
writeFileSync(join(out, "offload.svg"), chart(title, measured));

const w = run.world;
console.log(
  `\n${w.trace.titles.length} titles (${(w.trace.catalogueBytes / 1e12).toFixed(1)} TB, ${w.trace.releases.length} releases), ` +
    `${w.topo.embedded.length} embedded + ${w.topo.ixps.length} IXP sites, ${cfg.days} days after ${cfg.warmup} warm-up, ` +
    `${(run.elapsedMs / 1000).toFixed(1)} s\n`,
);
console.log(table(report));
console.log(`\nwrote ${join(out, "offload.json")} and ${join(out, "offload.svg")}`);
