/** Admin: catalogue registration of titles (metadata, renditions, files, licences), versions and takedown. */
import { Hono } from "hono";
import { zValidator } from "@hono/zod-validator";
import { ApiError } from "../../shared/errors";
import { validationHook } from "../validation";
import { catalogueDb } from "../../shared/catalogue-db";
import { steeringTable } from "../../shared/steering-table";
import { REGISTRATION_LIMITS, TOP_MANIFESTS, titleRegistrationSchema } from "../../../shared/catalogue";
import { layoutProblem, originKey, posterProblem, versionIndexKey } from "../../../shared/file-keys";
import { sameContents, versionIndexDoc } from "../../../shared/title-version";
import { sessionTtlS } from "../session-ttl";
import { viewLagMs } from "../../shared/view-ttl";
import { publishWithdrawn } from "../withdrawn";
import { catalogueCache } from "../catalogue-cache";
import { seeOwnWrites } from "../../shared/replica-reads";
import { POSTER_SIGNATURE_BYTES, posterBytesProblem } from "../title-posters";
import { noBody } from "./json-body";
import { type AdminEnv, noQuery, params, titleParam } from "./params";

/**
 * The size and recorded checksum of every object origin holds under the title's prefix: one list call
 * per page (up to 1,000 keys, fewer with their custom metadata: 100 locally), where a head per file
 * would pass a request's subrequest limit on a feature-length title (some 12,000 files).
 */
async function originSizes(origin: R2Bucket, titleId: string): Promise<Map<string, { bytes: number; sha256: string | null }>> {
  const sizes = new Map<string, { bytes: number; sha256: string | null }>();
  let cursor: string | undefined;
  do {
    const page = await origin.list({ prefix: `${titleId}/`, cursor, limit: 1000, include: ["customMetadata"] });
    for (const o of page.objects) sizes.set(o.key, { bytes: o.size, sha256: o.customMetadata?.sha256 ?? null });
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return sizes;
}

/**
 * Whether origin holds this file as registered: its size, and its whole checksum where the upload
 * recorded one (the key carries only its first 16 hex digits; a registration agreeing on those alone
 * would pass here and then fail every OCA's verified copy).
 */
function inOriginAsRegistered(held: { bytes: number; sha256: string | null } | undefined, f: { bytes: number; sha256: string }): boolean {
  return held !== undefined && held.bytes === f.bytes && (held.sha256 === null || held.sha256 === f.sha256);
}

/** The first value that appears a second time, if any. */
function firstRepeat(values: string[]): string | undefined {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) return v;
    seen.add(v);
  }
  return undefined;
}

export const titlesRoutes = new Hono<AdminEnv>();

/**
 * A registration or takedown shows at once in the isolate that made it (its next play and browse list
 * read it; a replica behind the write waits for it), within 2 × CATALOGUE_TTL_S in the others.
 */
async function seenHere(env: Env): Promise<void> {
  await seeOwnWrites(env.DB).catch((err) => console.error("catalogue: reading the primary's bookmark", err));
  catalogueCache.changedHere();
}

/**
 * Registers a title: metadata, renditions, files and licences. Every file must already be in origin
 * under its content key with the declared size, so the catalogue never lists bytes that are not there.
 * New contents make a new version: its index goes to origin before the catalogue points at it, new
 * plays get it, and the previous version stays served until every session that started on it has
 * expired. The same contents again change only the metadata.
 */
/** The registration with no field unknown at its top: a misspelt `liveMinCopy` or `availablefrom` is a 400, not a default. */
const registrationBody = titleRegistrationSchema.strict();

titlesRoutes.put("/titles/:titleId", params(titleParam), zValidator("json", registrationBody, validationHook), async (c) => {
  const titleId = c.req.param("titleId");
  const t = c.req.valid("json");
  // The catalogue keys files by path, renditions by id and licences by country: each once.
  const path = firstRepeat(t.files.map((f) => f.path));
  if (path !== undefined) throw new ApiError(400, "duplicate_path", `${path} is listed twice`);
  for (const f of t.files) {
    const problem = layoutProblem(f.path);
    if (problem) throw new ApiError(400, "bad_layout", `${f.path}: ${problem} (OCAs check a session's height cap by the folder)`);
    if (TOP_MANIFESTS.includes(f.path) && f.bytes > REGISTRATION_LIMITS.topManifestBytes)
      throw new ApiError(
        400,
        "manifest_too_large",
        `${f.path} is ${f.bytes} bytes: at most ${REGISTRATION_LIMITS.topManifestBytes} (8 MiB), as each OCA reads it whole to filter it per session`,
      );
  }
  if (t.poster !== undefined) {
    // Refused before origin is listed or a version claimed: nothing of a bad poster is stored.
    const where = posterProblem(t.poster);
    if (where) throw new ApiError(400, "invalid_poster", `poster ${t.poster}: ${where}`);
    const file = t.files.find((f) => f.path === t.poster);
    if (!file) throw new ApiError(400, "invalid_poster", `poster ${t.poster} is not among the registration's files`);
    if (file.bytes > REGISTRATION_LIMITS.posterBytes) {
      throw new ApiError(
        400,
        "invalid_poster",
        `poster ${t.poster} is ${file.bytes} bytes: at most ${REGISTRATION_LIMITS.posterBytes} (2 MiB), as apps show it in every browse list`,
      );
    }
  }
  const rendition = firstRepeat(t.renditions.map((r) => r.id));
  if (rendition !== undefined) throw new ApiError(400, "duplicate_rendition", `rendition ${rendition} is listed twice`);
  const country = firstRepeat(t.licences.map((l) => l.country));
  if (country !== undefined) throw new ApiError(400, "duplicate_licence", `the licence for ${country} is listed twice`);
  // A window [from, until) that ends when or before it starts (dates swapped) is in effect at no moment: refused, not stored as a silent "never".
  const empty = t.licences.find((l) => l.availableUntil && Date.parse(l.availableUntil) <= Date.parse(l.availableFrom));
  if (empty) {
    throw new ApiError(
      400,
      "invalid_licence",
      `the licence for ${empty.country} ends (${empty.availableUntil}) at or before it starts (${empty.availableFrom})`,
    );
  }
  const inOrigin = await originSizes(c.env.ORIGIN, titleId);
  const absent = t.files.filter((f) => !inOriginAsRegistered(inOrigin.get(originKey(titleId, f.path, f.sha256)), f)).map((f) => f.path);
  if (absent.length) {
    throw new ApiError(409, "files_not_in_origin", `${absent.length} file(s) are missing from origin or differ in size or checksum`, {
      paths: absent.slice(0, 50),
    });
  }
  if (t.poster !== undefined) {
    // Its bytes, as browsers will sniff them: a poster.jpg that is not a JPEG is a broken image in every app.
    const file = t.files.find((f) => f.path === t.poster)!;
    const head = await c.env.ORIGIN.get(originKey(titleId, file.path, file.sha256), { range: { offset: 0, length: POSTER_SIGNATURE_BYTES } });
    const bytes = head && "body" in head ? new Uint8Array(await head.arrayBuffer()) : new Uint8Array();
    const problem = posterBytesProblem(file.path, bytes);
    if (problem) throw new ApiError(400, "invalid_poster", problem);
  }
  const current = await catalogueDb.currentVersion(c.env.DB, titleId);
  // The poster is part of the version (its URL names the version and is cached as immutable): another
  // poster, or none, with the same files makes a new version too.
  const poster = t.poster ?? null;
  const unchanged = current !== null && sameContents(current.files, t.files) && current.poster === poster;
  const version = unchanged ? current.version : await catalogueDb.claimVersion(c.env.DB, titleId, t.files, Date.now(), poster);
  if (version === null) throw new ApiError(409, "publish_conflict", `another publish of ${titleId} is under way; retry`);
  // The index is in origin before any play can be handed this version (an unchanged version rewrites the same bytes).
  await c.env.ORIGIN.put(versionIndexKey(titleId, version), JSON.stringify(versionIndexDoc(titleId, version, t.files)), {
    httpMetadata: { contentType: "application/json" },
  });
  const now = Date.now();
  const registered = await catalogueDb.register(
    c.env.DB,
    titleId,
    t,
    {
      version,
      newVersion: !unchanged,
      retainUntil: now + sessionTtlS(c.env) * 1000,
      stops: { lagMs: viewLagMs(c.env), since: now - sessionTtlS(c.env) * 1000 },
    },
    now,
  );
  // Another publish registered a later version while this one ran: nothing of this one was written.
  if (!registered) throw new ApiError(409, "publish_conflict", `another publish of ${titleId} registered a later version meanwhile; retry`);
  // Published again after a takedown, or with other licences: the data plane's list follows.
  await publishWithdrawn(c.env);
  await seenHere(c.env);
  return c.json({
    titleId,
    version,
    previousVersion: unchanged ? null : (current?.version ?? null),
    renditions: t.renditions.length,
    files: t.files.length,
    licences: t.licences.length,
  });
});

titlesRoutes.get("/titles/:titleId", params(titleParam), noQuery, async (c) => {
  const titleId = c.req.param("titleId");
  const found = await catalogueDb.describe(c.env.DB, titleId);
  if (!found) throw new ApiError(404, "unknown_title", `no title ${titleId}`);
  const { encoding_json, ...rest } = found.row;
  return c.json({
    title: { ...rest, encoding: typeof encoding_json === "string" ? JSON.parse(encoding_json) : null },
    renditions: found.renditions,
    files: found.files,
    licences: found.licences,
    versions: found.versions,
  });
});

/**
 * Takes a title down: new plays are refused (410) and it leaves the steering view at once; sessions'
 * steering polls stop offering OCAs and their segments are refused (410) within 2 × CATALOGUE_TTL_S;
 * OCAs delete its files on their next cycle. Publishing it again restores it for new plays (not the sessions it stopped).
 */
titlesRoutes.delete("/titles/:titleId", params(titleParam), noBody, async (c) => {
  const titleId = c.req.param("titleId");
  const current = await catalogueDb.currentVersion(c.env.DB, titleId);
  if (!current) throw new ApiError(404, "unknown_title", `no title ${titleId}`);
  const changed = await catalogueDb.takeDown(c.env.DB, titleId);
  await steeringTable.unpublishTitle(c.env.DB, titleId);
  // Running sessions' segments stop too: the data plane reads origin's withdrawn list.
  await publishWithdrawn(c.env);
  await seenHere(c.env);
  return c.json({ titleId, takenDown: true, alreadyDown: !changed });
});
