/**
 * Whether a dir may be an ingest's work dir. A run empties the work dir's `package/` and `chunks/`
 * and writes `poster.jpg` and `result.json` there: `--out .` in a folder that had a `package/` of its
 * own (a project's, a Node package's) lost it without a word. A work dir is new, empty, or one an
 * ingest made; anything else is refused before any work.
 */
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { LOCK_FILE } from "./work-dir-lock";

/** Every name an ingest writes at the top of its work dir. */
export const WORK_DIR_ENTRIES: ReadonlySet<string> = new Set([LOCK_FILE, "chunks", "audio", "package", "poster.jpg", "result.json"]);

/** What only an ingest leaves in a dir: its lock, its result, the fingerprint of its chunks. */
const MARKS = [LOCK_FILE, "result.json", join("chunks", "key.txt")];

/** Why `workDir` is not a dir an ingest may work in (empty, new, or an ingest's), or null. */
export async function foreignWorkDirProblem(workDir: string): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(workDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ENOTDIR") return `${workDir} is a file, not a directory`;
    throw err;
  }
  if (names.length === 0) return null;
  const others = names.filter((n) => !WORK_DIR_ENTRIES.has(n)).sort();
  const marked = MARKS.some((m) => existsSync(join(workDir, m)));
  if (!others.length && marked) return null;
  const holds = others.length
    ? `it holds ${others.slice(0, 3).join(", ")}${others.length > 3 ? ` and ${others.length - 3} more` : ""}`
    : "it is not one an ingest made";
  return (
    `${workDir} is not an ingest work dir (${holds}): a run empties its package/ and chunks/ and writes poster.jpg and result.json there;` +
    " give a new or empty dir to --out (or the one an earlier ingest of this title used)"
  );
}
