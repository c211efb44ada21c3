import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { makeSource } from "../../ingest/fixtures";

/**
 * A scratch folder (under the system's temporary one, named from `prefix`) holding `source.mp4`: 2 s of
 * 160×90 made by ffmpeg, the smallest source the ingest CLI's tests run through. The caller removes `dir`.
 */
export async function tinySource(prefix: string): Promise<{ dir: string; source: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, source: await makeSource(path.join(dir, "source.mp4"), { width: 160, height: 90, seconds: 2, gop: 25 }) };
}
