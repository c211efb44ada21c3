/**
 * The fill plan of one site: which titles each OCA should hold tomorrow. Greedy by predicted bytes
 * per stored byte (the knapsack heuristic, near-optimal when titles are small against an OCA), with
 * popular titles copied onto more OCAs so their peak egress fits the OCAs' throughput, copies placed
 * by rendezvous hashing (as steering orders OCAs), and hysteresis so that tomorrow's plan keeps
 * today's copies, on the OCAs that hold them, unless a newcomer is clearly better. Capacity is never
 * exceeded. Deterministic.
 * Pure: no Worker-only or Node-only dependency.
 */
import { rendezvousOrder } from "./hash";
import type { PlanInput, PlanParams, PlanTitle, SitePlan } from "./types";

/** Tuned on the offload benchmark (bench/offload.ts). */
export const DEFAULT_PLAN_PARAMS: PlanParams = {
  keepFactor: 1.25,
  throughputHeadroom: 0.8,
};

/** Copies a held copy's OCA looks at moving elsewhere to keep that copy where it is (see roomByRelocating). */
const MAX_RELOCATIONS = 32;

/** One copy of a title that the planner may place. */
interface Copy {
  title: PlanTitle;
  /** Rendezvous order of the site's OCAs for this title. */
  order: string[];
  /** Copy index (0 = first copy). */
  index: number;
  /** The OCA that holds this copy today, if any. */
  heldOn?: string;
  /** Predicted bytes served per stored byte, boosted by keepFactor when held. */
  key: number;
  /** Peak bits/s this copy is expected to carry. */
  load: number;
  /** A held copy beyond the copies wanted: kept where it is if room is left over, never moved. */
  surplus?: boolean;
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Copies a title needs so that its predicted peak egress fits the OCAs' committed throughput
 * (throughputBps × headroom), counted over the OCAs in the title's rendezvous order (planSite passes
 * those big enough to hold it): at least 1, at most one per OCA.
 */
export function replicasFor(peakBps: number, budgetsInOrder: readonly number[]): number {
  let covered = 0;
  for (let r = 1; r <= budgetsInOrder.length; r++) {
    covered += budgetsInOrder[r - 1];
    if (covered >= peakBps) return r;
  }
  return Math.max(1, budgetsInOrder.length);
}

/**
 * Plans one site's fill. Titles not in `input.titles` (size unknown) and OCAs not in `input.ocas`
 * are dropped from the plan, and appear in `removes`. Titles predicted at zero are kept where held
 * if room is left over, never added.
 */
export function planSite(input: PlanInput): SitePlan {
  const p: PlanParams = { ...DEFAULT_PLAN_PARAMS, ...input.params };
  const ocas = [...input.ocas].sort((a, b) => byId(a.id, b.id));
  const ocaIds = ocas.map((o) => o.id);
  const ocaById = new Map(ocas.map((o) => [o.id, o]));
  const budget = new Map(ocas.map((o) => [o.id, Math.max(0, o.throughputBps) * p.throughputHeadroom]));

  const titles = new Map<string, PlanTitle>();
  for (const t of input.titles) if (t.bytes > 0 && !titles.has(t.titleId)) titles.set(t.titleId, t);

  const heldOn = new Map<string, Set<string>>();
  for (const [ocaId, held] of Object.entries(input.current)) {
    if (!ocaById.has(ocaId)) continue;
    for (const titleId of held) {
      if (!titles.has(titleId)) continue;
      let s = heldOn.get(titleId);
      if (!s) heldOn.set(titleId, (s = new Set()));
      s.add(ocaId);
    }
  }

  // Every copy the site could want, valued by predicted bytes served per stored byte. A title that
  // needs r copies serves 1/r of its demand per copy (each carries a 1/r share of its peak).
  const copies: Copy[] = [];
  for (const title of titles.values()) {
    const predicted = Number.isFinite(title.predictedBytes) ? Math.max(0, title.predictedBytes) : 0;
    const held = heldOn.get(title.titleId);
    if (predicted <= 0 && !held) continue;
    const order = rendezvousOrder(title.titleId, ocaIds);
    const peak = Number.isFinite(title.peakBps) ? Math.max(0, title.peakBps) : 0;
    // Only OCAs that can hold a copy count towards the copies: one drained to capacity 0 (or smaller than
    // the title) never gets its copy, and a copy counted there would halve the value of the one placed.
    const budgets = order.filter((id) => ocaById.get(id)!.capacityBytes >= title.bytes).map((id) => budget.get(id)!);
    // Hysteresis on the copy count as on the copies: a title held on more OCAs than its peak needs keeps
    // the copies a peak keepFactor higher would need. A peak wavering about a copy's threshold otherwise
    // fills that copy one night and gives its room away the next, night after night.
    const needed = replicasFor(peak, budgets);
    const r = held && held.size > needed ? Math.max(needed, Math.min(held.size, replicasFor(peak * p.keepFactor, budgets))) : needed;
    const density = predicted / r / title.bytes;
    // Held copies first, in rendezvous order, so the copies kept are the ones steering prefers.
    const heldInOrder = held ? order.filter((id) => held.has(id)).slice(0, r) : [];
    const wanted = predicted > 0 ? r : heldInOrder.length;
    for (let index = 0; index < wanted; index++) {
      const on = heldInOrder[index];
      copies.push({ title, order, index, heldOn: on, key: on ? density * p.keepFactor : density, load: peak / r });
    }
    // Copies held beyond those wanted (yesterday's peak needed more) stay while room is left over, as a
    // title predicted at zero does: evicted, they free room nobody wants and are filled again the next
    // night the peak needs them.
    if (predicted > 0 && held && held.size > r) {
      const extra = order.filter((id) => held.has(id)).slice(r);
      for (let k = 0; k < extra.length; k++) copies.push({ title, order, index: r + k, heldOn: extra[k], key: 0, load: 0, surplus: true });
    }
  }
  copies.sort((a, b) => b.key - a.key || byId(a.title.titleId, b.title.titleId) || a.index - b.index);

  const free = new Map(ocas.map((o) => [o.id, Math.max(0, o.capacityBytes)]));
  const load = new Map(ocaIds.map((id) => [id, 0]));
  // Per OCA, the titles placed on it, each with its copy's place in the value order (the fill's order).
  const placed = new Map<string, Map<string, number>>(ocaIds.map((id) => [id, new Map()]));
  // Per OCA, the copies placed on it this pass that it does not hold today (each a fill).
  const fresh = new Map<string, Copy[]>(ocaIds.map((id) => [id, []]));
  // By title id, a Map: an id is catalogue data, never a property name to look up.
  const replicas = new Map<string, number>();
  let largestFree = Math.max(0, ...free.values());

  const isHeld = (titleId: string, ocaId: string) => heldOn.get(titleId)?.has(ocaId) ?? false;
  const move = (copy: Copy, ocaId: string, sign: 1 | -1, at = 0) => {
    const size = copy.title.bytes;
    const id = copy.title.titleId;
    free.set(ocaId, free.get(ocaId)! - sign * size);
    load.set(ocaId, load.get(ocaId)! + sign * copy.load);
    if (sign > 0) placed.get(ocaId)!.set(id, at);
    else placed.get(ocaId)!.delete(id);
    if (!isHeld(id, ocaId)) {
      const list = fresh.get(ocaId)!;
      if (sign > 0) list.push(copy);
      else list.splice(list.lastIndexOf(copy), 1);
    }
    largestFree = Math.max(0, ...free.values());
  };
  const place = (copy: Copy, ocaId: string, at: number) => {
    move(copy, ocaId, 1, at);
    replicas.set(copy.title.titleId, (replicas.get(copy.title.titleId) ?? 0) + 1);
  };
  const fitsOn = (copy: Copy, ocaId: string) => free.get(ocaId)! >= copy.title.bytes && !placed.get(ocaId)!.has(copy.title.titleId);
  /** Where a copy goes that is not held where it was: rendezvous order within throughput, else any room. */
  const destination = (copy: Copy, except?: string, withinBudget = false) => {
    const ok = (o: string) => o !== except && fitsOn(copy, o);
    const within = copy.order.find((o) => ok(o) && load.get(o)! + copy.load <= budget.get(o)!);
    return withinBudget ? within : (within ?? copy.order.find(ok));
  };

  /**
   * Makes room on `ocaId` for a copy it holds today by moving copies placed there this pass that it
   * does not hold (a fill wherever they go) to other OCAs with room. Without this, a newcomer ranked
   * above the held copy takes its room and the held copy moves to the room the newcomer could have had:
   * two fills and an eviction where one fill does, every day the ranking crosses. Undone if it cannot
   * free enough; looks at the last MAX_RELOCATIONS copies placed there (least valuable first).
   */
  const roomByRelocating = (copy: Copy, ocaId: string): boolean => {
    const size = copy.title.bytes;
    if (placed.get(ocaId)!.has(copy.title.titleId)) return false;
    const list = fresh.get(ocaId)!;
    const moved: Array<{ copy: Copy; to: string; at: number }> = [];
    // Room for it, within the OCA's peak throughput too: kept where it would overload its OCA, it is no better than a fill.
    const enough = () => free.get(ocaId)! >= size && load.get(ocaId)! + copy.load <= budget.get(ocaId)!;
    for (let i = list.length - 1, tries = 0; i >= 0 && tries < MAX_RELOCATIONS && !enough(); i--, tries++) {
      const other = list[i];
      // Only where its peak throughput is not committed yet: a relocation must not overload an OCA to save a fill.
      const to = destination(other, ocaId, true);
      if (!to) continue;
      const at = placed.get(ocaId)!.get(other.title.titleId)!;
      move(other, ocaId, -1);
      move(other, to, 1, at);
      moved.push({ copy: other, to, at });
    }
    if (enough()) return true;
    for (const m of moved.reverse()) {
      move(m.copy, m.to, -1);
      move(m.copy, ocaId, 1, m.at);
    }
    return false;
  };

  copies.forEach((copy, at) => {
    const size = copy.title.bytes;
    const id = copy.title.titleId;
    if (copy.heldOn && fitsOn(copy, copy.heldOn)) {
      place(copy, copy.heldOn, at);
      return;
    }
    if (copy.surplus) return; // not wanted elsewhere: moving it is a fill for nothing
    // No OCA has room for it. Moving the fills placed where it is held to keep it there saved fills but
    // put them on OCAs whose evening they then overloaded (the simulator's busiest OCA-hour 124 % -> 132 %,
    // OCA-hours over 32 -> 43): not done.
    if (size > largestFree) return;
    if (!(copy.title.predictedBytes > 0)) return; // moving a copy nobody will watch is a wasted fill
    // An OCA that holds the title today and is not counted for another copy (fewer copies wanted than
    // held, or its first choice full) keeps it with no fill; else rendezvous order, skipping OCAs that
    // are full or whose peak throughput is already committed; if every OCA with room is committed,
    // room still beats not holding the title at all.
    // A held OCA whose peak throughput is already committed is no better than a fill: it would be overloaded.
    const target = copy.order.find((o) => isHeld(id, o) && fitsOn(copy, o) && load.get(o)! + copy.load <= budget.get(o)!) ?? destination(copy);
    if (!target) return;
    // A held copy about to move to another OCA's room: what took its room goes there instead.
    if (copy.heldOn && !isHeld(id, target) && roomByRelocating(copy, copy.heldOn)) place(copy, copy.heldOn, at);
    else place(copy, target, at);
  });

  return summarise(input, ocaIds, placed, replicas, titles);
}

function summarise(
  input: PlanInput,
  ocaIds: string[],
  placed: Map<string, Map<string, number>>,
  replicas: ReadonlyMap<string, number>,
  titles: Map<string, PlanTitle>,
): SitePlan {
  const byOca: Record<string, string[]> = {};
  const ranked: Record<string, string[]> = {};
  const usedBytes: Record<string, number> = {};
  const adds: SitePlan["adds"] = [];
  const removes: SitePlan["removes"] = [];
  for (const ocaId of ocaIds) {
    const ids = [...placed.get(ocaId)!.keys()].sort(byId);
    byOca[ocaId] = ids;
    // In the order of the copies' value, most valuable first.
    ranked[ocaId] = [...placed.get(ocaId)!].sort((a, b) => a[1] - b[1]).map(([id]) => id);
    usedBytes[ocaId] = ids.reduce((s, id) => s + titles.get(id)!.bytes, 0);
    const now = new Set(input.current[ocaId] ?? []);
    for (const id of ids) if (!now.has(id)) adds.push({ ocaId, titleId: id });
  }
  for (const ocaId of Object.keys(input.current).sort(byId)) {
    const keep = placed.get(ocaId);
    for (const id of [...new Set(input.current[ocaId])].sort(byId)) if (!keep?.has(id)) removes.push({ ocaId, titleId: id });
  }
  let coveredBytes = 0;
  for (const id of replicas.keys()) {
    const predicted = titles.get(id)!.predictedBytes;
    if (Number.isFinite(predicted) && predicted > 0) coveredBytes += predicted;
  }
  // fromEntries defines own properties: "__proto__" is a key like any other there.
  const sortedReplicas: Record<string, number> = Object.fromEntries([...replicas].sort((a, b) => byId(a[0], b[0])));
  return { byOca, ranked, replicas: sortedReplicas, adds, removes, usedBytes, coveredBytes };
}
