/**
 * A small document every isolate reads every few seconds (origin's withdrawn list), read from its source
 * once per colo per window and shared by the colo's isolates through the Cache API: at a peak of
 * thousands of isolates each reading it per TTL, the source would see thousands of reads a second for
 * one object. A shared copy is at most one window old when read; its reader keeps that in its bound.
 * Where the Cache API keeps nothing (a workers.dev route) every isolate reads the source, as before.
 */

import { withTimeout } from "./with-timeout";

/**
 * How long a read of the colo cache may take before it counts as a miss: it answers in a millisecond or
 * two, and one that hangs must not hold a request that can ask the source itself.
 */
export const COLO_READ_TIMEOUT_MS = 1_000;

/** `caches.default.match(url)`, bounded by COLO_READ_TIMEOUT_MS (then it rejects, as a failed read does). */
export function coloMatch(url: string): Promise<Response | undefined> {
  return withTimeout(caches.default.match(url), COLO_READ_TIMEOUT_MS, "colo cache read");
}

/** Reads shared by the colo (tests). */
export const coloSharedReads = { hits: 0 };

/** The entry's URL: the document's name, the window's length and start (a window's copy never serves the next). */
export function coloSharedUrl(name: string, windowMs: number, now: number): string {
  return `https://colo-shared.invalid/v1/${name}/${windowMs}/${Math.floor(now / windowMs) * windowMs}`;
}

/** An absent document is shared as this header on an empty body (null to the readers, as the source said). */
const ABSENT = "X-Absent";

/**
 * The document `name` as the colo's first reader of the window holding `now` read it (`read`: its text, or
 * null when the source has none), or `read` itself when none has yet, its copy then put for the others
 * (in `waitUntil` when given: the request does not wait for the put). A window of 0 shares nothing; a
 * cache that fails is logged and read around.
 */
export async function coloSharedText(
  name: string,
  windowMs: number,
  read: () => Promise<string | null>,
  waitUntil?: (p: Promise<unknown>) => void,
  now = Date.now(),
): Promise<string | null> {
  if (!(windowMs > 0)) return read();
  const url = coloSharedUrl(name, windowMs, now);
  try {
    const hit = await coloMatch(url);
    if (hit) {
      coloSharedReads.hits++;
      if (hit.headers.get(ABSENT) === "1") {
        await hit.body?.cancel();
        return null;
      }
      return await hit.text();
    }
  } catch (err) {
    console.error(`colo-shared ${name}: cache read failed`, err);
  }
  const text = await read();
  const headers = new Headers({ "Cache-Control": `public, max-age=${Math.ceil(windowMs / 1000) + 1}`, "Content-Type": "application/json" });
  if (text === null) headers.set(ABSENT, "1");
  const put = caches.default.put(url, new Response(text ?? "", { headers })).catch((err) => console.error(`colo-shared ${name}: cache put failed`, err));
  if (waitUntil) waitUntil(put);
  else await put;
  return text;
}
