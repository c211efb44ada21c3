import { dayNumber, localDayStart, localHour, localHourStart } from "../../fill/day";
import { childMisses, ixpPlanTitles, type ChildOutlook } from "../../fill/ixp-plan";
import { peakBps, peakHourShare, shareBefore } from "../../fill/peak-shape";
import { type LicensedSpan, licensedShare } from "../../fill/licensed-share";
import { planSite } from "../../fill/plan";
import { DEFAULT_PREDICT_PARAMS, forecast, HISTORY_DAYS } from "../../fill/predict";
import { shiftCheckHour } from "../../fill/shift";
import type { PlanOca, PlanTitle, PredictInput, Prediction, SitePlan } from "../../fill/types";
import { fillWindow, findSite, regionGroup, servedCountries, topology, type SiteSpec } from "../shared/topology";
import { liveTopology } from "../shared/topology-live";
import { withTimeout } from "../shared/with-timeout";
import { siteStub } from "../shared/site-link";
import { catalogueDb } from "../shared/catalogue-db";
import { CRON_REGION_CONCURRENCY, SITE_CYCLE_TIMEOUT_MS } from "./cron-pool";
import { eachBounded } from "./each-bounded";

/** Days of history the predictor sees (and the peak shape is learned from). */
export { HISTORY_DAYS };
const DAY_MS = 86_400_000;
/** How long the planner waits for one site's history before planning without it. */
const HISTORY_TIMEOUT_MS = 5_000;

export interface CycleOptions {
  /** Run even outside the window or when today's plan exists (operators' "run now"). */
  force?: boolean;
  fillRateBps?: number;
  peerWaitMs?: number;
  parentWaitMs?: number;
  /** The caller gives the cycle up at this instant (ms): the site refuses its plan after it. */
  applyBy?: number;
}

export type CycleReport =
  | { siteId: string; ran: false; reason: string }
  | {
      siteId: string;
      ran: true;
      targetDay: number;
      titlesConsidered: number;
      predictedBytes: number;
      coveredBytes: number;
      /** Share of a day's bytes in the site's busiest local hour, learned from its hourly history. */
      peakShare: number;
      /** IXP sites: bytes the children are predicted to miss after their own fill. */
      childMissBytes?: number;
      /** A same-day re-plan: the morning showed a shift of the region's mix. */
      sameDay?: boolean;
      /** Copies per title: the REPLICAS_LISTED titles with the most. */
      replicas: Record<string, number>;
      adds: number;
      removes: number;
      /** Files queued once the plan was applied; the planned titles still to queue follow as the fill goes (`titlesToQueue`). */
      queuedFiles: number;
      queuedBytes: number;
      titlesToQueue: number;
      fillUntil: string;
      predictions: Prediction[];
    };

/** Titles whose copies a cycle's figures list, at most (see mostReplicated). */
export const REPLICAS_LISTED = 100;

/**
 * The titles with the most copies in a plan, most first (then by id), at most REPLICAS_LISTED: the
 * cycle's figures are kept with the site's plan and answered on every dashboard refresh, and a copy
 * count per title of the catalogue grew with it (about 2 MB, one stored value's limit, at 70,000 titles).
 */
export function mostReplicated(replicas: Record<string, number>, limit = REPLICAS_LISTED): Record<string, number> {
  const top = Object.entries(replicas)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limit);
  return Object.fromEntries(top);
}

/** Is `hour` inside [start, end) of a window that may wrap midnight? */
export function inWindow(hour: number, w: { startHour: number; endHour: number }): boolean {
  return w.startHour <= w.endHour ? hour >= w.startHour && hour < w.endHour : hour >= w.startHour || hour < w.endHour;
}

/**
 * The local day a site's fill window opened on: today, or yesterday in the hours after midnight of a
 * window that wraps it (22:00-06:00 at 03:00). A window plans once, for the day after it opened.
 */
export function windowDay(now: number, timeZone: string, w: { startHour: number; endHour: number }): number {
  const today = dayNumber(now, timeZone);
  return w.startHour > w.endHour && localHour(now, timeZone) < w.endHour ? today - 1 : today;
}

/**
 * Site objects' answers already asked for in one cycle (histories, hourly bytes), by what was asked:
 * an IXP site's cycle plans for itself and each child, and they all read the same region.
 */
/**
 * Reads shared by the cycles of one region (the map itself), and sums shared by every region of one
 * cron run (`run`: a thin region's whole country, the same for each region of that country).
 */
export class CycleMemo extends Map<string, Promise<unknown>> {
  constructor(readonly run: Map<string, Promise<unknown>> = new Map()) {
    super();
  }
}

/** Country-wide history reads in flight at once: a sum over a thousand sites holds only these. */
const COUNTRY_READS_IN_FLIGHT = 16;

/** Adds one site's history (title → bytes a day from `from`) into a sum of `days` columns. */
function addHistory(into: Map<string, number[]>, history: Record<string, number[]>, days: number): void {
  for (const [title, series] of Object.entries(history)) {
    let sum = into.get(title);
    if (!sum) into.set(title, (sum = new Array<number>(days).fill(0)));
    for (let i = 0; i < days && i < series.length; i++) sum[i] += series[i];
  }
}

/** `make()` once per key in a cycle. */
function memoised<T>(memo: Map<string, Promise<unknown>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = memo.get(key) as Promise<T> | undefined;
  if (!p) memo.set(key, (p = make()));
  return p;
}

/**
 * Predicts tomorrow's demand per title for a site from its own and its region's history. With
 * `sameDay` (the share of a usual day's bytes in today's hours so far), today so far is read too and
 * used if it shows a shift of the region's mix (`shifted`). `today`: the day the plan is made on
 * (the site's own cycle passes the day its fill window opened, see windowDay). `ownHistory` is false
 * when the site's own history could not be read (the predictions then rest on its region alone).
 */
export async function predictionsFor(
  env: Env,
  site: SiteSpec,
  now: number,
  memo: CycleMemo = new CycleMemo(),
  sameDay?: { share: number },
  today = dayNumber(now, site.timeZone),
): Promise<{ targetDay: number; predictions: Prediction[]; sizes: Record<string, number>; shifted: boolean; ownHistory: boolean }> {
  const targetDay = today + 1;
  // Complete days only: the window opens hours into today, and a day hours old would read as every
  // title collapsing (and as a shift of the whole mix). `npm run bench:offload -- --worker-timing`
  // simulates this timing (the same embedded share as the simulator's own).
  const lastDay = today - 1;
  const from = lastDay - HISTORY_DAYS + 1;
  // The same-day check reads today as well, the day after the history's last: so far watched (see
  // the site's history), as the share it is scaled by is of bytes served so far.
  const until = sameDay ? today : lastDay;
  const openDay = dayNumber(now, site.timeZone);
  // The region is the IXP site and its embedded children; when that is thin too, the whole country.
  const group = regionGroup(site);
  const days = until - from + 1;
  // One failing or hanging site costs only its own history, never the whole region's plan (null: unread).
  const historyOf = (s: SiteSpec) =>
    memoised(memo, `history:${s.id}:${from}:${until}`, () =>
      withTimeout(siteStub(env, s.id).history(from, until, openDay), HISTORY_TIMEOUT_MS, `history of ${s.id}`).catch((err: unknown) => {
        console.error(`history of ${s.id} skipped`, err);
        return null;
      }),
    );
  // "Tomorrow" is the site's local calendar day, as is every day of its history.
  const tomorrowStart = localDayStart(targetDay, site.timeZone);
  const tomorrowEnd = localDayStart(targetDay + 1, site.timeZone);
  // An IXP site backs its children wherever they are: a title licensed only in a child's country is theirs to miss.
  const countries = servedCountries(site);
  const [groupRead, titles] = await Promise.all([Promise.all(group.map(historyOf)), catalogueDb.eligible(env.DB, countries, tomorrowStart, tomorrowEnd)]);
  const sizes = Object.fromEntries(titles.map((t) => [t.id, t.bytes ?? 0]));
  const ownHistory = groupRead[group.findIndex((s) => s.id === site.id)] != null;
  const histories = groupRead.map((h) => h ?? {});
  const sumOf = (hs: Array<Record<string, number[]>>) => {
    const out = new Map<string, number[]>();
    for (const h of hs) addHistory(out, h, days);
    return Object.fromEntries(out);
  };
  // The whole country's history, summed once per cron run and shared by its regions: read per thin
  // region, it was every site of the country for each of them (calls growing with the square of the
  // country: a new deployment, every region thin, would pass the cron's subrequest limit). Sites
  // read as they answer, a few at a time; one that fails or hangs counts as no history, as in a region.
  const countryHistory = () =>
    memoised(memo.run, `country:${site.country}:${from}:${until}:${openDay}`, async () => {
      const sum = new Map<string, number[]>();
      const sites = topology.sites.filter((s) => s.country === site.country);
      await eachBounded(sites, COUNTRY_READS_IN_FLIGHT, async (s) => {
        // The region's own sites are read for it already; the others only here, each dropped once added.
        const h = group.includes(s)
          ? await historyOf(s)
          : await withTimeout(siteStub(env, s.id).history(from, until, openDay), HISTORY_TIMEOUT_MS, `history of ${s.id}`).catch(() => null);
        if (h) addHistory(sum, h, days);
      });
      return sum;
    });
  // The complete days' bytes of the titles the plan may hold: views of a title taken down, or no longer
  // licensed there, made a region look rich whose playable titles' history was thin (and today so far is no history yet).
  const total = (r: Record<string, number[]>) =>
    Object.entries(r).reduce((s, [id, d]) => (Object.hasOwn(sizes, id) ? s + d.slice(0, HISTORY_DAYS).reduce((a, b) => a + b, 0) : s), 0);
  const groupHistory = sumOf(histories);
  // The country's sites are read only for a thin region: every site of a country planned in one cron
  // run reading every other one would be calls and memory growing with the square of the country.
  const thin = total(groupHistory) < DEFAULT_PREDICT_PARAMS.thinBytes && topology.sites.some((s) => s.country === site.country && !group.includes(s));
  let regional = groupHistory;
  if (thin) {
    // The country and the region's sites abroad (an IXP site's children in another country).
    const country = await countryHistory();
    const abroad = group.flatMap((s, i) => (s.country === site.country ? [] : [histories[i]]));
    if (abroad.length === 0) regional = Object.fromEntries(country);
    else {
      // Added to a copy: the run's other regions read the country's sum as it is.
      const sum = new Map([...country].map(([title, series]) => [title, [...series]]));
      for (const h of abroad) addHistory(sum, h, days);
      regional = Object.fromEntries(sum);
    }
  }
  // An IXP site backs its whole region, so the region's demand is its own.
  const local = site.tier === "ixp" ? groupHistory : (histories[group.findIndex((s) => s.id === site.id)] ?? {});
  // Launches of the last HISTORY_DAYS teach the predictor how launches ramp, those of the window
  // before mark where their ramp ends (not a trend); tomorrow's get a prior. A title launches in the
  // site's countries when the first licence there starts, if that is after its release.
  const releases = titles
    .map((t) => ({ titleId: t.id, at: Math.max(t.available_from, t.licensed_from, 0) }))
    .filter((r) => r.at > now - 2 * HISTORY_DAYS * DAY_MS)
    .map((r) => ({ titleId: r.titleId, launchDay: dayNumber(r.at, site.timeZone) }));
  const pick = (rec: Record<string, number[]>) => Object.fromEntries(Object.entries(rec).filter(([id]) => Object.hasOwn(sizes, id)));
  // Split today (the last column, when read) from the complete days.
  const split = (rec: Record<string, number[]>) => {
    const days: Record<string, number[]> = {};
    const now: Record<string, number> = {};
    for (const [id, series] of Object.entries(pick(rec))) {
      days[id] = series.slice(0, HISTORY_DAYS);
      if (sameDay && series[HISTORY_DAYS] > 0) now[id] = series[HISTORY_DAYS];
    }
    return { days, now };
  };
  const l = split(local);
  const r = split(regional);
  const input: PredictInput = {
    targetDay,
    lastDay,
    local: l.days,
    regional: r.days,
    titleBytes: sizes,
    releases,
    today: sameDay ? { local: l.now, regional: r.now, share: sameDay.share } : undefined,
    priorShare: throughputShare(site, group),
  };
  const { predictions, shiftedToday } = forecast(input);
  let out = predictions.filter((p) => Object.hasOwn(sizes, p.titleId));
  // A title playable there for only part of tomorrow (a licence ending at 20:00, a 21:00 premiere)
  // serves only those hours' share of the day's viewing: a full day's demand would plan (and replicate
  // for the evening peak) a title nobody may play by then, or rank a late premiere as an all-day hit.
  const partDay = new Map<string, LicensedSpan>();
  for (const t of titles) {
    const from = Math.max(t.available_from, t.licensed_from);
    if (from > tomorrowStart || (t.licensed_until !== null && t.licensed_until < tomorrowEnd)) partDay.set(t.id, { from, until: t.licensed_until });
  }
  if (partDay.size > 0) {
    const shape = await hourlyOf(env, memo, now, shapeSitesOf(site));
    out = out
      .map((p) => {
        const span = partDay.get(p.titleId);
        if (span === undefined) return p;
        const share = licensedShare(span, targetDay, site.timeZone, shape);
        return { ...p, bytes: p.bytes * share, popularity: p.popularity * share };
      })
      .sort((a, b) => b.bytes - a.bytes || (a.titleId < b.titleId ? -1 : a.titleId > b.titleId ? 1 : 0));
  }
  return { targetDay, predictions: out, sizes, shifted: shiftedToday, ownHistory };
}

/**
 * A site's prior share of its region's demand, while it has recorded none: its OCAs' share of the
 * throughput of the region's sites (operators size a site to the viewers it serves). An IXP site plans
 * for its whole region: 1.
 */
export function throughputShare(site: SiteSpec, group: readonly SiteSpec[]): number {
  if (site.tier === "ixp") return 1;
  const throughput = (s: SiteSpec) => s.ocas.reduce((sum, o) => sum + o.throughputBps, 0);
  const all = group.reduce((sum, s) => sum + throughput(s), 0);
  return all > 0 ? Math.min(1, throughput(site) / all) : 1;
}

/** The sites whose hours make a site's daily shape: an IXP site's peak is its children's evening (what they miss arrives when they watch). */
const shapeSitesOf = (site: SiteSpec): SiteSpec[] => (site.tier === "ixp" ? topology.sites.filter((s) => s.id === site.id || s.parent === site.id) : [site]);

/**
 * Each site's hourly bytes once per cycle (the IXP's shape, its children's own and the region's share
 * read the same sites), by each site's own calendar (its rows are), so planners in other zones ask the same question.
 */
async function hourlyOf(env: Env, memo: CycleMemo, now: number, sites: SiteSpec[]): Promise<number[][]> {
  return (
    await Promise.all(
      sites.map((s) => {
        const day = dayNumber(now, s.timeZone);
        return memoised(memo, `hourly:${s.id}:${day}`, () =>
          withTimeout(siteStub(env, s.id).servedByHour(day - HISTORY_DAYS, day - 1), HISTORY_TIMEOUT_MS, `hourly history of ${s.id}`).catch(() => null),
        );
      }),
    )
  ).flatMap((h) => h ?? []);
}

interface PlanInputs {
  predictions: Prediction[];
  sizes: Record<string, number>;
  /** The site's OCAs in service (failed ones hold nothing tomorrow). */
  ocas: PlanOca[];
  current: Record<string, string[]>;
  peakShare: number;
  /** Same-day check: whether today so far shows a shift of the region's mix (predictions then rest on it). */
  shifted: boolean;
  /** False when the site's own history could not be read: the predictions rest on its region alone. */
  ownHistory: boolean;
}

/**
 * Everything a site's plan rests on: tomorrow's predictions, title sizes, its OCAs and holdings, its
 * peak shape. `sameDay`: the same-day check, which reads today so far too. `today` as predictionsFor's.
 */
async function planInputs(env: Env, site: SiteSpec, now: number, memo: CycleMemo, sameDay = false, today = dayNumber(now, site.timeZone)): Promise<PlanInputs> {
  const stub = siteStub(env, site.id);
  const shape = hourlyOf(env, memo, now, shapeSitesOf(site));
  // The same-day check: the region's hours so far usually carry this share of its day (what scales
  // them to a whole day; the simulator takes the same share).
  // Hours since `today` began: past midnight in a window that wraps it, that day is whole.
  const hoursIn = localHour(now, site.timeZone) + 24 * (dayNumber(now, site.timeZone) - today);
  const share = sameDay ? shareBefore(await hourlyOf(env, memo, now, regionGroup(site)), hoursIn) : 0;
  const [{ predictions, sizes, shifted, ownHistory }, settings, current, hourly] = await Promise.all([
    predictionsFor(env, site, now, memo, share > 0 ? { share } : undefined, today),
    stub.ocaSettings(),
    stub.holdingsByOca(),
    shape,
  ]);
  const ocas = settings.filter((o) => o.health !== "failed").map((o) => ({ id: o.ocaId, capacityBytes: o.capacityBytes, throughputBps: o.throughputBps }));
  return { predictions, sizes, ocas, current, peakShare: peakHourShare(hourly), shifted, ownHistory };
}

/** An embedded site's titles for the planner: predictions with their peak, and held titles worth nothing (kept while there is room). */
function embeddedTitles({ predictions, sizes, current, peakShare }: PlanInputs): PlanTitle[] {
  const titles: PlanTitle[] = predictions.map((p) => ({
    titleId: p.titleId,
    bytes: sizes[p.titleId],
    predictedBytes: p.bytes,
    peakBps: peakBps(p.bytes, peakShare),
  }));
  const predicted = new Set(predictions.map((p) => p.titleId));
  for (const titleId of new Set(Object.values(current).flat())) {
    if (Object.hasOwn(sizes, titleId) && !predicted.has(titleId)) titles.push({ titleId, bytes: sizes[titleId], predictedBytes: 0, peakBps: 0 });
  }
  return titles;
}

/**
 * What an embedded child will ask its parent for tomorrow: its predictions and what its own plan
 * would hold (the same planner on the same inputs its own cycle uses). A child that cannot be read
 * is left out rather than failing its parent's plan.
 */
async function childOutlook(env: Env, child: SiteSpec, now: number, memo: CycleMemo, sameDay: boolean, today: number): Promise<ChildOutlook | null> {
  try {
    // The child's outlook is for the day its parent plans (a child in another time zone may be on
    // another calendar day at this instant).
    const inputs = await withTimeout(planInputs(env, child, now, memo, sameDay, today), HISTORY_TIMEOUT_MS * 2, `outlook of ${child.id}`);
    const plan = planSite({ ocas: inputs.ocas, titles: embeddedTitles(inputs), current: inputs.current });
    return { predicted: new Map(inputs.predictions.map((p) => [p.titleId, p.bytes])), held: new Set(Object.values(plan.byOca).flat()) };
  } catch (err) {
    console.error(`outlook of ${child.id} skipped`, err);
    return null;
  }
}

/**
 * One site's fill cycle: predict tomorrow, plan what each OCA holds, hand the plan to the site's
 * Durable Object, which fills itself with alarms. Runs only inside the site's local fill window and
 * once per day unless forced, so the hourly cron can call it for every site; a site that has planned
 * looks once more at shiftCheckHour, and re-plans if today so far shows a shift of its region's mix
 * (the rest of the window refills for the evening). A site whose own history cannot be read is not
 * planned (the next hourly run tries again).
 */
export async function runFillCycle(env: Env, siteId: string, now: number, opts: CycleOptions = {}, memo: CycleMemo = new CycleMemo()): Promise<CycleReport> {
  // On this Worker's clock (the cron's scheduled time is the same for a retried run): the site keeps
  // the plan of the cycle that started last, whichever finishes last.
  const startedAt = Date.now();
  const site = findSite(siteId);
  if (!site) return { siteId, ran: false, reason: "unknown site" };
  const window = fillWindow(site);
  const hour = localHour(now, site.timeZone);
  if (!opts.force && !inWindow(hour, window)) return { siteId, ran: false, reason: `outside the fill window (${hour}:00 local)` };
  const stub = siteStub(env, siteId);
  // Keyed on the day the window opened: a window crossing midnight plans once, not again after it.
  const targetDay = windowDay(now, site.timeZone, window) + 1;
  let sameDay = false;
  if (!opts.force && (await stub.plannedDay()) === targetDay) {
    if (hour !== shiftCheckHour(window)) return { siteId, ran: false, reason: "already planned for tomorrow" };
    const last = (await stub.lastCycle()).cycle;
    if (last?.sameDay && last.targetDay === targetDay) return { siteId, ran: false, reason: "already re-planned today" };
    sameDay = true;
  }

  const own = await planInputs(env, site, now, memo, sameDay, targetDay - 1);
  // Planned from its region alone, the day would be marked planned and not tried again: no plan, so the next hourly cycle retries.
  // An operator's run plans anyway, from the region, rather than leave the site on a stale plan.
  if (!own.ownHistory && !opts.force) return { siteId, ran: false, reason: "its own viewing history could not be read; not planned from its region alone" };
  if (sameDay && !own.shifted) return { siteId, ran: false, reason: "already planned for tomorrow; today so far shows no shift of the region's mix" };
  const { predictions, peakShare } = own;
  let plan: SitePlan;
  let childMissBytes: number | undefined;
  if (site.tier === "ixp") {
    // What the children will miss after their own fill comes first; the rest of the catalogue after it.
    const children = topology.sites.filter((s) => s.parent === site.id);
    const outlooks = await Promise.all(children.map((child) => childOutlook(env, child, now, memo, sameDay, targetDay - 1)));
    const misses = childMisses(outlooks.filter((o): o is ChildOutlook => o !== null));
    childMissBytes = [...misses.values()].reduce((a, b) => a + b, 0);
    const regional = new Map(predictions.map((p) => [p.titleId, p.bytes]));
    const catalogue = Object.entries(own.sizes).map(([titleId, bytes]) => ({ titleId, bytes, regionalBytes: regional.get(titleId) ?? 0 }));
    plan = planSite({ ocas: own.ocas, titles: ixpPlanTitles({ catalogue, misses, peakShare }), current: own.current });
  } else {
    plan = planSite({ ocas: own.ocas, titles: embeddedTitles(own), current: own.current });
  }

  // The window's end hour on the local clock (not whole UTC hours from now: in a zone offset by a half
  // or three-quarter hour that ran 30-45 minutes late); a window that wraps midnight ends the day after it opened.
  const windowEnd = localHourStart(targetDay - 1 + (window.startHour > window.endHour ? 1 : 0), window.endHour, site.timeZone);
  // An operator's "run now" copies for at least an hour, even when pressed in the window's last minutes;
  // outside the window for 12 hours, and through the window that plans the same day if it is still to
  // close (one that wraps midnight and opens tonight, or opens after midnight): the hourly cycle finds
  // that day planned and leaves the window to this plan.
  const forcedOutside = opts.force && !inWindow(hour, window) ? now - (now % 3_600_000) + 12 * 3_600_000 : 0;
  const fillUntil = Math.max(windowEnd, forcedOutside, opts.force ? now + FORCED_FILL_MIN_MS : 0);
  // The cycle's figures, kept with the site's plan (the dashboard reads them) and answered to the caller.
  const figures = {
    targetDay,
    predictedBytes: predictions.reduce((s, p) => s + p.bytes, 0),
    coveredBytes: plan.coveredBytes,
    peakShare,
    childMissBytes,
    sameDay: sameDay || undefined,
    replicas: mostReplicated(plan.replicas),
    adds: plan.adds.length,
    removes: plan.removes.length,
    predictions: predictions.slice(0, 20),
  };
  const queued = await stub.applyPlan({
    day: targetDay,
    // In the plan's order: the fill copies each OCA's most valuable titles first.
    byOca: plan.ranked,
    fillUntil,
    fillRateBps: opts.fillRateBps ?? topology.fill.ocaFillRateBps,
    peerWaitMs: opts.peerWaitMs ?? 10 * 60_000,
    parentWaitMs: opts.parentWaitMs ?? 20 * 60_000,
    cycle: { at: new Date(now).toISOString(), ...figures, usedBytes: plan.usedBytes },
    startedAt,
    applyBy: opts.applyBy,
  });
  if (!queued.applied) {
    const why =
      queued.reason === "newer_plan_applied"
        ? "a cycle that started later applied its plan while this one was made; this plan was dropped"
        : "the plan was made after its caller gave up on it; dropped";
    return { siteId, ran: false, reason: why };
  }
  return {
    siteId,
    ran: true,
    ...figures,
    titlesConsidered: predictions.length,
    queuedFiles: queued.queuedFiles,
    queuedBytes: queued.queuedBytes,
    titlesToQueue: queued.titlesToQueue,
    fillUntil: new Date(fillUntil).toISOString(),
  };
}

/** The least time to copy an operator's forced cycle gets (its window's end, or 12 h outside the window, if later). */
export const FORCED_FILL_MIN_MS = 3_600_000;

export { CRON_REGION_CONCURRENCY, SITE_CYCLE_TIMEOUT_MS };

/** How long before the cron's timeout for a site's cycle the site stops taking its plan. */
const APPLY_MARGIN_MS = 5_000;

/**
 * The hourly cron: every site whose window is open and has no plan for tomorrow yet runs its cycle, a
 * region (an IXP site and its embedded children) at a time, the IXP site first, and up to
 * `regionConcurrency` regions at once. A site that throws or hangs past `siteTimeoutMs` is reported and
 * skipped; the others still plan. Reports come in the regions' order, each region's sites in order.
 */
export async function runScheduledFill(
  env: Env,
  scheduledTime: number,
  opts: { siteTimeoutMs?: number; regionConcurrency?: number } = {},
): Promise<CycleReport[]> {
  await liveTopology(env);
  const regions = regionsInOrder();
  const byRegion: CycleReport[][] = regions.map(() => []);
  // Sums every region of this run shares (a thin region's country).
  const run = new Map<string, Promise<unknown>>();
  await eachBounded(regions, opts.regionConcurrency ?? CRON_REGION_CONCURRENCY, async (region, r) => {
    // The region's reads shared by its sites' cycles: each plans from the whole region's history (and
    // the IXP site from each child's outlook), which read per site is calls growing with the square
    // of the region's sites. Kept for one region only, so the run holds only its regions in flight.
    const memo = new CycleMemo(run);
    // In order: the IXP site plans before its children, whose own plans then fill from it.
    for (const site of region) {
      const timeoutMs = opts.siteTimeoutMs ?? SITE_CYCLE_TIMEOUT_MS;
      // A cycle given up (reported as an error) applies nothing later: the site refuses its plan once
      // the timeout is near, a margin before it for the call's way there.
      const applyBy = Date.now() + timeoutMs - Math.min(APPLY_MARGIN_MS, timeoutMs / 10);
      try {
        byRegion[r].push(await withTimeout(runFillCycle(env, site.id, scheduledTime, { applyBy }, memo), timeoutMs, `fill cycle of ${site.id}`));
      } catch (err) {
        console.error(`fill cycle ${site.id}`, err);
        byRegion[r].push({ siteId: site.id, ran: false, reason: `error: ${String(err)}` });
      }
      // A read that failed is tried again by the next site's cycle, as it would be with reads of its own.
      await forgetFailedReads(memo);
    }
  });
  return byRegion.flat();
}

/** The live topology's sites by region (an IXP site, then its children), each site once. */
function regionsInOrder(): SiteSpec[][] {
  const regions = new Map<string, SiteSpec[]>();
  for (const site of [...topology.sites].sort((a, b) => (a.tier === b.tier ? 0 : a.tier === "ixp" ? -1 : 1))) {
    const root = site.tier === "ixp" || !site.parent || !findSite(site.parent) ? site.id : site.parent;
    let list = regions.get(root);
    if (!list) regions.set(root, (list = []));
    list.push(site);
  }
  return [...regions.values()];
}

/** Drops the memo's reads that failed (null), so the next cycle asks again. */
async function forgetFailedReads(memo: CycleMemo): Promise<void> {
  for (const [key, read] of [...memo]) if ((await read.catch(() => null)) === null) memo.delete(key);
}
