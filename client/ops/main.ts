/**
 * The operator dashboard (/ops): every site as a schematic by region (IXP sites with their embedded
 * children), each OCA's health and why, egress against throughput, storage against capacity, titles
 * held and fault switch, tonight's fill, misses by kind, and the share of bytes served by source over
 * the last days as a uPlot chart. Controls call the admin API with the operator's token. It refreshes
 * every 5 s. A toolbar above the sites filters them by text and to those that need attention
 * (site-filter.ts), redrawing from the last overview as the operator types.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { agoLabel, DAY_INCRS, dayAxisRange, dayLabel, dayNumberLabel, utcDate } from "./day-axis";
import { coverageText, offloadSeries } from "./offload-series";
import { filterSites, HOT_LOAD, nothingShownText, type SiteFilter, summaryText } from "./site-filter";

interface Oca {
  ocaId: string;
  health: string;
  healthBy: string;
  healthReason: string;
  healthSince: number;
  transitions: Array<{ at: number; from: string; to: string; reason: string; by: string }>;
  fault: { errorRate: number; addedLatencyMs: number; throughputBps: number | null } | null;
  egressBps: number;
  throughputBps: number;
  load: number;
  sessions: number;
  usedBytes: number;
  capacityBytes: number;
  titles: number;
}

interface Site {
  siteId: string;
  name: string;
  tier: "embedded" | "ixp";
  region: string;
  isp: string | null;
  parent: string | null;
  reachable: boolean;
  error?: string;
  ocas?: Oca[];
  fill: {
    window: { startHour: number; endHour: number; localHour: number; open: boolean };
    day?: number | null;
    planned?: Record<string, number>;
    predictedBytes?: number | null;
    coveredBytes?: number | null;
    pending?: Array<{ ocaId: string; files: number; bytes: number; parked: number; titlesToQueue?: number }>;
    done?: Record<string, { files: number; bytes: number }>;
    parked?: number;
    fillUntil?: number | null;
    lastError?: string | null;
  };
  misses?: { content: { count: number; bytes: number }; health: { count: number; bytes: number } };
  syncs?: { isolates: number; everyMs: number };
  served?: Array<{ day: number; source: "embedded" | "ixp" | "origin"; bytes: number }>;
  /** The site's local day now: the last of its `served` days (reachable sites only). */
  today?: number;
}

interface Overview {
  at: string;
  days: number;
  sites: Site[];
  /** The last site id of the page: more sites follow (GET the next page with it). */
  cursor?: string;
}

/** Sites a page of the overview asks for (the API's most), and the pages a refresh follows at most. */
const OVERVIEW_PAGE = 200;
const OVERVIEW_PAGES_MAX = 50;
/**
 * Days the chart shows, and the days of bytes served a refresh asks each site for: one more, as sites in
 * other time zones are on other local days, and the chart shows only days every site answered (offload-series.ts).
 */
const CHART_DAYS = 14;
const SERVED_DAYS_ASKED = CHART_DAYS + 1;

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;
const TOKEN_KEY = "vcdn-admin-token";
let token = sessionStorage.getItem(TOKEN_KEY) ?? "";
let chart: uPlot | null = null;
let last: Overview | null = null;

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] as string);
/** A value and its unit never wrap apart (a narrow column read "0.0" on one line and "Mb/s" on the next). */
const NBSP = "\u00a0";
const bytes = (n: number) =>
  n >= 1e12
    ? `${(n / 1e12).toFixed(1)}${NBSP}TB`
    : n >= 1e9
      ? `${(n / 1e9).toFixed(1)}${NBSP}GB`
      : n >= 1e6
        ? `${(n / 1e6).toFixed(1)}${NBSP}MB`
        : `${Math.round(n / 1e3)}${NBSP}kB`;
const bps = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)}${NBSP}Gb/s` : `${(n / 1e6).toFixed(1)}${NBSP}Mb/s`);
const bar = (share: number, hot = false) =>
  `<span class="bar${hot ? " hot" : ""}" title="${Math.round(share * 100)} %"><span style="width:${Math.min(100, Math.max(0, share * 100)).toFixed(1)}%"></span></span>`;

/**
 * What went wrong, shown until it no longer holds: loading the overview (cleared by the next refresh
 * that works) and the last control the API refused (cleared only by a control that works: the refresh
 * every control is followed by must not wipe the operator's only sign that it did nothing).
 */
const errors: { load: string | null; action: string | null } = { load: null, action: null };

function showError(kind: keyof typeof errors, message: string | null): void {
  errors[kind] = message;
  const text = [errors.action, errors.load].filter((m) => m).join(" · ");
  const el = $("#error");
  el.hidden = !text;
  el.textContent = text;
}

/**
 * Fill cycles started here, per site: when one started while it runs, then what it answered. Kept
 * apart from the cards, which every refresh redraws (with a cycle still running, or its answer).
 */
const fillRuns = new Map<string, { startedAt: number } | { result: string }>();

function fillRunText(siteId: string): string {
  const run = fillRuns.get(siteId);
  if (!run) return "";
  return "startedAt" in run ? `running for ${Math.max(0, Math.round((Date.now() - run.startedAt) / 1000))} s…` : run.result;
}

/** Shows a site's fill cycle in its card as drawn now: running (its button off), or its answer. */
function showFillRun(siteId: string): void {
  const card = [...document.querySelectorAll<HTMLElement>("#sites article[data-site]")].find((el) => el.dataset.site === siteId);
  const out = card?.querySelector("[data-fill-result]");
  if (out) out.textContent = fillRunText(siteId);
  const btn = card?.querySelector<HTMLButtonElement>('button[data-action="fill-cycle"]');
  if (btn) btn.disabled = "startedAt" in (fillRuns.get(siteId) ?? {});
}

/** What `POST /admin/sites/{id}/fill-cycle` answers (the parts the dashboard tells the operator). */
interface CycleAnswer {
  ran: boolean;
  reason?: string;
  targetDay?: number;
  titlesConsidered?: number;
  adds?: number;
  removes?: number;
  queuedFiles?: number;
  queuedBytes?: number;
  titlesToQueue?: number;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A fill cycle's answer in words: what it planned and queued, or why it did not run. */
function cycleText(r: CycleAnswer): string {
  if (!r.ran) return `did not run: ${r.reason ?? "no reason given"}`;
  const day = r.targetDay !== undefined ? ` for ${dayNumberLabel(r.targetDay)}` : "";
  const queued = `queued ${plural(r.queuedFiles ?? 0, "file")} (${bytes(r.queuedBytes ?? 0)})${r.titlesToQueue ? `, ${plural(r.titlesToQueue, "more title")} to queue` : ""}`;
  return `ran: planned${day} from ${plural(r.titlesConsidered ?? 0, "title")} considered, ${plural(r.adds ?? 0, "copy", "copies")} to add, ${plural(r.removes ?? 0, "copy", "copies")} to remove; ${queued}`;
}

/** How long a fill cycle started here may run before the page stops waiting (it goes on at the site). */
const FILL_CYCLE_WAIT_MS = 5 * 60_000;

/** Calls the admin API with the operator's token. */
async function api(method: string, path: string, body?: unknown, timeoutMs = 20_000): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      // A request that hangs must not hold the dashboard's refreshes (one at a time) for good.
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    // In words an operator acts on, not the browser's "Failed to fetch".
    throw new Error(
      (err as Error).name === "TimeoutError"
        ? `the Worker did not answer within ${timeoutMs / 1000} s`
        : `cannot reach the Worker at ${location.origin} (is it running?)`,
    );
  }
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (res.status === 401)
    throw new Error("the admin token was refused (unauthorized): enter the ADMIN_TOKEN that npm start printed, or the deployment's secret");
  if (!res.ok) throw new Error(json.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${res.status}`);
  return json;
}

/** "1 title", "2 titles". */
const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function ocaRow(site: Site, o: Oca): string {
  const t = o.transitions[0];
  const fault = o.fault
    ? `fault: ${Math.round(o.fault.errorRate * 100)} % errors, +${o.fault.addedLatencyMs} ms${o.fault.throughputBps ? `, ${bps(o.fault.throughputBps)} cap` : ""}`
    : "";
  return `<tr data-oca="${esc(o.ocaId)}">
    <td><b>${esc(o.ocaId)}</b></td>
    <td><span class="health ${esc(o.health)}">${esc(o.health)}</span> <span class="muted">(${esc(o.healthBy)})</span>
      <div class="reason muted">${esc(o.healthReason)}${t ? ` · last: ${esc(t.from)} → ${esc(t.to)} ${esc(agoLabel(t.at))}` : ""}</div>
      ${fault ? `<div class="fault">${esc(fault)}</div>` : ""}</td>
    <td>${bar(o.throughputBps ? o.egressBps / o.throughputBps : 0, o.load >= HOT_LOAD)} <span class="egress">${esc(bps(o.egressBps))}</span> / <span class="throughput">${esc(bps(o.throughputBps))}</span><div class="muted">${count(o.sessions, "session")}</div></td>
    <td>${bar(o.capacityBytes ? o.usedBytes / o.capacityBytes : 0)} <span class="used">${esc(bytes(o.usedBytes))}</span> / <span class="capacity">${esc(bytes(o.capacityBytes))}</span><div class="muted"><span class="titles">${o.titles}</span> ${o.titles === 1 ? "title" : "titles"}</div></td>
    <td class="controls">
      <button data-action="drained" data-site="${esc(site.siteId)}" data-oca-id="${esc(o.ocaId)}" aria-label="Drain ${esc(o.ocaId)}">Drain</button>
      <button data-action="failed" data-site="${esc(site.siteId)}" data-oca-id="${esc(o.ocaId)}" aria-label="Fail ${esc(o.ocaId)}">Fail</button>
      <button data-action="healthy" data-site="${esc(site.siteId)}" data-oca-id="${esc(o.ocaId)}" aria-label="Restore ${esc(o.ocaId)}">Restore</button><br />
      <input data-fault="errorRate" type="number" min="0" max="100" step="5" value="${o.fault ? Math.round(o.fault.errorRate * 100) : 0}" title="error rate %" aria-label="error rate % of ${esc(o.ocaId)}" />%
      <input data-fault="addedLatencyMs" type="number" min="0" max="30000" step="100" value="${o.fault?.addedLatencyMs ?? 0}" title="added latency ms" aria-label="added latency ms of ${esc(o.ocaId)}" />ms
      <button data-action="fault" data-site="${esc(site.siteId)}" data-oca-id="${esc(o.ocaId)}" aria-label="Set the fault switch of ${esc(o.ocaId)}">Set fault</button>
      <button data-action="clear-fault" data-site="${esc(site.siteId)}" data-oca-id="${esc(o.ocaId)}" aria-label="Clear the fault switch of ${esc(o.ocaId)}">Clear</button>
    </td></tr>`;
}

/** How many isolates feed the site (synced within about two of its intervals) and the interval it asks of them. */
function syncsText(syncs: { isolates: number; everyMs: number }): string {
  if (syncs.isolates === 0) return "No isolate has synced with it in the last few seconds (no traffic here now)";
  return `Fed by ${syncs.isolates} isolate${syncs.isolates === 1 ? "" : "s"}, each syncing every ${syncs.everyMs / 1000} s`;
}

function siteCard(site: Site): string {
  const w = site.fill.window;
  const windowText = `fill window ${w.startHour}:00–${w.endHour}:00 local, <span class="${w.open ? "open" : "closed"}">${w.open ? "open" : "closed"}</span> (now ${w.localHour}:00)`;
  if (!site.reachable) {
    return `<article class="site ${site.tier} unreachable" data-site="${esc(site.siteId)}"><header><h4>${esc(site.name)} <span class="muted">${esc(site.siteId)}</span></h4><span class="tier">${esc(site.tier)}</span></header>
      <p class="unreachable-why"><b>unreachable</b>: ${esc(site.error ?? "")}</p><p class="fill">${windowText}</p></article>`;
  }
  const f = site.fill;
  const pending = (f.pending ?? []).reduce((s, p) => ({ files: s.files + p.files, bytes: s.bytes + p.bytes, titles: s.titles + (p.titlesToQueue ?? 0) }), {
    files: 0,
    bytes: 0,
    titles: 0,
  });
  const done = f.done ?? {};
  const doneText = Object.entries(done)
    .map(([src, v]) => `${esc(src)} ${count(v.files, "file")} / ${esc(bytes(v.bytes))}`)
    .join(", ");
  const planned = Object.values(f.planned ?? {}).reduce((s, n) => s + n, 0);
  const m = site.misses!;
  return `<article class="site ${site.tier}" data-site="${esc(site.siteId)}">
    <header><h4>${esc(site.name)} <span class="muted">${esc(site.siteId)}</span></h4><span class="tier">${esc(site.tier)}${site.isp ? ` · ${esc(site.isp)}` : ""}</span></header>
    <table><tr><th>OCA</th><th>health</th><th>egress / throughput</th><th>storage</th><th>controls</th></tr>${(site.ocas ?? []).map((o) => ocaRow(site, o)).join("")}</table>
    <p class="fill" data-fill>Tonight's fill: ${f.day !== null && f.day !== undefined ? `plan for ${esc(dayNumberLabel(f.day))}, ${planned} placements` : "no plan yet"}${
      f.predictedBytes ? `, covers ${Math.round(((f.coveredBytes ?? 0) / f.predictedBytes) * 100)} % of predicted bytes` : ""
    }; pending ${count(pending.files, "file")} / ${esc(bytes(pending.bytes))}${pending.titles ? ` queued, ${count(pending.titles, "more title", "more titles")} to queue` : ""}${f.parked ? `, ${f.parked} parked` : ""}; done: ${doneText || "nothing yet"}; ${windowText}
      <button data-action="fill-cycle" data-site="${esc(site.siteId)}"${"startedAt" in (fillRuns.get(site.siteId) ?? {}) ? " disabled" : ""}>Run fill cycle</button> <span class="muted" data-fill-result>${esc(fillRunText(site.siteId))}</span></p>
    <p class="misses" data-misses>Misses: content <b>${m.content.count}</b> (${esc(bytes(m.content.bytes))}), health <b>${m.health.count}</b> (${esc(bytes(m.health.bytes))})</p>
    ${site.syncs ? `<p class="muted" data-syncs>${syncsText(site.syncs)}</p>` : ""}
  </article>`;
}

/** The toolbar's filter as the operator left it (outside #sites, so refreshes keep it). */
function siteFilter(): SiteFilter {
  return { query: $<HTMLInputElement>("#site-filter").value, attentionOnly: $<HTMLInputElement>("#attention-only").checked };
}

/**
 * Draws the sites the toolbar's filter shows, by region (a region none of whose sites is shown is left
 * out), and the summary line; says so in words when the filter shows none.
 */
function renderSites(o: Overview): void {
  const filter = siteFilter();
  const { shown, total, attention } = filterSites(o.sites, filter);
  $("#sites-summary").textContent = summaryText(total, attention, shown.length);
  if (shown.length === 0) {
    $("#sites").innerHTML = `<p class="muted nothing-shown" data-nothing-shown>${esc(nothingShownText(filter))}</p>`;
    return;
  }
  const byRegion = new Map<string, Site[]>();
  for (const s of shown) byRegion.set(s.region, [...(byRegion.get(s.region) ?? []), s]);
  $("#sites").innerHTML = [...byRegion]
    .map(([region, sites]) => {
      // A schematic: each IXP site followed by the embedded sites that fill from it.
      const ixps = sites.filter((s) => s.tier === "ixp");
      const orphans = sites.filter((s) => s.tier === "embedded" && !ixps.some((i) => i.siteId === s.parent));
      const ordered = [...ixps.flatMap((i) => [i, ...sites.filter((s) => s.parent === i.siteId)]), ...orphans];
      return `<div class="region" data-region="${esc(region)}"><h3>Region ${esc(region)}</h3><div class="tree">${ordered.map(siteCard).join("")}</div></div>`;
    })
    .join("");
}

/**
 * Draws the sites as renderSites does, keeping a fault field an operator is typing into: the field
 * itself (its value, focus and caret) takes its new counterpart's place. Holding the whole redraw back
 * instead left every card's health, load and fill as they were for as long as the field kept the focus,
 * under an "updated" time that went on advancing.
 */
function renderSitesKeepingFaultField(o: Overview): void {
  const active = document.activeElement;
  const typing = active instanceof HTMLInputElement && active.dataset.fault ? active : null;
  const ocaId = typing?.closest<HTMLElement>("tr[data-oca]")?.dataset.oca;
  const siteId = typing?.closest<HTMLElement>("article[data-site]")?.dataset.site;
  renderSites(o);
  if (!typing || ocaId === undefined || siteId === undefined) return;
  const counterpart = [...document.querySelectorAll<HTMLInputElement>("#sites input[data-fault]")].find(
    (i) =>
      i.dataset.fault === typing.dataset.fault &&
      i.closest<HTMLElement>("tr[data-oca]")?.dataset.oca === ocaId &&
      i.closest<HTMLElement>("article[data-site]")?.dataset.site === siteId,
  );
  // The OCA or its site is gone from what is shown (retired, filtered out): the field goes with it.
  if (!counterpart) return;
  counterpart.replaceWith(typing);
  typing.focus();
}

/** A share in the chart's legend, as the axis and the table write it. */
const sharePercent = (_u: uPlot, v: number | null) => (v == null ? "--" : `${v.toFixed(1)} %`);

function renderChart(o: Overview): void {
  const { days, shares, totals, counted, unreachable } = offloadSeries(o.sites, o.days, CHART_DAYS);
  // Sites that could not be read are missing from every day, not zero: the chart says so above it.
  const note = coverageNote();
  note.textContent = coverageText({ counted, unreachable });
  note.hidden = !note.textContent;
  const xs = days.map((d) => d * 86400);
  const data: uPlot.AlignedData = [xs, shares.embedded, shares.ixp, shares.origin];
  $("#offload-table").innerHTML = `<tr><th>day</th><th>embedded</th><th>IXP</th><th>origin</th><th>bytes</th></tr>${days
    .map(
      (d, i) =>
        `<tr><td>${esc(new Date(d * 86_400_000).toISOString().slice(0, 10))}</td><td>${shares.embedded[i].toFixed(1)} %</td><td>${shares.ixp[i].toFixed(1)} %</td><td>${shares.origin[i].toFixed(1)} %</td><td>${esc(bytes(totals[i]))}</td></tr>`,
    )
    .join("")}`;
  if (chart) {
    chart.setData(data);
    return;
  }
  const width = chartWidth();
  chart = new uPlot(
    {
      width,
      height: 220,
      // Days are UTC days: ticks at UTC midnights, and the axis and legend name them as the table does.
      tzDate: utcDate,
      scales: {
        // From the data, not the min/max uPlot passes: for a single time point it pads to 86400 / 1e-3 s.
        x: {
          time: true,
          range: (u) => {
            const x = u.data[0];
            return dayAxisRange(x[0] ?? null, x[x.length - 1] ?? null);
          },
        },
        y: { range: [0, 100] },
      },
      axes: [
        { incrs: DAY_INCRS, space: 80, values: (_u, ticks) => ticks.map(dayLabel) },
        { label: "% of bytes", values: (_u, ticks) => ticks.map((t) => `${t} %`) },
      ],
      series: [
        { label: "day", value: (_u, v) => (v == null ? "--" : dayLabel(v)) },
        { label: "embedded", stroke: "#2e8b57", width: 2, points: { show: true }, value: sharePercent },
        { label: "IXP", stroke: "#4062bb", width: 2, points: { show: true }, value: sharePercent },
        { label: "origin", stroke: "#b03a2e", width: 2, points: { show: true }, value: sharePercent },
      ],
    },
    data,
    $("#offload-chart"),
  );
  // Drawn at the window's width when first loaded: a window narrowed or widened after (a phone turned, a
  // side panel opened) redraws it at the new width, once a frame at most.
  let pending = false;
  addEventListener("resize", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      chart?.setSize({ width: chartWidth(), height: 220 });
    });
  });
}

/** The line above the chart naming the sites whose bytes it lacks (made once, before the chart). */
function coverageNote(): HTMLElement {
  const found = document.querySelector<HTMLElement>("#offload-coverage");
  if (found) return found;
  const p = document.createElement("p");
  p.id = "offload-coverage";
  // The page's stylesheet has no class for it: the dark red of an unreachable site's why (legible on white).
  p.style.color = "#8a1c1c";
  p.setAttribute("role", "status");
  p.hidden = true;
  $("#offload-chart").before(p);
  return p;
}

/** The chart's width: its section's, up to 900 px. */
function chartWidth(): number {
  return Math.min(900, $("#offload-chart").clientWidth || 800);
}

/**
 * A refresh in flight: another asked meanwhile runs once it is done, rather than alongside it (requests
 * stacking on a slow overview, and an older answer overwriting a newer one).
 */
let refreshing = false;
let refreshAgain = false;

/**
 * Every site's part of the overview: its pages one after another (each a bounded call of the API), at
 * most OVERVIEW_PAGES_MAX of them (10,000 sites); `at` is the first page's.
 */
async function loadOverview(): Promise<Overview> {
  let first: Overview | null = null;
  const sites: Site[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < OVERVIEW_PAGES_MAX; page++) {
    const q = `days=${SERVED_DAYS_ASKED}&limit=${OVERVIEW_PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const got = (await api("GET", `/admin/ops/overview?${q}`)) as Overview;
    first ??= got;
    sites.push(...got.sites);
    cursor = got.cursor;
    if (!cursor) break;
  }
  return { ...(first as Overview), sites, cursor: undefined };
}

async function refresh(): Promise<void> {
  if (!token) {
    showError("load", "Enter the admin token (ADMIN_TOKEN) to see the CDN.");
    return;
  }
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    last = await loadOverview();
    renderSitesKeepingFaultField(last);
    renderChart(last);
    $("#updated").textContent = new Date(last.at).toLocaleTimeString();
    document.body.dataset.loaded = "true";
    document.body.classList.remove("stale");
    showError("load", null);
  } catch (err) {
    // The figures on screen stopped updating: they are greyed, and a refused token's are taken away.
    document.body.classList.add("stale");
    if (/unauthorized/.test((err as Error).message)) {
      // Taken away for good: the filter must not draw them again from the last overview either.
      last = null;
      $("#sites").innerHTML = "";
      $("#sites-summary").textContent = "";
      // The chart's days and bytes are that token's figures too.
      $("#offload-table").innerHTML = "";
      chart?.setData([[], [], [], []]);
      coverageNote().hidden = true;
    }
    showError("load", `Cannot load the overview: ${(err as Error).message}`);
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      void refresh();
    }
  }
}

async function act(btn: HTMLButtonElement): Promise<void> {
  const { action, site, ocaId } = btn.dataset as { action: string; site: string; ocaId?: string };
  btn.disabled = true;
  try {
    if (action === "drained" || action === "failed" || action === "healthy") {
      await api("POST", `/admin/sites/${encodeURIComponent(site)}/ocas/${encodeURIComponent(ocaId!)}/health`, { health: action });
    } else if (action === "fault" || action === "clear-fault") {
      const row = btn.closest("tr")!;
      const num = (k: string) => Number((row.querySelector(`input[data-fault="${k}"]`) as HTMLInputElement).value) || 0;
      // The dashboard edits errors and latency; a throughput cap set through the API stays as it was.
      const cap = last?.sites.find((s) => s.siteId === site)?.ocas?.find((o) => o.ocaId === ocaId)?.fault?.throughputBps ?? null;
      // A percentage past 100 was sent as 100 %: the operator would see a fault other than the one typed.
      const percent = num("errorRate");
      if (action === "fault" && !(percent >= 0 && percent <= 100)) throw new Error(`error rate must be 0–100 %, not ${percent} %`);
      const body = action === "fault" ? { errorRate: percent / 100, addedLatencyMs: num("addedLatencyMs"), throughputBps: cap } : {};
      await api("POST", `/admin/sites/${encodeURIComponent(site)}/ocas/${encodeURIComponent(ocaId!)}/fault`, body);
    } else if (action === "fill-cycle") {
      // The cycle may outlast a refresh, which redraws the card: its state lives in fillRuns.
      if ("startedAt" in (fillRuns.get(site) ?? {})) return;
      fillRuns.set(site, { startedAt: Date.now() });
      showFillRun(site);
      try {
        const r = (await api("POST", `/admin/sites/${encodeURIComponent(site)}/fill-cycle`, {}, FILL_CYCLE_WAIT_MS)) as CycleAnswer;
        fillRuns.set(site, { result: cycleText(r) });
      } catch (err) {
        fillRuns.set(site, { result: `failed: ${(err as Error).message}` });
        throw err;
      } finally {
        showFillRun(site);
      }
    }
    showError("action", null);
  } catch (err) {
    showError("action", `${action} failed: ${(err as Error).message}`);
  } finally {
    // A fill cycle's button follows its run (showFillRun), in whichever card is drawn now.
    if (action !== "fill-cycle") btn.disabled = false;
  }
  if (action !== "fill-cycle") await refresh();
}

$("#auth").addEventListener("submit", (e) => {
  e.preventDefault();
  token = ($("#token") as HTMLInputElement).value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  void refresh();
});
/**
 * The filter draws again at once from the last overview (no call of the API); a fault field an operator
 * is typing into is then not focused (the filter or the checkbox is), so nothing of theirs is lost.
 */
const refilter = () => {
  if (last) renderSites(last);
};
$("#site-filter").addEventListener("input", refilter);
$("#attention-only").addEventListener("change", refilter);
// Escape in the filter empties it, as in a search field.
$("#site-filter").addEventListener("keydown", (e) => {
  if (e.key === "Escape" && (e.target as HTMLInputElement).value) {
    (e.target as HTMLInputElement).value = "";
    refilter();
  }
});
$("#sites").addEventListener("click", (e) => {
  const btn = (e.target as HTMLElement).closest("button[data-action]");
  if (btn) void act(btn as HTMLButtonElement);
});

void refresh();
setInterval(() => void refresh(), 5000);
