/**
 * The ingest pipeline: validate -> ladder -> encode (chunked, parallel) -> package -> check -> publish.
 * Node only (ffmpeg/ffprobe); never imported by the Worker.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { checkLanguage, encodeAudio } from "./audio";
import { checkPackage, type CheckReport } from "./check";
import {
  DEFAULT_ENCODE_SETTINGS,
  DEINTERLACE_PREROLL_FRAMES,
  encodeAll,
  encoderProblem,
  ffmpegIdentity,
  planChunks,
  type ChunkPlan,
  type EncodeResult,
  type EncodeSettings,
  type FfmpegIdentity,
} from "./encode";
import { chooseLadder, ladderSizes, probeComplexity, type ComplexityProbe, type LadderChoice, type Rung, type VideoCodec } from "./ladder";
import { packageTitle, sha256File, type PackageResult } from "./package";
import { makePoster, POSTER_PATH, type PosterChoice } from "./poster";
import { defaultJobs, Pool } from "./pool";
import { deinterlaceFilter, type InterlacedFieldOrder, probeSource, type Rational, type SourceProbe } from "./probe";
import { createReporter, type Reporter } from "./progress";
import { keepListedLicences, listedLicences, publishTitle, type PublishResult, type PublishTarget, type TitleRegistration } from "./publish";
import { type AudioFacts, formatValidationReport, validateSource, type ValidationReport, type ValidationThresholds } from "./validate";
import { REGISTRATION_LIMITS, titleRegistrationSchema } from "../shared/catalogue";
import { isSafeId, SAFE_ID_RULE } from "../shared/ids";
import { endpointProblem } from "./s3";
import { requireRegularInputs, UsageError } from "./usage";
import { foreignWorkDirProblem } from "./work-dir-guard";
import { lockWorkDir, WorkDirBusyError } from "./work-dir-lock";

export const STAGES = ["validate", "ladder", "encode", "package", "check", "publish"] as const;
export type Stage = (typeof STAGES)[number];

export const PIPELINE_VERSION = "ingest/1";

export interface IngestOptions {
  source: string;
  titleId: string;
  title: string;
  description?: string;
  releaseYear?: number;
  /** language of the source's own audio (default: its language tag, else "en") */
  sourceLanguage?: string;
  audio?: Array<{ language: string; path: string }>;
  subtitles?: Array<{ language: string; path: string }>;
  /** the poster: a frame at `atS` (default 10 % of the duration), an image `file`, or null for none */
  poster?: PosterChoice;
  /** default ["h264"]; H.264 is always included */
  codecs?: VideoCodec[];
  /** rung heights (default: the standard ones up to the source height) */
  heights?: number[];
  /** licensed countries (default ["US"]) */
  countries?: string[];
  /** ISO date the title and its licences start (default: today, 00:00 UTC) */
  availableFrom?: string;
  segmentSeconds?: number;
  chunkSeconds?: number;
  /** pool size (default: cores); ignored when `pool` is given */
  jobs?: number;
  pool?: Pool;
  thresholds?: Partial<ValidationThresholds>;
  settings?: Partial<EncodeSettings>;
  /** work dir: chunks, audio, package (default ~/.cache/edge-video-cdn/ingest/{titleId}) */
  workDir?: string;
  /** where the packaged title goes (default {workDir}/package); emptied first */
  packageDir?: string;
  /** stop after this stage (default: publish when a target is given, else check) */
  until?: Stage;
  publish?: PublishTarget | null;
  reporter?: Reporter;
}

export interface IngestSummary {
  files: number;
  bytes: number;
  renditions: { video: number; audio: number; subtitle: number };
  uploaded?: number;
  skipped?: number;
  uploadedBytes?: number;
}

export interface IngestResult {
  status: "rejected" | "stopped" | "packaged" | "published";
  titleId: string;
  stoppedAfter?: Stage;
  validation: ValidationReport;
  sourceSha256?: string;
  probe?: ComplexityProbe;
  ladder?: LadderChoice;
  plan?: ChunkPlan;
  encode?: EncodeResult;
  packaged?: PackageResult;
  check?: CheckReport;
  publish?: PublishResult;
  registration?: TitleRegistration;
  workDir: string;
  packageDir: string;
  /** wall seconds per stage */
  times: Partial<Record<Stage, number>>;
  totalS: number;
  summary?: IngestSummary;
}

export class IngestError extends Error {
  constructor(
    message: string,
    readonly stage: Stage,
    readonly result?: Partial<IngestResult>,
  ) {
    super(message);
  }
}

export function defaultWorkDir(titleId: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "edge-video-cdn", "ingest", titleId);
}

const fmtBytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

function todayUtc(): string {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())).toISOString();
}

/** The language of the source's own audio when neither --language nor its metadata says. */
export const DEFAULT_SOURCE_LANGUAGE = "en";

/**
 * The language of the source's own audio when --language does not say: its first audio stream's tag,
 * taken only as --language is (a BCP 47 tag within the registration's limits), else "en". A tag that
 * does not pass is not used but warned of: the registration would refuse it after the whole encode.
 */
export function sourceLanguageOf(probe: Pick<SourceProbe, "audio"> | null, warn: (message: string) => void): string {
  const tag = probe?.audio[0]?.language;
  if (!tag) return DEFAULT_SOURCE_LANGUAGE;
  try {
    return checkLanguage(tag);
  } catch (err) {
    warn(`the source's audio language tag is not usable (${(err as Error).message}); using "${DEFAULT_SOURCE_LANGUAGE}" (say which with --language)`);
    return DEFAULT_SOURCE_LANGUAGE;
  }
}

/**
 * Runs the pipeline on one source up to `until`. What cannot work is refused before any work, as the
 * CLI refuses it: a source (or audio, subtitles) that is not a regular file, which would be hashed
 * forever, and an S3 endpoint that is not an http(s) URL (a UsageError). One run at a time works in a
 * work dir: another live run's is refused (an IngestError naming its pid), a dead run's lock taken over.
 */
export async function ingest(opts: IngestOptions): Promise<IngestResult> {
  if (!isSafeId(opts.titleId)) throw new IngestError(`title id must be ${SAFE_ID_RULE}: ${opts.titleId}`, "validate");
  requireRegularInputs({ ...opts, posterFile: opts.poster && "file" in opts.poster ? opts.poster.file : undefined });
  const endpoint = opts.publish?.s3?.endpoint;
  const endpointBad = endpoint === undefined ? null : endpointProblem(endpoint);
  if (endpointBad) throw new UsageError(`the R2 endpoint (publish.s3.endpoint): ${endpointBad}`);
  const workDir = opts.workDir ?? defaultWorkDir(opts.titleId);
  const foreign = await foreignWorkDirProblem(workDir);
  if (foreign) throw new UsageError(`--out: ${foreign}`);
  const release = await lockWorkDir(workDir).catch((err: Error) => {
    throw err instanceof WorkDirBusyError ? new IngestError(err.message, "validate") : err;
  });
  try {
    return await ingestLocked(opts, workDir);
  } finally {
    await release();
  }
}

/** The pipeline itself, in a work dir this run holds. */
async function ingestLocked(opts: IngestOptions, workDir: string): Promise<IngestResult> {
  const t0 = Date.now();
  const reporter = opts.reporter ?? createReporter();
  const pool = opts.pool ?? new Pool(opts.jobs ?? defaultJobs());
  const packageDir = opts.packageDir ?? join(workDir, "package");
  const until: Stage = opts.until ?? (opts.publish ? "publish" : "check");
  // H.264 first, each codec once (one named twice would make its rungs twice, encoded into the same files)
  const codecs = [...new Set<VideoCodec>(["h264", ...(opts.codecs ?? [])])];
  const segmentSeconds = opts.segmentSeconds ?? 4;
  const chunkSeconds = opts.chunkSeconds ?? 2 * segmentSeconds;
  const settings: EncodeSettings = { ...DEFAULT_ENCODE_SETTINGS, ...opts.settings };
  const times: Partial<Record<Stage, number>> = {};
  // encoder settings this ffmpeg refuses are a usage error now, not a failed encode after the validation
  if (STAGES.indexOf(until) >= STAGES.indexOf("encode")) {
    const refused = (await Promise.all(codecs.map((c) => encoderProblem(c, settings)))).filter((p) => p !== null);
    if (refused.length) throw new UsageError(refused.join("\n"));
  }

  const sourceLanguage = opts.sourceLanguage || sourceLanguageOf(await probeSource(opts.source).catch(() => null), (m) => reporter.log(`warning: ${m}`));

  const stopAfter = (stage: Stage, r: IngestResult): IngestResult | null => {
    if (stage !== until) return null;
    r.stoppedAfter = stage;
    r.totalS = (Date.now() - t0) / 1000;
    return r;
  };

  // 1. validate (and fingerprint the inputs while the decode runs)
  let ts = Date.now();
  const vStage = reporter.stage("validate", 100, "%");
  const [validation, sourceSha256] = await Promise.all([
    validateSource({
      source: opts.source,
      sourceLanguage,
      audio: opts.audio ?? [],
      subtitles: opts.subtitles ?? [],
      thresholds: opts.thresholds,
      pool,
      onProgress: (f) => vStage.update(Math.round(f * 100)),
    }),
    sha256File(opts.source).catch(() => undefined),
  ]);
  times.validate = (Date.now() - ts) / 1000;
  const result: IngestResult = {
    status: "stopped",
    titleId: opts.titleId,
    validation,
    sourceSha256,
    workDir,
    packageDir,
    times,
    totalS: (Date.now() - t0) / 1000,
  };
  if (!validation.ok) {
    vStage.finish(`REJECTED: ${validation.reasons.map((r) => r.code).join(", ")}`);
    result.status = "rejected";
    result.totalS = (Date.now() - t0) / 1000;
    return result;
  }
  const video = validation.video!;
  vStage.finish(
    formatValidationReport(validation)
      .split("\n")[0]
      .replace(/^OK \S+: /, "ok: "),
  );
  for (const w of validation.warnings) reporter.log(`warning: ${w}`);
  // Known once the source is measured: refused now, not after the encode.
  const posterAt = opts.poster && "atS" in opts.poster ? opts.poster.atS : undefined;
  if (posterAt !== undefined && !(posterAt >= 0 && posterAt < video.durationS))
    throw new UsageError(`--poster-at: ${posterAt} s is not within the source's ${video.durationS.toFixed(3)} s`);
  // No rung is upscaled: heights above the source are left out, said now rather than found in the ladder;
  // with none left the ladder would silently be the default one, not what was asked.
  const above = (opts.heights ?? []).filter((h) => h > video.height);
  if (above.length && above.length === opts.heights!.length)
    throw new UsageError(`--heights: ${above.join(", ")} above the source's ${video.height} px (no rung is upscaled): give heights up to ${video.height}`);
  if (above.length) reporter.log(`warning: --heights ${above.join(", ")} left out: above the source's ${video.height} px (no rung is upscaled)`);
  const stopped = stopAfter("validate", result);
  if (stopped) return stopped;
  if (opts.publish && until === "publish") {
    // What the end of the publish would be refused for, found out now rather than after the encode and upload.
    const problem = registrationSizeProblem({
      durationS: video.durationS,
      segments: Math.ceil(video.frameCount / Math.max(1, Math.round((segmentSeconds * video.fps.num) / video.fps.den))),
      videoRenditions: ladderSizes(video, opts.heights).length * codecs.length,
      audioRenditions: validation.audio.length,
      subtitles: (opts.subtitles ?? []).length,
      poster: opts.poster !== null,
    });
    if (problem) throw new IngestError(problem, "publish", result);
    await listedLicences(opts.publish, opts.titleId); // the token and the URL: a refusal throws
  }
  await mkdir(workDir, { recursive: true });

  // 2. ladder
  ts = Date.now();
  const lStage = reporter.stage("ladder", 3, "samples");
  result.probe = await probeComplexity(opts.source, video, { pool, onProgress: (d, t) => lStage.update(d, t) });
  result.ladder = chooseLadder(result.probe, video, { codecs, heights: opts.heights });
  times.ladder = (Date.now() - ts) / 1000;
  lStage.finish(
    `complexity ${result.probe.complexity.toFixed(2)} -> ${result.ladder.ladder.map((r) => `${r.id}@${Math.round(r.bitrate / 1000)}k`).join(", ")}`,
  );
  if (stopAfter("ladder", result)) return result;

  // 3. encode: video chunks x codecs, plus one audio encode per language, all on the pool
  ts = Date.now();
  const fps = video.fps;
  const segmentFrames = Math.max(1, Math.round((segmentSeconds * fps.num) / fps.den));
  const plan = planChunks({
    frameCount: video.frameCount,
    keyframes: video.keyframes,
    segmentFrames,
    chunkSegments: Math.max(1, Math.round(chunkSeconds / segmentSeconds)),
  });
  result.plan = plan;
  const key = chunkFingerprint({
    source: opts.source,
    sourceSha256,
    ladder: result.ladder.ladder,
    plan,
    settings,
    fps,
    startS: video.startS,
    interlaced: video.interlaced,
    ffmpeg: await ffmpegIdentity(),
  });
  const eStage = reporter.stage("encode", video.frameCount * codecs.length, "frames");
  eStage.update(0, undefined, `${plan.chunks.length} chunks (${plan.atKeyframes} at source keyframes) x ${codecs.length} codec(s) on ${pool.size} worker(s)`);
  const audioFiles = await Promise.all(
    validation.audio.map(async (a) => {
      // The source's own tracks are covered by its hash in `key`; an extra file is hashed here.
      const sha256 = a.path === opts.source ? (sourceSha256 ?? null) : await sha256File(a.path);
      return { language: a.language, file: audioCacheFile(workDir, { key, facts: a, durationS: video.durationS, sha256 }), facts: a };
    }),
  );
  const [encoded] = await Promise.all([
    encodeAll({
      source: opts.source,
      videoStreamIndex: video.streamIndex,
      videoStartS: video.startS,
      fps,
      plan,
      ladder: result.ladder.ladder,
      settings,
      interlaced: video.interlaced,
      workDir,
      pool,
      key,
      onProgress: (d, t) => eStage.update(d, t),
    }),
    ...audioFiles.map((a) =>
      pool.run(() =>
        encodeAudio({
          path: a.facts.path,
          streamIndex: a.facts.streamIndex,
          language: a.language,
          alignToS: a.facts.path === opts.source ? video.startS : null,
          durationS: video.durationS,
          output: a.file,
        }),
      ),
    ),
  ]);
  result.encode = encoded;
  times.encode = (Date.now() - ts) / 1000;
  eStage.finish(
    `${encoded.tasks} chunk task(s)${encoded.reused ? ` (${encoded.reused} reused from an earlier run)` : ""} + ${audioFiles.length} audio on ${pool.size} worker(s)`,
  );
  if (stopAfter("encode", result)) return result;

  // 4. package (the poster first: a --poster-at past the end is refused before anything is written)
  ts = Date.now();
  let poster: string | null = null;
  if (opts.poster !== null) {
    poster = join(workDir, POSTER_PATH);
    await makePoster({ source: opts.source, video, choice: opts.poster ?? {}, out: poster });
  }
  await rm(packageDir, { recursive: true, force: true });
  const nSubs = (opts.subtitles ?? []).length;
  const pStage = reporter.stage("package", result.ladder.ladder.length + audioFiles.length + nSubs + 1, "parts");
  result.packaged = await packageTitle({
    outDir: packageDir,
    fps,
    frameCount: video.frameCount,
    plan,
    ladder: result.ladder.ladder,
    chunkFiles: encoded.chunkFiles,
    audio: audioFiles.map((a) => ({ language: a.language, file: a.file })),
    subtitles: opts.subtitles ?? [],
    poster,
    onProgress: (d, t) => pStage.update(d, t),
  });
  // packaged: the audio encodes of earlier fingerprints are of no further use
  await pruneAudioCache(
    workDir,
    audioFiles.map((a) => a.file),
  );
  times.package = (Date.now() - ts) / 1000;
  const totalBytes = result.packaged.files.reduce((n, f) => n + f.bytes, 0);
  pStage.finish(
    `${result.packaged.files.length} files, ${fmtBytes(totalBytes)}, ${result.packaged.segmentCount} segments of ${result.packaged.segmentSeconds.toFixed(3)} s`,
  );
  result.summary = {
    files: result.packaged.files.length,
    bytes: totalBytes,
    renditions: { video: result.packaged.video.length, audio: result.packaged.audio.length, subtitle: result.packaged.subtitles.length },
  };
  result.registration = registrationFor(opts, result);
  if (stopAfter("package", result)) {
    result.status = "packaged";
    return result;
  }

  // 5. check
  ts = Date.now();
  const cStage = reporter.stage("check", 1, "parts");
  result.check = await checkPackage({
    outDir: packageDir,
    source: opts.source,
    videoStreamIndex: video.streamIndex,
    videoStartS: video.startS,
    fps,
    frameCount: video.frameCount,
    interlaced: video.interlaced,
    plan,
    packaged: result.packaged,
    pool,
    onProgress: (d, t) => cStage.update(d, t),
  });
  times.check = (Date.now() - ts) / 1000;
  if (!result.check.ok) {
    cStage.finish(`FAILED: ${result.check.problems.length} problem(s)`);
    throw new IngestError(`the packaged output failed its self-check:\n  ${result.check.problems.slice(0, 20).join("\n  ")}`, "check", result);
  }
  const vids = result.check.renditions.filter((r) => r.kind === "video");
  cStage.finish(
    `HLS (${result.check.hls.variants} variants) and MPD parse; ${result.check.renditions.length} renditions decode; ` +
      `video ${video.frameCount} frames each, PSNR median ${Math.min(...vids.map((v) => v.psnrMedian ?? 0)).toFixed(1)}-${Math.max(...vids.map((v) => v.psnrMedian ?? 0)).toFixed(1)} dB, no glitch at ${plan.chunks.length - 1} join(s)`,
  );
  result.registration = registrationFor(opts, result);
  await writeFile(
    join(workDir, "result.json"),
    JSON.stringify({ ...result, validation: { ...validation, video: { ...video, keyframes: video.keyframes.length } } }, null, 2) + "\n",
  );
  result.status = "packaged";
  if (stopAfter("check", result) || !opts.publish) return result;

  // 6. publish
  ts = Date.now();
  const uStage = reporter.stage("publish", result.packaged.files.length, "files");
  // Without --available-from, a title already licensed keeps its licences as listed (see keepListedLicences).
  if (!opts.availableFrom)
    result.registration = {
      ...result.registration,
      licences: keepListedLicences(result.registration.licences, await listedLicences(opts.publish, opts.titleId)),
    };
  result.publish = await publishTitle(opts.publish, opts.titleId, packageDir, result.registration, {
    onProgress: (d, t, b) => uStage.update(d, t, fmtBytes(b)),
    log: (m) => reporter.log(m),
  });
  times.publish = (Date.now() - ts) / 1000;
  uStage.finish(
    `${result.publish.uploaded} uploaded (${fmtBytes(result.publish.uploadedBytes)}), ${result.publish.skipped} already in origin; registered ${opts.titleId} with ${result.registration.licences.length} licence(s)`,
  );
  result.summary = { ...result.summary, uploaded: result.publish.uploaded, skipped: result.publish.skipped, uploadedBytes: result.publish.uploadedBytes };
  result.status = "published";
  result.totalS = (Date.now() - t0) / 1000;
  return result;
}

/**
 * Why `PUT /admin/titles` would refuse a title of this size (its files, renditions or duration as the
 * packager makes them: every media rendition is an init, its segments and a playlist, each subtitle
 * track a WebVTT file and a playlist, plus the two manifests), or null. The registration's own schema
 * decides, on a stand-in of that size.
 */
export function registrationSizeProblem(t: {
  durationS: number;
  segments: number;
  videoRenditions: number;
  audioRenditions: number;
  subtitles: number;
  /** a poster is packaged too */
  poster?: boolean;
}): string | null {
  const media = t.videoRenditions + t.audioRenditions;
  const renditions = media + t.subtitles;
  const files = media * (t.segments + 2) + 2 * t.subtitles + 2 + (t.poster ? 1 : 0);
  // One past each limit is enough to be refused: a week-long source must not allocate a stand-in per segment.
  const standIn = {
    name: "size",
    durationS: t.durationS,
    renditions: Array.from({ length: Math.min(renditions, REGISTRATION_LIMITS.renditions + 1) }, (_, i) => ({
      id: `r${i}`,
      kind: "video" as const,
      codec: "c",
      bandwidth: 1,
    })),
    files: Array.from({ length: Math.min(files, REGISTRATION_LIMITS.files + 1) }, () => ({ path: "f", bytes: 0, sha256: "0".repeat(64) })),
    licences: [],
  };
  const parsed = titleRegistrationSchema.safeParse(standIn);
  if (parsed.success) return null;
  const what = new Map<string, string>([
    [
      "files",
      `${files} files (${media} media renditions x ${t.segments} segments + init + playlist${t.subtitles ? `, ${2 * t.subtitles} subtitle files` : ""}, 2 manifests${t.poster ? ", a poster" : ""})`,
    ],
    ["renditions", `${renditions} renditions`],
    ["durationS", `${t.durationS.toFixed(0)} s long`],
  ]);
  const too = parsed.error.issues
    .filter((i) => i.code === "too_big" && what.has(String(i.path[0])))
    .map((i) => `${what.get(String(i.path[0]))}, and a registration takes at most ${(i as { maximum?: number | bigint }).maximum}`);
  if (!too.length) return null;
  return (
    `PUT /admin/titles would refuse this title after the encode and the upload: ${too.join("; ")}` +
    ` (a longer --segment-seconds, or fewer --heights, --codecs, --audio or --subtitles, packages fewer)`
  );
}

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

/** What decides the bytes of the encoded chunks: every input of `encodeTaskArgs` but the output paths. */
export interface ChunkInputs {
  source: string;
  /** the source's SHA-256 (its path stands in when it could not be read) */
  sourceSha256: string | undefined;
  ladder: Rung[];
  plan: ChunkPlan;
  settings: EncodeSettings;
  fps: Rational;
  /** where the video starts in the container (s) */
  startS: number;
  /** the source's field order when it is interlaced: the encode then deinterlaces */
  interlaced?: InterlacedFieldOrder | null;
  /** the ffmpeg that encodes: another build (an upgrade in place, another binary) makes other bytes from the same arguments */
  ffmpeg: FfmpegIdentity;
}

/**
 * The fingerprint of the chunk outputs: a rerun whose fingerprint differs encodes afresh. The segment
 * length is in it because it is the encoder's GOP: two lengths can cut the same chunks, and chunks with
 * the other keyframe interval would never package. The ffmpeg build is in it because chunks of two builds
 * may not stitch (their codec configurations differ) or would mix two encoders in one rendition. The
 * deinterlacer is in it although the source's hash decides whether there is one: chunks an earlier ingest
 * made of the same interlaced source without it (combed) must not be reused.
 */
export function chunkFingerprint(i: ChunkInputs): string {
  const deinterlace = deinterlaceFilter(i.interlaced);
  return sha256Hex(
    JSON.stringify({
      v: PIPELINE_VERSION,
      source: i.sourceSha256 ?? i.source,
      ladder: i.ladder,
      plan: i.plan.chunks,
      gopFrames: i.plan.segmentFrames,
      settings: i.settings,
      fps: i.fps,
      start: i.startS,
      // only when there is one: a progressive title's chunks keep their fingerprint, and are reused
      ...(deinterlace ? { deinterlace, prerollFrames: DEINTERLACE_PREROLL_FRAMES } : {}),
      ffmpeg: i.ffmpeg,
    }),
  );
}

/**
 * Where one audio language's encode is kept, named by all that decides its bytes: the chunks' fingerprint,
 * the stream's facts, the length, and the contents of its file (a dub replaced in place, as long as the
 * old one, must not be published as the old audio).
 */
export function audioCacheFile(workDir: string, a: { key: string; facts: AudioFacts; durationS: number; sha256: string | null }): string {
  const name = sha256Hex(JSON.stringify({ key: a.key, a: a.facts, durationS: a.durationS, sha256: a.sha256 })).slice(0, 16);
  return join(workDir, "audio", `${a.facts.language}-${name}.mp4`);
}

/**
 * Removes from the work dir's audio cache what the package just made does not use: encodes named by
 * an older fingerprint (another ladder, segment length, ffmpeg), which no run reuses once the chunks
 * they went with are wiped, and a `.part` an interrupted encode left. Each rerun with other flags kept
 * another full-length encode of every language.
 */
export async function pruneAudioCache(workDir: string, keep: readonly string[]): Promise<void> {
  const dir = join(workDir, "audio");
  const wanted = new Set(keep.map((f) => basename(f)));
  const names = await readdir(dir).catch(() => [] as string[]);
  // only what audioCacheFile names (and its .part): never anything else that may be there
  for (const name of names) if (!wanted.has(name) && /^[A-Za-z0-9-]+-[0-9a-f]{16}\.mp4(\.part)?$/.test(name)) await rm(join(dir, name), { force: true });
}

/** What `PUT /admin/titles/{id}` gets: metadata, the ladder and why, renditions, files, licences. */
export function registrationFor(opts: IngestOptions, r: IngestResult): TitleRegistration {
  const p = r.packaged!;
  const video = r.validation.video!;
  const availableFrom = opts.availableFrom ?? todayUtc();
  const labelOf = (id: string, height: number) => (id.startsWith("avc-") ? `${height}p` : `${height}p ${id.split("-")[0].toUpperCase()}`);
  return {
    name: opts.title,
    description: opts.description ?? "",
    releaseYear: opts.releaseYear,
    durationS: p.durationS,
    ...(opts.availableFrom ? { availableFrom: opts.availableFrom } : {}),
    encoding: {
      reason: r.ladder!.reason,
      complexity: Number(r.probe!.complexity.toFixed(4)),
      ladder: r.ladder!.ladder.map((x) => ({ id: x.id, codec: x.codec, width: x.width, height: x.height, bitrate: x.bitrate })),
      factor: Number(r.ladder!.factor.toFixed(4)),
      probe: {
        encoder: r.probe!.encoder,
        crf: r.probe!.crf,
        width: r.probe!.width,
        height: r.probe!.height,
        bitsPerPixel: Number(r.probe!.bpp.toFixed(5)),
        referenceBitsPerPixel: Number(r.probe!.referenceBpp.toFixed(5)),
        samples: r.probe!.samples.map((s) => ({ startS: Number(s.startS.toFixed(3)), frames: s.frames, bitsPerPixel: Number(s.bpp.toFixed(5)) })),
      },
      achieved: p.video.map((v) => ({ id: v.id, averageBandwidth: v.averageBandwidth, peakBandwidth: v.peakBandwidth })),
      quality: r.check?.renditions.filter((c) => c.kind === "video").map((c) => ({ id: c.id, psnrMedianDb: Number((c.psnrMedian ?? 0).toFixed(2)) })),
      source: {
        file: basename(opts.source),
        sha256: r.sourceSha256,
        codec: video.codec,
        width: video.width,
        height: video.height,
        frameRate: `${video.fps.num}/${video.fps.den}`,
        frames: video.frameCount,
      },
      segmentSeconds: Number(p.segmentSeconds.toFixed(6)),
      chunks: {
        count: r.plan!.chunks.length,
        seconds: Number(((r.plan!.chunkFrames * video.fps.den) / video.fps.num).toFixed(3)),
        atSourceKeyframes: r.plan!.atKeyframes,
      },
      pipeline: PIPELINE_VERSION,
    },
    renditions: [
      ...p.video.map((v) => ({
        id: v.id,
        kind: "video" as const,
        codec: v.codec,
        width: v.width,
        height: v.height,
        bandwidth: v.peakBandwidth,
        label: labelOf(v.id, v.height ?? 0),
      })),
      ...p.audio.map((a) => ({ id: a.id, kind: "audio" as const, codec: a.codec, bandwidth: a.peakBandwidth, language: a.language, label: a.name })),
      ...p.subtitles.map((s) => ({
        id: s.id,
        kind: "subtitle" as const,
        codec: "wvtt",
        bandwidth: Math.max(1, Math.ceil(s.bandwidth)),
        language: s.language,
        label: s.name,
      })),
    ],
    files: p.files,
    ...(p.files.some((f) => f.path === POSTER_PATH) ? { poster: POSTER_PATH } : {}),
    // each country once: the catalogue refuses a licence listed twice
    licences: [...new Set(opts.countries ?? ["US"])].map((country) => ({ country, availableFrom })),
  };
}
