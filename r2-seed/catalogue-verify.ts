/**
 * End-to-end checks of a built catalogue with real ffmpeg/ffprobe:
 *   - every file listed in catalogue.json exists with the recorded size and sha256
 *   - every playlist / MPD URI resolves to a listed file
 *   - `ffmpeg -v error -i <title>/master.m3u8 -map 0 -f null -` succeeds, from disk and over HTTP
 *   - `ffprobe <http>/manifest.mpd` sees every video rendition's height and every audio language
 *   - each video/audio rendition (init + all segments concatenated) has the right codec,
 *     resolution, the title's duration and (video) duration x frame rate frames
 * (The pipeline already checked all of this once when it packaged the titles; this re-checks a
 * cached catalogue, e.g. after copying it around.)
 *
 *   tsx r2-seed/catalogue-verify.ts            (verifies catalogueDir())
 *   tsx r2-seed/build-catalogue.ts --verify    (build if needed, then verify)
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, normalize, sep } from "node:path";
import { AUDIO_SAMPLE_RATE } from "../ingest/audio";
import { isMainModule, meaningfulStderr, run } from "../ingest/exec";
import type { Catalogue } from "./catalogue-types";
import { ffmpegPath, ffprobePath } from "../ingest/ffmpeg-path";
import { contentTypeFor } from "../shared/file-keys";

export interface VerifyOptions {
  onProgress?: (msg: string) => void;
  /** also run the HLS/DASH checks over a local HTTP server (default true) */
  http?: boolean;
}

/** Content types the CDN uses (one definition: shared/file-keys.ts). */
export const catalogueContentType = contentTypeFor;

/** Minimal static file server for `root` (used for the over-HTTP checks). */
export async function serveDirectory(root: string): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const rel = decodeURIComponent(url.pathname).replace(/^\/+/, "");
    const abs = normalize(join(root, rel));
    if (!abs.startsWith(normalize(root) + sep)) {
      res.writeHead(403).end();
      return;
    }
    stat(abs).then(
      (st) => {
        if (!st.isFile()) return void res.writeHead(404).end();
        const relInTitle = rel.split("/").slice(1).join("/");
        res.writeHead(200, { "content-type": catalogueContentType(relInTitle), "content-length": st.size });
        if (req.method === "HEAD") return void res.end();
        createReadStream(abs).pipe(res);
      },
      () => void res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, baseUrl: `http://127.0.0.1:${port}` };
}

function referencedUris(read: (p: string) => string, segmentCount: number): string[] {
  const refs: string[] = [];
  const master = read("master.m3u8");
  const mediaPlaylists: string[] = [];
  for (const line of master.split("\n")) {
    const uri = /URI="([^"]+)"/.exec(line);
    if (uri) mediaPlaylists.push(uri[1]);
    else if (line && !line.startsWith("#")) mediaPlaylists.push(line.trim());
  }
  for (const pl of mediaPlaylists) {
    refs.push(pl);
    const dir = pl.includes("/") ? pl.slice(0, pl.lastIndexOf("/") + 1) : "";
    for (const line of read(pl).split("\n")) {
      const uri = /URI="([^"]+)"/.exec(line);
      if (uri) refs.push(dir + uri[1]);
      else if (line && !line.startsWith("#")) refs.push(dir + line.trim());
    }
  }
  const mpd = read("manifest.mpd");
  for (const m of mpd.matchAll(/<SegmentTemplate\b[^>]*>/g)) {
    const init = /initialization="([^"]+)"/.exec(m[0]);
    const media = /media="([^"]+)"/.exec(m[0]);
    if (init) refs.push(init[1]);
    if (media) {
      for (let n = 1; n <= segmentCount; n++) refs.push(media[1].replace("$Number%05d$", String(n).padStart(5, "0")));
    }
  }
  for (const m of mpd.matchAll(/<BaseURL>([^<]+)<\/BaseURL>/g)) refs.push(m[1]);
  return refs;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  nb_read_frames?: string;
  duration?: string;
}

async function probeJson(args: string[]): Promise<{ streams: ProbeStream[]; format?: { duration?: string } }> {
  const res = await run(ffprobePath, ["-v", "error", "-of", "json", ...args], { timeoutMs: 120_000 });
  if (res.code !== 0) throw new Error(`ffprobe ${args.join(" ")} failed: ${meaningfulStderr(res.stderr)}`);
  return JSON.parse(res.stdout) as { streams: ProbeStream[]; format?: { duration?: string } };
}

export async function verifyCatalogue(cacheDir: string, catalogue: Catalogue, opts: VerifyOptions = {}): Promise<void> {
  const log = opts.onProgress ?? (() => {});
  const problems: string[] = [];
  const fail = (m: string) => {
    problems.push(m);
    log(`  FAIL ${m}`);
  };
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  const tmp = await mkdtemp(join(tmpdir(), "catalogue-verify-"));
  const http = opts.http !== false ? await serveDirectory(cacheDir) : null;
  log(`verifying ${cacheDir} with ${ffmpegPath} / ${ffprobePath}${http ? ` (HTTP at ${http.baseUrl})` : ""}`);
  try {
    for (const title of catalogue.titles) {
      const dir = join(cacheDir, title.id);
      const listed = new Set(title.files.map((f) => f.path));
      // 1. sizes + hashes
      for (const f of title.files) {
        const data = await readFile(join(dir, ...f.path.split("/"))).catch(() => null);
        if (!data) fail(`${title.id}/${f.path}: missing`);
        else if (data.length !== f.bytes) fail(`${title.id}/${f.path}: ${data.length} bytes, listed ${f.bytes}`);
        else if (createHash("sha256").update(data).digest("hex") !== f.sha256) fail(`${title.id}/${f.path}: sha256 mismatch`);
      }
      // 2. references
      const texts = new Map<string, string>();
      for (const p of listed) if (/\.(m3u8|mpd)$/.test(p)) texts.set(p, await readFile(join(dir, p), "utf8"));
      const read = (p: string) => {
        const t = texts.get(p);
        if (t === undefined) throw new Error(`${title.id}: manifest ${p} not in file list`);
        return t;
      };
      const segmentCount =
        title.files.filter((f) => /^video\/[^/]+\/seg-\d+\.m4s$/.test(f.path)).length / Math.max(1, title.renditions.filter((r) => r.kind === "video").length);
      for (const ref of referencedUris(read, segmentCount)) {
        if (/^[a-z]+:|^\//i.test(ref)) fail(`${title.id}: non-relative URI ${ref}`);
        else if (!listed.has(ref)) fail(`${title.id}: ${ref} referenced but not listed`);
      }
      // 3. HLS decode (disk, then HTTP)
      const hlsTargets = [join(dir, "master.m3u8")];
      if (http) hlsTargets.push(`${http.baseUrl}/${title.id}/master.m3u8`);
      for (const target of hlsTargets) {
        const res = await run(ffmpegPath, ["-nostdin", "-v", "error", "-i", target, "-map", "0", "-f", "null", "-"], { timeoutMs: 300_000 });
        const err = meaningfulStderr(res.stderr);
        if (res.code !== 0 || err) fail(`${title.id}: ffmpeg HLS decode of ${target} exit ${res.code}: ${err}`);
        else log(`  ok ${title.id}: ffmpeg -i ${target} -map 0 -f null - (${elapsed()})`);
      }
      // 4. DASH via ffprobe (over HTTP: ffmpeg's dashdec refuses local .vtt and mis-resolves relative local paths)
      const mpdTarget = http ? `${http.baseUrl}/${title.id}/manifest.mpd` : join(dir, "manifest.mpd");
      try {
        const extra = http ? [] : ["-allowed_extensions", "ALL"];
        const probe = await probeJson([...extra, "-show_entries", "stream=codec_type,codec_name,width,height", mpdTarget]);
        const heights = probe.streams
          .filter((s) => s.codec_type === "video")
          .map((s) => s.height)
          .sort((a, b) => (a ?? 0) - (b ?? 0));
        const audio = probe.streams.filter((s) => s.codec_type === "audio").length;
        const wantHeights = title.renditions
          .filter((r) => r.kind === "video")
          .map((r) => r.height)
          .sort((a, b) => (a ?? 0) - (b ?? 0));
        const wantAudio = title.renditions.filter((r) => r.kind === "audio").length;
        if (heights.join(",") !== wantHeights.join(",") || audio !== wantAudio) fail(`${title.id}: DASH streams video ${heights} audio ${audio}`);
        else log(`  ok ${title.id}: ffprobe ${mpdTarget}: ${probe.streams.map((s) => s.codec_name).join(",")}`);
      } catch (err) {
        fail(`${title.id}: ${(err as Error).message}`);
      }
      // 5. each media rendition: init + segments
      for (const r of title.renditions.filter((x) => x.kind !== "subtitle")) {
        const base = r.kind === "video" ? `video/${r.id}` : `audio/${r.id}`;
        const segs = title.files
          .filter((f) => f.path.startsWith(`${base}/seg-`))
          .map((f) => f.path)
          .sort();
        if (segs.length !== segmentCount) fail(`${title.id}/${r.id}: ${segs.length} segments`);
        const joined = join(tmp, `${title.id}-${r.id}.mp4`);
        const parts = await Promise.all([`${base}/init.mp4`, ...segs].map((p) => readFile(join(dir, p))));
        await writeFile(joined, Buffer.concat(parts));
        try {
          const probe = await probeJson([
            "-count_frames",
            "-show_entries",
            "stream=codec_type,codec_name,profile,width,height,sample_rate,channels,nb_read_frames,duration:format=duration",
            joined,
          ]);
          const s = probe.streams[0];
          const dur = Number(probe.format?.duration ?? s?.duration);
          const desc =
            r.kind === "video"
              ? `${s?.codec_name} ${s?.profile} ${s?.width}x${s?.height} frames=${s?.nb_read_frames} dur=${dur}`
              : `${s?.codec_name} ${s?.profile} ${s?.sample_rate} Hz ${s?.channels}ch frames=${s?.nb_read_frames} dur=${dur}`;
          const frames = Math.round(title.durationS * (r.frameRate ?? 25));
          const codecName = r.codec.startsWith("avc") ? "h264" : r.codec.startsWith("vp09") ? "vp9" : r.codec.startsWith("av01") ? "av1" : r.codec;
          const bad =
            probe.streams.length !== 1 ||
            Math.abs(dur - title.durationS) > 0.1 ||
            (r.kind === "video" && (s.codec_name !== codecName || s.width !== r.width || s.height !== r.height || Number(s.nb_read_frames) !== frames)) ||
            (r.kind === "audio" && (s.codec_name !== "aac" || Number(s.sample_rate) !== AUDIO_SAMPLE_RATE || s.channels !== 2));
          if (bad) fail(`${title.id}/${r.id}: ${desc}`);
          else log(`  ok ${title.id}/${r.id}: ${desc}`);
        } catch (err) {
          fail(`${title.id}/${r.id}: ${(err as Error).message}`);
        }
      }
      // 6. subtitles
      for (const p of [...listed].filter((x) => x.endsWith(".vtt"))) {
        const vtt = await readFile(join(dir, p), "utf8");
        if (!vtt.startsWith("WEBVTT") || !vtt.includes(title.name)) fail(`${title.id}/${p}: bad WebVTT`);
      }
    }
  } finally {
    if (http) await new Promise((resolve) => http.server.close(resolve));
    await rm(tmp, { recursive: true, force: true });
  }
  if (problems.length) throw new Error(`catalogue verification failed:\n${problems.join("\n")}`);
  log(`verification passed (${elapsed()})`);
}

const isMain = isMainModule(import.meta.url);

if (isMain) {
  const { catalogueDir, loadCatalogueIfComplete } = await import("./build-catalogue");
  const dir = catalogueDir();
  const { catalogue, reason } = await loadCatalogueIfComplete(dir);
  if (!catalogue) {
    console.error(`no complete catalogue in ${dir}: ${reason} (run tsx r2-seed/build-catalogue.ts)`);
    process.exit(1);
  }
  try {
    await verifyCatalogue(dir, catalogue, { onProgress: (m) => console.log(m) });
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
