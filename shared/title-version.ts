import { isSafeFilePath } from "./ids";

/**
 * A title version's index: which content (SHA-256) each path means in that version. Written once to
 * origin when the version is registered (`versionIndexKey`), never changed, and read by both planes
 * to turn (title, version, path) into a content-addressed key.
 */
export interface VersionIndexDoc {
  titleId: string;
  version: number;
  /** [path, sha256, bytes] per file. */
  files: Array<[string, string, number]>;
}

/** A parsed index: path -> content. A Map, so a path from a URL only ever finds the index's own entries. */
export interface VersionIndex {
  titleId: string;
  version: number;
  files: ReadonlyMap<string, { sha256: string; bytes: number }>;
}

const SHA = /^[0-9a-f]{64}$/;

/** Builds the document stored for a version. */
export function versionIndexDoc(titleId: string, version: number, files: ReadonlyArray<{ path: string; sha256: string; bytes: number }>): VersionIndexDoc {
  return { titleId, version, files: files.map((f) => [f.path, f.sha256, f.bytes]) };
}

/** Parses a stored index; null when it is not one (for this title and version). */
export function parseVersionIndex(text: string, titleId: string, version: number): VersionIndex | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  const d = doc as Partial<VersionIndexDoc> | null;
  if (!d || d.titleId !== titleId || d.version !== version || !Array.isArray(d.files)) return null;
  const files = new Map<string, { sha256: string; bytes: number }>();
  for (const f of d.files) {
    if (!Array.isArray(f) || typeof f[0] !== "string" || !isSafeFilePath(f[0]) || typeof f[1] !== "string" || !SHA.test(f[1])) return null;
    files.set(f[0], { sha256: f[1], bytes: Number(f[2]) || 0 });
  }
  return { titleId, version, files };
}

/** Same files with the same contents (a re-registration that changes only metadata keeps its version). */
export function sameContents(a: ReadonlyArray<{ path: string; sha256: string }>, b: ReadonlyArray<{ path: string; sha256: string }>): boolean {
  if (a.length !== b.length) return false;
  const m = new Map(a.map((f) => [f.path, f.sha256]));
  return b.every((f) => m.get(f.path) === f.sha256);
}
