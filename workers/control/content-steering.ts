import { Hono, type Context } from "hono";
import { cors } from "hono/cors";
import { ApiError } from "../shared/errors";
import { isSafeSegment } from "../../shared/ids";
import { hlsAttribute, hlsAttributes, withHlsAttribute, withHlsAttributeValues, withoutHlsAttribute } from "../shared/hls-attributes";
import { dashBaseUrlsInTitle, filterDashMpd, filterHlsMultivariant } from "../shared/manifest-filter";
import { topology, topologyVersion } from "../shared/topology";
import { signUrlToken } from "../shared/url-token";
import { signingKey } from "../shared/signing-keys";
import { OVERLOADED, PLAYING_OVERLOADED, rankOcas, type Candidate } from "./steering";
import { liveSiteViews, overlayLiveView } from "./steering-view";
import { clientIp, enforceIsolateLimit, enforceLimit, STEERING_POLLS_PER_IP_PER_MINUTE, STEERING_POLLS_PER_SESSION_PER_MINUTE } from "./limits";
import { versionIndex } from "../shared/version-index";
import { contentTypeFor, originKey } from "../../shared/file-keys";
import { originText } from "./origin-text";
import { verifySessionToken, type SessionClaims } from "./session-token";
import { catalogueCache } from "./catalogue-cache";
import { memberStreamsId, touchStream } from "./member-streams";
import { setBounded } from "../shared/bounded-map";

/** Seconds a player keeps a steering manifest before asking again: short, so failures steer quickly. */
export const STEERING_TTL_S = 5;

interface Pathway {
  siteId: string;
  ocaId: string;
}

/** Steering answers are per session and change every few seconds: never cached. */
const NO_STORE = { "Cache-Control": "no-store" };

/** Base URL of one OCA for a session (same shape as the play response's `url`). */
export const ocaUrl = (base: string, p: Pathway, token: string, titleId: string): string => `${base}/oca/${p.siteId}/${p.ocaId}/${token}/${titleId}/`;

/** The session's steering URLs (HLS playlist, DASH MPD, steering manifest), under its signed session token. */
export function steeringUrls(base: string, sessionToken: string, titleId: string) {
  const root = `${base}/v1/steering/${sessionToken}/${titleId}`;
  return { hls: `${root}/master.m3u8`, dash: `${root}/manifest.mpd`, server: `${root}/steering.json` };
}

function baseOf(env: Env, url: string): string {
  return (env.EDGE_BASE_URL || new URL(url).origin).replace(/\/$/, "");
}

/** A version's candidates as the catalogue view holds them. */
type VersionCandidates = Awaited<ReturnType<typeof catalogueCache.version>>["candidates"];

interface SteeringSession {
  claims: SessionClaims;
  pathways: Pathway[];
  /** The session's OCA URL token (the same one play signed: same claims, same key). */
  urlToken: string;
  /** The OCAs play gave the session: the only ones it is steered among. */
  allowed: Set<string>;
  /** The last ranking and what it was ranked from: a poll re-ranks only when that moved. */
  ranked?: { inputs: string; order: Pathway[] };
  /** The version's candidates the session may be steered to, and the view's list they were taken from. */
  own?: { from: readonly unknown[]; candidates: VersionCandidates };
  /**
   * The session's pathways its player reported too slow for the lowest rung, each until when it stays
   * behind (see SLOW_PATHWAY_MS). Only the session's own pathways: at most as many entries as it has.
   */
  slow?: Map<string, number>;
}

/**
 * How long a pathway the player reported too slow stays behind the next one. hls.js and the SDK report
 * one throughput estimate, carried over a switch, for the pathway they play from: judged per poll alone,
 * the pathway left behind was no longer reported, came back first on the next poll, and the player
 * went back to it, every TTL. A measurement on the pathway that is not slow brings it back at once.
 */
const SLOW_PATHWAY_MS = 60_000;

/**
 * Session tokens this isolate has verified, with what their polls need (a player polls with the same
 * token every few seconds: verify and sign once, not per poll). Keyed by the whole token; bounded;
 * an entry is used only before the token's expiry and with the key ring it was verified under, so a
 * rotated-out key stops working at once.
 */
const verified = new Map<string, SteeringSession>();
/**
 * An entry is about 4.5 KB (its token as key, claims, pathways, URL token, ranking: 20,000 of them took
 * 90 MB of a Node heap), and an isolate has 128 MB: 8,000 keep it near 36 MB. An isolate with more
 * sessions polling verifies some again (two signatures and the per-IP limiter), rather than run out of memory.
 */
const VERIFIED_MAX = 8_000;
let verifiedRing: unknown = null;

/** Verifies the session token of the path: the session travels signed, so nothing is read to find it. */
async function session(c: Context<{ Bindings: Env }>, token: string, titleId: string): Promise<SteeringSession> {
  const env = c.env;
  const { ring, kid } = signingKey(env);
  if (ring !== verifiedRing) {
    verified.clear();
    verifiedRing = ring;
  }
  const nowS = Math.floor(Date.now() / 1000);
  const ip = clientIp(c.req.raw);
  let s = verified.get(token);
  if (!s || s.claims.exp <= nowS) {
    verified.delete(token);
    if (!isSafeSegment(titleId)) throw new ApiError(400, "bad_path", "bad title id");
    // The per-IP limiter guards the work worth guarding: verifying a token this isolate has not seen
    // (a new session, or a forged one). A known session's poll costs less than a limiter call; the
    // isolate counts those per IP and per session.
    if (ip) await enforceLimit(env, "STEERING_PER_IP", ip);
    const verdict = await verifySessionToken(ring, token, nowS);
    // An expired session was genuinely signed (the signature is checked first): 410 Gone tells an HLS or
    // DASH player to stop polling, where any other error has it poll again every TTL for ever.
    if (!verdict.ok && verdict.reason === "expired") throw new ApiError(410, "session_expired", "this session has expired; start a new play");
    if (!verdict.ok) throw new ApiError(403, "forbidden", `token rejected: ${verdict.reason}`);
    const claims = verdict.claims;
    const pathways = claims.pw.map((p) => {
      const [siteId, ocaId] = p.split("/");
      return { siteId, ocaId };
    });
    const urlToken = await signUrlToken(ring, kid, {
      titleId: claims.tid,
      sessionId: claims.sid,
      exp: claims.exp,
      maxHeight: claims.cap,
      version: claims.ver,
      home: claims.home,
      // Play signs a session only with the country it was licensed in; "ZZ" (unknown) names no licence.
      country: claims.c ?? "ZZ",
      issuedAt: claims.at,
      streams: memberStreamsId(env, claims.mid),
    });
    s = { claims, pathways, urlToken, allowed: new Set(pathways.map((p) => p.ocaId)) };
    setBounded(verified, token, s, VERIFIED_MAX);
  }
  // A known session's title is checked against its signed one: a title id that is not, is either unsafe or another title.
  if (s.claims.tid !== titleId) {
    if (!isSafeSegment(titleId)) throw new ApiError(400, "bad_path", "bad title id");
    throw new ApiError(403, "forbidden", "token rejected: it is for another title");
  }
  if (ip) enforceIsolateLimit("STEERING_PER_IP", ip, STEERING_POLLS_PER_IP_PER_MINUTE);
  enforceIsolateLimit("STEERING_PER_SESSION", s.claims.sid, STEERING_POLLS_PER_SESSION_PER_MINUTE);
  return s;
}

/**
 * What a ranking depends on, as one string: the topology's version and, per candidate, what moves
 * it (the threshold of load, not load itself; degraded; stale). Loads change on every site sync,
 * the order seldom.
 */
function rankingInputs(live: Candidate[]): string {
  let out = String(topologyVersion());
  for (const c of live) out += `|${c.siteId}/${c.ocaId}:${(c.load ?? 0) >= OVERLOADED ? 1 : 0}${c.degraded ? 1 : 0}${c.stale ? 1 : 0}`;
  return out;
}

/**
 * The session's pathways in the current order: live health and load, the session's own location.
 * A player polls every few seconds and the order seldom moves between polls, so the ranking is kept
 * with the session and redone only when its inputs changed.
 */
async function currentOrder(env: Env, s: SteeringSession, titleId: string, waitUntil: (p: Promise<unknown>) => void, playingFrom?: string): Promise<Pathway[]> {
  // The OCAs that hold the session's own version, and whether the title is still up: from the isolate's view.
  const view = await catalogueCache.version(env, titleId, s.claims.ver, { country: s.claims.c, grantedAt: s.claims.at }, waitUntil);
  // 410 Gone tells a player to stop asking (HLS Content Steering); the OCAs refuse the session's segments too.
  if (view.standing === "taken_down") throw new ApiError(410, "taken_down", "this title has been taken down or is no longer licensed");
  if (view.standing === "not_licensed")
    throw new ApiError(410, "not_licensed", `this title's licence in ${s.claims.c} has ended or changed since this session began`);
  // Only the session's own OCAs are ranked, so only their sites' views are asked for: every site that came
  // to hold the title would otherwise be synced (and waited for) on each poll. Kept while the view's list is.
  if (s.own?.from !== view.candidates) s.own = { from: view.candidates, candidates: view.candidates.filter((c) => s.allowed.has(c.ocaId)) };
  const mine = s.own.candidates;
  const live = overlayLiveView(mine, await liveSiteViews(env, mine, waitUntil, { awaitRefresh: true }));
  // The pathway the player plays from counts as overloaded for it only at its full throughput (PLAYING_OVERLOADED).
  const playing = playingFrom === undefined ? undefined : live.find((c) => c.ocaId === playingFrom);
  const inputs = `${rankingInputs(live)}|${playing ? `${playing.ocaId}:${(playing.load ?? 0) >= PLAYING_OVERLOADED ? 1 : 0}` : ""}`;
  if (s.ranked?.inputs !== inputs) {
    const client = { asn: s.claims.asn, lat: s.claims.lat, lon: s.claims.lon, country: s.claims.c };
    const ranked = rankOcas(topology, client, titleId, live, undefined, { playingFrom: playing?.ocaId });
    s.ranked = { inputs, order: ranked.map((o) => ({ siteId: o.siteId, ocaId: o.ocaId })) };
  }
  return [...s.ranked.order];
}

/** An absolute URI (RFC 3986 §3.1 scheme): it names its own host, not a file of the title. */
const ABSOLUTE_URI = /^[a-z][a-z0-9+.-]*:/i;

/**
 * A playlist's URI reference made absolute into one pathway's OCA (`base`: the title's root there, ending
 * "/"). The multivariant playlist sits at the title's root, so a relative-path reference resolves against
 * it and an absolute-path one against the title's root (RFC 3986 §5.2, the title's root standing for the
 * path's root: the OCA serves nothing else of the session). Dot segments are removed as §5.2.4 does, the
 * excess above the root dropped, encoded ones included: no reference leaves the title's own path. An
 * absolute URI is kept as written; a network-path one (`//host/…`) takes the base's scheme.
 */
export function resolveInTitle(base: string, uri: string): string {
  if (ABSOLUTE_URI.test(uri)) return uri;
  if (uri.startsWith("//")) return `${base.slice(0, base.indexOf(":") + 1)}${uri}`;
  const u = new URL(uri, "http://title.invalid/");
  return `${base}${u.pathname.slice(1)}${u.search}${u.hash}`;
}

/** The attributes of a variant or I-frame variant that name EXT-X-MEDIA groups: each pathway has its own. */
const VARIANT_GROUPS = new Set(["AUDIO", "VIDEO", "SUBTITLES", "CLOSED-CAPTIONS"]);
/** The attribute of a rendition (EXT-X-MEDIA) that names its group. */
const RENDITION_GROUP = new Set(["GROUP-ID"]);

/**
 * One pathway's copy of a tag, its attribute list read as RFC 8216 §4.2 has it (a quoted string holding
 * ",URI=" or ",AUDIO=" is that string): each group id `groups` names suffixed with the pathway's OCA, the
 * URI attribute resolved into that OCA, any PATHWAY-ID it came with dropped (the pathway's own is added).
 */
function forPathway(tag: string, groups: ReadonlySet<string>, p: Pathway & { url: string }): string {
  const changed = withHlsAttributeValues(tag, hlsAttributes(tag), (name, v) =>
    groups.has(name) ? `${v}-${p.ocaId}` : name === "URI" ? resolveInTitle(p.url, v) : undefined,
  );
  return withoutHlsAttribute(changed, hlsAttributes(changed), "PATHWAY-ID");
}

/**
 * Rewrites a title's multivariant playlist for Content Steering: every variant, I-frame variant and
 * rendition once per pathway (OCA), with absolute URIs into that OCA, group ids suffixed per pathway
 * (RFC 8216bis §4.4.6.6: a pathway's variants name only its own renditions), PATHWAY-ID on each variant and
 * I-frame variant (§7.2), and the steering server in #EXT-X-CONTENT-STEERING. A variant's URI is the next
 * line that is no tag or comment (RFC 8216 §4.3.4.2): the tags before it are read as any others, and a
 * variant with none (before the next variant) is dropped, as a player would have no playlist for it.
 */
export function steeredHlsPlaylist(master: string, pathways: Array<Pathway & { url: string }>, serverUri: string): string {
  const head: string[] = [];
  const media: string[] = [];
  const variants: Array<{ tag: string; uri: string }> = [];
  // An I-frame variant carries its URI in its URI attribute, not on the next line.
  const iframes: string[] = [];
  // The variant tag whose URI line is still to come.
  let pending: string | undefined;
  // Blanks (a CR of a CRLF line end among them) are no part of a line's tag or URI.
  for (const raw of master.split("\n")) {
    const line = raw.trim();
    if (!line || line === "#EXTM3U") continue;
    if (line.startsWith("#EXT-X-STREAM-INF:")) pending = line;
    else if (!line.startsWith("#")) {
      // A URI line with no variant before it names nothing a player would play.
      if (pending !== undefined) variants.push({ tag: pending, uri: line });
      pending = undefined;
    } else if (line.startsWith("#EXT-X-MEDIA:")) media.push(line);
    else if (line.startsWith("#EXT-X-I-FRAME-STREAM-INF:")) {
      // Without a URI an I-frame variant names no playlist: it is left out (as in each pathway's copy).
      if (hlsAttribute(hlsAttributes(line), "URI") !== undefined) iframes.push(line);
    } else if (line.startsWith("#EXT-X-CONTENT-STEERING")) continue;
    else head.push(line);
  }
  // A tag of the playlist as a whole that names a file (EXT-X-SESSION-KEY, EXT-X-SESSION-DATA) is not
  // per pathway: a relative URI would resolve against the steering URL, so it goes to the first pathway's OCA.
  const first = pathways[0]?.url;
  const whole = head.map((l) => (first && l.startsWith("#EXT") ? withHlsAttribute(l, hlsAttributes(l), "URI", (u) => resolveInTitle(first, u)) : l));
  const out = [...whole, `#EXT-X-CONTENT-STEERING:SERVER-URI="${serverUri}",PATHWAY-ID="${pathways[0]?.ocaId ?? ""}"`];
  for (const p of pathways) for (const m of media) out.push(forPathway(m, RENDITION_GROUP, p));
  for (const p of pathways) {
    for (const v of variants) out.push(`${forPathway(v.tag, VARIANT_GROUPS, p)},PATHWAY-ID="${p.ocaId}"`, resolveInTitle(p.url, v.uri));
    for (const f of iframes) out.push(`${forPathway(f, VARIANT_GROUPS, p)},PATHWAY-ID="${p.ocaId}"`);
  }
  return ["#EXTM3U", ...out, ""].join("\n");
}

/**
 * Adds DASH Content Steering to an MPD: one BaseURL per pathway (serviceLocation) and <ContentSteering>.
 * The MPD's own relative BaseURLs resolve within the title under them (ISO/IEC 23009-1 §5.6): those of the
 * MPD level go into each pathway's BaseURL (left beside them, they would resolve against this MPD's URL, the
 * steering server's), those below are kept within the title (`dashBaseUrlsInTitle`).
 */
export function steeredDashMpd(source: string, pathways: Array<Pathway & { url: string }>, serverUri: string): string {
  if (!/<MPD\b[^>]*>/.test(source)) return source;
  const { text: mpd, root } = dashBaseUrlsInTitle(source, true);
  const open = /<MPD\b[^>]*>/.exec(mpd)!;
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  const inject =
    pathways.map((p) => `\n  <BaseURL serviceLocation="${esc(p.ocaId)}">${esc(p.url + root)}</BaseURL>`).join("") +
    `\n  <ContentSteering defaultServiceLocation="${esc(pathways[0]?.ocaId ?? "")}" queryBeforeStart="true">${esc(serverUri)}</ContentSteering>`;
  const at = open.index + open[0].length;
  return mpd.slice(0, at) + inject + mpd.slice(at);
}

/** Per-session Content Steering: steered HLS playlist, steered DASH MPD, and the steering server. */
export const contentSteering = new Hono<{ Bindings: Env }>();
const preflight = cors({ origin: "*", allowMethods: ["GET", "OPTIONS"] });
// hono's cors sets its header on a placeholder response before the handler runs and copies it over
// after: a second Response per poll. The header goes on the one response instead (errors included).
contentSteering.use("*", async (c, next) => {
  if (c.req.method === "OPTIONS") return preflight(c, next);
  await next();
  c.res.headers.set("Access-Control-Allow-Origin", "*");
});

/**
 * The token and title of a steering path (`/v1/steering/:token/:titleId/<file>`) as sent. hono's
 * param() URI-decodes each value on every call, and a poll's token is some 400 characters of
 * base64url with nothing to decode: a signature check or the title check refuses anything else.
 */
function pathParams(c: Context): { token: string; titleId: string } {
  const parts = c.req.path.split("/");
  return { token: parts[parts.length - 3], titleId: parts[parts.length - 2] };
}

/** The session and its pathways in today's order (then any that left the ranking), with their OCA URLs. */
async function steeredPathways(c: Context<{ Bindings: Env }>, file: string) {
  const { token, titleId } = pathParams(c);
  const s = await session(c, token, titleId);
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  // The manifest (isolate, colo cache or origin) and the OCAs' order (the sites' live view) at once: both are on the player's startup path.
  const manifest = async () => {
    const index = await versionIndex(c.env.ORIGIN, titleId, s.claims.ver);
    const entry = index?.files.get(file);
    return entry ? originText(c.env.ORIGIN, originKey(titleId, file, entry.sha256), entry.sha256, contentTypeFor(file), waitUntil) : null;
  };
  const [read, ordered] = await Promise.allSettled([manifest(), currentOrder(c.env, s, titleId, waitUntil)]);
  // The manifest's failure first, as when it was read before the order was asked for.
  if (read.status === "rejected") throw read.reason;
  const text = read.value;
  if (text === null) throw new ApiError(404, "not_found", `version ${s.claims.ver} of the title has no ${file}`);
  if (ordered.status === "rejected") throw ordered.reason;
  const order = ordered.value;
  const base = baseOf(c.env, c.req.url);
  const pathways = [...order.map((o) => ({ siteId: o.siteId, ocaId: o.ocaId })), ...s.pathways.filter((p) => !order.some((o) => o.ocaId === p.ocaId))];
  return {
    text,
    maxHeight: s.claims.cap,
    server: steeringUrls(base, token, titleId).server,
    pathways: pathways.map((p) => ({ ...p, url: ocaUrl(base, p, s.urlToken, titleId) })),
  };
}

contentSteering.get("/:token/:titleId/master.m3u8", async (c) => {
  const { text, maxHeight, server, pathways } = await steeredPathways(c, "master.m3u8");
  const body = steeredHlsPlaylist(filterHlsMultivariant(text, maxHeight), pathways, `${server}?start=1`);
  return c.body(body, 200, { ...NO_STORE, "Content-Type": "application/vnd.apple.mpegurl" });
});

contentSteering.get("/:token/:titleId/manifest.mpd", async (c) => {
  const { text, maxHeight, server, pathways } = await steeredPathways(c, "manifest.mpd");
  const body = steeredDashMpd(filterDashMpd(text, maxHeight), pathways, `${server}?dash=1`);
  return c.body(body, 200, { ...NO_STORE, "Content-Type": "application/dash+xml" });
});

/**
 * The URL a player polls next: this one without what the player adds itself (`_HLS_*`, `_DASH_*`)
 * and without `start` (only the first request precedes any download). String work, not a URL parse:
 * every poll asks it.
 */
export function reloadUri(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const kept = url
    .slice(q + 1)
    .split("&")
    .filter((kv) => kv !== "" && !kv.startsWith("_HLS_") && !kv.startsWith("_DASH_") && kv !== "start" && !kv.startsWith("start="));
  return kept.length ? `${url.slice(0, q)}?${kept.join("&")}` : url.slice(0, q);
}

/**
 * Bandwidth of the lowest video rung of a session's version (kept per title view: polls ask it every few
 * seconds). The catalogue holds the renditions of the title's current version only (a registration
 * replaces them): a session of an older version, whose ladder may differ, is not judged on it (null).
 */
const lowestRungs = new WeakMap<object, number | null>();
function lowestRung(title: { title: { version: number }; renditions: Array<{ kind: string; bandwidth: number }> } | null, version: number): number | null {
  if (!title || title.title.version !== version) return null;
  let lowest = lowestRungs.get(title);
  if (lowest === undefined) {
    const videos = title.renditions.filter((r) => r.kind === "video").map((r) => r.bandwidth);
    lowest = videos.length ? Math.min(...videos) : null;
    lowestRungs.set(title, lowest);
  }
  return lowest;
}

/**
 * The title's entry for judging reported throughput, or null when the catalogue cannot be read now (D1
 * failing and the entry not held: the session's version view, which answers the poll, may be held
 * without it). Demotion is a refinement: without it the poll still answers the ranked order, never 503.
 */
async function titleForDemotion(env: Env, titleId: string, waitUntil: (p: Promise<unknown>) => void) {
  try {
    return await catalogueCache.title(env, titleId, waitUntil);
  } catch (err) {
    if (err instanceof ApiError && err.code === "catalogue_unavailable") return null;
    throw err;
  }
}

/**
 * The session's pathways to put behind the next one now: those this poll reports too slow for the
 * lowest rung (`lowest`, bits/s; null: not judged) and those reported so within SLOW_PATHWAY_MS. A
 * pathway measured fast leaves at once. Names the player sends are untrusted: only the session's own
 * pathways are kept, so the memory never holds more entries than the session has pathways.
 */
function slowPathways(s: SteeringSession, reported: string[], throughputs: number[], lowest: number | null, now: number): Set<string> {
  if (lowest) {
    reported.forEach((p, k) => {
      const t = throughputs[k];
      if (!s.allowed.has(p) || !Number.isFinite(t) || t <= 0) return;
      if (t < lowest * 1.2) (s.slow ??= new Map()).set(p, now + SLOW_PATHWAY_MS);
      else s.slow?.delete(p);
    });
  }
  const out = new Set<string>();
  for (const [p, until] of s.slow ?? []) {
    if (until > now) out.add(p);
    else s.slow?.delete(p);
  }
  return out;
}

/**
 * The steering server (HLS and DASH): the session's pathways re-ranked now from health and load.
 * Failed or drained OCAs leave the list. A pathway the player reports as too slow for the lowest
 * rung (`_HLS_throughput` / `_DASH_throughput`, bits/s) drops behind the next one, and stays there
 * for SLOW_PATHWAY_MS unless measured fast meanwhile.
 */
contentSteering.get("/:token/:titleId/steering.json", async (c) => {
  const { token, titleId } = pathParams(c);
  const s = await session(c, token, titleId);
  const dash = c.req.query("dash") === "1" || c.req.query("_DASH_pathway") !== undefined || c.req.query("_DASH_throughput") !== undefined;
  // hls.js sends one pathway (_HLS_pathway=a); dash.js a quoted list of every service location it used
  // since the last request (_DASH_pathway="a,b") with one throughput each (_DASH_throughput=t1,t2; empty = not measured).
  // No player names more pathways than its session has (dash.js each it used once): entries past that
  // count are not read, so a poll of 20,000 commas is split no further than the session's pathways.
  const most = s.pathways.length;
  const reported = (c.req.query(dash ? "_DASH_pathway" : "_HLS_pathway") ?? "").replace(/^"|"$/g, "").split(",", most).filter(Boolean);
  const throughputs = (c.req.query(dash ? "_DASH_throughput" : "_HLS_throughput") ?? "").split(",", most).map(Number);
  // The request made from the playlist's SERVER-URI (marked start=1) precedes any download: hls.js then
  // reports its default estimate (the first variant's BANDWIDTH), not a measurement, so it must not demote.
  const measured = c.req.query("start") !== "1";
  // Refuses (410) a session whose title was taken down or whose licence stopped: such a poll is no activity.
  // The pathway it plays from: hls.js names one, dash.js those it used since its last poll (the last the latest).
  const playingFrom = reported.at(-1);
  const order = (await currentOrder(c.env, s, titleId, (p) => c.executionCtx.waitUntil(p), playingFrom)).map((o) => o.ocaId);
  // A steering poll of a session still standing is activity: the member's stream keeps counting.
  touchStream(c.env, s.claims.mid, s.claims.sid, { titleId: s.claims.tid, expiresAt: s.claims.exp * 1000 }, (p) => c.executionCtx.waitUntil(p));
  const lowest = measured && reported.length > 0 ? lowestRung(await titleForDemotion(c.env, titleId, (p) => c.executionCtx.waitUntil(p)), s.claims.ver) : null;
  const slow = slowPathways(s, reported, throughputs, lowest, Date.now());
  if (slow.size > 0) {
    // Each slow pathway drops behind the next one not reported slow (dash.js reports every pathway it used
    // since its last poll): moved one by one, two slow neighbours would swap back and one would lead again.
    for (let i = order.length - 2; i >= 0; i--) {
      if (!slow.has(order[i])) continue;
      const next = order.findIndex((p, j) => j > i && !slow.has(p));
      if (next > i) order.splice(next, 0, ...order.splice(i, 1));
    }
  }
  // DASH-IF CTS 001 / ETSI TS 103 998 use the HLS key names: dash.js reads only PATHWAY-PRIORITY.
  return c.json({ VERSION: 1, TTL: STEERING_TTL_S, "RELOAD-URI": reloadUri(c.req.url), "PATHWAY-PRIORITY": order }, 200, NO_STORE);
});
