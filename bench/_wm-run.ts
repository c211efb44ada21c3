import { simulate } from "./simulate";
import { cellConfig, cells } from "./matrix";
const name = process.argv[2] ?? "a0.8 c10% t1000";
const cell = cells().find((c) => c.name.startsWith(name))!;
const base: any = {
  seed: 1,
  days: 14,
  warmup: 14,
  alpha: 0.9,
  capacityFraction: 0.1,
  ixpFraction: 0.95,
  titles: 2000,
  sessionsPerSite: 12000,
  fillRateBps: 1e9,
  fillWindowHours: 12,
  policies: ["prediction", "expected", "oracle"],
  sameDayReplan: !process.env.NOREPLAN,
};
const r = simulate(cellConfig(base, cell, Number(process.argv[3] ?? 1)));
const d = (n: string) => r.days[n].slice(14);
const f = (n: string) => (100 * d(n).reduce((s, m) => s + m.embeddedBytes, 0)) / d(n).reduce((s, m) => s + m.totalBytes, 0);
const p = d("prediction");
console.log(
  process.env.NOREPLAN ? "noreplan" : "replan  ",
  cell.name,
  "pred",
  f("prediction").toFixed(2),
  "exp",
  f("expected").toFixed(2),
  "oracle",
  f("oracle").toFixed(2),
  "replans",
  p.map((m) => m.replannedSites).join(","),
  "win",
  Math.max(...p.map((m) => m.maxWindowUse ?? 0)).toFixed(3),
  "over",
  p.reduce((s, m) => s + m.sitesOverWindow, 0),
);
