/**
 * The scenario matrix (`npm run bench:offload -- --matrix`): Zipf alpha x embedded capacity x
 * catalogue size, three seeds each, plus a catalogue-wide popularity shift and a region with a
 * taste of its own; every run simulates every policy. Reports each cell (mean and worst over its
 * seeds) and the worst cell, as a table, bench/out/matrix.json and a heatmap (bench/out/matrix.svg).
 */
import { fork } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { cellConfig, cells, MATRIX } from "./matrix-cells";
import type { Cell, CellRun } from "./matrix-report";
import type { SimConfig } from "./world";

const runner = fileURLToPath(new URL("./matrix-cell.ts", import.meta.url));

/** Runs every cell (of `only`, by default all) and seed, one process per core; `progress` hears of each finished run. */
export async function runMatrix(base: SimConfig, progress: (done: number, total: number, run: CellRun) => void, only: Cell[] = cells()): Promise<CellRun[]> {
  const jobs = only.flatMap((cell) => MATRIX.seeds.map((seed) => ({ cell, seed })));
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
