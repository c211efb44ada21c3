import { World } from "./world";
import { cellConfig, cells } from "./matrix";
const H = Number(process.env.H ?? 10);
const cellName = process.argv[2] ?? "hit";
const cell = cells().find((c) => c.name.startsWith(cellName))!;
const base: any = {
  seed: Number(process.argv[3] ?? 1),
  days: 14,
  warmup: 14,
  alpha: 0.9,
  capacityFraction: 0.1,
  ixpFraction: 0.95,
  titles: 2000,
  sessionsPerSite: 12000,
  fillRateBps: 1e9,
  fillWindowHours: 12,
  policies: [],
};
const w = new World(cellConfig(base, cell, base.seed));
const tv = (a: Float64Array, b: Float64Array) => {
  let ta = 0,
    tb = 0;
  for (let i = 0; i < a.length; i++) {
    ta += a[i];
    tb += b[i];
  }
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] / ta - b[i] / tb);
  return s / 2;
};
for (let k = 0; k < w.totalDays; k++) {
  const demand = w.trace.day(k, w.topo.embedded);
  if (k >= 8) {
    const out: string[] = [];
    for (const [ixp, kids] of w.topo.children) {
      const hist = w.groupHistory.get(ixp)!;
      const ref = new Float64Array(w.titleIds.length);
      for (let j = k - 7; j < k; j++) for (let i = 0; i < ref.length; i++) ref[i] += hist[j][i];
      const partial = new Float64Array(w.titleIds.length);
      let pb = 0,
        tot = 0;
      for (const kid of kids) {
        const d = demand.get(kid.id)!;
        for (let s = 0; s < d.title.length; s++) {
          tot += d.bytes[s];
          if (d.hour[s] < H) {
            partial[d.title[s]] += d.bytes[s];
            pb += d.bytes[s];
          }
        }
      }
      // usual: each of the ref days vs the others
      const us: number[] = [];
      for (let j = k - 7; j < k; j++) {
        const o = new Float64Array(ref.length);
        for (let i = 0; i < ref.length; i++) o[i] = ref[i] - hist[j][i];
        us.push(tv(hist[j], o));
      }
      us.sort((a, b) => a - b);
      for (let i = 0; i < ref.length; i++) {
        const l = w.trace.titles[i].launchDay;
        if (l !== null && l > w.startDay + k - 28) {
          ref[i] = 0;
          partial[i] = 0;
        }
      }
      const order = [...ref.keys()].sort((a, b) => ref[b] - ref[a]);
      let rt = 0;
      for (const v of ref) rt += v;
      let acc = 0;
      let headP = 0;
      let pt = 0;
      for (const v of partial) pt += v;
      for (const i of order) {
        if (acc >= 0.5 * rt) break;
        acc += ref[i];
        headP += partial[i];
      }
      out.push((headP / pt).toFixed(3));
    }
    console.log(k, Math.min(...out.map(Number)).toFixed(3), Math.max(...out.map(Number)).toFixed(3));
  }
  w.record(k, demand);
}
