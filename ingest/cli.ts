/**
 * `npm run ingest -- <source> --title-id ID --title "Name" [options]`
 *
 * Exit codes: 0 published (or packaged with --no-publish / --until), 1 failed, 2 usage, 3 rejected,
 * 128 + the signal's number when stopped by one (130 SIGINT, 143 SIGTERM).
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { constants } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { languageLimitProblem, normaliseLanguage } from "./audio";
import { killActiveChildren } from "./exec";
import { runInterruptCleanups } from "./interrupt-cleanup";
import { ladderHeights, VIDEO_CODECS, type VideoCodec } from "./ladder";
import { MAX_JOBS } from "./pool";
import { IngestError, STAGES, ingest, type IngestOptions, type IngestResult, type Stage } from "./pipeline";
import { autoMode, createReporter, type ProgressMode } from "./progress";
import { MAX_UPLOAD_CONCURRENCY, PublishError } from "./publish";
import { bucketProblem, endpointProblem, envValue, r2Endpoint, type S3Credentials, s3CredentialsFromEnv } from "./s3";
import { notAFile, UsageError } from "./usage";
import { formatValidationReport } from "./validate";
import { parseDevVars } from "./dev-vars";
import { REGISTRATION_LIMITS, titleRegistrationSchema } from "../shared/catalogue";
import { isCountryCode, isSafeId, SAFE_ID_RULE } from "../shared/ids";

export const USAGE = `usage: npm run ingest -- <source> --title-id ID --title "Name" [options]

  --description TEXT           --release-year YYYY
  --language LANG              language of the source's own audio (default: its tag, else en)
  --audio LANG=FILE            another audio language (repeatable)
  --subtitles LANG=FILE        WebVTT or SRT subtitles (repeatable)
  --poster-at SECONDS          the poster's frame (default: at 10 % of the duration)
  --poster FILE                make the poster from this image instead
  --no-poster                  no poster
  --codecs h264,vp9,av1        video codecs (H.264 is always made)
  --heights 240,480,720        rung heights (default: 240/360/480/720/1080/... up to the source)
  --countries US,CA            licensed countries (default US)
  --available-from ISO-DATE    launch of the title and its licences (default: today)
  --segment-seconds N          CMAF segment length (default 4)
  --chunk-seconds N            encode chunk length, a multiple of the segment (default 8)
  --jobs N                     parallel encodes (default: cores, or INGEST_JOBS; at most ${MAX_JOBS})
  --max-freeze S --max-black S --max-av-diff S   validation thresholds (defaults 8, 4, 0.5)
  --x264-preset P --vp9-speed N --av1-speed N    encoder speed (defaults veryfast, 5, 8)
  --out DIR                    work dir (default ~/.cache/edge-video-cdn/ingest/<title-id>)
  --until STAGE                stop after validate|ladder|encode|package|check|publish
  --no-publish                 stop after the self-check
  --base-url URL               the Worker's admin API (default $VCDN_BASE_URL or http://127.0.0.1:8787)
  --admin-token T              default $ADMIN_TOKEN, else ADMIN_TOKEN from .dev.vars for a local URL
  --upload-concurrency N       uploads in flight (default 8, at most ${MAX_UPLOAD_CONCURRENCY})
  --r2-account-id ID --r2-bucket B --r2-endpoint URL
                               upload through R2's S3 API (keys from R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY)
  --json                       print the result as JSON on stdout (progress stays on stderr)
  --progress bars|plain|none   default: bars on a terminal, plain lines otherwise

exit codes: 0 ok, 1 failed, 2 usage, 3 source rejected, 130 interrupted (SIGINT), 143 stopped (SIGTERM)`;

export { UsageError };

const PROJECT_ROOT = resolve(fileURLToPath(import.meta.url), "..", "..");

function pairs(values: string[] | undefined, what: string): Array<{ language: string; path: string }> {
  return (values ?? []).map((v) => {
    const i = v.indexOf("=");
    if (i <= 0) throw new UsageError(`--${what} wants LANG=FILE, got ${JSON.stringify(v)}`);
    let language: string;
    try {
      language = normaliseLanguage(v.slice(0, i));
    } catch (err) {
      throw new UsageError(`--${what}: ${(err as Error).message}`);
    }
    const path = resolve(v.slice(i + 1));
    const problem = notAFile(path);
    if (problem) throw new UsageError(`--${what}: ${problem}`);
    return { language, path };
  });
}

function num(v: string | undefined, name: string, opts: { int?: boolean; min?: number; max?: { n: number; of: string } } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min))
    throw new UsageError(`--${name}: bad number ${JSON.stringify(v)}`);
  if (opts.max && n > opts.max.n) throw new UsageError(`--${name}: at most ${opts.max.n} (${opts.max.of}), got ${v}`);
  return n;
}

/**
 * `--available-from` as the registration's ISO time: an ISO 8601 date or date-time, a real day, within
 * years the registration takes. Date.parse alone took "2026-02-30" as 2 March, "12" as December 2001,
 * and a year past 9999 that PUT /admin/titles then refused, after the encode and the upload.
 */
export function isoDate(text: string): string {
  const bad = (why: string) => new UsageError(`--available-from: ${why}: ${JSON.stringify(text.slice(0, 40))} (give YYYY-MM-DD or an ISO 8601 time)`);
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/.exec(text.trim());
  if (!m) throw bad("not an ISO 8601 date");
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) throw bad("no such day");
  const t = Date.parse(text.trim());
  if (Number.isNaN(t)) throw bad("not a time");
  const iso = new Date(t).toISOString();
  if (!titleRegistrationSchema.shape.availableFrom.safeParse(iso).success) throw bad("out of range");
  return iso;
}

/** The R2 endpoint of an account id, a usage error naming where a bad one came from. */
function accountEndpoint(accountId: string, from: string): string {
  try {
    return r2Endpoint(accountId);
  } catch (err) {
    throw new UsageError(`${from}: ${(err as Error).message}`);
  }
}

function devVarsToken(): string | undefined {
  const file = join(PROJECT_ROOT, ".dev.vars");
  if (!existsSync(file)) return undefined;
  return parseDevVars(readFileSync(file, "utf8")).get("ADMIN_TOKEN") || undefined;
}

/** What the flags put into the title's registration, checked against its limits. */
export interface RegistrationTexts {
  title: string;
  description?: string;
  /** each language given, with the flag that gave it */
  languages: Array<{ flag: string; language: string }>;
  codecs: VideoCodec[];
  heights?: number[];
}

/**
 * Refuses what PUT /admin/titles would refuse (the limits of shared/catalogue.ts), so a bad flag fails
 * now rather than after hours of encoding. Audio and subtitles are labelled with the language's name.
 */
export function checkRegistrationTexts(r: RegistrationTexts): void {
  const L = REGISTRATION_LIMITS;
  if (r.title.length > L.name) throw new UsageError(`--title: at most ${L.name} characters, got ${r.title.length}`);
  const description = r.description ?? "";
  if (description.length > L.description) throw new UsageError(`--description: at most ${L.description} characters, got ${description.length}`);
  for (const { flag, language } of r.languages) {
    const problem = languageLimitProblem(language);
    if (problem) throw new UsageError(`--${flag}: ${problem}`);
  }
  // The most rungs the ladder can have whatever the source's height (H.264 is always made).
  const rungs = ladderHeights(Number.POSITIVE_INFINITY, r.heights).length * new Set<VideoCodec>(["h264", ...r.codecs]).size;
  if (rungs > L.ladderRungs) throw new UsageError(`--heights x --codecs: at most ${L.ladderRungs} rungs, got ${rungs}`);
}

export interface ParsedCli {
  options: IngestOptions;
  json: boolean;
  progress: ProgressMode;
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedCli {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      "title-id": { type: "string" },
      title: { type: "string" },
      description: { type: "string" },
      "release-year": { type: "string" },
      language: { type: "string" },
      audio: { type: "string", multiple: true },
      subtitles: { type: "string", multiple: true },
      "poster-at": { type: "string" },
      poster: { type: "string" },
      "no-poster": { type: "boolean" },
      codecs: { type: "string" },
      heights: { type: "string" },
      countries: { type: "string" },
      "available-from": { type: "string" },
      "segment-seconds": { type: "string" },
      "chunk-seconds": { type: "string" },
      jobs: { type: "string" },
      "max-freeze": { type: "string" },
      "max-black": { type: "string" },
      "max-av-diff": { type: "string" },
      "x264-preset": { type: "string" },
      "vp9-speed": { type: "string" },
      "av1-speed": { type: "string" },
      out: { type: "string" },
      until: { type: "string" },
      "no-publish": { type: "boolean" },
      "base-url": { type: "string" },
      "admin-token": { type: "string" },
      "r2-account-id": { type: "string" },
      "r2-bucket": { type: "string" },
      "r2-endpoint": { type: "string" },
      json: { type: "boolean" },
      progress: { type: "string" },
      "crash-after-uploads": { type: "string" },
      "upload-concurrency": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new UsageError("");
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `one source file, got ${positionals.length}` : "no source file");
  const source = resolve(positionals[0]);
  const problem = notAFile(source);
  if (problem) throw new UsageError(problem);
  const titleId = values["title-id"];
  if (!titleId || !isSafeId(titleId)) throw new UsageError(`--title-id is required: ${SAFE_ID_RULE}`);
  if (!values.title) throw new UsageError("--title is required");
  // Each once: a codec named twice made its rungs twice, two encodes of one file (a raw ENOENT mid-encode).
  const codecs = [
    ...new Set(
      (values.codecs ?? "h264")
        .split(",")
        .map((c) => c.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
  for (const c of codecs) if (!VIDEO_CODECS.includes(c as VideoCodec)) throw new UsageError(`--codecs: unknown codec ${c} (h264, vp9, av1)`);
  const heights = values.heights?.split(",").map((h) => num(h.trim().replace(/p$/, ""), "heights", { int: true, min: 16 })!);
  // Each once: PUT /admin/titles refuses a licence listed twice, which was found only after the encode and the upload.
  const countries = [...new Set((values.countries ?? "US").split(",").map((c) => c.trim().toUpperCase()))];
  for (const c of countries) if (!isCountryCode(c)) throw new UsageError(`--countries: ${c} is not an ISO 3166 alpha-2 code`);
  const availableFrom = values["available-from"] === undefined ? undefined : isoDate(values["available-from"]);
  const until = values.until as Stage | undefined;
  if (until && !STAGES.includes(until)) throw new UsageError(`--until: one of ${STAGES.join(", ")}`);
  const progress = (values.progress ?? autoMode()) as ProgressMode;
  if (!["bars", "plain", "none"].includes(progress)) throw new UsageError("--progress: bars, plain or none");
  let language: string | undefined;
  if (values.language) {
    try {
      language = normaliseLanguage(values.language);
    } catch (err) {
      throw new UsageError(`--language: ${(err as Error).message}`);
    }
  }
  const posterFlags = [
    values["poster-at"] !== undefined && "--poster-at",
    values.poster !== undefined && "--poster",
    values["no-poster"] && "--no-poster",
  ].filter(Boolean);
  if (posterFlags.length > 1) throw new UsageError(`${posterFlags.join(" and ")}: give one`);
  let poster: IngestOptions["poster"];
  if (values["no-poster"]) poster = null;
  else if (values.poster !== undefined) {
    const file = resolve(values.poster);
    const p = notAFile(file);
    if (p) throw new UsageError(`--poster: ${p}`);
    poster = { file };
  } else if (values["poster-at"] !== undefined) poster = { atS: num(values["poster-at"], "poster-at", { min: 0 }) };
  const audio = pairs(values.audio, "audio");
  const subtitles = pairs(values.subtitles, "subtitles");
  checkRegistrationTexts({
    title: values.title,
    description: values.description,
    languages: [
      ...(language ? [{ flag: "language", language }] : []),
      ...audio.map((a) => ({ flag: "audio", language: a.language })),
      ...subtitles.map((s) => ({ flag: "subtitles", language: s.language })),
    ],
    codecs: codecs as VideoCodec[],
    heights,
  });
  const releaseYear = num(values["release-year"], "release-year", { int: true, min: 1870 });
  // the registration's own bound (a typo of 20240 was refused only by PUT /admin/titles, after the upload)
  if (releaseYear !== undefined && !titleRegistrationSchema.shape.releaseYear.safeParse(releaseYear).success)
    throw new UsageError(`--release-year: ${releaseYear} is not a year the catalogue takes (1870 to 2200)`);
  const segmentSeconds = num(values["segment-seconds"], "segment-seconds", { min: 1 });
  const chunkSeconds = num(values["chunk-seconds"], "chunk-seconds", { min: 1 });
  const jobs = num(values.jobs, "jobs", { int: true, min: 1, max: { n: MAX_JOBS, of: "ffmpeg processes at once" } });
  // Checked whether or not this run publishes: a bad value is refused, not ignored until a run that does.
  const uploadConcurrency = num(values["upload-concurrency"], "upload-concurrency", {
    int: true,
    min: 1,
    max: { n: MAX_UPLOAD_CONCURRENCY, of: "uploads in flight" },
  });

  const wantsPublish = !values["no-publish"] && (!until || until === "publish");
  let publish: IngestOptions["publish"] = null;
  if (wantsPublish) {
    const baseUrl = values["base-url"] ?? envValue(env, "VCDN_BASE_URL") ?? "http://127.0.0.1:8787";
    let local = false;
    try {
      local = ["127.0.0.1", "localhost", "[::1]"].includes(new URL(baseUrl).hostname);
    } catch {
      throw new UsageError(`--base-url: not a URL: ${baseUrl}`);
    }
    const adminToken = values["admin-token"] ?? envValue(env, "ADMIN_TOKEN") ?? (local ? devVarsToken() : undefined);
    if (!adminToken) throw new UsageError("no admin token: pass --admin-token or set ADMIN_TOKEN (or use --no-publish)");
    // The API reads the token as one word of an Authorization header; fetch would refuse (and quote) any other.
    if (!/^[\x21-\x7e]+$/.test(adminToken)) {
      const from = values["admin-token"] !== undefined ? "--admin-token" : envValue(env, "ADMIN_TOKEN") !== undefined ? "ADMIN_TOKEN" : ".dev.vars";
      throw new UsageError(
        `the admin token (${from}, ${adminToken.length} characters, not shown) must be printable ASCII without spaces or line breaks` +
          (/^bearer\s/i.test(adminToken) ? ': give the token alone, without "Bearer"' : ""),
      );
    }
    const r2Flag = values["r2-endpoint"];
    const bucketFlag = values["r2-bucket"];
    const wantsS3 = values["r2-account-id"] || r2Flag !== undefined || envValue(env, "R2_ACCOUNT_ID") || envValue(env, "R2_ENDPOINT");
    // A bucket named without R2's S3 API would be ignored: the title would go to the local Worker's origin instead.
    if (bucketFlag !== undefined && !wantsS3)
      throw new UsageError(
        "--r2-bucket names the bucket of an upload through R2's S3 API: give --r2-account-id or --r2-endpoint (or R2_ACCOUNT_ID / R2_ENDPOINT) with it",
      );
    let s3: S3Credentials | null = null;
    if (wantsS3) {
      const bucket =
        bucketFlag !== undefined
          ? { from: "--r2-bucket", name: bucketFlag }
          : envValue(env, "R2_BUCKET")
            ? { from: "R2_BUCKET", name: envValue(env, "R2_BUCKET")! }
            : null;
      const bucketWrong = bucket && bucketProblem(bucket.name);
      if (bucketWrong) throw new UsageError(`${bucket.from}: ${bucketWrong}`);
      // An endpoint that is no http(s) URL would fail only at the first upload, after the whole encode.
      const envEndpoint = values["r2-account-id"] ? undefined : envValue(env, "R2_ENDPOINT");
      const given = r2Flag !== undefined ? { from: "--r2-endpoint", endpoint: r2Flag } : envEndpoint ? { from: "R2_ENDPOINT", endpoint: envEndpoint } : null;
      const problem = given && endpointProblem(given.endpoint);
      if (problem) throw new UsageError(`${given.from}: ${problem}`);
      const overrides = {
        ...(values["r2-account-id"] ? { endpoint: accountEndpoint(values["r2-account-id"], "--r2-account-id") } : {}),
        ...(r2Flag !== undefined ? { endpoint: r2Flag } : {}),
        ...(bucketFlag !== undefined ? { bucket: bucketFlag } : {}),
      };
      try {
        s3 = s3CredentialsFromEnv(env, overrides);
      } catch (err) {
        // what it refuses is R2_ACCOUNT_ID (read when no endpoint is given otherwise)
        throw new UsageError(`R2_ACCOUNT_ID: ${(err as Error).message}`);
      }
    }
    if (wantsS3 && !s3) throw new UsageError("R2 upload needs R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY in the environment");
    publish = {
      baseUrl,
      adminToken,
      s3,
      concurrency: uploadConcurrency,
      crashAfterUploads: num(values["crash-after-uploads"], "crash-after-uploads", { int: true, min: 1 }),
    };
  }

  return {
    json: !!values.json,
    progress,
    options: {
      source,
      titleId,
      title: values.title,
      description: values.description,
      releaseYear,
      sourceLanguage: language,
      audio,
      subtitles,
      ...(poster !== undefined ? { poster } : {}),
      codecs: codecs as VideoCodec[],
      heights,
      countries,
      availableFrom,
      segmentSeconds,
      chunkSeconds,
      jobs,
      thresholds: {
        ...(values["max-freeze"] ? { maxFreezeS: num(values["max-freeze"], "max-freeze", { min: 0 }) } : {}),
        ...(values["max-black"] ? { maxBlackS: num(values["max-black"], "max-black", { min: 0 }) } : {}),
        ...(values["max-av-diff"] ? { maxAvDiffS: num(values["max-av-diff"], "max-av-diff", { min: 0 }) } : {}),
      },
      settings: {
        ...(values["x264-preset"] ? { x264Preset: values["x264-preset"] } : {}),
        ...(values["vp9-speed"] ? { vp9Speed: num(values["vp9-speed"], "vp9-speed", { int: true }) } : {}),
        ...(values["av1-speed"] ? { av1Speed: num(values["av1-speed"], "av1-speed", { int: true }) } : {}),
      },
      workDir: values.out ? resolve(values.out) : undefined,
      until: until ?? (wantsPublish ? "publish" : "check"),
      publish,
    },
  };
}

const fmtBytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

export function formatSummary(r: IngestResult): string {
  const L: string[] = [];
  L.push("");
  L.push(`${r.titleId}: ${r.status}${r.stoppedAfter ? ` (stopped after ${r.stoppedAfter})` : ""} in ${r.totalS.toFixed(1)} s`);
  if (r.summary) {
    const s = r.summary;
    L.push(
      `  files       ${s.files} (${fmtBytes(s.bytes)})${s.uploaded !== undefined ? `, ${s.uploaded} uploaded (${fmtBytes(s.uploadedBytes ?? 0)}), ${s.skipped} already in origin` : ""}`,
    );
    L.push(`  renditions  ${s.renditions.video} video, ${s.renditions.audio} audio, ${s.renditions.subtitle} subtitle`);
  }
  if (r.ladder) {
    L.push(`  ladder      ${r.ladder.ladder.map((x) => `${x.id} ${x.width}x${x.height} ${Math.round(x.bitrate / 1000)}k`).join(", ")}`);
    L.push(`  why         ${r.ladder.reason}`);
  }
  if (r.plan)
    L.push(
      `  chunks      ${r.plan.chunks.length} (${r.plan.atKeyframes} start at a source keyframe), ${r.encode ? `${r.encode.tasks} encode tasks${r.encode.reused ? `, ${r.encode.reused} reused` : ""}` : ""}`,
    );
  L.push(
    `  time        ${STAGES.filter((s) => r.times[s] !== undefined)
      .map((s) => `${s} ${r.times[s]!.toFixed(1)} s`)
      .join(", ")}`,
  );
  if (r.packageDir && r.packaged) L.push(`  output      ${r.packageDir}`);
  return L.join("\n");
}

/** JSON for --json: everything but the bulky per-file list and keyframe list. */
export function resultJson(r: IngestResult): unknown {
  const { validation, registration, packaged, ...rest } = r;
  return {
    ...rest,
    validation: { ...validation, video: validation.video ? { ...validation.video, keyframes: validation.video.keyframes.length } : undefined },
    packaged: packaged
      ? {
          durationS: packaged.durationS,
          segmentCount: packaged.segmentCount,
          segmentSeconds: packaged.segmentSeconds,
          files: packaged.files.length,
          elapsedS: packaged.elapsedS,
        }
      : undefined,
    encoding: registration?.encoding,
    renditions: registration?.renditions,
    licences: registration?.licences,
  };
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ParsedCli;
  try {
    parsed = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      if ((err as Error).message) console.error(`error: ${(err as Error).message}\n`);
      console.error(USAGE);
      return (err as Error).message ? 2 : 0;
    }
    throw err;
  }
  const reporter = createReporter({ mode: parsed.progress });
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      reporter.close();
      killActiveChildren();
      runInterruptCleanups();
      console.error(`\ninterrupted (${sig}); finished chunks are kept in the work dir and reused by the next run`);
      // 128 + the signal's number, as a shell reports a process the signal ended: 130 for Ctrl-C, 143
      // for SIGTERM (a service manager's or `timeout`'s stop), which callers tell apart.
      process.exit(128 + constants.signals[sig]);
    });
  }
  try {
    const result = await ingest({ ...parsed.options, reporter });
    reporter.close();
    if (parsed.json) process.stdout.write(JSON.stringify(resultJson(result), null, 2) + "\n");
    if (result.status === "rejected") {
      console.error(formatValidationReport(result.validation));
      console.error("nothing was uploaded or registered");
      return 3;
    }
    if (!parsed.json) console.log(formatSummary(result));
    return 0;
  } catch (err) {
    reporter.close();
    if (err instanceof UsageError) {
      // ingest() refuses what parseCli checks too (an input that became a FIFO since, say): the same answer
      console.error(`error: ${err.message}\n`);
      console.error(USAGE);
      return 2;
    }
    const stage = err instanceof IngestError ? err.stage : err instanceof PublishError ? "publish" : undefined;
    if (parsed.json) process.stdout.write(JSON.stringify({ status: "failed", stage, error: (err as Error).message }, null, 2) + "\n");
    console.error(
      `ingest failed${stage ? ` in ${stage}` : ""}: ${err instanceof IngestError || err instanceof PublishError ? err.message : ((err as Error).stack ?? err)}`,
    );
    return 1;
  }
}

const isMain = (() => {
  try {
    return !!process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
  } catch {
    return false;
  }
})();

if (isMain) process.exit(await main(process.argv.slice(2)));
