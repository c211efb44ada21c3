import { Hono } from "hono";
import { cors as corsMiddleware } from "hono/cors";
import { ApiError } from "../shared/errors";
import { contentTypeFor, isManifest, ocaKey, originKey, videoHeightOf } from "../../shared/file-keys";
import { isSafeFilePath, isSafeSegment, MAX_FILE_PATH, SAFE_PATH_RULE } from "../../shared/ids";
import { findOca, findSite, parentChain, topology, type SiteSpec } from "../shared/topology";
import { MAX_URL_TOKEN, verifyUrlToken } from "../shared/url-token";
import { urlKeyRing } from "../shared/signing-keys";
import { filterDashMpd, filterHlsMultivariant, MANIFEST_FILTER_VERSION } from "../shared/manifest-filter";
import { r2Representation, RepresentationChanged, serveRepresentation, textRepresentation, type Representation } from "../shared/representation";
import { ocaFault, ocaHealth, recordCmcd, recordMiss, recordOutcome, recordServed, recordServedAway, tierBucket } from "../shared/site-link";
import { applyFault, paced } from "./fault";
import type { ServedFrom } from "../shared/site-view";
import { readCmcd } from "./cmcd";
import { versionIndex } from "../shared/version-index";
import { cachedRepresentation, cacheWhole, COLO_CACHE_MAX_BYTES, teedToColoCache } from "../shared/colo-cache";
import { COLO_CACHE_TTL_S, COLO_TEE_MAX_BYTES } from "./colo-cache";
import { streamRefused, touchStream } from "../shared/stream-activity";
import { withdrawnReason } from "./withdrawn";
import { countableBytes } from "./served-ceiling";
import { setBounded } from "../shared/bounded-map";

/**
 * The data plane: an OCA serving a title's files from its site's tier bucket.
 * URL: /oca/{siteId}/{ocaId}/{token}/{titleId}/{path...}; the origin tier is /oca/origin/origin/...
 * It never calls the control plane; misses and bytes served ride the batched site report (site-link.ts).
 */
export const edge = new Hono<{ Bindings: Env }>();

/** Players on any origin read OCAs with Range and conditionals, and see the headers they need. */
const cors = corsMiddleware({
  origin: "*",
  allowMethods: ["GET", "HEAD", "OPTIONS"],
  // CMCD in header mode (CTA-5004) is four request headers: allowed, so players on other origins may send them.
  allowHeaders: [
    "Range",
    "If-Range",
    "If-None-Match",
    "If-Modified-Since",
    "If-Match",
    "If-Unmodified-Since",
    "Content-Type",
    "CMCD-Request",
    "CMCD-Object",
    "CMCD-Status",
    "CMCD-Session",
  ],
  exposeHeaders: ["Content-Range", "Content-Length", "ETag", "Accept-Ranges", "Last-Modified", "X-OCA", "X-OCA-Source", "X-Cache", "Retry-After"],
  maxAge: 86400,
});

const IMMUTABLE = "public, max-age=31536000, immutable";
const MANIFEST = "public, max-age=60";

edge.use("/oca/*", cors);

/**
 * The site OCA each request is a health signal for: set by the handler once the token is valid and
 * the OCA in service (a flood of bad tokens must not dilute an error rate, and refusing an OCA the site
 * already took out is not that OCA failing).
 */
const signalFor = new WeakMap<Request, { siteId: string; ocaId: string; sessionId: string; missedAt?: number }>();

/**
 * Every answer of a site's OCA to a valid request is a health signal for its site: whether it failed
 * (5xx) and how long it took. A miss's time counts up to when the OCA found it lacked the file: the walk
 * to parents and origin after that is the content's absence (counted as a miss), not the OCA's
 * slowness, and a token holder asking an idle OCA for files it lacks must not make it look slow.
 */
edge.use("/oca/*", async (c, next) => {
  const t0 = Date.now();
  await next();
  const at = signalFor.get(c.req.raw);
  if (at)
    // A 5xx after the OCA found it lacked the file (the parent's or origin's lookup failing) is not the
    // OCA failing: counted so, an origin outage would fail every OCA through its misses while its hits serve.
    recordOutcome(
      c.env,
      at.siteId,
      at.ocaId,
      at.sessionId,
      { error: c.res.status >= 500 && at.missedAt === undefined, latencyMs: (at.missedAt ?? Date.now()) - t0 },
      (p) => c.executionCtx.waitUntil(p),
    );
});

// Encoded separators (and any dot-segment the URL still carries) are refused before any decoding. The
// runtime's URL parser has already resolved plain and %2e dot-segments: within the title that names
// another of its files, out of it the token's title check refuses it.
const TRAVERSAL = /(\.\.|%2e|%2f|%5c|\\|%00)/i;

/**
 * The longest path an OCA URL can honestly have: /oca/, site, OCA and title segments, the token and
 * the file path. A longer one is refused before it is split (a 100 KB path is 50,000 segments).
 */
const MAX_OCA_PATH = "/oca/".length + 3 * 129 + MAX_URL_TOKEN + 1 + MAX_FILE_PATH;

/**
 * The longest If-None-Match / If-Match list read: a player sends the one entity tag of its copy (a
 * shared cache a few); this is about fifty of this CDN's tags. A longer list is not walked (RFC 6585 §5).
 */
export const MAX_VALIDATOR_LIST_CHARS = 2_048;

edge.on(["GET", "HEAD"], "/oca/*", async (c) => {
  const rawUrl = c.req.raw.url;
  const rawPath = rawUrl.slice(rawUrl.indexOf("/", rawUrl.indexOf("//") + 2)).split("?")[0];
  if (rawPath.length > MAX_OCA_PATH) throw new ApiError(414, "uri_too_long", `an OCA path is at most ${MAX_OCA_PATH} characters`);
  if (TRAVERSAL.test(rawPath)) throw new ApiError(400, "bad_path", "path contains dot-segments or encoded separators");
  const parts = rawPath.split("/").slice(2);
  if (parts.length < 5 || parts.some((p) => p === "")) throw new ApiError(404, "not_found", "no such file");
  const [siteId, ocaId, token, titleId, ...rest] = parts;
  const path = rest.join("/");
  if (![siteId, ocaId, titleId].every(isSafeSegment)) {
    throw new ApiError(400, "bad_path", "site, OCA and title must each be up to 128 characters of [A-Za-z0-9._-], not a reserved name");
  }
  if (!isSafeFilePath(path)) throw new ApiError(400, "bad_path", `the file path must be ${SAFE_PATH_RULE}`);
  for (const name of ["If-None-Match", "If-Match"]) {
    if ((c.req.header(name)?.length ?? 0) > MAX_VALIDATOR_LIST_CHARS)
      throw new ApiError(431, "header_too_large", `${name} is longer than ${MAX_VALIDATOR_LIST_CHARS} characters`);
  }

  const isOrigin = siteId === topology.origin.id && ocaId === topology.origin.id;
  const site = isOrigin ? undefined : findSite(siteId);
  if (!isOrigin && (!site || !findOca(siteId, ocaId))) throw new ApiError(404, "unknown_oca", `no OCA ${siteId}/${ocaId}`);

  const now = Math.floor(Date.now() / 1000);
  const verdict = await verifyUrlToken(urlKeyRing(c.env), token, titleId, now);
  if (!verdict.ok) throw new ApiError(403, "forbidden", `token rejected: ${verdict.reason}`);
  // A title taken down (or whose last licence ended) stops for running sessions too, whatever their
  // tokens say and wherever its bytes still are; so does a session whose country's licence ended. Asked
  // before the cap: every file of a stopped title is 410, so a player stops rather than step down a rendition.
  const stopped = await withdrawnReason(c.env, titleId, verdict.claims.country, verdict.claims.issuedAt, (p) => c.executionCtx.waitUntil(p));
  if (stopped === "taken_down") throw new ApiError(410, "taken_down", `${titleId} is not served any more (taken down, or its licence ended)`);
  if (stopped === "not_licensed")
    throw new ApiError(410, "not_licensed", `${titleId}'s licence in ${verdict.claims.country} has ended or changed since this session began`);
  const cap = verdict.claims.maxHeight;
  const height = videoHeightOf(path);
  if (height !== null && height > cap) throw new ApiError(403, "rendition_not_allowed", `${height}p is above this session's ${cap}p cap`);

  if (site && ocaHealth(c.env, site.id, ocaId, (p) => c.executionCtx.waitUntil(p)) === "failed") {
    throw new ApiError(503, "oca_failed", `${site.id}/${ocaId} is out of service; use the next OCA of the list`, undefined, { "Retry-After": "30" });
  }
  if (site) signalFor.set(c.req.raw, { siteId: site.id, ocaId, sessionId: verdict.claims.sessionId });
  const fault = site ? ocaFault(site.id, ocaId) : null;
  await applyFault(fault, `${siteId}/${ocaId}`);

  // The token pins the title version; its index says which content this path is in that version.
  const index = await versionIndex(c.env.ORIGIN, titleId, verdict.claims.version);
  if (!index) throw new ApiError(410, "version_gone", `version ${verdict.claims.version} of ${titleId} is not served any more; press play again`);
  const file = index.files.get(path);
  if (!file) throw new ApiError(404, "not_found", `title ${titleId} has no file ${path}`);
  const sha256 = file.sha256;

  const contentType = contentTypeFor(path);
  const cacheControl = isManifest(path) ? MANIFEST : IMMUTABLE;
  const top = path === "master.m3u8" || path === "manifest.mpd";
  // The top manifests are filtered per height cap, so the colo cache keeps one per cap and filter version.
  const variant = top ? `cap=${cap}&filter=${MANIFEST_FILTER_VERSION}` : "";
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  const via = { "X-OCA": isOrigin ? "origin" : `${siteId}/${ocaId}` };
  // Bytes served count at the OCA's site by where they came from: its own copy (the site's tier), a
  // parent site's copy (that site's tier) or origin. The origin pathway (the last entry of every list)
  // has no site: its bytes count at the session's home site (signed in the token), as origin bytes.
  // CMCD on the request goes to the home site too, with the bytes it came with.
  const { sessionId, home, streams } = verdict.claims;
  const stream = { titleId, expiresAt: verdict.claims.exp * 1000 };
  const touch = () => touchStream(c.env, () => c.env.MEMBER_STREAMS.idFromString(streams), sessionId, stream, waitUntil);
  // A stream its member's object refused (it stopped, or lost its slot to another device) is not
  // served here; it is asked again at most once a minute, in case a slot is free.
  if (streamRefused(sessionId)) {
    touch();
    throw new ApiError(409, "too_many_streams", "this stream stopped or the member's other streams hold every slot of the plan; press play again");
  }
  const homeKnown = findSite(home) !== undefined;
  const url = new URL(rawUrl);
  const cmcd = readCmcd(c.req.raw, url);
  // The SDK's probe of an OCA (client/probe.ts) says so: its bytes are the OCA's load, not a session's
  // viewing, so it makes no session entry at the site (the rows a site writes per entry are most of
  // what a viewer costs: docs/capacity.md). A client that marks its media fetches so leaves its served
  // figure at 0, so its own reports are held by time and its play's estimate only, as a client's that
  // fetched nothing; its member still counts as a prober (healthy traffic), once, as its sessions would.
  const probe = url.searchParams.get("probe") === "1";
  // Set when the OCA lacked the file: the miss is counted with the bytes its answer counts.
  let missed = false;
  const served = (res: Response, source: string) => {
    // Whatever the player fetches is the stream's activity: its member's slot keeps counting.
    if (res.status < 400) touch();
    let bytes = 0;
    if (c.req.method === "GET" && (res.status === 200 || res.status === 206)) {
      // Up to the session's ceiling: a dropped request counts its whole length (see served-ceiling.ts).
      bytes = countableBytes(sessionId, Number(res.headers.get("Content-Length") ?? 0));
      if (site) {
        const from: ServedFrom =
          source === "local" ? site.tier : source.startsWith("parent:") ? (findSite(source.slice(7).split("/")[0])?.tier ?? "ixp") : "origin";
        recordServed(c.env, site.id, ocaId, probe ? null : sessionId, bytes, waitUntil, { from, home: site.id === home, streams });
        // The session's home site counts what it was served wherever (its viewing history's figure).
        if (homeKnown && site.id !== home && !probe) recordServedAway(c.env, home, sessionId, bytes, waitUntil);
      } else if (homeKnown) recordServed(c.env, home, topology.origin.id, probe ? null : sessionId, bytes, waitUntil, { from: "origin", home: true });
      if (cmcd && homeKnown && !probe) recordCmcd(c.env, home, { sessionId, titleId, oca: via["X-OCA"], bytes, at: Date.now() }, cmcd, waitUntil);
    }
    // A miss rides the site's next batched report (never a Durable Object call per request), with the
    // bytes this answer counts: a HEAD or a 304 none, a range its length, never the file's whole size.
    if (missed && site) recordMiss(c.env, site.id, ocaId, titleId, bytes, waitUntil);
    return paced(res, fault);
  };

  // The OCA's own copy from the colo cache: no R2 call at all. (Dev only: the benchmark can bypass it,
  // lookup and fill alike, to measure the same segments read from R2 each time, as with no colo cache.)
  const bypass = c.env.DEV_MODE === "true" && c.req.header("X-Bench-No-Colo-Cache") === "1";
  if (site && !bypass) {
    const cached = await cachedRepresentation({ space: "oca", key: ocaKey(site.id, ocaId, titleId, path, sha256), variant }, contentType, cacheControl);
    try {
      if (cached) return served(await serveRepresentation(c.req.raw, cached, { ...via, "X-OCA-Source": "local", "X-Cache": "HIT" }), "local");
    } catch (err) {
      // Evicted between the lookup and the read of a range: served from R2 below, as a miss.
      if (!(err instanceof RepresentationChanged)) throw err;
    }
  }

  // A plain GET sends the whole body: fetch it with the lookup (one R2 call). Ranges and conditionals look first.
  const h = c.req.raw.headers;
  const whole = c.req.method === "GET" && !["Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since"].some((n) => h.has(n));
  // A file re-published between the lookup and the body read is looked up once more, never served under old validators.
  for (let attempt = 0; ; attempt++) {
    // The miss is noted as soon as the OCA's own lookup comes back empty: the walk after it may throw.
    const noteMiss = (at: number) => {
      const signal = signalFor.get(c.req.raw);
      if (signal && attempt === 0) signal.missedAt = at;
    };
    const found = isOrigin ? await fromOrigin(c.env, titleId, path, sha256, whole) : await locate(c.env, site!, ocaId, titleId, path, sha256, whole, noteMiss);
    if (!found) throw new ApiError(404, "not_found", `title ${titleId} has no file ${path}`);
    if (found.miss && attempt === 0) missed = true;

    const base = r2Representation(found.bucket, found.key, found.head, contentType, cacheControl);
    let rep: Representation = base;
    const local = site !== undefined && found.source === "local" && !bypass;
    const meta = { size: found.head.size, etag: found.head.httpEtag, lastModified: found.head.uploaded, contentType, maxAgeS: COLO_CACHE_TTL_S };
    try {
      if (top) {
        const capped = await capManifest(base, path, cap);
        rep = capped.rep;
        if (local)
          waitUntil(
            cacheWhole({ space: "oca", key: found.key, variant }, capped.text, { ...meta, size: capped.rep.size, etag: capped.rep.etag }).catch(() => {}),
          );
      } else if (local && "body" in found.head && found.head.size <= COLO_TEE_MAX_BYTES) {
        // The whole body goes to the viewer and, in step, into the colo cache.
        rep = teedToColoCache(base, found.head.body, { space: "oca", key: found.key }, COLO_CACHE_TTL_S, waitUntil);
      } else if (local && attempt === 0 && found.head.size <= COLO_CACHE_MAX_BYTES && fillDue(found.key)) {
        // A range, a conditional or an object too large to tee: the whole object is fetched once, in the
        // background, for the next ones (once per isolate a minute: where the colo cache keeps nothing,
        // ranges must not each read it whole; never past what the cache keeps).
        waitUntil(
          found.bucket
            .get(found.key)
            .then((o) => (o ? cacheWhole({ space: "oca", key: found.key }, o.body, meta) : undefined))
            .catch(() => {}),
        );
      }
      return served(await serveRepresentation(c.req.raw, rep, { ...via, "X-OCA-Source": found.source, ...(site ? { "X-Cache": "MISS" } : {}) }), found.source);
    } catch (err) {
      if (!(err instanceof RepresentationChanged)) throw err;
      if (attempt >= 1) throw new ApiError(503, "changed_during_read", `${path} changed while it was being read; retry`, undefined, { "Retry-After": "1" });
    }
  }
});

// Any other method on an OCA URL (OPTIONS is the CORS middleware's): the resource exists, the method does not.
edge.all("/oca/*", (c) => {
  throw new ApiError(405, "method_not_allowed", `${c.req.method} is not served here; use GET or HEAD`, undefined, { Allow: "GET, HEAD, OPTIONS" });
});

/** Keys this isolate fetched whole for the colo cache lately (bounded), and when. */
const filledAt = new Map<string, number>();

/** True when `key` was not fetched whole for the colo cache in the last minute (and it now counts as fetched). */
function fillDue(key: string, now = Date.now()): boolean {
  const at = filledAt.get(key);
  if (at !== undefined && now - at < 60_000) return false;
  setBounded(filledAt, key, now, 10_000);
  return true;
}

interface Located {
  bucket: R2Bucket;
  key: string;
  head: R2Object | R2ObjectBody;
  /** "local", "parent:{siteId}/{ocaId}" or "origin". */
  source: string;
  miss: boolean;
}

/**
 * R2 lookups a miss makes at once: a Worker invocation holds at most six connections open (R2 calls
 * included; more wait), and a body fetched whole holds its connection until it is read or let go.
 */
const LOOKUPS_AT_ONCE = 6;

/** Lets go of a body fetched for an answer not taken (its stream would otherwise stay open). */
function releaseBody(o: R2Object | R2ObjectBody | null): void {
  if (o && "body" in o) o.body.cancel().catch(() => {});
}

/** head() or, when the whole body will be sent, get(). */
const lookup = (bucket: R2Bucket, key: string, whole: boolean) => (whole ? bucket.get(key) : bucket.head(key));

async function fromOrigin(env: Env, titleId: string, path: string, sha256: string, whole: boolean): Promise<Located | null> {
  const key = originKey(titleId, path, sha256);
  const head = await lookup(env.ORIGIN, key, whole);
  return head ? { bucket: env.ORIGIN, key, head, source: "origin", miss: false } : null;
}

/**
 * The OCA's own copy, else a parent site's copy, else origin (the last two count as a miss); `onMiss`
 * hears of the miss (its moment) before the walk to parents and origin, which may fail.
 */
async function locate(
  env: Env,
  site: SiteSpec,
  ocaId: string,
  titleId: string,
  path: string,
  sha256: string,
  whole: boolean,
  onMiss: (at: number) => void = () => {},
): Promise<Located | null> {
  const bucket = tierBucket(env, site);
  const key = ocaKey(site.id, ocaId, titleId, path, sha256);
  const head = await lookup(bucket, key, whole);
  if (head) return { bucket, key, head, source: "local", miss: false };
  onMiss(Date.now());
  // A parent site's OCAs are asked together: a miss waits one R2 round trip per group, not one per OCA.
  for (const parent of parentChain(site)) {
    const pb = tierBucket(env, parent);
    for (let from = 0; from < parent.ocas.length; from += LOOKUPS_AT_ONCE) {
      const ocas = parent.ocas.slice(from, from + LOOKUPS_AT_ONCE);
      const keys = ocas.map((oca) => ocaKey(parent.id, oca.id, titleId, path, sha256));
      const answers = await Promise.allSettled(keys.map((k) => lookup(pb, k, whole)));
      // The first in the topology's order serves (as when they were asked one by one); the rest let go.
      const i = answers.findIndex((a) => a.status === "rejected" || a.value !== null);
      for (const [j, a] of answers.entries()) if (j !== i && a.status === "fulfilled") releaseBody(a.value);
      if (i < 0) continue;
      const a = answers[i];
      if (a.status === "rejected") throw a.reason;
      return { bucket: pb, key: keys[i], head: a.value!, source: `parent:${parent.id}/${ocas[i].id}`, miss: true };
    }
  }
  const origin = await fromOrigin(env, titleId, path, sha256, whole);
  return origin ? { ...origin, miss: true } : null;
}

/** Serves the multivariant playlist / MPD without renditions above the session's cap (and gives its text, for the colo cache). */
async function capManifest(rep: Representation, path: string, cap: number): Promise<{ rep: Representation; text: string }> {
  const stream = await rep.body();
  if (!stream) throw new RepresentationChanged();
  const text = await new Response(stream).text();
  const filtered = path.endsWith(".mpd") ? filterDashMpd(text, cap) : filterHlsMultivariant(text, cap);
  const etag = filtered === text ? rep.etag : `"${rep.etag.replace(/^W\//, "").replace(/"/g, "")}-h${cap}"`;
  return { rep: textRepresentation(filtered, etag, rep.contentType, rep.cacheControl, rep.lastModified), text: filtered };
}
