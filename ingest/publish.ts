/**
 * Stage 5: publish. Upload every packaged file to the origin bucket, then register the title.
 *
 * Idempotent and resumable: the origin listing (`GET /admin/origin/{title}`: path, bytes, sha256)
 * is compared with the packaged files and only files that are missing or differ are uploaded
 * (origin keys are content-addressed, so a re-publish uploads only changed files and the previous
 * version's bytes stay for the sessions still playing it);
 * media segments and init segments go first, media playlists next, the multivariant playlist and
 * the MPD last, and the title is registered (`PUT /admin/titles/{title}`) only when every file is
 * in origin. A run that dies half-way leaves a prefix of files in origin and no catalogue entry;
 * the next run uploads the rest.
 *
 * Upload path: through the admin API (`PUT /admin/origin/{title}/{path}`, R2 verifies the
 * X-Content-SHA256) — locally that is the same local R2 `wrangler dev` uses — or, when R2
 * credentials are given, straight to the bucket through R2's S3-compatible API (s3.ts).
 */
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { FileEntry } from "./package";
import { Pool } from "./pool";
import { contentTypeFor, originKey } from "../shared/file-keys";
import { putObject, type S3Credentials, S3Error } from "./s3";
import type { TitleRegistration } from "../shared/catalogue";

/**
 * The most uploads in flight a run takes (`--upload-concurrency`). Each is one PUT streamed from disk: a
 * connection and an open file. A title's files are segments of a few MB at most, and the default 8
 * already keeps a link busy; more only opens more connections to the Worker or to R2, which meet their
 * request limits sooner, and a value far past it is a typo (`1000` for 10).
 */
export const MAX_UPLOAD_CONCURRENCY = 64;

export interface PublishTarget {
  /** base URL of the Worker (admin API), e.g. http://127.0.0.1:8787 */
  baseUrl: string;
  adminToken: string;
  /** upload straight to R2 through the S3 API instead of the admin API */
  s3?: S3Credentials | null;
  /** uploads in flight (default 8; the CLI takes at most MAX_UPLOAD_CONCURRENCY) */
  concurrency?: number;
  /** test hook: after this many completed uploads the process is killed (SIGKILL), like a crash */
  crashAfterUploads?: number;
  fetch?: typeof fetch;
}

export type { TitleRegistration };

export interface PublishResult {
  uploaded: number;
  skipped: number;
  uploadedBytes: number;
  via: "admin" | "s3";
  registered: boolean;
  elapsedS: number;
}

export class PublishError extends Error {}

/**
 * A request that got no answer, as one line: fetch rejects with a TypeError saying only "fetch failed"
 * and keeps why (ECONNREFUSED, ENOTFOUND, a reset…) in its cause. Names the URL's origin, never its path
 * nor the secrets given (the admin token, the S3 secret key), which the cause may quote.
 */
export function unreachable(url: string, err: unknown, secrets: Array<string | undefined> = []): PublishError {
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    origin = "a URL that does not parse";
  }
  const e = err as { message?: string; cause?: unknown };
  const cause = (e.cause ?? err) as { code?: unknown; message?: string; errors?: Array<{ code?: unknown; message?: string }> };
  // a host with several addresses fails with an AggregateError of one error per address
  const code = String(cause.code ?? cause.errors?.[0]?.code ?? "");
  const message = cause.message || cause.errors?.[0]?.message || e.message || String(err);
  let detail = code && !message.includes(code) ? `${code}: ${message}` : message;
  // (a secret of a few characters would only garble the message: no real token is that short)
  for (const secret of secrets) if (secret && secret.length >= 4) detail = detail.split(secret).join("<secret>");
  return new PublishError(`cannot reach ${origin}: ${detail.replace(/\s+/g, " ").trim()}`);
}

/** Upload order: media first, then media playlists, then the top-level manifests. */
export function uploadRank(path: string): number {
  if (path === "master.m3u8" || path === "manifest.mpd") return 2;
  if (path.endsWith(".m3u8")) return 1;
  return 0;
}

/** One admin API call; the body comes back parsed when it is JSON. */
export async function adminJson(
  t: Pick<PublishTarget, "baseUrl" | "adminToken" | "fetch">,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const f = t.fetch ?? fetch;
  const url = `${t.baseUrl.replace(/\/+$/, "")}/admin${route}`;
  let res: Response;
  let text: string;
  try {
    res = await f(url, {
      method,
      headers: { Authorization: `Bearer ${t.adminToken}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    text = await res.text();
  } catch (err) {
    throw err instanceof TypeError ? unreachable(url, err, [t.adminToken]) : err;
  }
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json };
}

/** Pages of the origin listing a run follows at most: 20,000 files a version, 1,000 a page, 500 versions. */
export const ORIGIN_LISTING_MAX_PAGES = 10_000;

/**
 * Contents in origin for a title: path -> the contents stored for it ({bytes, sha256} each). The
 * listing comes a page at a time (every version's files stay in origin); this follows its cursor to the end.
 */
export async function originListing(t: PublishTarget, titleId: string): Promise<Map<string, Array<{ bytes: number; sha256: string | null }>>> {
  const out = new Map<string, Array<{ bytes: number; sha256: string | null }>>();
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let pages = 0; ; pages++) {
    const route = `/origin/${encodeURIComponent(titleId)}${cursor === undefined ? "" : `?cursor=${encodeURIComponent(cursor)}`}`;
    const { status, json } = await adminJson(t, "GET", route);
    if (status !== 200) throw new PublishError(`GET /admin${route}: ${status} ${JSON.stringify(json).slice(0, 300)}`);
    const page = json as { files?: unknown; cursor?: unknown };
    if (!Array.isArray(page?.files)) throw new PublishError(`GET /admin${route}: 200 without a list of files: ${JSON.stringify(json).slice(0, 300)}`);
    for (const f of page.files as Array<{ path: string; bytes: number; sha256: string | null }>) {
      let list = out.get(f.path);
      if (!list) out.set(f.path, (list = []));
      list.push({ bytes: f.bytes, sha256: f.sha256 });
    }
    if (page.cursor === undefined || page.cursor === null) return out;
    // A cursor given twice, or pages without end, would list forever: say so rather than hang.
    if (typeof page.cursor !== "string" || seen.has(page.cursor) || pages + 1 >= ORIGIN_LISTING_MAX_PAGES)
      throw new PublishError(`GET /admin/origin/${titleId}: the listing does not end (page ${pages + 1}, cursor ${JSON.stringify(page.cursor).slice(0, 80)})`);
    seen.add(page.cursor);
    cursor = page.cursor;
  }
}

/** Which packaged files must be uploaded: no content in origin with the same size and checksum. */
export function filesToUpload(files: FileEntry[], origin: Map<string, Array<{ bytes: number; sha256: string | null }>>): FileEntry[] {
  return files
    .filter((f) => !(origin.get(f.path) ?? []).some((o) => o.bytes === f.bytes && o.sha256 === f.sha256))
    .sort((a, b) => uploadRank(a.path) - uploadRank(b.path) || (a.path < b.path ? -1 : 1));
}

async function uploadViaAdmin(t: PublishTarget, titleId: string, dir: string, f: FileEntry): Promise<void> {
  const fetchImpl = t.fetch ?? fetch;
  const url = `${t.baseUrl.replace(/\/+$/, "")}/admin/origin/${encodeURIComponent(titleId)}/${f.path.split("/").map(encodeURIComponent).join("/")}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetchImpl(url, {
        method: "PUT",
        headers: {
          Authorization: `Bearer ${t.adminToken}`,
          "Content-Length": String(f.bytes),
          "X-Content-SHA256": f.sha256,
          "Content-Type": contentTypeFor(f.path),
        },
        body: Readable.toWeb(createReadStream(join(dir, ...f.path.split("/")))) as ReadableStream,
        duplex: "half",
      } as RequestInit);
      const text = await res.text();
      if (res.status === 201) return;
      if (res.status < 500 || attempt >= 3) throw new PublishError(`upload ${titleId}/${f.path}: ${res.status} ${text.slice(0, 300)}`);
    } catch (err) {
      if (err instanceof PublishError) throw err;
      if (attempt >= 3) throw err instanceof TypeError ? unreachable(url, err, [t.adminToken]) : err;
    }
    await new Promise((r) => setTimeout(r, 250 * attempt));
  }
}

/**
 * An S3 refusal as one line: the status, S3's error Code, and for a refusal of the credentials (401,
 * 403) a hint of which to check. Never quotes the secret key or session token, should S3 echo one.
 */
export function s3Refusal(titleId: string, path: string, err: S3Error, secrets: Array<string | undefined> = []): PublishError {
  const credentials = err.status === 401 || err.status === 403;
  let line =
    `upload ${titleId}/${path} to R2: ${S3Error.describe(err.status, err.code, err.s3Message)}` +
    (credentials ? "; check the R2 credentials (R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY) and that they may write to the bucket (--r2-bucket / R2_BUCKET)" : "");
  for (const secret of secrets) if (secret && secret.length >= 4) line = line.split(secret).join("<secret>");
  return new PublishError(line.replace(/\s+/g, " ").trim());
}

async function uploadViaS3(c: S3Credentials, titleId: string, dir: string, f: FileEntry, fetchImpl?: typeof fetch): Promise<void> {
  const secrets = [c.secretAccessKey, c.sessionToken];
  for (let attempt = 1; ; attempt++) {
    try {
      const body = Readable.toWeb(createReadStream(join(dir, ...f.path.split("/")))) as ReadableStream;
      await putObject(c, originKey(titleId, f.path, f.sha256), { bytes: f.bytes, sha256: f.sha256, contentType: contentTypeFor(f.path) }, body, fetchImpl);
      return;
    } catch (err) {
      // A refusal (4xx but 429) will not change on a retry: wrong credentials fail every upload alike.
      const refused = err instanceof S3Error && err.status < 500 && err.status !== 429;
      if (refused || attempt >= 3) {
        if (err instanceof S3Error) throw s3Refusal(titleId, f.path, err, secrets);
        throw err instanceof TypeError ? unreachable(c.endpoint, err, secrets) : err;
      }
      await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
}

export async function publishTitle(
  t: PublishTarget,
  titleId: string,
  packageDir: string,
  registration: TitleRegistration,
  opts: { onProgress?: (done: number, total: number, bytes: number) => void; log?: (m: string) => void } = {},
): Promise<PublishResult> {
  const t0 = Date.now();
  const origin = await originListing(t, titleId);
  const todo = filesToUpload(registration.files, origin);
  const skipped = registration.files.length - todo.length;
  opts.log?.(
    `origin has ${origin.size} path(s) of ${titleId}; ${skipped} file(s) already match, ${todo.length} to upload via ${t.s3 ? "the R2 S3 API" : "the admin API"}`,
  );
  let done = 0;
  let bytes = 0;
  const upload = (f: FileEntry) => (t.s3 ? uploadViaS3(t.s3, titleId, packageDir, f, t.fetch) : uploadViaAdmin(t, titleId, packageDir, f));
  const pool = new Pool(t.concurrency ?? 8);
  // in rank order: every file of a rank is in origin before the next rank starts
  for (const rank of [0, 1, 2]) {
    await pool.map(
      todo.filter((f) => uploadRank(f.path) === rank),
      async (f) => {
        await upload(f);
        done++;
        bytes += f.bytes;
        opts.onProgress?.(done, todo.length, bytes);
        if (t.crashAfterUploads !== undefined && done >= t.crashAfterUploads) {
          opts.log?.(`crash-after-uploads: killing the process after ${done} upload(s)`);
          process.kill(process.pid, "SIGKILL");
        }
      },
    );
  }
  if (todo.length === 0) opts.onProgress?.(0, 0, 0);
  const reg = await adminJson(t, "PUT", `/titles/${encodeURIComponent(titleId)}`, registration);
  if (reg.status !== 200) throw new PublishError(`PUT /admin/titles/${titleId}: ${reg.status} ${JSON.stringify(reg.json).slice(0, 500)}`);
  return { uploaded: todo.length, skipped, uploadedBytes: bytes, via: t.s3 ? "s3" : "admin", registered: true, elapsedS: (Date.now() - t0) / 1000 };
}

/** A licence as `GET /admin/titles/{id}` lists it (times in ms). */
export interface ListedLicence {
  country: string;
  available_from: number;
  available_until: number | null;
}

/**
 * A re-registration's licences, those of countries the catalogue already lists for the title kept as
 * listed (start and end): a rerun without `--available-from` would otherwise move every licence's start
 * to today (which the catalogue reads as a correction: the sessions granted before the new start stop;
 * and the fill as a launch), drop its end, and revive one that ended. A country new to the title takes
 * the registration's licence. Dates are changed with `--available-from`.
 */
export function keepListedLicences(licences: TitleRegistration["licences"], listed: readonly ListedLicence[]): TitleRegistration["licences"] {
  const had = new Map(listed.map((l) => [l.country, l]));
  return licences.map((l) => {
    const was = had.get(l.country);
    if (!was) return l;
    return {
      country: l.country,
      availableFrom: new Date(was.available_from).toISOString(),
      availableUntil: was.available_until === null ? null : new Date(was.available_until).toISOString(),
    };
  });
}

/** The title's licences as the catalogue lists them now; [] for a title it does not have. */
export async function listedLicences(t: Pick<PublishTarget, "baseUrl" | "adminToken" | "fetch">, titleId: string): Promise<ListedLicence[]> {
  const r = await adminJson(t, "GET", `/titles/${encodeURIComponent(titleId)}`);
  if (r.status === 404) return [];
  if (r.status !== 200) throw new PublishError(`GET /admin/titles/${titleId}: ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
  const listed = (r.json as { licences?: unknown }).licences;
  return Array.isArray(listed) ? (listed as ListedLicence[]) : [];
}
