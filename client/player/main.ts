/**
 * The web player page (served at / by Workers Static Assets): catalogue, play buttons, hls.js on
 * the session's steered playlist driven by the SDK, an overlay of what is happening, audio and
 * subtitle selectors, and `window.__player` for tests.
 */
import Hls from "hls.js";
import { chooseRung } from "../abr";
import { createClient, devToken, type VcdnClient } from "../api";
import { SdkError } from "../errors";
import { SessionEvents } from "../events";
import type { PlaySession } from "../session";
import type { QoeEvent, TitleSummary } from "../types";
import { attachSession, sdkHlsConfig } from "./hls-hook";
import { PlayerMonitor, type PlayerSnapshot } from "./monitor";
import { viewerMessage } from "./viewer-message";

/** The demo topology's subscribers (dev only: sent as X-Client-Geo). */
export const LOCATIONS: Array<{ id: string; label: string; geo: string }> = [
  { id: "lumen-nyc", label: "Lumen Fiber, New York (AS64500)", geo: "asn=64500;country=US;lat=40.71;lon=-74.0" },
  { id: "lakeshore-chi", label: "Lakeshore Cable, Chicago (AS64510)", geo: "asn=64510;country=US;lat=41.88;lon=-87.63" },
  { id: "rheinnet-ber", label: "RheinNet, Berlin (AS64520)", geo: "asn=64520;country=DE;lat=52.52;lon=13.40" },
  { id: "polder-ams", label: "Polder Glas, Amsterdam (AS64530)", geo: "asn=64530;country=NL;lat=52.37;lon=4.90" },
  { id: "none-paris", label: "No partner ISP, Paris", geo: "country=FR;lat=48.86;lon=2.35" },
];

const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface Playing {
  titleId: string;
  session: PlaySession;
  hls: Hls;
  monitor: PlayerMonitor;
  unhook: () => void;
  /** The video played to its end, which stopped the session (its stream freed). */
  ended: boolean;
}

let client: VcdnClient | null = null;
let token: string | null = params.get("token");
// A member token left in the address stays in the browser's history and goes out in Referer headers:
// once read, it leaves the URL (the page keeps it in memory only).
if (token !== null) {
  const clean = new URL(location.href);
  clean.searchParams.delete("token");
  history.replaceState(history.state, "", clean);
}
let dev = false;
let current: Playing | null = null;
const eventsQueued: QoeEvent[] = [];
const MAX_EVENTS_SHOWN = 2_000;
let lastError: string | null = null;
let wantAudio: string | null = null;
let wantSubs: string | null = null;

function selectedGeo(): string | undefined {
  if (!dev) return undefined;
  const id = ($("geo") as HTMLSelectElement).value;
  return LOCATIONS.find((l) => l.id === id)?.geo;
}

function makeClient(): VcdnClient {
  return createClient({ baseUrl: location.origin, token: token!, geo: selectedGeo() });
}

function fmtBps(b: number | null): string {
  if (b === null) return "–";
  return b >= 1e6 ? `${(b / 1e6).toFixed(2)} Mbps` : `${Math.round(b / 1e3)} kbps`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function showError(msg: string | null): void {
  lastError = msg;
  const el = $("error");
  el.textContent = msg ?? "";
  el.hidden = !msg;
}

async function signIn(): Promise<void> {
  if (token) {
    dev = false;
  } else {
    try {
      const memberId = localStorage.getItem("vcdn-member") ?? `web-${Math.random().toString(36).slice(2, 10)}`;
      localStorage.setItem("vcdn-member", memberId);
      token = await devToken(location.origin, memberId, (params.get("plan") as "basic" | "standard" | "premium") ?? "premium");
      dev = true;
    } catch (err) {
      // Only a deployment that answers without a dev sign-in (404) has none; no answer at all is the network.
      const status = (err as { status?: number }).status;
      showError(
        status === undefined
          ? `Cannot reach the video service at ${location.origin}: check the connection, then reload the page.`
          : "No member token: this deployment has no dev sign-in. Open the page with ?token=<member JWT>.",
      );
      return;
    }
  }
  $("geo-row").hidden = !dev;
  client = makeClient();
}

/** The catalogue's titles by id, for naming what plays on the member's other screens. */
let titleNames = new Map<string, string>();

/** Where the next page of the catalogue starts (none when the list is complete). */
let nextTitles: string | undefined;
/** Loads of the catalogue: a page answering after the list was loaded again is dropped. */
let catalogueLoads = 0;

async function loadCatalogue(): Promise<void> {
  if (!token) return;
  client = makeClient();
  const list = $("titles");
  list.innerHTML = "<li class=muted>Loading…</li>";
  titleNames = new Map();
  nextTitles = undefined;
  $("more-titles").hidden = true;
  await loadTitles(++catalogueLoads, true);
}

/** Appends a page of the catalogue (the first when `first`), and offers the next when there is one. */
async function loadTitles(load: number, first: boolean): Promise<void> {
  if (!client) return;
  const list = $("titles");
  const more = $("more-titles") as HTMLButtonElement;
  more.disabled = true;
  try {
    const page = await client.titles({ cursor: first ? undefined : nextTitles });
    if (load !== catalogueLoads) return;
    $("country").textContent = page.country ?? "?";
    if (first) list.innerHTML = "";
    for (const t of page.titles) {
      titleNames.set(t.id, t.name);
      list.appendChild(titleCard(t));
    }
    if (first && !page.titles.length) list.innerHTML = "<li class=muted>Nothing is licensed here.</li>";
    nextTitles = page.cursor;
    more.hidden = !nextTitles;
    more.textContent = `More titles (${titleNames.size} of ${page.total})`;
  } catch (err) {
    if (load !== catalogueLoads) return;
    if (first) list.innerHTML = "";
    showError(`Catalogue: ${(err as Error).message}`);
  } finally {
    more.disabled = false;
  }
}

function titleCard(t: TitleSummary): HTMLLIElement {
  const li = document.createElement("li");
  li.className = "title";
  li.innerHTML = `
    <div class="title-text">
      <h3>${esc(t.name)}</h3>
      <p>${esc(t.description ?? "")}</p>
      <p class="meta">${t.durationS}s · up to ${t.maxHeight}p · audio ${t.audioLanguages.map((a) => esc(a.label)).join(", ")} · subtitles ${t.subtitleLanguages.map((a) => esc(a.label)).join(", ") || "none"}</p>
    </div>
    <button class="play${t.posterUrl ? " with-poster" : ""}" data-title="${esc(t.id)}" aria-label="Play ${esc(t.name)}">${
      // The box has the poster's place before it loads (the list does not jump); lazy: a long list loads what is seen.
      t.posterUrl ? `<span class="poster"><img src="${esc(t.posterUrl)}" alt="${esc(t.name)}" loading="lazy" decoding="async"></span>` : ""
    }<span>▶ Play</span></button>`;
  li.querySelector("button")!.addEventListener("click", () => void play(t.id));
  return li;
}

/**
 * A title the server says cannot be watched here any more (taken down, not licensed in the country):
 * the catalogue stops offering it, so the message's "choose another title" leaves nothing to retry.
 */
function dropIfGone(titleId: string, err: unknown): void {
  const code = err instanceof SdkError ? err.data.apiCode : undefined;
  if (code !== "taken_down" && code !== "not_licensed") return;
  for (const b of document.querySelectorAll<HTMLButtonElement>("button.play")) if (b.dataset.title === titleId) b.closest("li")?.remove();
}

/**
 * Tells the server the stream stopped, unless the current session already said so (a fatal error says
 * stop itself). A renewal's stop was the old session's: the renewed one starts after it.
 */
function sayStop(session: PlaySession, reason: string): void {
  let said = false;
  for (const e of eventsQueued) if (e.type === "stop" || e.type === "start") said = e.type === "stop";
  if (!said) session.emit({ type: "stop", reason });
}

/**
 * Presses of play and stop: a play whose request answers after a later press (a second title, a
 * double click, stop) is no longer wanted, and must neither play nor hold the member's stream.
 */
let presses = 0;

async function stop(): Promise<void> {
  presses++;
  await teardown();
  showIdle();
}

/** Ends what plays now (its stop said to the server). */
async function teardown(): Promise<void> {
  const p = current;
  current = null;
  if (!p) return;
  showIdle();
  p.unhook();
  p.monitor.dispose();
  p.hls.destroy();
  sayStop(p.session, "user");
  await p.session.close();
}

/**
 * The stage with nothing playing: no title named, no tracks to choose, no stop to press (a play being
 * asked for keeps its stop, which cancels it).
 */
function showIdle(): void {
  $("now-playing").textContent = "–";
  renderTrackSelectors();
  ($("stop") as HTMLButtonElement).disabled = true;
}

/** On a narrow screen the video sits under the catalogue: a press of play brings it into view. */
function showStage(): void {
  const r = $("video").getBoundingClientRect();
  if (r.top < 0 || r.bottom > innerHeight) $("stage").scrollIntoView({ block: "start" });
}

/**
 * Press play: the SDK plays; hls.js loads the steered playlist in parallel with the probes. `fromS`:
 * where to start (a replay after the end, from where the viewer put the playhead).
 */
async function play(titleId: string, fromS?: number): Promise<void> {
  const press = ++presses;
  showError(null);
  await teardown();
  if (!client || press !== presses) return;
  // No Media Source Extensions, no playback: do not start a session that would probe for nothing.
  if (!Hls.isSupported()) {
    showError("This browser has no Media Source Extensions: hls.js cannot play here.");
    return;
  }
  client = makeClient();
  const video = $("video") as HTMLVideoElement;
  $("now-playing").textContent = titleNames.get(titleId) ?? titleId;
  ($("stop") as HTMLButtonElement).disabled = false;
  showStage();
  eventsQueued.length = 0;
  let session: PlaySession;
  let playAt = 0;
  /** False once a later press superseded this play: its events are not the page's to show. */
  let wanted = true;
  try {
    session = await client.play(titleId, {
      device: { codecs: ["avc1", "mp4a"], maxHeight: Number(params.get("maxHeight") ?? 1080) },
      probeInBackground: true,
      pollSteering: false, // hls.js loads the steering manifest itself; the loader shows it to the SDK
      reprobeIntervalMs: Number(params.get("reprobe") ?? 10_000),
      onEvent: (e) => {
        if (!wanted) return;
        eventsQueued.push(e);
        // The overlay's and tests' view: a long session's progress events would grow it for hours.
        if (eventsQueued.length > MAX_EVENTS_SHOWN) eventsQueued.splice(0, eventsQueued.length - MAX_EVENTS_SHOWN);
        logEvent(e);
      },
    });
    playAt = performance.now();
  } catch (err) {
    if (press === presses) {
      showIdle();
      showError(viewerMessage(err, (id) => titleNames.get(id)));
      dropIfGone(titleId, err);
    }
    return;
  }
  if (press !== presses) {
    // Another title, or stop, was pressed while this play was asked for: its session stops at once
    // (else it probed, renewed and held one of the member's streams with nothing playing it).
    wanted = false;
    session.emit({ type: "stop", reason: "user" });
    await session.close();
    return;
  }
  // A fatal error ends the session: say why, in a viewer's words, and stop loading.
  session.on(SessionEvents.ERROR, (err) => {
    if (!err.fatal) return;
    showError(viewerMessage(err));
    dropIfGone(titleId, err);
    if (current?.session === session) current.hls.stopLoad();
  });
  let monitor: PlayerMonitor | null = null;
  const config = sdkHlsConfig(session, Hls, {
    onServed: (oca, servedBy, ctx, stats) => monitor?.served(oca, servedBy, ctx, stats),
    onFailover: (from, to, reason, ctx) => monitor?.failover(from, to, reason, ctx),
    onSteering: (m) => monitor && (monitor.steering = m),
  });
  const buffer = Number(params.get("buffer") ?? 0);
  if (buffer > 0) Object.assign(config, { maxBufferLength: buffer, maxMaxBufferLength: buffer });
  if (params.get("debug")) Object.assign(config, { debug: true });
  const hls = new Hls({ ...config, ...trackPreferences(), ...(fromS !== undefined ? { startPosition: fromS } : {}) });
  monitor = new PlayerMonitor(video, hls, session, Hls);
  monitor.mark("playResponse", playAt);
  void session.ready.then(() => monitor!.mark("probed"));
  const forcedStart = params.get("startLevel");
  const unhook = attachSession(hls, session, Hls, (bitrates, est) =>
    forcedStart !== null
      ? Math.min(Number(forcedStart), bitrates.length - 1)
      : chooseRung({ rungs: bitrates.map((bandwidth) => ({ bandwidth })), throughputBps: est, bufferS: 0, current: null }),
  );
  current = { titleId, session, hls, monitor, unhook, ended: false };
  hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, () => applyTracks());
  hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => applyTracks());
  hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, () => renderTrackSelectors());
  hls.on(Hls.Events.SUBTITLE_TRACK_SWITCH, () => renderTrackSelectors());
  // While the viewer has paused, the session neither probes nor polls.
  video.onpause = () => session.pause();
  video.onplaying = () => session.resume();
  // The end stopped the session, and an OCA refuses a stopped session's files soon after: played again
  // (the video's own play button, or after scrubbing back), the title takes a new session from there.
  video.onended = () => {
    if (current?.session === session) current.ended = true;
  };
  video.onplay = () => {
    if (current?.session === session && current.ended) void play(titleId, video.currentTime);
  };
  hls.attachMedia(video);
  hls.loadSource(session.play.steering?.hls ?? session.play.hls);
  video.play().catch(() => {
    /* autoplay refused: the viewer presses the video's own play button */
  });
}

/**
 * The viewer's languages as hls.js's own preferences: it picks a title's first subtitle track itself
 * right after announcing the tracks (after applyTracks ran), and would turn subtitles off on each new
 * title while the audio language carried over.
 */
function trackPreferences(): { audioPreference?: { lang: string }; subtitlePreference?: { lang: string } } {
  return {
    audioPreference: wantAudio ? { lang: wantAudio } : undefined,
    subtitlePreference: wantSubs ? { lang: wantSubs } : undefined,
  };
}

/** Keep the viewer's audio and subtitle language across pathway (OCA) changes and titles. */
function applyTracks(): void {
  const p = current;
  if (!p) return;
  const { hls } = p;
  Object.assign(hls.config, trackPreferences());
  if (wantAudio) {
    const i = hls.audioTracks.findIndex((t) => t.lang === wantAudio);
    if (i >= 0 && i !== hls.audioTrack) hls.audioTrack = i;
  }
  if (wantSubs !== null) {
    const i = wantSubs === "" ? -1 : hls.subtitleTracks.findIndex((t) => t.lang === wantSubs);
    if (i !== hls.subtitleTrack) hls.subtitleTrack = i;
    hls.subtitleDisplay = i >= 0;
  }
  renderTrackSelectors();
}

function renderTrackSelectors(): void {
  const p = current;
  const audio = $("audio") as HTMLSelectElement;
  const subs = $("subs") as HTMLSelectElement;
  if (!p) {
    audio.innerHTML = subs.innerHTML = "";
    audio.disabled = subs.disabled = true;
    return;
  }
  const { hls } = p;
  audio.disabled = hls.audioTracks.length < 2;
  subs.disabled = !hls.subtitleTracks.length;
  const aNow = hls.audioTracks[hls.audioTrack]?.lang ?? "";
  audio.innerHTML = hls.audioTracks.map((t) => `<option value="${esc(t.lang ?? "")}"${t.lang === aNow ? " selected" : ""}>${esc(t.name)}</option>`).join("");
  const sNow = hls.subtitleTrack >= 0 && hls.subtitleDisplay ? (hls.subtitleTracks[hls.subtitleTrack]?.lang ?? "") : "";
  subs.innerHTML =
    `<option value="">Off</option>` +
    hls.subtitleTracks.map((t) => `<option value="${esc(t.lang ?? "")}"${t.lang === sNow ? " selected" : ""}>${esc(t.name)}</option>`).join("");
}

function logEvent(e: QoeEvent): void {
  const ol = $("events");
  const li = document.createElement("li");
  const fields = Object.entries(e)
    .filter(([k, v]) => k !== "type" && k !== "at" && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "number" && k === "bitrate" ? fmtBps(v) : v}`)
    .join(" ");
  li.innerHTML = `<b>${e.type}</b> ${esc(fields)}`;
  ol.prepend(li);
  while (ol.children.length > 60) ol.lastChild!.remove();
}

function snapshot(): PlayerSnapshot & { lastError: string | null; eventsQueued: QoeEvent[] } {
  const p = current;
  const base: PlayerSnapshot = p
    ? p.monitor.snapshot(p.titleId)
    : {
        sessionId: null,
        titleId: null,
        phase: "idle",
        currentTime: 0,
        duration: 0,
        paused: true,
        servingOca: null,
        servingSite: null,
        servingOcaId: null,
        pathway: null,
        sdkOca: null,
        bitrate: null,
        height: null,
        topBitrate: null,
        bufferS: 0,
        startupMs: null,
        stalls: [],
        stallingMs: 0,
        fatalErrors: [],
        errors: [],
        ocaSwitches: [],
        bitrateSwitches: [],
        playedBitrates: [],
        failovers: [],
        marks: {},
        steering: null,
        audioLang: null,
        subtitleLang: null,
        audioLangs: [],
        subtitleLangs: [],
        subtitleCues: 0,
        eventsQueued: [],
        eventsSent: [],
        now: performance.now(),
      };
  return { ...base, eventsQueued: [...eventsQueued], lastError };
}

/** How long playback waits on the network before the viewer is told (a short stall needs no words). */
const STALL_NOTICE_MS = 8_000;

/** Tells the viewer while playback has waited on the network a while (the player retries and fails over by itself). */
function renderStallNotice(stallingMs: number): void {
  const el = $("notice");
  const waiting = stallingMs >= STALL_NOTICE_MS && !lastError;
  el.hidden = !waiting;
  el.textContent = waiting
    ? `Reconnecting: the video has waited ${Math.round(stallingMs / 1000)} s for the network. It goes on by itself once the connection is back.`
    : "";
}

function renderOverlay(): void {
  const s = snapshot();
  renderStallNotice(s.phase === "idle" ? 0 : s.stallingMs);
  const o = $("overlay");
  if (s.phase === "idle") {
    o.hidden = true;
    return;
  }
  o.hidden = false;
  const longest = s.stalls.reduce((m, x) => Math.max(m, x.durationMs), 0);
  o.innerHTML = `
    <div><span>OCA</span><b data-k="oca">${esc(s.servingOcaId ?? "–")}</b></div>
    <div><span>site</span><b data-k="site">${esc(s.servingSite ?? "–")}</b></div>
    <div><span>pathway</span><b>${esc(s.pathway ?? "–")}</b></div>
    <div><span>bitrate</span><b data-k="bitrate">${fmtBps(s.bitrate)}${s.height ? ` · ${s.height}p` : ""}</b></div>
    <div><span>buffer</span><b data-k="buffer">${s.bufferS.toFixed(1)} s</b></div>
    <div><span>start-up</span><b>${s.startupMs === null ? "–" : `${Math.round(s.startupMs)} ms`}</b></div>
    <div><span>switches</span><b data-k="switches">${s.ocaSwitches.length} OCA · ${s.bitrateSwitches.length} bitrate</b></div>
    <div><span>stalls</span><b>${s.stalls.length}${s.stalls.length ? ` (max ${Math.round(longest)} ms)` : ""}${s.stallingMs ? " · stalling" : ""}</b></div>
    <div><span>state</span><b data-k="phase">${s.phase}</b></div>`;
}

function renderLocations(): void {
  const sel = $("geo") as HTMLSelectElement;
  sel.innerHTML = LOCATIONS.map((l) => `<option value="${l.id}">${esc(l.label)}</option>`).join("");
  const want = params.get("geo");
  if (want && LOCATIONS.some((l) => l.id === want)) sel.value = want;
  sel.addEventListener("change", () => {
    void stop();
    void loadCatalogue();
  });
}

declare global {
  interface Window {
    __player: {
      ready: boolean;
      state: () => ReturnType<typeof snapshot>;
      play: (titleId: string) => Promise<void>;
      stop: () => Promise<void>;
      setAudio: (lang: string) => void;
      setSubtitles: (lang: string | null) => void;
      /** Renews the playing session now, as its token's expiry or its OCAs' failure would (false: nothing playing, or refused). */
      renew: (reason: string) => Promise<boolean>;
    };
  }
}

async function main(): Promise<void> {
  window.__player = {
    ready: false,
    state: snapshot,
    play,
    stop,
    setAudio: (lang) => {
      wantAudio = lang;
      applyTracks();
    },
    setSubtitles: (lang) => {
      wantSubs = lang ?? "";
      applyTracks();
    },
    renew: async (reason) => (current ? current.session.renew(reason) : false),
  };
  renderLocations();
  showIdle();
  ($("audio") as HTMLSelectElement).addEventListener("change", (e) => window.__player.setAudio((e.target as HTMLSelectElement).value));
  ($("subs") as HTMLSelectElement).addEventListener("change", (e) => window.__player.setSubtitles((e.target as HTMLSelectElement).value || null));
  $("stop").addEventListener("click", () => void stop());
  $("more-titles").addEventListener("click", () => void loadTitles(catalogueLoads, false));
  setInterval(renderOverlay, 250);
  await signIn();
  await loadCatalogue();
  window.__player.ready = true;
  // The page is going: the last events leave at once (keepalive), not behind a request being cancelled.
  // Leaving for good (a closed tab, another site), the stream stops with them, so the member's slot is
  // free for another screen at once rather than after the 2-minute silence; a page the browser keeps in
  // its back/forward cache may come back, and keeps its stream (its silence frees it if it does not).
  addEventListener("pagehide", (e) => {
    if (!current) return;
    if (!e.persisted) sayStop(current.session, "pagehide");
    void current.session.reporter.flush(true);
  });
}

void main();
