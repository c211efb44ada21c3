/**
 * Usage errors: what the caller asked for cannot be done, said before any work starts (the CLI exits 2
 * and prints its usage). Shared by the CLI and `ingest()`, which callers may run without the CLI.
 */
import { type Stats, statSync } from "node:fs";

export class UsageError extends Error {}

/**
 * Why `path` cannot be an input, or null for a regular file. A FIFO or a device (/dev/zero) would be
 * hashed and read forever, a directory not at all: every input is read whole more than once.
 */
export function notAFile(path: string): string | null {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return `no file ${path}`;
  }
  if (st.isFile()) return null;
  const kind = st.isDirectory()
    ? "a directory"
    : st.isFIFO()
      ? "a FIFO"
      : st.isCharacterDevice() || st.isBlockDevice()
        ? "a device"
        : st.isSocket()
          ? "a socket"
          : "not a file";
  return `${path} is not a regular file (${kind}): give a file on disk`;
}

/**
 * Refuses inputs that are not regular files with the usage error the CLI gives for them: the source,
 * each `--audio` and `--subtitles` file, and the `--poster` image.
 */
export function requireRegularInputs(inputs: {
  source: string;
  audio?: ReadonlyArray<{ path: string }>;
  subtitles?: ReadonlyArray<{ path: string }>;
  /** the image given for the poster (`--poster FILE`) */
  posterFile?: string;
}): void {
  const problem = notAFile(inputs.source);
  if (problem) throw new UsageError(problem);
  const poster = inputs.posterFile === undefined ? null : notAFile(inputs.posterFile);
  if (poster) throw new UsageError(`--poster: ${poster}`);
  for (const [flag, list] of [
    ["audio", inputs.audio],
    ["subtitles", inputs.subtitles],
  ] as const) {
    for (const { path } of list ?? []) {
      const p = notAFile(path);
      if (p) throw new UsageError(`--${flag}: ${p}`);
    }
  }
}
