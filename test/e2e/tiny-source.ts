import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { makeSource } from "../../ingest/fixtures";
import type { FileEntry } from "../../ingest/package";
import type { TitleRegistration } from "../../ingest/publish";

/**
 * A scratch folder (under the system's temporary one, named from `prefix`) holding `source.mp4`: 2 s of
 * 160×90 made by ffmpeg, the smallest source the ingest CLI's tests run through. The caller removes `dir`.
 */
export async function tinySource(prefix: string): Promise<{ dir: string; source: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, source: await makeSource(path.join(dir, "source.mp4"), { width: 160, height: 90, seconds: 2, gop: 25 }) };
}

/** A package of one small file (`master.m3u8`) in `dir`/package and its registration: for publish's own tests. */
export async function onePackagedFile(dir: string): Promise<{ packageDir: string; registration: TitleRegistration }> {
  const packageDir = path.join(dir, "package");
  await mkdir(packageDir, { recursive: true });
  await writeFile(path.join(packageDir, "master.m3u8"), "#EXTM3U\n");
  const file: FileEntry = { path: "master.m3u8", bytes: 8, sha256: "0".repeat(64) };
  return { packageDir, registration: { name: "x", description: "", durationS: 2, renditions: [], files: [file], licences: [] } as TitleRegistration };
}
