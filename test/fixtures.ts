import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { ocaKey } from "../shared/file-keys";
import { dayNumber } from "../fill/day";
import { topology } from "../workers/shared/topology";
import type { ApplyPlanInput } from "../durable-objects/site/rpc-types";
import worker from "../workers/index";

/** Calls the Worker under test (the real entry, in workerd). */
export function call(path: string, init: RequestInit & { geo?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.geo) headers.set("X-Client-Geo", init.geo);
  const url = path.startsWith("http") ? path : `http://cdn.test${path}`;
  return exports.default.fetch(new Request(url, { ...init, headers }));
}

/** Calls the Worker's entry with `withEnv` in place of the test's env (another TTL, a wrapped binding), its background work awaited. */
export async function callWithEnv(withEnv: Env, path: string, init: RequestInit & { geo?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.geo) headers.set("X-Client-Geo", init.geo);
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://cdn.test${path}`, { ...init, headers }), withEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export const ADMIN = { Authorization: "Bearer test-admin-token" };

/** How long before a site's local midnight a file that seeds "today" waits it out (longer than any such file runs). */
export const CLEAR_OF_MIDNIGHT_MS = 60_000;

/**
 * Waits until no site's local day ends within `marginMs`. Files that seed a site's "today" (viewing
 * history, served hours) and read it back moments later would otherwise fail for the few seconds a
 * day when a midnight falls between the two steps. Use as the file's first hook, with a timeout above
 * `marginMs`.
 */
export async function clearOfLocalMidnight(marginMs = CLEAR_OF_MIDNIGHT_MS): Promise<void> {
  const zones = topology.sites.map((s) => s.timeZone);
  while (localMidnightWithin(Date.now(), marginMs, zones)) await new Promise((r) => setTimeout(r, 1000));
}

/** True when a local day of one of `zones` ends between `now` and `now + marginMs`. */
export function localMidnightWithin(now: number, marginMs: number, zones: string[]): boolean {
  return zones.some((z) => dayNumber(now, z) !== dayNumber(now + marginMs, z));
}

/** A client of each ISP of the demo topology, and one in none. */
export const GEO = {
  lumenNyc: "asn=64500;country=US;lat=40.71;lon=-74.0",
  lumenLa: "asn=64501;country=US;lat=34.05;lon=-118.24",
  lakeshoreChicago: "asn=64510;country=US;lat=41.88;lon=-87.63",
  rheinnetBerlin: "asn=64520;country=DE;lat=52.52;lon=13.40",
  polderAmsterdam: "asn=64530;country=NL;lat=52.37;lon=4.90",
  otherBoston: "asn=65000;country=US;lat=42.36;lon=-71.06",
  otherParis: "asn=65001;country=FR;lat=48.86;lon=2.35",
};

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Deterministic pseudo-random bytes, so a test can check every byte it gets back. */
export function patternBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const MASTER = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",LANGUAGE="en",NAME="English",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/aac-en/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=426x240,FRAME-RATE=25.000,AUDIO="aud"
video/avc-240p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1400000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=854x480,FRAME-RATE=25.000,AUDIO="aud"
video/avc-480p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2800000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=25.000,AUDIO="aud"
video/avc-720p/index.m3u8
`;

export const MPD = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Period id="0">
    <AdaptationSet contentType="video" mimeType="video/mp4">
      <Representation id="avc-240p" bandwidth="400000" width="426" height="240" codecs="avc1.64001e"/>
      <Representation id="avc-480p" bandwidth="1200000" width="854" height="480" codecs="avc1.64001e"/>
      <Representation id="avc-720p" bandwidth="2500000" width="1280" height="720" codecs="avc1.64001f">
        <SegmentTemplate initialization="video/avc-720p/init.mp4" media="video/avc-720p/seg-$Number%05d$.m4s" duration="4" startNumber="1"/>
      </Representation>
    </AdaptationSet>
    <AdaptationSet contentType="audio" mimeType="audio/mp4" lang="en">
      <Representation id="aac-en" bandwidth="128000" codecs="mp4a.40.2"/>
    </AdaptationSet>
  </Period>
</MPD>
`;

export interface FixtureTitle {
  titleId: string;
  /** The version the registration created (or kept). */
  version: number;
  files: Record<string, Uint8Array>;
  /** SHA-256 (hex) of each file: with the path, what names its bytes in R2. */
  sha: Record<string, string>;
}

/** Key of an OCA's copy of a fixture title's file in its tier bucket. */
export const tierKey = (siteId: string, ocaId: string, t: FixtureTitle, path: string): string => ocaKey(siteId, ocaId, t.titleId, path, t.sha[path]);

/**
 * Publishes a small synthetic title through the admin API (origin upload + registration), as the
 * seed and ingest do. Media bytes are patterned, not real video: these tests are about bytes and headers.
 */
export async function publishTitle(
  titleId: string,
  opts: {
    segmentBytes?: number;
    licences?: Array<{ country: string; availableFrom: string; availableUntil?: string | null }>;
    availableFrom?: string;
    /** Files to replace or add (path -> bytes): a re-publish with new contents. */
    change?: Record<string, Uint8Array>;
    /** Fields of the registration to set instead (renditions, durationS, ...). */
    register?: Record<string, unknown>;
  } = {},
): Promise<FixtureTitle> {
  const seg = opts.segmentBytes ?? 64 * 1024;
  const enc = new TextEncoder();
  const files: Record<string, Uint8Array> = { "master.m3u8": enc.encode(MASTER), "manifest.mpd": enc.encode(MPD) };
  let seed = 1;
  for (const r of ["avc-240p", "avc-480p", "avc-720p"]) {
    files[`video/${r}/index.m3u8`] = enc.encode(
      `#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4,\nseg-00001.m4s\n#EXT-X-ENDLIST\n`,
    );
    files[`video/${r}/init.mp4`] = patternBytes(700, seed++);
    files[`video/${r}/seg-00001.m4s`] = patternBytes(seg, seed++);
  }
  files["audio/aac-en/init.mp4"] = patternBytes(600, seed++);
  files["audio/aac-en/seg-00001.m4s"] = patternBytes(8000, seed++);
  files["subs/sub-en.vtt"] = enc.encode("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello\n");
  Object.assign(files, opts.change ?? {});
  const sha: Record<string, string> = {};

  const list = [];
  for (const [path, bytes] of Object.entries(files)) {
    const sha256 = await sha256Hex(bytes);
    sha[path] = sha256;
    const res = await call(`/admin/origin/${titleId}/${path}`, {
      method: "PUT",
      body: bytes,
      headers: { ...ADMIN, "X-Content-SHA256": sha256, "Content-Length": String(bytes.byteLength) },
    });
    if (res.status !== 201) throw new Error(`upload ${path}: ${res.status} ${await res.text()}`);
    list.push({ path, bytes: bytes.byteLength, sha256 });
  }
  const year = "2020-01-01T00:00:00.000Z";
  const res = await call(`/admin/titles/${titleId}`, {
    method: "PUT",
    headers: { ...ADMIN, "Content-Type": "application/json" },
    body: JSON.stringify({
      name: `Fixture ${titleId}`,
      description: "synthetic test title",
      durationS: 8,
      availableFrom: opts.availableFrom,
      renditions: [
        { id: "avc-240p", kind: "video", codec: "avc1.64001e", width: 426, height: 240, bandwidth: 400000 },
        { id: "avc-480p", kind: "video", codec: "avc1.64001e", width: 854, height: 480, bandwidth: 1200000 },
        { id: "avc-720p", kind: "video", codec: "avc1.64001f", width: 1280, height: 720, bandwidth: 2500000 },
        { id: "aac-en", kind: "audio", codec: "mp4a.40.2", bandwidth: 128000, language: "en", label: "English" },
        { id: "sub-en", kind: "subtitle", codec: "wvtt", bandwidth: 256, language: "en", label: "English" },
      ],
      files: list,
      licences: opts.licences ?? [
        { country: "US", availableFrom: year },
        { country: "DE", availableFrom: year },
        { country: "NL", availableFrom: year },
        { country: "FR", availableFrom: year },
      ],
      ...opts.register,
    }),
  });
  if (res.status !== 200) throw new Error(`register ${titleId}: ${res.status} ${await res.text()}`);
  const { version } = (await res.json()) as { version: number };
  return { titleId, version, files, sha };
}

/** A site as the topology API takes it: an IXP in New York with one OCA, unless `over` says otherwise. */
export function siteBody(id: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: `Test site ${id}`,
    tier: "ixp",
    region: "na",
    country: "US",
    lat: 40.71,
    lon: -74.0,
    timeZone: "America/New_York",
    ocas: [{ id: `${id}-1`, capacityBytes: 100_000_000, throughputBps: 1_000_000_000 }],
    ...over,
  };
}

/** An embedded Lumen site in New York under ixp-nyc whose fill window wraps midnight (22:00-06:00). */
export const nightSiteBody = (id: string, name: string) =>
  siteBody(id, {
    name,
    tier: "embedded",
    isp: "lumen-fiber",
    parent: "ixp-nyc",
    lat: 40.73,
    lon: -73.99,
    fillWindow: { startHour: 22, endHour: 6 },
    ocas: [{ id: `${id}-1`, capacityBytes: 400_000_000, throughputBps: 10_000_000_000 }],
  });

/** Adds a site to the live topology through the admin API. */
export function addSite(body: Record<string, unknown>): Promise<Response> {
  return call("/admin/topology/sites", { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

/** Copies titles into OCAs through the admin API. */
export async function fill(placements: Array<{ siteId: string; ocaId: string; titleIds: string[] }>): Promise<Response> {
  return call("/admin/fill", { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body: JSON.stringify({ placements }) });
}

/** Publishes a title and fills it on each of `ocas` (site/OCA ids: "lumen-nyc/lumen-nyc-1"); throws unless the fill answers 200. */
export async function publishHeldAt(titleId: string, ocas: string[]): Promise<FixtureTitle> {
  const title = await publishTitle(titleId);
  const res = await fill(ocas.map((o) => ({ siteId: o.split("/")[0], ocaId: o.split("/")[1], titleIds: [titleId] })));
  if (res.status !== 200) throw new Error(`fill of ${titleId} answered ${res.status}: ${await res.text()}`);
  return title;
}

let members = 0;

/**
 * A dev member token for a plan. Without an id, a new member each call: a member may stream only as
 * many titles at once as the plan allows, and most tests press play many times.
 */
export async function memberToken(
  plan: "basic" | "standard" | "premium",
  memberId = `m-${plan}-${++members}-${crypto.randomUUID().slice(0, 8)}`,
): Promise<string> {
  const res = await call("/v1/dev/token", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ memberId, plan }) });
  const body = (await res.json()) as { token: string };
  return body.token;
}

export type { PlayResponse } from "../shared/play";

/** Sends a QoE batch for a play session; returns the raw response. */
export function postEvents(
  token: string,
  p: { sessionId: string; sessionToken: string },
  events: unknown[],
  batchId = `b-${crypto.randomUUID()}`,
): Promise<Response> {
  return call("/v1/events", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ sessionId: p.sessionId, sessionToken: p.sessionToken, batchId, events }),
  });
}

/** Presses play (with any extra headers, e.g. a client IP); returns the raw response. */
export function pressPlay(token: string, body: unknown, geo?: string, headers: Record<string, string> = {}): Promise<Response> {
  return call("/v1/play", {
    method: "POST",
    headers: { ...headers, Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
    geo,
  });
}

/**
 * An OCA URL token as an attacker would forge it: key id `kid` (e.g. an inherited property name) and
 * the HMAC key they guess it maps to (e.g. "[object Object]"), valid for an hour.
 */
export async function forgeToken(
  kid: string,
  key: string,
  titleId: string,
  sessionId: string,
  exp = Math.floor(Date.now() / 1000) + 3600,
  version = 1,
  home = "ixp-nyc",
  streams = "0".repeat(64),
  country = "US",
  issuedAt = Date.now(),
): Promise<string> {
  const k = await crypto.subtle.importKey("raw", new TextEncoder().encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign(
    "HMAC",
    k,
    new TextEncoder().encode(`v5|${kid}|${titleId}|${version}|${sessionId}|${issuedAt}|${exp}|2160|${home}|${country}|${streams}`),
  );
  const b64 = btoa(String.fromCharCode(...new Uint8Array(mac)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  return `v5.${kid}.${sessionId}.${issuedAt}.${exp}.2160.${version}.${home}.${country}.${streams}.${b64}`;
}

/**
 * A session token (steering paths, events) as an attacker would forge it: the real session's claims
 * (`payload`, base64url JSON) under key id `kid` and the HMAC key they guess it maps to.
 */
export async function forgeSessionToken(kid: string, key: string, payload: string): Promise<string> {
  const k = await crypto.subtle.importKey("raw", new TextEncoder().encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(`s1|${kid}|${payload}`));
  const b64 = btoa(String.fromCharCode(...new Uint8Array(mac)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  return `s1.${kid}.${payload}.${b64}`;
}

/** A fill plan for a site's OCAs (`byOca`: titles per OCA), open for the next hour at an unthrottled rate, with empty cycle figures. */
export function openPlan(byOca: Record<string, string[]>, now = Date.now()): ApplyPlanInput {
  return {
    day: Math.floor(now / 86_400_000) + 1,
    byOca,
    fillUntil: now + 3_600_000,
    fillRateBps: 8e12,
    peerWaitMs: 0,
    parentWaitMs: 0,
    cycle: {
      at: new Date(now).toISOString(),
      targetDay: 0,
      predictedBytes: 0,
      coveredBytes: 0,
      replicas: {},
      adds: 0,
      removes: 0,
      usedBytes: {},
      predictions: [],
    },
  };
}

/** The hourly cron at `at`, through the Worker's own scheduled handler, waited out. */
export async function cron(at: number): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "0 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}
