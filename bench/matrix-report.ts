/** The scenario matrix's verdict: per-cell figures over seeds, the worst cell, the table, the heatmap. */
import type { Summary } from "./metrics";
import { bestReactive, type Target } from "./report";

export interface Cell {
  /** "a0.8 c10% t5000", or a scenario's name. */
  name: string;
  alpha: number;
  capacity: number;
  titles: number;
  scenario: "base" | "shift" | "taste";
}

export interface CellRun {
  cell: Cell;
  seed: number;
  summaries: Record<string, Summary>;
  targets: Target[];
  elapsedMs: number;
}

export interface CellVerdict {
  cell: Cell;
  seeds: number[];
  /** Oracle's embedded share minus prediction's, mean and worst (largest) over seeds. */
  gapToOracle: { mean: number; worst: number };
  /**
   * Of the gap to the oracle, the part that is chance (oracle minus the expected-demand planner), and
   * prediction's gap to that planner (the best any predictor can do), worst over seeds.
   */
  chance: { mean: number };
  gapToExpected: { mean: number; worst: number };
  /** Prediction's embedded share minus the best reactive cache's, mean and worst (smallest) over seeds. */
  leadOverReactive: { mean: number; worst: number; best: string };
  originWorst: number;
  nightsInWindow: boolean;
  /** Means over seeds, prediction beside the best reactive cache of each seed. */
  prediction: Pick<Summary, "embeddedShare" | "peakUpstreamShare" | "peakFillBytesPerDay" | "releaseDayEmbeddedShare" | "missedRequestShare"> & {
    ocaHoursOver: number;
  };
  reactive: Pick<Summary, "embeddedShare" | "peakUpstreamShare" | "peakFillBytesPerDay" | "releaseDayEmbeddedShare" | "missedRequestShare">;
  met: boolean;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const PICK = ["embeddedShare", "peakUpstreamShare", "peakFillBytesPerDay", "releaseDayEmbeddedShare", "missedRequestShare"] as const;

/** Folds each cell's seeds into one verdict, in matrix order. */
export function verdicts(runs: CellRun[], order: Cell[]): CellVerdict[] {
  return order.map((cell) => {
    const mine = runs.filter((r) => r.cell.name === cell.name).sort((a, b) => a.seed - b.seed);
    const gaps = mine.map((r) => r.summaries.oracle.embeddedShare - r.summaries.prediction.embeddedShare);
    const expected = mine.map((r) => r.summaries.expected?.embeddedShare ?? Number.NaN);
    const chance = mine.map((r, i) => r.summaries.oracle.embeddedShare - expected[i]);
    const toExpected = mine.map((r, i) => expected[i] - r.summaries.prediction.embeddedShare);
    const best = mine.map((r) => bestReactive(r.summaries)!);
    const leads = mine.map((r, i) => r.summaries.prediction.embeddedShare - best[i].summary.embeddedShare);
    const avg = (of: (r: CellRun, i: number) => Summary) =>
      Object.fromEntries(PICK.map((k) => [k, mean(mine.map((r, i) => of(r, i)[k]))])) as CellVerdict["reactive"];
    const names = [...new Set(best.map((b) => b.name))].join("/");
    const v: CellVerdict = {
      cell,
      seeds: mine.map((r) => r.seed),
      gapToOracle: { mean: mean(gaps), worst: Math.max(...gaps) },
      chance: { mean: mean(chance) },
      gapToExpected: { mean: mean(toExpected), worst: Math.max(...toExpected) },
      leadOverReactive: { mean: mean(leads), worst: Math.min(...leads), best: names },
      originWorst: Math.max(...mine.map((r) => r.summaries.prediction.originShare)),
      nightsInWindow: mine.every((r) => r.summaries.prediction.nightsInWindow === r.summaries.prediction.nights),
      prediction: { ...avg((r) => r.summaries.prediction), ocaHoursOver: mean(mine.map((r) => r.summaries.prediction.ocaHoursOver ?? 0)) },
      reactive: avg((_r, i) => best[i].summary),
      met: false,
    };
    v.met = v.gapToOracle.worst <= 3 && v.leadOverReactive.worst >= -0.5 && v.originWorst < 1 && v.nightsInWindow;
    return v;
  });
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

/** The terminal (and README) table: one row per cell, then the worst cell. */
export function matrixTable(vs: CellVerdict[]): string {
  const header = [
    "cell",
    "gap to oracle mean / worst",
    "of it chance",
    "gap to expected worst",
    "vs best reactive mean / worst",
    "origin % worst",
    "fill in window",
    "peak upstream % pred / reactive",
    "peak fill TB/day pred / reactive",
    "launch-day emb % pred / reactive",
    "missed req % pred / reactive",
    "OCA-h over",
    "targets",
  ];
  const rows = vs.map((v) => [
    v.cell.name,
    `${f2(v.gapToOracle.mean)} / ${f2(v.gapToOracle.worst)}`,
    f2(v.chance.mean),
    f2(v.gapToExpected.worst),
    `${f2(v.leadOverReactive.mean)} / ${f2(v.leadOverReactive.worst)} (${v.leadOverReactive.best})`,
    v.originWorst.toFixed(3),
    v.nightsInWindow ? "yes" : "NO",
    `${f1(v.prediction.peakUpstreamShare)} / ${f1(v.reactive.peakUpstreamShare)}`,
    `${f2(v.prediction.peakFillBytesPerDay / 1e12)} / ${f2(v.reactive.peakFillBytesPerDay / 1e12)}`,
    `${f1(v.prediction.releaseDayEmbeddedShare)} / ${f1(v.reactive.releaseDayEmbeddedShare)}`,
    `${f1(v.prediction.missedRequestShare)} / ${f1(v.reactive.missedRequestShare)}`,
    f1(v.prediction.ocaHoursOver),
    v.met ? "met" : "NOT MET",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  const out = [line(header), `|${widths.map((w, i) => (i === 0 ? "-" : "-").repeat(w + 2)).join("|")}|`, ...rows.map(line)];
  const worstGap = vs.reduce((a, b) => (b.gapToOracle.worst > a.gapToOracle.worst ? b : a));
  const worstLead = vs.reduce((a, b) => (b.leadOverReactive.worst < a.leadOverReactive.worst ? b : a));
  const worstOrigin = vs.reduce((a, b) => (b.originWorst > a.originWorst ? b : a));
  out.push("");
  out.push(`worst gap to the oracle: ${f2(worstGap.gapToOracle.worst)} points (${worstGap.cell.name}); target <= 3`);
  out.push(`worst lead over the best reactive cache: ${f2(worstLead.leadOverReactive.worst)} points (${worstLead.cell.name}); target >= -0.5`);
  out.push(`worst origin share: ${worstOrigin.originWorst.toFixed(3)}% (${worstOrigin.cell.name}); target < 1`);
  const worstExpected = vs.reduce((a, b) => (b.gapToExpected.worst > a.gapToExpected.worst ? b : a));
  out.push(
    `worst gap to the expected-demand planner (the best a predictor can do): ${f2(worstExpected.gapToExpected.worst)} points (${worstExpected.cell.name})`,
  );
  out.push(`cells meeting every target: ${vs.filter((v) => v.met).length}/${vs.length}`);
  return out.join("\n");
}

/** Green at 0, yellow at the target, red at twice it (values past the target in the wrong direction). */
function colour(bad: number, limit: number): string {
  const t = Math.max(0, Math.min(1, bad / (2 * limit)));
  const hue = 120 * (1 - t);
  return `hsl(${hue.toFixed(0)}, 70%, 60%)`;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Two heatmaps (gap to the oracle, lead over the best reactive cache), worst over seeds, one square per cell. */
export function heatmap(vs: CellVerdict[], alphas: number[]): string {
  const base = vs.filter((v) => v.cell.scenario === "base");
  const rowsOf = [...new Set(base.map((v) => `${v.cell.titles} titles, ${v.cell.capacity * 100}%`))];
  const scenarios = vs.filter((v) => v.cell.scenario !== "base");
  const CW = 70;
  const CH = 34;
  const LEFT = 150;
  const TOP = 70;
  const panelW = LEFT + alphas.length * CW + 40;
  const gridH = (rowsOf.length + 1 + scenarios.length) * CH;
  const W = 2 * panelW;
  const H = TOP + gridH + 60;
  const parts: string[] = [];
  const panels: Array<{ title: string; value: (v: CellVerdict) => number; bad: (x: number) => number; limit: number }> = [
    { title: "Gap to the oracle (points, worst seed; target <= 3)", value: (v) => v.gapToOracle.worst, bad: (x) => Math.max(0, x), limit: 3 },
    {
      title: "Lead over the best reactive cache (points, worst seed; target >= -0.5)",
      value: (v) => v.leadOverReactive.worst,
      // Yellow at the target (-0.5), green from 2.5 points ahead, red from 3.5 behind.
      bad: (x) => Math.max(0, 2.5 - x),
      limit: 3,
    },
  ];
  panels.forEach((p, k) => {
    const x0 = k * panelW;
    parts.push(`<text x="${x0 + 10}" y="${TOP - 40}" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
    alphas.forEach((a, j) => {
      parts.push(`<text x="${x0 + LEFT + j * CW + CW / 2}" y="${TOP - 10}" font-size="12" text-anchor="middle">Zipf ${a}</text>`);
    });
    const cellAt = (row: number, col: number, v: CellVerdict) => {
      const x = x0 + LEFT + col * CW;
      const y = TOP + row * CH;
      const val = p.value(v);
      parts.push(`<rect x="${x}" y="${y}" width="${CW - 2}" height="${CH - 2}" fill="${colour(p.bad(val), p.limit)}"/>`);
      parts.push(`<text x="${x + CW / 2 - 1}" y="${y + CH / 2 + 4}" font-size="12" text-anchor="middle">${val.toFixed(2)}</text>`);
    };
    rowsOf.forEach((label, row) => {
      parts.push(`<text x="${x0 + LEFT - 8}" y="${TOP + row * CH + CH / 2 + 4}" font-size="12" text-anchor="end">${esc(label)}</text>`);
      alphas.forEach((a, col) => {
        const v = base.find((c) => `${c.cell.titles} titles, ${c.cell.capacity * 100}%` === label && c.cell.alpha === a);
        if (v) cellAt(row, col, v);
      });
    });
    scenarios.forEach((v, i) => {
      const row = rowsOf.length + 1 + i;
      parts.push(
        `<text x="${x0 + LEFT - 8}" y="${TOP + row * CH + CH / 2 + 4}" font-size="11" text-anchor="end">${esc(v.cell.scenario === "shift" ? "hit season" : "own-taste region")}</text>`,
      );
      cellAt(row, 0, v);
      parts.push(`<text x="${x0 + LEFT + CW + 6}" y="${TOP + row * CH + CH / 2 + 4}" font-size="11">Zipf ${v.cell.alpha}, 2000 titles, 10%</text>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>${parts.join("")}<text x="10" y="${H - 20}" font-size="11">Rows: catalogue size, embedded capacity as a share of catalogue bytes. Green: well inside the target; yellow: at it; red: past it.</text></svg>`;
}
