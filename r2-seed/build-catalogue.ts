/**
 * Builds the demo video catalogue (3 titles, CMAF fMP4 HLS + DASH, 2 audio languages,
 * WebVTT subtitles) with real ffmpeg into a cache dir outside git.
 *
 *   tsx r2-seed/build-catalogue.ts [--force] [--verify]
 *
 * Cache dir: $CATALOGUE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/edge-video-cdn/catalogue-v1.
 * A complete catalogue is reused as-is unless --force / { force: true }.
 *
 * ffmpeg is only used to encode one fragmented MP4 per rendition; segmenting, playlists and
 * the MPD are done here (see catalogue-mp4.ts) so the old 2018 npm ffmpeg works fine.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { killActiveChildren, meaningfulStderr, run, runChecked } from "./catalogue-exec";
import {
  dashMpd,
  masterPlaylist,
  mediaPlaylist,
  subtitlePlaylist,
  webvtt,
  type PackagedMediaRendition,
  type PackagedSubtitle,
} from "./catalogue-manifests";
import { buildMediaSegment, normalizeConstantFrameRate, parseFragmentedMp4, planSegments } from "./catalogue-mp4";
import {
  DURATION_S,
  FPS,
  FRAME_COUNT,
  LANGUAGES,
  SEGMENT_COUNT,
  SEGMENT_SECONDS,
  TITLES,
  VIDEO_LADDER,
  drawtextProbeArgs,
  findFontFile,
  titleEncodeArgs,
  type TitleSpec,
} from "./catalogue-titles";
import type { Catalogue, CatalogueFile, CatalogueRendition, CatalogueTitle } from "./catalogue-types";
import { ffmpegPath } from "./ffmpeg-path";

export type { Catalogue, CatalogueFile, CatalogueRendition, CatalogueTitle } from "./catalogue-types";

export interface BuildCatalogueOptions {
  /** defaults to catalogueDir() */
  cacheDir?: string;
  /** rebuild even if a complete catalogue exists */
  force?: boolean;
  onProgress?: (msg: string) => void;
  /** how many titles to encode at once (default env CATALOGUE_JOBS or 2) */
  concurrency?: number;
}

/** `$CATALOGUE_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/edge-video-cdn/catalogue-v1`. */
export function catalogueDir(): string {
  if (process.env.CATALOGUE_DIR) return process.env.CATALOGUE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "edge-video-cdn", "catalogue-v1");
}

export function titleDir(cacheDir: string, titleId: string): string {
  return join(cacheDir, titleId);
}

export const CATALOGUE_FILE = "catalogue.json";
export const TITLE_IDS: readonly string[] = TITLES.map((t) => t.id);

/**
 * Returns the catalogue in `cacheDir` if catalogue.json exists, lists the expected titles,
 * and every listed file exists with the recorded size; otherwise null (with the reason).
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

async function writeFileMkdir(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
}

/** Checks drawtext (needs libfreetype + a font). Returns font option, or null to skip text. */
async function detectDrawtext(log: (m: string) => void): Promise<{ fontFile: string | null } | null> {
  const candidates: Array<string | null> = [];
  const font = findFontFile();
  if (font) candidates.push(font);
  candidates.push(null); // fontconfig default font
  for (const fontFile of candidates) {
    let args: string[];
    try {
      args = drawtextProbeArgs(fontFile);
    } catch {
      continue; // font path with characters we refuse to put in a filtergraph
    }
    const res = await run(ffmpegPath, args, { timeoutMs: 30_000 }).catch(() => null);
    if (res && res.code === 0 && meaningfulStderr(res.stderr) === "") {
      log(`drawtext available (${fontFile ?? "fontconfig default font"})`);
      return { fontFile };
    }
  }
  log("drawtext unavailable in this ffmpeg (or no font found): titles are rendered without text overlay");
  return null;
}

interface EncodedTitle {
  catalogueTitle: CatalogueTitle;
}

async function packageMediaRendition(
  mp4Path: string,
  outDir: string,
  rel: string,
  kind: "video" | "audio",
  id: string,
): Promise<PackagedMediaRendition> {
  const parsed = parseFragmentedMp4(await readFile(mp4Path));
  const { track } = parsed;
  let samples = parsed.samples;
  if ((kind === "video") !== (track.handler === "vide")) throw new Error(`${id}: unexpected track type ${track.handler}`);
  if (kind === "video") {
    if (samples.length !== FRAME_COUNT) throw new Error(`${id}: ${samples.length} frames, expected ${FRAME_COUNT}`);
    if (track.timescale % FPS !== 0) throw new Error(`${id}: timescale ${track.timescale} not a multiple of ${FPS}`);
    samples = normalizeConstantFrameRate(samples, track.timescale / FPS);
  }
  const segmentDuration = SEGMENT_SECONDS * track.timescale;
  const plans = planSegments(samples, segmentDuration, SEGMENT_COUNT, kind === "video");
  await mkdir(join(outDir, rel), { recursive: true });
  await writeFile(join(outDir, rel, "init.mp4"), parsed.init);
  const segments: PackagedMediaRendition["segments"] = [];
  for (let k = 0; k < plans.length; k++) {
    const seg = buildMediaSegment(parsed.source, track.trackId, k + 1, plans[k].samples);
    const uri = `seg-${String(k + 1).padStart(5, "0")}.m4s`;
    await writeFile(join(outDir, rel, uri), seg);
    segments.push({ uri, durationS: plans[k].duration / track.timescale, bytes: seg.length });
  }
  const totalS = segments.reduce((n, s) => n + s.durationS, 0);
  const totalBytes = segments.reduce((n, s) => n + s.bytes, 0);
  const lang = kind === "audio" ? LANGUAGES.find((l) => l.audioId === id) : undefined;
  const r: PackagedMediaRendition = {
    id,
    kind,
    dir: rel,
    codec: track.codec,
    timescale: track.timescale,
    segmentDuration,
    width: track.width,
    height: track.height,
    frameRate: kind === "video" ? FPS : undefined,
    language: lang?.code,
    name: lang?.name,
    channels: track.channels,
    sampleRate: track.sampleRate,
    segments,
    peakBandwidth: Math.ceil(Math.max(...segments.map((s) => (s.bytes * 8) / s.durationS))),
    averageBandwidth: Math.ceil((totalBytes * 8) / totalS),
  };
  await writeFile(join(outDir, rel, "index.m3u8"), mediaPlaylist(r));
  return r;
}

async function listFilesRecursive(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFilesRecursive(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

async function buildTitle(
  title: TitleSpec,
  buildRoot: string,
  text: { fontFile: string | null } | null,
  log: (m: string) => void,
): Promise<EncodedTitle> {
  const tStart = Date.now();
  const outDir = titleDir(buildRoot, title.id);
  const work = join(buildRoot, "_work", title.id);
  await mkdir(work, { recursive: true });
  await mkdir(outDir, { recursive: true });
  const outputs = {
    video: Object.fromEntries(VIDEO_LADDER.map((r) => [r.id, join(work, `${r.id}.mp4`)])),
    audio: Object.fromEntries(LANGUAGES.map((l) => [l.audioId, join(work, `${l.audioId}.mp4`)])),
  };
  const names = [...VIDEO_LADDER.map((r) => `${r.id} ${r.width}x${r.height}@${r.bitrate / 1000}k`), ...LANGUAGES.map((l) => l.audioId)];
  log(`${title.id}: encoding ${names.join(", ")}`);
  let nextReport = 6;
  await runChecked(ffmpegPath, titleEncodeArgs(title, outputs, text), `ffmpeg encode of ${title.id}`, {
    timeoutMs: 15 * 60_000,
    onStdoutLine: (line) => {
      const m = /^out_time_(?:ms|us)=(\d+)/.exec(line);
      if (!m) return;
      const t = Number(m[1]) / 1e6;
      if (t >= nextReport && t < DURATION_S) {
        log(`${title.id}: encoded ${t.toFixed(1)}/${DURATION_S} s (${((Date.now() - tStart) / 1000).toFixed(1)} s)`);
        while (nextReport <= t) nextReport += 6;
      }
    },
  });
  log(`${title.id}: encode done in ${((Date.now() - tStart) / 1000).toFixed(1)} s, packaging`);

  const video: PackagedMediaRendition[] = [];
  for (const r of VIDEO_LADDER) {
    const p = await packageMediaRendition(outputs.video[r.id], outDir, `video/${r.id}`, "video", r.id);
    if (p.width !== r.width || p.height !== r.height) throw new Error(`${title.id}/${r.id}: got ${p.width}x${p.height}`);
    video.push(p);
    log(
      `${title.id}: ${r.id} ${p.codec} ${p.width}x${p.height} ${p.segments.length} segs, ` +
        `avg ${Math.round(p.averageBandwidth / 1000)} kb/s, peak ${Math.round(p.peakBandwidth / 1000)} kb/s`,
    );
  }
  const audio: PackagedMediaRendition[] = [];
  for (const l of LANGUAGES) {
    const p = await packageMediaRendition(outputs.audio[l.audioId], outDir, `audio/${l.audioId}`, "audio", l.audioId);
    audio.push(p);
    log(
      `${title.id}: ${l.audioId} ${p.codec} ${p.channels}ch ${p.sampleRate} Hz ${p.segments.length} segs ` +
        `(${p.segments.map((s) => s.durationS.toFixed(3)).join("/")} s), avg ${Math.round(p.averageBandwidth / 1000)} kb/s`,
    );
  }
  const subs: PackagedSubtitle[] = [];
  for (const l of LANGUAGES) {
    const vttPath = `subs/${l.subtitleId}.vtt`;
    const playlistPath = `subs/${l.subtitleId}.m3u8`;
    const vtt = webvtt(title.name, title.cues[l.code], DURATION_S);
    await writeFileMkdir(join(outDir, "subs", `${l.subtitleId}.vtt`), vtt);
    await writeFile(join(outDir, "subs", `${l.subtitleId}.m3u8`), subtitlePlaylist(DURATION_S, basename(vttPath)));
    const bytes = Buffer.byteLength(vtt);
    subs.push({ id: l.subtitleId, language: l.code, name: l.name, vttPath, playlistPath, bytes, bandwidth: (bytes * 8) / DURATION_S });
  }
  await writeFile(join(outDir, "master.m3u8"), masterPlaylist(video, audio, subs));
  await writeFile(join(outDir, "manifest.mpd"), dashMpd(DURATION_S, video, audio, subs));

  const files: CatalogueFile[] = [];
  for (const abs of await listFilesRecursive(outDir)) {
    const data = await readFile(abs);
    files.push({
      path: relative(outDir, abs).split(sep).join("/"),
      bytes: data.length,
      sha256: createHash("sha256").update(data).digest("hex"),
    });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  await rm(work, { recursive: true, force: true });

  const renditions: CatalogueRendition[] = [
    ...video.map((v, i) => ({
      id: v.id,
      kind: "video" as const,
      codec: v.codec,
      width: v.width,
      height: v.height,
      bandwidth: v.peakBandwidth,
      averageBandwidth: v.averageBandwidth,
      frameRate: FPS,
      label: VIDEO_LADDER[i].label,
    })),
    ...audio.map((a) => ({
      id: a.id,
      kind: "audio" as const,
      codec: a.codec,
      bandwidth: a.peakBandwidth,
      averageBandwidth: a.averageBandwidth,
      language: a.language,
      label: a.name,
    })),
    ...subs.map((s) => ({
      id: s.id,
      kind: "subtitle" as const,
      codec: "wvtt",
      bandwidth: Math.max(1, Math.ceil(s.bandwidth)),
      language: s.language,
      label: s.name,
    })),
  ];
  const totalBytes = files.reduce((n, f) => n + f.bytes, 0);
  log(`${title.id}: done in ${((Date.now() - tStart) / 1000).toFixed(1)} s, ${files.length} files, ${fmtBytes(totalBytes)}`);
  return {
    catalogueTitle: {
      id: title.id,
      name: title.name,
      description: title.description,
      releaseYear: title.releaseYear,
      durationS: DURATION_S,
      renditions,
      files,
    },
  };
}

/** Temp dirs of builds in progress in this process (removed on SIGINT/SIGTERM by the CLI). */
const activeBuildRoots = new Set<string>();

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return results;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
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
    if (m && (Number(m[1]) === process.pid ? false : !pidAlive(Number(m[1])))) {
      await rm(join(parent, name), { recursive: true, force: true });
    }
  }
}

export async function buildCatalogue(opts: BuildCatalogueOptions = {}): Promise<Catalogue> {
  const cacheDir = opts.cacheDir ?? catalogueDir();
  const log = opts.onProgress ?? (() => {});
  const t0 = Date.now();
  const say = (m: string) => log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${m}`);

  await cleanStaleBuildDirs(cacheDir);
  if (!opts.force) {
    const { catalogue, reason } = await loadCatalogueIfComplete(cacheDir);
    if (catalogue) {
      say(`catalogue up to date in ${cacheDir} (built ${catalogue.builtAt}); use --force to rebuild`);
      return catalogue;
    }
    say(`building catalogue in ${cacheDir} (${reason})`);
  } else {
    say(`force-building catalogue in ${cacheDir}`);
  }
  say(`ffmpeg: ${ffmpegPath}`);

  await mkdir(dirname(cacheDir), { recursive: true });
  const buildRoot = `${cacheDir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await mkdir(buildRoot, { recursive: true });
  activeBuildRoots.add(buildRoot);
  try {
    const text = await detectDrawtext(say);
    const concurrency = opts.concurrency ?? (Number(process.env.CATALOGUE_JOBS) || 2);
    const built = await mapLimit(TITLES, concurrency, (t) => buildTitle(t, buildRoot, text, say));
    await rm(join(buildRoot, "_work"), { recursive: true, force: true });
    const catalogue: Catalogue = { version: 1, builtAt: new Date().toISOString(), titles: built.map((b) => b.catalogueTitle) };
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
    say(`catalogue complete: ${catalogue.titles.length} titles, ${nFiles} files, ${fmtBytes(total)} in ${cacheDir}`);
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
    console.log(`  ${t.id.padEnd(16)} "${t.name}" (${t.releaseYear}) ${t.durationS} s, ${t.files.length} files, ${fmtBytes(bytes)}`);
    for (const r of t.renditions) {
      const dims = r.width ? ` ${r.width}x${r.height}` : "";
      const lang = r.language ? ` [${r.language}]` : "";
      console.log(`    ${r.kind.padEnd(8)} ${r.id.padEnd(9)} ${r.codec.padEnd(12)}${dims}${lang} peak ${Math.round(r.bandwidth / 1000)} kb/s`);
    }
    console.log(`    ${titleDir(cacheDir, t.id)}/master.m3u8 , manifest.mpd`);
  }
}

const isMain = (() => {
  try {
    return !!process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
  } catch {
    return false;
  }
})();

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
      for (const dir of activeBuildRoots) rmSync(dir, { recursive: true, force: true });
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
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    process.exit(1);
  }
}
