import { isSafeId } from "./ids";

/**
 * Origin's list of titles that stop being served, and when: taken down, or their last licence anywhere
 * ends. It holds those that stopped within the last session lifetime (after that no token for them is
 * valid) and those about to stop (a licence's end is known ahead). Written by the control plane from
 * the catalogue at each registration and takedown and hourly, read by the data plane
 * (`workers/edge/withdrawn.ts`), which refuses their files with 410 `taken_down` from that time on.
 * Kept in origin because origin is what the data plane reads.
 */
export interface WithdrawnDoc {
  /** Title ids and when each stops (ms). */
  titles: Array<{ id: string; at: number }>;
  writtenAt: number;
}

/** When each listed title stops (ms), by id; anything that is not a safe id or a time is left out. */
export function parseWithdrawn(text: string): Map<string, number> {
  const ids = new Map<string, number>();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return ids;
  }
  const titles = (doc as Partial<WithdrawnDoc> | null)?.titles;
  if (!Array.isArray(titles)) return ids;
  for (const t of titles) if (typeof t?.id === "string" && isSafeId(t.id) && typeof t.at === "number" && Number.isFinite(t.at)) ids.set(t.id, t.at);
  return ids;
}
