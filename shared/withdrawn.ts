import { isSafeId } from "./ids";

/**
 * Origin's list of titles taken down within the last session lifetime (after that no token for them
 * is valid, so they need no listing): written by the control plane at each takedown, re-publish and
 * hourly cron from the catalogue, read by the data plane (`workers/edge/withdrawn.ts`), which refuses
 * their files with 410 `taken_down`. Kept in origin because origin is what the data plane reads.
 */
export interface WithdrawnDoc {
  /** Title ids and when each was taken down (ms). */
  titles: Array<{ id: string; at: number }>;
  writtenAt: number;
}

/** The ids of a stored list; anything that is not a safe id is left out (never trusted as a key). */
export function parseWithdrawn(text: string): Set<string> {
  const ids = new Set<string>();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return ids;
  }
  const titles = (doc as Partial<WithdrawnDoc> | null)?.titles;
  if (!Array.isArray(titles)) return ids;
  for (const t of titles) if (typeof t?.id === "string" && isSafeId(t.id)) ids.add(t.id);
  return ids;
}
