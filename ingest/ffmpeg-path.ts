/**
 * Resolves the ffmpeg / ffprobe binaries used by the catalogue builder and tests.
 *
 * Order of preference (for each binary independently):
 *   1. env FFMPEG_PATH / FFPROBE_PATH
 *   2. `ffmpeg` / `ffprobe` found on PATH
 *   3. the npm packages @ffmpeg-installer/ffmpeg / @ffprobe-installer/ffprobe
 *
 * Note: the npm ffmpeg is an old (2018) static build; everything in r2-seed/
 * is written to work with it (we never rely on its HLS/DASH muxers).
 */
import { accessSync, constants, statSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, join } from "node:path";

const require = createRequire(import.meta.url);

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string): string | undefined {
  const exe = process.platform === "win32" ? `${name}.exe` : name;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, exe);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function fromNpm(pkg: string): string | undefined {
  try {
    const mod = require(pkg) as { path?: unknown };
    return typeof mod.path === "string" ? mod.path : undefined;
  } catch {
    // the installer packages throw when the platform binary is missing
    return undefined;
  }
}

function resolveBinary(name: "ffmpeg" | "ffprobe", envVar: string, npmPkg: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const onPath = findOnPath(name);
  if (onPath) return onPath;
  const npm = fromNpm(npmPkg);
  if (npm) return npm;
  // Last resort: let spawn() fail with a clear ENOENT on the bare name.
  return name;
}

export const ffmpegPath: string = resolveBinary("ffmpeg", "FFMPEG_PATH", "@ffmpeg-installer/ffmpeg");
export const ffprobePath: string = resolveBinary("ffprobe", "FFPROBE_PATH", "@ffprobe-installer/ffprobe");
