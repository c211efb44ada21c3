/**
 * A hand-written SVG line chart of the measured days: embedded-site byte share per policy (top
 * panel) and origin byte share per policy (bottom panel, its own scale, since it is small).
 */
import type { DayMetrics } from "./metrics";

const COLOURS: Record<string, string> = {
  prediction: "#1f77b4",
  lru: "#d62728",
  s3fifo: "#9467bd",
  wtinylfu: "#8c564b",
  yesterday: "#ff7f0e",
  oracle: "#2ca02c",
  expected: "#17becf",
};
const DASHES: Record<string, string> = { oracle: "6 4", expected: "6 4", yesterday: "2 3" };

const W = 960;
const H = 580;
const LEFT = 70;
const RIGHT = 150;
const TOP = 50;
const GAP = 60;
const PANEL_TOP = 320;
const PANEL_BOTTOM = 170;

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** "Nice" upper bound and tick step for an axis from 0 (or lo) to max. */
function ticks(lo: number, hi: number, count = 5): number[] {
  const span = Math.max(hi - lo, 1e-9);
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-6; v += step) out.push(Number(v.toFixed(6)));
  return out;
}

interface Panel {
  title: string;
  y0: number;
  height: number;
  value: (d: DayMetrics) => number;
}

function panel(p: Panel, series: Record<string, DayMetrics[]>, dates: string[]): string {
  const all = Object.values(series).flatMap((days) => days.map(p.value));
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (p.title.startsWith("Origin")) lo = 0;
  else lo = Math.max(0, Math.floor((lo - 2) / 5) * 5);
  hi = Math.max(hi, lo + 0.5);
  let yt = ticks(lo, hi);
  const step = yt.length > 1 ? yt[1] - yt[0] : 1;
  if (yt[yt.length - 1] < hi) yt = [...yt, Number((yt[yt.length - 1] + step).toFixed(6))];
  lo = yt[0];
  hi = yt[yt.length - 1];
  const plotW = W - LEFT - RIGHT;
  const x = (i: number) => LEFT + (dates.length > 1 ? (i * plotW) / (dates.length - 1) : plotW / 2);
  const y = (v: number) => p.y0 + p.height - ((v - lo) / (hi - lo)) * p.height;
  const out: string[] = [];
  out.push(`<text x="${LEFT}" y="${p.y0 - 10}" font-size="14" font-weight="bold">${esc(p.title)}</text>`);
  for (const v of yt) {
    out.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${LEFT - 8}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end">${v}%</text>`);
  }
  const every = Math.max(1, Math.ceil(dates.length / 10));
  dates.forEach((d, i) => {
    if (i % every !== 0) return;
    out.push(`<line x1="${x(i).toFixed(1)}" x2="${x(i).toFixed(1)}" y1="${p.y0 + p.height}" y2="${p.y0 + p.height + 4}" stroke="#888"/>`);
    out.push(`<text x="${x(i).toFixed(1)}" y="${p.y0 + p.height + 17}" font-size="10" text-anchor="middle">${d.slice(5)}</text>`);
  });
  out.push(`<rect x="${LEFT}" y="${p.y0}" width="${plotW}" height="${p.height}" fill="none" stroke="#888"/>`);
  for (const [name, days] of Object.entries(series)) {
    const pts = days.map((d, i) => `${x(i).toFixed(1)},${y(p.value(d)).toFixed(1)}`).join(" ");
    const dash = DASHES[name] ? ` stroke-dasharray="${DASHES[name]}"` : "";
    out.push(`<polyline points="${pts}" fill="none" stroke="${COLOURS[name] ?? "#000"}" stroke-width="2"${dash}/>`);
  }
  return out.join("\n");
}

/** The chart as an SVG document. */
export function chart(title: string, series: Record<string, DayMetrics[]>): string {
  const dates = Object.values(series)[0]?.map((d) => d.date) ?? [];
  const share = (f: (d: DayMetrics) => number) => (d: DayMetrics) => (d.totalBytes > 0 ? (100 * f(d)) / d.totalBytes : 0);
  const body = [
    panel({ title: "Embedded-site byte share per day", y0: TOP, height: PANEL_TOP - TOP - GAP / 2, value: share((d) => d.embeddedBytes) }, series, dates),
    panel({ title: "Origin byte share per day", y0: PANEL_TOP + GAP / 2, height: PANEL_BOTTOM, value: share((d) => d.originBytes) }, series, dates),
  ];
  const legend = Object.keys(series).map((name, i) => {
    const ly = TOP + 10 + i * 22;
    const dash = DASHES[name] ? ` stroke-dasharray="${DASHES[name]}"` : "";
    return `<line x1="${W - RIGHT + 15}" x2="${W - RIGHT + 45}" y1="${ly}" y2="${ly}" stroke="${COLOURS[name] ?? "#000"}" stroke-width="2"${dash}/><text x="${W - RIGHT + 52}" y="${ly + 4}" font-size="12">${esc(name)}</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" font-size="16" text-anchor="middle">${esc(title)}</text>`,
    ...body,
    ...legend,
    `</svg>`,
    "",
  ].join("\n");
}
