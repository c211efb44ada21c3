/**
 * Builds the demo video catalogue with the ingest pipeline (`ingest/`) into a cache dir outside git.
 *
 *   tsx r2-seed/build-catalogue.ts [--force] [--verify]
 *
 * 1. Generates each title's delivery with ffmpeg lavfi (catalogue-sources.ts): a 720p mezzanine
 *    with English audio, a Spanish audio file, English and Spanish WebVTT — and one broken source.
 * 2. Runs every delivery through the pipeline: validate, per-title ladder (240p/480p/720p, bitrates
 *    from the complexity probe), chunked parallel encode, CMAF + HLS + DASH packaging, self-check.
 *    All titles share one job pool sized to the machine's cores.
 * 3. The broken source must be rejected (the build fails otherwise); its reasons are recorded in
 *    catalogue.json under `rejected`.
 *
 * Cache dir: $CATALOGUE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/edge-video-cdn/catalogue-v2.
 * A complete catalogue is reused as-is unless --force / { force: true }. Publishing is seed.ts's job.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { isMainModule, killActiveChildren, processAlive } from "../ingest/exec";
import { ingest, type IngestResult } from "../ingest/pipeline";
import { POSTER_AT_SHARE, POSTER_MAX_WIDTH, POSTER_PATH } from "../ingest/poster";
import { defaultJobs, Pool } from "../ingest/pool";
import { createReporter } from "../ingest/progress";
import {
  BROKEN_SOURCE,
  DEMO_CHUNK_SECONDS,
  DEMO_HEIGHTS,
  DURATION_S,
  FPS,
  LANGUAGES,
  SEGMENT_SECONDS,
  TITLES,
  detectDrawtext,
  generateBrokenSource,
  generateTitleSource,
  type GeneratedSource,
} from "./catalogue-sources";
import type { Catalogue, CatalogueRendition, CatalogueTitle, RejectedSource } from "./catalogue-types";
import { ffmpegPath } from "../ingest/ffmpeg-path";

export type { Catalogue, CatalogueFile, CatalogueRendition, CatalogueTitle, RejectedSource } from "./catalogue-types";

export interface BuildCatalogueOptions {
  /** defaults to catalogueDir() */
  cacheDir?: string;
  /** rebuild even if a complete catalogue exists */
  force?: boolean;
  onProgress?: (msg: string) => void;
  /** size of the shared job pool (default env CATALOGUE_JOBS / INGEST_JOBS, else the cores) */
  concurrency?: number;
}

/** Bump when the output changes, so stale caches are rebuilt. */
export const CATALOGUE_CACHE_VERSION = 2;

/** `$CATALOGUE_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/edge-video-cdn/catalogue-v2`. */
export function catalogueDir(): string {
  if (process.env.CATALOGUE_DIR) return process.env.CATALOGUE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "edge-video-cdn", `catalogue-v${CATALOGUE_CACHE_VERSION}`);
}

export function titleDir(cacheDir: string, titleId: string): string {
  return join(cacheDir, titleId);
}

/**
 * A digest of what the demo sources are made from (catalogue-sources.ts: titles, filtergraphs, cues,
 * ladder heights, segment and chunk lengths, the poster ingest takes): a cached catalogue built from other sources is rebuilt,
 * not served with its old pictures, ladder or subtitles. Recorded in catalogue.json as `sources`.
 */
export function sourcesDigest(): string {
  // The poster ingest makes is in it too: a catalogue cached before titles had posters is rebuilt with them.
  const poster = { path: POSTER_PATH, maxWidth: POSTER_MAX_WIDTH, atShare: POSTER_AT_SHARE };
  const inputs = { TITLES, BROKEN_SOURCE, DEMO_HEIGHTS, DEMO_CHUNK_SECONDS, SEGMENT_SECONDS, FPS, DURATION_S, LANGUAGES, poster };
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 16);
}

export const CATALOGUE_FILE = "catalogue.json";
export const TITLE_IDS: readonly string[] = TITLES.map((t) => t.id);
/** where the broken source is kept (relative to the catalogue dir), for anyone who wants to re-run it */
export const SOURCES_DIR = "_sources";

/**
 * Returns the catalogue in `cacheDir` if catalogue.json exists, lists the expected titles, was built
 * from the current demo sources, and every listed file exists with the recorded size; otherwise null
 * (with the reason).
 */
export async function loadCatalogueIfComplete(cacheDir: string): Promise<{ catalogue: Catalogue | null; reason: string }> {
  let catalogue: Catalogue;
  try {
    catalogue = JSON.parse(await readFile(join(cacheDir, CATALOGUE_FILE), "utf8")) as Catalogue;
  } catch (err) {
    return { catalogue: null, reason: `no readable ${CATALOGUE_FILE} (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  if (catalogue.version !== 1 || !Array.isArray(catalogue.titles)) return { catalogue: null, reason: "unexpected catalogue version/shape" };
  const ids = catalogue.titles.map((t) => t.id).join(",");
  if (ids !== TITLE_IDS.join(",")) return { catalogue: null, reason: `title ids ${ids} != ${TITLE_IDS.join(",")}` };
  const digest = sourcesDigest();
  if (catalogue.sources !== digest)
    return {
      catalogue: null,
      reason: catalogue.sources
        ? `built from other demo sources (r2-seed/catalogue-sources.ts changed: ${catalogue.sources} != ${digest})`
        : "built by an older version (no sources digest)",
    };
  for (const title of catalogue.titles) {
    if (!Array.isArray(title.files) || title.files.length === 0) return { catalogue: null, reason: `${title.id}: no files` };
    for (const f of title.files) {
      try {
        const st = await stat(join(titleDir(cacheDir, title.id), ...f.path.split("/")));
        if (!st.isFile() || st.size !== f.bytes) return { catalogue: null, reason: `${title.id}/${f.path}: size ${st.size} != ${f.bytes}` };
      } catch {
        return { catalogue: null, reason: `${title.id}/${f.path}: missing` };
      }
    }
  }
  return { catalogue, reason: "ok" };
}

function fmtBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** The catalogue entry of an ingested title. */
function catalogueTitle(spec: (typeof TITLES)[number], r: IngestResult): CatalogueTitle {
  const reg = r.registration!;
  const p = r.packaged!;
  const avg = new Map([...p.video, ...p.audio].map((x) => [x.id, x.averageBandwidth]));
  const fps = r.validation.video!.fps;
  const renditions: CatalogueRendition[] = reg.renditions.map((x) => ({
    id: x.id,
    kind: x.kind,
    codec: x.codec,
    ...(x.width ? { width: x.width, height: x.height } : {}),
    bandwidth: x.bandwidth,
    ...(avg.has(x.id) ? { averageBandwidth: avg.get(x.id) } : {}),
    ...(x.kind === "video" ? { frameRate: fps.num / fps.den } : {}),
    ...(x.language ? { language: x.language } : {}),
    ...(x.label ? { label: x.label } : {}),
  }));
  return {
    id: spec.id,
    name: spec.name,
    description: spec.description,
    releaseYear: spec.releaseYear,
    durationS: reg.durationS,
    renditions,
    files: reg.files,
    ...(reg.poster ? { poster: reg.poster } : {}),
    encoding: reg.encoding,
  };
}

/** Temp dirs of builds in progress in this process (removed on SIGINT/SIGTERM: removeActiveBuilds). */
const activeBuildRoots = new Set<string>();

/**
 * Removes the half-built catalogues of this process at once, for a SIGINT/SIGTERM handler that exits
 * next: the build's own clean-up is asynchronous and never ran, so an interrupted first `npm start`
 * left tens of MB in the cache until the next build.
 */
export function removeActiveBuilds(): void {
  for (const dir of activeBuildRoots) rmSync(dir, { recursive: true, force: true });
  activeBuildRoots.clear();
}

/** Removes leftovers (`<cacheDir>.tmp-<pid>-*`, `<cacheDir>.old-<pid>-*`) of builds whose process is gone. */
async function cleanStaleBuildDirs(cacheDir: string): Promise<void> {
  const parent = dirname(cacheDir);
  const prefix = basename(cacheDir);
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return;
  }
  for (const name of entries) {
    const m = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(?:tmp|old)-(\\d+)-`).exec(name);
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) {
      await rm(join(parent, name), { recursive: true, force: true });
    }
  }
}

export async function buildCatalogue(opts: BuildCatalogueOptions = {}): Promise<Catalogue> {
  const cacheDir = opts.cacheDir ?? catalogueDir();
  const say = opts.onProgress ?? (() => {});
  await cleanStaleBuildDirs(cacheDir);
  if (!opts.force) {
    const { catalogue, reason } = await loadCatalogueIfComplete(cacheDir);
    if (catalogue) {
      say(`using cached catalogue in ${cacheDir} (built ${catalogue.builtAt})`);
      return catalogue;
    }
    say(`building catalogue in ${cacheDir} (${reason})`);
  } else {
    say(`force-building catalogue in ${cacheDir}`);
  }
  say(`ffmpeg: ${ffmpegPath}`);

  const buildRoot = `${cacheDir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await mkdir(buildRoot, { recursive: true });
  } catch (err) {
    // Said with the way out: the default is under ~/.cache, which may not be writable (a read-only home, another owner).
    throw new Error(
      `cannot write the demo catalogue's cache ${dirname(cacheDir)} (${(err as NodeJS.ErrnoException).code ?? String(err)}): set CATALOGUE_DIR (or XDG_CACHE_HOME) to a writable directory`,
    );
  }
  activeBuildRoots.add(buildRoot);
  const t0 = Date.now();
  try {
    const text = await detectDrawtext(say);
    const jobs = opts.concurrency ?? (Number(process.env.CATALOGUE_JOBS) || defaultJobs());
    const pool = new Pool(jobs);
    say(`ingest pipeline: ${TITLES.length} titles + 1 broken source on a pool of ${jobs} job(s)`);
    const sources = join(buildRoot, SOURCES_DIR);
    const timings: Record<string, Record<string, number>> = {};

    const runTitle = async (spec: (typeof TITLES)[number]): Promise<CatalogueTitle> => {
      const ts = Date.now();
      const src: GeneratedSource = await pool.run(() => generateTitleSource(spec, join(sources, spec.id), text));
      const genS = (Date.now() - ts) / 1000;
      say(`${spec.id}: source generated in ${genS.toFixed(1)} s`);
      const result = await ingest({
        source: src.source,
        titleId: spec.id,
        title: spec.name,
        description: spec.description,
        releaseYear: spec.releaseYear,
        sourceLanguage: "en",
        audio: src.audio,
        subtitles: src.subtitles,
        codecs: ["h264"],
        heights: DEMO_HEIGHTS,
        segmentSeconds: SEGMENT_SECONDS,
        chunkSeconds: DEMO_CHUNK_SECONDS,
        pool,
        workDir: join(buildRoot, "_work", spec.id),
        packageDir: titleDir(buildRoot, spec.id),
        availableFrom: "2024-01-01T00:00:00.000Z",
        until: "check",
        reporter: createReporter({ mode: "plain", write: (line) => say(line), prefix: `${spec.id}:` }),
      });
      if (result.status === "rejected") {
        throw new Error(`${spec.id}: the pipeline rejected a demo source:\n${result.validation.reasons.map((r) => `  [${r.code}] ${r.message}`).join("\n")}`);
      }
      timings[spec.id] = { generate: genS, ...result.times, total: (Date.now() - ts) / 1000 };
      await rm(join(buildRoot, "_work", spec.id), { recursive: true, force: true });
      await rm(join(sources, spec.id), { recursive: true, force: true });
      return catalogueTitle(spec, result);
    };

    const runBroken = async (): Promise<RejectedSource> => {
      const src = await pool.run(() => generateBrokenSource(join(sources, BROKEN_SOURCE.id)));
      const result = await ingest({
        source: src.source,
        titleId: BROKEN_SOURCE.id,
        title: BROKEN_SOURCE.name,
        sourceLanguage: "en",
        pool,
        workDir: join(buildRoot, "_work", BROKEN_SOURCE.id),
        packageDir: join(buildRoot, "_work", BROKEN_SOURCE.id, "package"),
        until: "check",
        reporter: createReporter({ mode: "plain", write: (line) => say(line), prefix: `${BROKEN_SOURCE.id}:` }),
      });
      if (result.status !== "rejected") throw new Error(`${BROKEN_SOURCE.id}: the deliberately broken source was NOT rejected by validation`);
      const codes = result.validation.reasons.map((r) => r.code);
      const missing = BROKEN_SOURCE.expectedReasons.filter((c) => !codes.includes(c as (typeof codes)[number]));
      if (missing.length) throw new Error(`${BROKEN_SOURCE.id}: rejected, but without reasons ${missing.join(", ")} (got ${codes.join(", ")})`);
      say(`${BROKEN_SOURCE.id}: rejected as it should be: ${codes.join(", ")}`);
      return {
        id: BROKEN_SOURCE.id,
        name: BROKEN_SOURCE.name,
        source: `${SOURCES_DIR}/${BROKEN_SOURCE.id}/source.mp4`,
        reasons: result.validation.reasons.map((r) => ({ code: r.code, message: r.message })),
      };
    };

    const [rejected, ...titles] = await Promise.all([runBroken(), ...TITLES.map(runTitle)]);
    await rm(join(buildRoot, "_work"), { recursive: true, force: true });
    const catalogue: Catalogue = { version: 1, builtAt: new Date().toISOString(), sources: sourcesDigest(), titles, rejected: [rejected], timings };
    // catalogue.json is written last: a directory without it is never considered complete.
    await writeFile(join(buildRoot, CATALOGUE_FILE), JSON.stringify(catalogue, null, 2) + "\n");

    if (!opts.force) {
      // Another process may have completed the same build meanwhile: keep theirs.
      const other = await loadCatalogueIfComplete(cacheDir);
      if (other.catalogue) {
        await rm(buildRoot, { recursive: true, force: true });
        say(`a complete catalogue appeared in ${cacheDir} meanwhile (built ${other.catalogue.builtAt}); using it`);
        return other.catalogue;
      }
    }
    // Swap into place: old -> .old-*, new -> cacheDir, then delete old.
    let old: string | null = null;
    if (existsSync(cacheDir)) {
      old = `${cacheDir}.old-${process.pid}-${randomBytes(4).toString("hex")}`;
      await rename(cacheDir, old);
    }
    await rename(buildRoot, cacheDir);
    if (old) await rm(old, { recursive: true, force: true });

    const total = catalogue.titles.reduce((n, t) => n + t.files.reduce((m, f) => m + f.bytes, 0), 0);
    const nFiles = catalogue.titles.reduce((n, t) => n + t.files.length, 0);
    say(
      `catalogue complete in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${catalogue.titles.length} titles, ${nFiles} files, ${fmtBytes(total)} in ${cacheDir}`,
    );
    return catalogue;
  } catch (err) {
    await rm(buildRoot, { recursive: true, force: true }).catch(() => {});
    throw err;
  } finally {
    activeBuildRoots.delete(buildRoot);
  }
}

function printSummary(catalogue: Catalogue, cacheDir: string): void {
  console.log(`\nCatalogue ${cacheDir} (built ${catalogue.builtAt})`);
  for (const t of catalogue.titles) {
    const bytes = t.files.reduce((n, f) => n + f.bytes, 0);
    console.log(
      `  ${t.id.padEnd(16)} "${t.name}" (${t.releaseYear}) ${t.durationS} s, ${t.files.length} files, ${fmtBytes(bytes)}, complexity ${t.encoding?.complexity ?? "?"}`,
    );
    for (const r of t.renditions) {
      const dims = r.width ? ` ${r.width}x${r.height}` : "";
      const lang = r.language ? ` [${r.language}]` : "";
      console.log(`    ${r.kind.padEnd(8)} ${r.id.padEnd(9)} ${r.codec.padEnd(14)}${dims}${lang} peak ${Math.round(r.bandwidth / 1000)} kb/s`);
    }
    const tm = catalogue.timings?.[t.id];
    if (tm)
      console.log(
        `    time: ${Object.entries(tm)
          .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
          .join(", ")}`,
      );
    console.log(`    ${titleDir(cacheDir, t.id)}/master.m3u8 , manifest.mpd`);
  }
  for (const r of catalogue.rejected ?? []) {
    console.log(`  ${r.id.padEnd(16)} "${r.name}" REJECTED (${join(cacheDir, r.source)}):`);
    for (const reason of r.reasons) console.log(`    [${reason.code}] ${reason.message}`);
  }
}

const isMain = isMainModule(import.meta.url);

if (isMain) {
  const args = process.argv.slice(2);
  const force = args.includes("--force");
  const verify = args.includes("--verify");
  const unknown = args.filter((a) => a !== "--force" && a !== "--verify");
  if (unknown.length) {
    console.error(`usage: tsx r2-seed/build-catalogue.ts [--force] [--verify]   (unknown: ${unknown.join(" ")})`);
    process.exit(2);
  }
  const cacheDir = catalogueDir();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      killActiveChildren();
      removeActiveBuilds();
      console.error(`\ninterrupted (${sig}); partial build removed`);
      process.exit(130);
    });
  }
  try {
    const catalogue = await buildCatalogue({ cacheDir, force, onProgress: (m) => console.log(m) });
    printSummary(catalogue, cacheDir);
    if (verify) {
      const { verifyCatalogue } = await import("./catalogue-verify");
      await verifyCatalogue(cacheDir, catalogue, { onProgress: (m) => console.log(m) });
    }
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  }
}
