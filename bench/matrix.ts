/**
 * The scenario matrix (`npm run bench:offload -- --matrix`): Zipf alpha x embedded capacity x
 * catalogue size, three seeds each, plus a catalogue-wide popularity shift and a region with a
 * taste of its own; every run simulates every policy. Reports each cell (mean and worst over its
 * seeds) and the worst cell, as a table, bench/out/matrix.json and a heatmap (bench/out/matrix.svg).
 */
import { fork } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { Cell, CellRun } from "./matrix-report";
import type { SimConfig } from "./world";

export const MATRIX = {
  alphas: [0.6, 0.8, 1.0, 1.2],
  capacities: [0.03, 0.1, 0.2],
  titles: [1000, 5000],
  seeds: [1, 2, 3],
};

/** Every cell of the matrix, scenarios last. */
export function cells(): Cell[] {
  const out: Cell[] = [];
  for (const titles of MATRIX.titles)
    for (const capacity of MATRIX.capacities)
      for (const alpha of MATRIX.alphas) out.push({ name: `a${alpha} c${capacity * 100}% t${titles}`, alpha, capacity, titles, scenario: "base" });
  out.push({ name: "hit season (half the catalogue reshuffled)", alpha: 0.9, capacity: 0.1, titles: 2000, scenario: "shift" });
  out.push({ name: "region of its own taste (ixp-fra)", alpha: 0.9, capacity: 0.1, titles: 2000, scenario: "taste" });
  return out;
}

/** The simulator's configuration of one cell and seed, on top of the single run's. */
export function cellConfig(base: SimConfig, cell: Cell, seed: number): SimConfig {
  const cfg: SimConfig = { ...base, seed, alpha: cell.alpha, capacityFraction: cell.capacity, titles: cell.titles };
  // The shift lands after the warm-up, so the predictor meets it with its history.
  if (cell.scenario === "shift") cfg.shift = { day: base.warmup + 3, fraction: 0.5 };
  if (cell.scenario === "taste") cfg.outlier = { ixp: "ixp-fra", sigma: 1.5 };
  return cfg;
}

const runner = fileURLToPath(new URL("./matrix-cell.ts", import.meta.url));

/** Runs every cell and seed, one process per core; `progress` hears of each finished run. */
export async function runMatrix(base: SimConfig, progress: (done: number, total: number, run: CellRun) => void): Promise<CellRun[]> {
  const jobs = cells().flatMap((cell) => MATRIX.seeds.map((seed) => ({ cell, seed })));
  // Big catalogues first, so the pool does not end on one long run.
  jobs.sort((a, b) => b.cell.titles - a.cell.titles);
  const results: CellRun[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { cell, seed } = jobs[next++];
      const out = await new Promise<Omit<CellRun, "cell" | "seed">>((resolve, reject) => {
        const child = fork(runner, [JSON.stringify(cellConfig(base, cell, seed))], { execArgv: ["--import", "tsx"], stdio: "inherit" });
        let got: Omit<CellRun, "cell" | "seed"> | null = null;
        child.on("message", (m) => {
          got = m as Omit<CellRun, "cell" | "seed">;
        });
        child.on("exit", (code) => (got ? resolve(got) : reject(new Error(`${cell.name} seed ${seed}: exit ${code}`))));
      });
      const run = { cell, seed, ...out };
      results.push(run);
      progress(results.length, jobs.length, run);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, availableParallelism()) }, worker));
  return results;
}
