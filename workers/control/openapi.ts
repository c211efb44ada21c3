import { z } from "zod";
import { playRequestSchema } from "../../shared/play";
import { eventsRequestSchema } from "../../shared/events";
import { titleRegistrationSchema } from "../../shared/catalogue";
import { ispParam, memberParam, memberStreamParam, sessionParam, siteOcaParam, siteOcaTitleParam, siteParam, titleParam } from "./admin/params";
import { capacityBody, chaosBody, cycleBody, faultBody, healthBody } from "./admin/sites";
import { fillBody } from "./admin/fill";
import { ispChangeBody, ispSpecBody, ocaSpecBody, resizeBody, siteSpecBody } from "./admin/topology";
import { tokenBody } from "./dev";
import { BODY_LIMITS } from "./limits";
import { posterParam } from "./title-posters";

/**
 * The API reference (OpenAPI 3.1), built from the zod schemas the routes validate with, so the two
 * cannot drift: every route of the app is listed here (test/openapi.test.ts fails when one is not),
 * with its parameters, request body, responses and the error codes it can answer.
 */

type Method = "get" | "put" | "post" | "delete" | "head";
type Auth = "member" | "admin" | "signed-url" | "none";

interface RouteDoc {
  method: Method;
  /** OpenAPI path; the Hono path is derived (`{x}` → `:x`) unless given. */
  path: string;
  hono?: string;
  summary: string;
  tag: "playback" | "steering" | "data plane" | "admin" | "dev only" | "reference";
  auth: Auth;
  params?: z.ZodObject;
  query?: Record<string, { description: string; schema: Record<string, unknown> }>;
  body?: z.ZodType;
  /** Request content type when the body is not JSON. */
  bodyType?: string;
  ok: { status: number; description: string; contentType?: string };
  /** Other answers with the success body's shape (a partial result), by status. */
  partial?: Record<number, string>;
  /** Error statuses and the codes each can carry (the one error shape). */
  errors: Record<number, string[]>;
}

const jsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any", target: "draft-2020-12" });

const RATE = { 429: ["rate_limited"] };
const MEMBER = { 401: ["unauthorized"], 503: ["not_configured"] };
const ADMIN = { 401: ["unauthorized"], 429: ["rate_limited"], 503: ["not_configured", "catalogue_unavailable"] };
/** Admin routes that take JSON: a body sent as anything else is refused (never read as `{}`). */
const ADMIN_JSON = { ...ADMIN, 415: ["unsupported_media_type"] };
const BAD = { 400: ["invalid_request"] };

/** The query of a paged list: `limit` (1-max, default `def`) of `what`, and the opaque `cursor` of the page before. */
const pageQuery = (what: string, max: number, def: number, cursor = "the `cursor` of the page before, unchanged") => ({
  limit: { description: `${what} in the page (1-${max}, default ${def})`, schema: { type: "integer", minimum: 1, maximum: max } },
  cursor: { description: cursor, schema: { type: "string" } },
});

/**
 * The codes of a manual fill's failed results: the site object's refusals (`FillResult`) and the
 * request's own (`admin/fill-placements.ts`). test/openapi.test.ts holds the list to both.
 */
const FILL_RESULT_CODES = ["unknown_oca", "unknown_title", "insufficient_capacity", "copy_failed", "not_complete", "site_error", "no_progress"];

/** Every route the Worker answers. */
export const ROUTES: RouteDoc[] = [
  { method: "get", path: "/v1", summary: "API index", tag: "reference", auth: "none", ok: { status: 200, description: "name and endpoints" }, errors: {} },
  {
    method: "get",
    path: "/v1/openapi.json",
    summary: "This document",
    tag: "reference",
    auth: "none",
    ok: { status: 200, description: "OpenAPI 3.1" },
    errors: {},
  },
  {
    method: "get",
    path: "/v1/docs",
    summary: "The API reference, rendered",
    tag: "reference",
    auth: "none",
    ok: { status: 200, description: "HTML", contentType: "text/html" },
    errors: {},
  },
  {
    method: "get",
    path: "/v1/titles",
    summary: "Titles the member can play now in their country",
    tag: "playback",
    auth: "member",
    query: {
      ...pageQuery("titles", 200, 50, "the `cursor` of the page before, unchanged (400 invalid_cursor otherwise)"),
    },
    ok: {
      status: 200,
      description:
        "{ country, total, titles: [{ id, name, description, releaseYear, durationS, maxHeight, audioLanguages, subtitleLanguages, availableFrom, posterUrl? }], cursor? } (by name then id; posterUrl when the title's current version has a poster; cursor only when more remain)",
    },
    errors: { ...MEMBER, ...RATE, 400: ["invalid_request", "invalid_cursor"], 503: ["catalogue_unavailable"] },
  },
  {
    method: "get",
    path: "/v1/titles/{titleId}/poster/{version}",
    summary: "A title version's poster (public: shown before sign-in; immutable, validated by its SHA-256)",
    tag: "playback",
    auth: "none",
    params: posterParam,
    ok: {
      status: 200,
      description:
        "the image (image/jpeg, image/png or image/webp; 206 for a range; HEAD as GET without the body); Cache-Control: public, max-age=31536000, immutable; ETag; X-Cache",
      contentType: "image/*",
    },
    errors: { 304: [], ...BAD, 404: ["unknown_title", "no_poster"], 412: [], 416: [], 503: ["catalogue_unavailable"] },
  },
  {
    method: "post",
    path: "/v1/play",
    summary: "Start a play session: licence, renditions for the device and plan, ranked OCAs, signed URLs and steering",
    tag: "playback",
    auth: "member",
    body: playRequestSchema,
    ok: {
      status: 200,
      description:
        "{ sessionId, titleId, version, expiresAt, expiresInS, maxHeight, ocas: [{ rank, siteId, ocaId, tier, distanceKm, load, stale, url }], hls, dash, steering: { hls, dash, server }, sessionToken, renditions, client }",
    },
    errors: {
      ...BAD,
      ...MEMBER,
      403: ["unknown_plan", "not_released"],
      404: ["unknown_title"],
      409: ["too_many_streams"],
      410: ["taken_down"],
      413: ["payload_too_large"],
      415: ["unsupported_media_type"],
      422: ["no_playable_rendition"],
      ...RATE,
      451: ["not_licensed"],
      503: ["not_configured", "catalogue_unavailable"],
    },
  },
  {
    method: "post",
    path: "/v1/events",
    summary: "A batch of QoE events of a session (idempotent per batchId); `stop` frees the stream slot",
    tag: "playback",
    auth: "member",
    body: eventsRequestSchema,
    ok: { status: 202, description: "{ accepted, bytes } (200 with duplicate: true for a batch already stored)" },
    errors: {
      ...BAD,
      ...MEMBER,
      403: ["forbidden"],
      404: ["unknown_session"],
      410: ["session_expired"],
      413: ["payload_too_large"],
      ...RATE,
      503: ["not_configured", "events_unavailable"],
    },
  },
  ...(["master.m3u8", "manifest.mpd", "steering.json"] as const).map(
    (file): RouteDoc => ({
      method: "get",
      path: `/v1/steering/{token}/{titleId}/${file}`,
      summary:
        file === "steering.json"
          ? "Content Steering server (HLS and DASH): the session's pathways ranked now"
          : `The session's ${file === "master.m3u8" ? "HLS multivariant playlist" : "DASH MPD"} with one pathway per OCA`,
      tag: "steering",
      auth: "none",
      params: z.object({ token: z.string().describe("the play response's sessionToken"), titleId: z.string() }),
      query:
        file === "steering.json"
          ? {
              _HLS_pathway: { description: "pathway the HLS player is on", schema: { type: "string" } },
              _HLS_throughput: { description: "HLS player's throughput, bits/s", schema: { type: "number" } },
              _DASH_pathway: { description: 'service locations the DASH player used ("a,b")', schema: { type: "string" } },
              _DASH_throughput: { description: "DASH player's throughputs, bits/s, one per pathway", schema: { type: "string" } },
            }
          : undefined,
      ok: {
        status: 200,
        description: file === "steering.json" ? "{ VERSION, TTL, RELOAD-URI, PATHWAY-PRIORITY, SERVICE-LOCATION-PRIORITY? }" : "the steered manifest",
        contentType: file === "steering.json" ? "application/json" : file === "master.m3u8" ? "application/vnd.apple.mpegurl" : "application/dash+xml",
      },
      errors: {
        400: ["bad_path"],
        403: ["forbidden"],
        404: ["not_found"],
        410: ["taken_down", "not_licensed", "version_gone", "session_expired"],
        ...RATE,
        503: ["catalogue_unavailable", "not_configured"],
      },
    }),
  ),
  ...(["get", "head"] as const).map(
    (method): RouteDoc => ({
      method,
      path: "/oca/{siteId}/{ocaId}/{token}/{titleId}/{file}",
      hono: "/oca/*",
      summary: "A file of the title from one OCA (Range, conditional requests; the colo cache in front of R2)",
      tag: "data plane",
      auth: "signed-url",
      ok: { status: 200, description: "the bytes (206 for a range); X-OCA-Source, X-Cache", contentType: "application/octet-stream" },
      errors: {
        304: [],
        400: ["bad_path"],
        403: ["forbidden", "rendition_not_allowed"],
        404: ["not_found", "unknown_oca"],
        409: ["too_many_streams"],
        410: ["taken_down", "not_licensed", "version_gone"],
        412: [],
        414: ["uri_too_long"],
        416: [],
        431: ["header_too_large"],
        503: ["oca_failed", "oca_error", "changed_during_read", "not_configured"],
      },
    }),
  ),
  {
    method: "post",
    path: "/v1/dev/token",
    summary: "A member token (dev only: 404 unless DEV_MODE)",
    tag: "dev only",
    auth: "none",
    body: tokenBody,
    ok: { status: 200, description: "{ token, memberId, plan, expiresAt }" },
    errors: { ...BAD, 404: ["not_found"], 413: ["payload_too_large"], ...RATE },
  },
  {
    method: "get",
    path: "/v1/dev/bench/do/{memberId}",
    summary: "Benchmark baseline: one Durable Object call (dev only)",
    tag: "dev only",
    auth: "none",
    ok: { status: 200, description: "{ at }" },
    errors: { 400: ["invalid_request"], 404: ["not_found"] },
  },
  {
    method: "get",
    path: "/v1/dev/bench/do-acquire/{memberId}",
    summary: "Benchmark baseline: the member object's admission call alone, as play makes it (dev only)",
    tag: "dev only",
    auth: "none",
    ok: { status: 200, description: "{ verdict }" },
    errors: { 400: ["invalid_request"], 404: ["not_found"] },
  },
  {
    method: "get",
    path: "/v1/dev/bench/d1",
    summary: "Benchmark baseline: one D1 read (dev only)",
    tag: "dev only",
    auth: "none",
    ok: { status: 200, description: "{ plans }" },
    errors: { 404: ["not_found"] },
  },
  {
    method: "get",
    path: "/v1/dev/bench/r2/{key}",
    hono: "/v1/dev/bench/r2/*",
    summary: "Benchmark baseline: an origin object read from R2 whole, and nothing else (dev only; key: {title}/{tag}/{path})",
    tag: "dev only",
    auth: "none",
    ok: { status: 200, description: "the object's bytes", contentType: "application/octet-stream" },
    errors: { 400: ["bad_path"], 404: ["not_found"] },
  },
  {
    method: "get",
    path: "/admin/topology",
    summary: "Sites, OCAs, ISPs and regions with each OCA's health and holdings",
    tag: "admin",
    auth: "admin",
    ok: { status: 200, description: "the topology" },
    errors: { ...ADMIN_JSON },
  },
  {
    method: "post",
    path: "/admin/topology/sites",
    summary: "Add a site with its OCAs (no redeploy; both planes run on it within 2 × CATALOGUE_TTL_S)",
    tag: "admin",
    auth: "admin",
    body: siteSpecBody,
    ok: { status: 201, description: "{ version, site }" },
    errors: { ...ADMIN_JSON, 400: ["invalid_request", "invalid_topology"], 409: ["duplicate_id", "topology_conflict"], 413: ["payload_too_large"] },
  },
  {
    method: "post",
    path: "/admin/topology/isps",
    summary: "Add an ISP with the ASNs its clients come from (no redeploy): its embedded sites may then be added",
    tag: "admin",
    auth: "admin",
    body: ispSpecBody,
    ok: { status: 201, description: "{ version, isp }" },
    errors: {
      ...ADMIN_JSON,
      400: ["invalid_request", "invalid_topology"],
      409: ["duplicate_id", "duplicate_asn", "topology_conflict"],
      413: ["payload_too_large"],
    },
  },
  {
    method: "post",
    path: "/admin/topology/isps/{ispId}",
    summary: "Change an ISP's name and/or ASNs (the list given replaces the old)",
    tag: "admin",
    auth: "admin",
    params: ispParam,
    body: ispChangeBody,
    ok: { status: 200, description: "{ version, isp }" },
    errors: {
      ...ADMIN_JSON,
      400: ["invalid_request", "invalid_topology"],
      404: ["unknown_isp"],
      409: ["duplicate_asn", "topology_conflict"],
      413: ["payload_too_large"],
    },
  },
  {
    method: "post",
    path: "/admin/topology/sites/{siteId}/ocas",
    summary: "Add an OCA to a site",
    tag: "admin",
    auth: "admin",
    params: siteParam,
    body: ocaSpecBody,
    ok: { status: 201, description: "{ version, siteId, oca }" },
    errors: {
      ...ADMIN_JSON,
      400: ["invalid_request", "invalid_topology"],
      404: ["unknown_site"],
      409: ["duplicate_id", "topology_conflict", "oca_retiring"],
      503: ["not_configured", "site_unreachable"],
    },
  },
  {
    method: "post",
    path: "/admin/topology/sites/{siteId}/ocas/{ocaId}",
    summary: "Resize an OCA: its capacity and/or throughput in the topology",
    tag: "admin",
    auth: "admin",
    params: siteOcaParam,
    body: resizeBody,
    ok: { status: 200, description: "{ version, siteId, oca }" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site", "unknown_oca"], 409: ["topology_conflict"] },
  },
  {
    method: "post",
    path: "/admin/topology/sites/{siteId}/ocas/{ocaId}/retire",
    summary:
      "Retire an OCA: drained at once, then out of the topology (never steered to or planned again); its rows are then deleted, and its copies once no session granted before can ask for them",
    tag: "admin",
    auth: "admin",
    params: siteOcaParam,
    ok: { status: 200, description: "{ version, siteId, ocaId, retiredAt, alreadyRetired }" },
    errors: {
      ...ADMIN_JSON,
      ...BAD,
      404: ["unknown_site", "unknown_oca"],
      409: ["last_oca", "topology_conflict"],
      503: ["not_configured", "site_unreachable"],
    },
  },
  {
    method: "get",
    path: "/admin/ops/overview",
    summary:
      "The operator dashboard's view, a page of sites by id: each site's OCAs (health and why, egress, storage, titles, faults), fill, misses and bytes served by source per day",
    tag: "admin",
    auth: "admin",
    query: {
      days: { description: "days of bytes served (1-60, default 14)", schema: { type: "integer", minimum: 1, maximum: 60 } },
      ...pageQuery("sites", 200, 100, "the `cursor` of the page before (the last site id it gave), unchanged"),
    },
    ok: { status: 200, description: "{ at, days, sites: [...], cursor? } by site id; cursor only when more remain" },
    errors: { ...ADMIN_JSON, ...BAD },
  },
  {
    method: "get",
    path: "/admin/sites/{siteId}",
    summary:
      "A site's state: OCAs, holdings, load, fill tasks, the isolates syncing with it (`syncs`: how many, and the interval it asks), and `retiring`: retired OCAs whose rows and copies are still being deleted",
    tag: "admin",
    auth: "admin",
    params: siteParam,
    query: {
      titles: {
        description: "titles listed per OCA, by id (0-1000, default 100; `titlesTotal` counts all, `titlesCursor` pages on)",
        schema: { type: "integer", minimum: 0, maximum: 1000 },
      },
      misses: {
        description: "misses listed, the most frequent first (0-1000, default 100; `missesTotal` counts all)",
        schema: { type: "integer", minimum: 0, maximum: 1000 },
      },
    },
    ok: { status: 200, description: "the site" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site"] },
  },
  {
    method: "get",
    path: "/admin/sites/{siteId}/ocas/{ocaId}/titles",
    summary: "An OCA's held titles by id, a page at a time (files, bytes, ready files, complete, planned)",
    tag: "admin",
    auth: "admin",
    params: siteOcaParam,
    query: {
      ...pageQuery("titles", 1000, 200, "the `titlesCursor` of the site's state or the `cursor` of the page before"),
    },
    ok: { status: 200, description: "{ siteId, ocaId, titles, cursor? }: cursor only when more remain" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site", "unknown_oca"] },
  },
  {
    method: "post",
    path: "/admin/sites/{siteId}/ocas/{ocaId}/health",
    summary: "Drain or fail one OCA (wins over automatic health), or restore it (automatic health starts afresh)",
    tag: "admin",
    auth: "admin",
    params: siteOcaParam,
    body: healthBody,
    ok: { status: 200, description: "{ siteId, ocaId, health }" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site", "unknown_oca"] },
  },
  {
    method: "post",
    path: "/admin/sites/{siteId}/health",
    summary: "Drain, fail or restore every OCA of a site (404 unknown_oca with { applied, refused } when the site's object does not know some yet)",
    tag: "admin",
    auth: "admin",
    params: siteParam,
    body: healthBody,
    ok: { status: 200, description: "{ siteId, ocas, health }" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site", "unknown_oca"] },
  },
  {
    method: "post",
    path: "/admin/sites/{siteId}/fill-cycle",
    summary: "Run the site's fill cycle now (predict, plan, queue)",
    tag: "admin",
    auth: "admin",
    params: siteParam,
    body: cycleBody,
    ok: { status: 200, description: "the cycle's report; `fillUntil`: the window's end (12 h on outside the window), and at least an hour on" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site"] },
  },
  {
    method: "get",
    path: "/admin/sites/{siteId}/plan",
    summary: "The site's current plan (a page of its planned titles by OCA then title id), last cycle and fill progress by source",
    tag: "admin",
    auth: "admin",
    params: siteParam,
    query: { ...pageQuery("planned titles", 5000, 1000) },
    ok: {
      status: 200,
      description:
        "{ siteId, day, plan: { ocaId: [titleId] }, cycle, progress, cursor? }: a later page's titles join the same OCAs' lists; cursor only when more remain",
    },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site"] },
  },
  {
    method: "get",
    path: "/admin/sites/{siteId}/predictions",
    summary: "Tomorrow's predicted demand per title, most bytes first, a page at a time",
    tag: "admin",
    auth: "admin",
    params: siteParam,
    query: { ...pageQuery("predictions", 5000, 1000) },
    ok: { status: 200, description: "{ siteId, targetDay, predictions: [{ titleId, bytes, popularity, basis }], cursor? }: cursor only when more remain" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site"], 409: ["predictions_changed"] },
  },
  {
    method: "get",
    path: "/admin/sites/{siteId}/views",
    summary: "The site's viewing history",
    tag: "admin",
    auth: "admin",
    params: siteParam,
    query: {
      days: { description: "local days back (1-90, default 14)", schema: { type: "integer", minimum: 1, maximum: 90 } },
      ...pageQuery("rows", 5000, 1000),
    },
    ok: {
      status: 200,
      description: "{ siteId, fromDay, toDay, views: [{ day, titleId, plays, bytes, estBytes }], cursor? } by day then title; cursor only when more remain",
    },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site"] },
  },
  {
    method: "post",
    path: "/admin/sites/{siteId}/ocas/{ocaId}/capacity",
    summary: "Set an OCA's usable storage and/or throughput (null resets)",
    tag: "admin",
    auth: "admin",
    params: siteOcaParam,
    body: capacityBody,
    ok: { status: 200, description: "{ siteId, ocaId, capacityBytes, throughputBps }" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site", "unknown_oca"] },
  },
  {
    method: "post",
    path: "/admin/sites/{siteId}/ocas/{ocaId}/fault",
    summary: "Set an OCA's fault switch (error rate, added latency, throughput cap); all zero clears it",
    tag: "admin",
    auth: "admin",
    params: siteOcaParam,
    body: faultBody,
    ok: { status: 200, description: "{ siteId, ocaId, fault }" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site", "unknown_oca"] },
  },
  {
    method: "post",
    path: "/admin/sites/{siteId}/chaos",
    summary: "Make a site's object unreachable (or reachable again), as if the site were cut off",
    tag: "admin",
    auth: "admin",
    params: siteParam,
    body: chaosBody,
    ok: { status: 200, description: "{ siteId, unreachable }" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site"] },
  },
  {
    method: "delete",
    path: "/admin/sites/{siteId}/ocas/{ocaId}/titles/{titleId}",
    summary: "Evict a title from an OCA",
    tag: "admin",
    auth: "admin",
    params: siteOcaTitleParam,
    ok: { status: 200, description: "{ siteId, ocaId, titleId, evicted }" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_site", "unknown_oca", "unknown_title"] },
  },
  {
    method: "post",
    path: "/admin/fill",
    summary: "Copy titles into OCAs now (checksum verified)",
    tag: "admin",
    auth: "admin",
    body: fillBody,
    ok: { status: 200, description: "{ ok: true, results }: every placement's titles copied (checksums verified) and listed" },
    partial: {
      202: "{ ok: false, results }: the request's budget ran out first; the placements not reached carry ok: false and code `incomplete`, the rest ok: true. Send the same request again to carry on (copies made are kept)",
      409: `{ ok: false, results }: some copy could not be made; each such result carries ok: false, a message and one of the codes ${FILL_RESULT_CODES.map((c) => `\`${c}\``).join(", ")} (placements the budget did not reach: \`incomplete\`)`,
    },
    errors: { ...ADMIN_JSON, ...BAD, 400: ["invalid_request", "duplicate_placement"], 404: ["unknown_site", "unknown_oca", "unknown_title"] },
  },
  {
    method: "get",
    path: "/admin/origin/{titleId}",
    summary: "The title's files in origin (path, size, checksum), a page at a time",
    tag: "admin",
    auth: "admin",
    params: titleParam,
    query: {
      ...pageQuery("files", 1000, 1000, "the `cursor` of the page before, unchanged (opaque)"),
    },
    ok: { status: 200, description: "{ titleId, files: [{ path, bytes, sha256 }], cursor? }: `cursor` only while more files remain" },
    errors: { ...ADMIN, 400: ["invalid_request", "invalid_cursor"] },
  },
  {
    method: "put",
    path: "/admin/origin/{titleId}/{path}",
    hono: "/admin/origin/:titleId/*",
    summary: `Upload one file to origin under its content (X-Content-SHA256 required; up to ${BODY_LIMITS.originUpload / 2 ** 20} MiB)`,
    tag: "admin",
    auth: "admin",
    params: titleParam.extend({ path: z.string().describe("the file's path in the title, e.g. video/avc-720p/seg-00001.m4s") }),
    bodyType: "application/octet-stream",
    ok: { status: 201, description: "{ titleId, path, sha256, bytes, etag }" },
    errors: {
      ...ADMIN_JSON,
      400: ["bad_path", "checksum_required", "bad_checksum", "checksum_mismatch"],
      411: ["length_required"],
      413: ["payload_too_large"],
    },
  },
  {
    method: "put",
    path: "/admin/titles/{titleId}",
    summary: "Register or re-publish a title (a new version when its files change)",
    tag: "admin",
    auth: "admin",
    params: titleParam,
    body: titleRegistrationSchema,
    ok: {
      status: 200,
      description:
        "{ titleId, version, previousVersion, renditions, files, licences }: previousVersion is null when the contents are unchanged (or the title is new), and renditions, files and licences are counts",
    },
    errors: {
      ...ADMIN_JSON,
      400: [
        "invalid_request",
        "duplicate_path",
        "duplicate_rendition",
        "duplicate_licence",
        "invalid_licence",
        "bad_layout",
        "invalid_poster",
        "manifest_too_large",
      ],
      409: ["files_not_in_origin", "publish_conflict"],
      413: ["payload_too_large"],
    },
  },
  {
    method: "get",
    path: "/admin/titles/{titleId}",
    summary: "A title with its versions",
    tag: "admin",
    auth: "admin",
    params: titleParam,
    ok: { status: 200, description: "the title" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_title"] },
  },
  {
    method: "delete",
    path: "/admin/titles/{titleId}",
    summary: "Take a title down: plays and steering answer 410 at once, OCAs delete it on their next reconcile",
    tag: "admin",
    auth: "admin",
    params: titleParam,
    ok: { status: 200, description: "{ titleId, takenDown, alreadyDown }" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_title"] },
  },
  {
    method: "get",
    path: "/admin/sessions/{sessionId}/events",
    summary: "A session's QoE events (SDK) and CMCD summary (any player), from its home site",
    tag: "admin",
    auth: "admin",
    params: sessionParam,
    query: {
      site: {
        description:
          "the session's home site (404 unknown_site when the topology has no such site); without it the sites are asked ten at a time, and a topology of more than 50 sites answers 400 site_required",
        schema: { type: "string" },
      },
    },
    ok: {
      status: 200,
      description:
        "{ sessionId, homeSiteId, events, cmcd: { requests, bytes, stalls, startups, bitrateKbps, bufferMs, throughputKbps, countedBytes, ... } | null }",
    },
    errors: { ...ADMIN_JSON, 400: ["invalid_request", "site_required"], 404: ["unknown_site", "unknown_session"], 503: ["site_unreachable"] },
  },
  {
    method: "get",
    path: "/admin/members/{memberId}/streams",
    summary: "A member's streams that count against the plan's limit, oldest first, with when each was last seen",
    tag: "admin",
    auth: "admin",
    params: memberParam,
    ok: { status: 200, description: "{ memberId, streams: [{ sessionId, titleId, startedAt, lastSeenAt }] }" },
    errors: { ...ADMIN_JSON, ...BAD, 503: ["not_configured", "streams_unavailable"] },
  },
  {
    method: "delete",
    path: "/admin/members/{memberId}/streams/{sessionId}",
    summary: "Free one of a member's slots (a device that stopped without saying so); if it plays on, its OCA requests get 409 within a minute",
    tag: "admin",
    auth: "admin",
    params: memberStreamParam,
    ok: { status: 200, description: "{ memberId, sessionId, released: true }" },
    errors: { ...ADMIN_JSON, ...BAD, 404: ["unknown_stream"], 503: ["not_configured", "streams_unavailable"] },
  },
];

/** The Hono path a documented route is mounted at. */
export const honoPath = (r: RouteDoc) => r.hono ?? r.path.replace(/\{([^}]+)\}/g, ":$1");

const errorSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
    },
  },
};

const SECURITY: Record<Auth, Array<Record<string, string[]>>> = {
  member: [{ memberToken: [] }],
  admin: [{ adminToken: [] }],
  "signed-url": [],
  none: [],
};

/** Data-plane answers of RFC 9110 that carry no JSON error. */
const BODILESS: Record<number, string> = {
  304: "not modified (If-None-Match / If-Modified-Since)",
  412: "precondition failed (If-Match / If-Unmodified-Since)",
  416: "range not satisfiable (Content-Range: bytes */length)",
};

let built: Record<string, unknown> | null = null;

/** The OpenAPI 3.1 document (built once per isolate). */
export function openApiDocument(): Record<string, unknown> {
  if (built) return built;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const parameters: unknown[] = [];
    const names = [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const paramProps = (r.params ? (jsonSchema(r.params).properties as Record<string, unknown>) : {}) ?? {};
    for (const name of names) parameters.push({ name, in: "path", required: true, schema: paramProps[name] ?? { type: "string" } });
    for (const [name, q] of Object.entries(r.query ?? {}))
      parameters.push({ name, in: "query", required: false, description: q.description, schema: q.schema });
    const responses: Record<string, unknown> = {
      [r.ok.status]: {
        description: r.ok.description,
        content: {
          [r.ok.contentType ?? "application/json"]: { schema: r.ok.contentType && r.ok.contentType !== "application/json" ? {} : { type: "object" } },
        },
      },
    };
    for (const [status, description] of Object.entries(r.partial ?? {})) {
      responses[status] = { description, content: { "application/json": { schema: { type: "object" } } } };
    }
    for (const [status, codes] of Object.entries(r.errors)) {
      responses[status] = codes.length
        ? {
            description: `error codes: ${codes.join(", ")}`,
            "x-error-codes": codes,
            content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
          }
        : { description: BODILESS[Number(status)] ?? "no body", "x-error-codes": [] };
    }
    paths[r.path] ??= {};
    paths[r.path][r.method] = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method}${r.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : ""))}`,
      "x-hono-path": honoPath(r),
      security: SECURITY[r.auth],
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(r.body) } } } }
        : r.bodyType
          ? { requestBody: { required: true, content: { [r.bodyType]: { schema: { type: "string", format: "binary" } } } } }
          : {}),
      responses,
    };
  }
  built = {
    openapi: "3.1.0",
    info: {
      title: "edge-video-cdn",
      version: "1",
      description:
        "A video CDN on Cloudflare's edge: play sessions, Content Steering, a data plane of OCAs, and the admin API. Every error is { error: { code, message, details? } }.",
    },
    servers: [{ url: "/" }],
    tags: [
      { name: "playback" },
      { name: "steering" },
      { name: "data plane" },
      { name: "admin" },
      { name: "dev only", description: "404 unless DEV_MODE is true" },
      { name: "reference" },
    ],
    components: {
      securitySchemes: {
        memberToken: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "a member token (HS256)" },
        adminToken: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN (at least 16 characters, no whitespace, else 503 not_configured)" },
      },
      schemas: { Error: errorSchema },
    },
    paths,
  };
  return built;
}
