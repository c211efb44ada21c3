/**
 * The scenario matrix's cells (pure: the simulator's tests and the process pool in matrix.ts both use
 * it): Zipf alpha x embedded capacity x catalogue size, three seeds each, plus a catalogue-wide
 * popularity shift and a region with a taste of its own.
 */
import type { Cell } from "./matrix-report";
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

/** The cells whose names contain one of `parts` (`["c20% t5000"]`); every cell when `parts` is empty. */
export function pickCells(parts: string[]): Cell[] {
  const all = cells();
  return parts.length ? all.filter((c) => parts.some((p) => c.name.includes(p))) : all;
}
