/**
 * A small document every isolate reads every few seconds (origin's withdrawn list), read from its source
 * once per colo per window and shared by the colo's isolates through the Cache API: at a peak of
 * thousands of isolates each reading it per TTL, the source would see thousands of reads a second for
 * one object. A shared copy is at most one window old when read; its reader keeps that in its bound.
 * Where the Cache API keeps nothing (a workers.dev route) every isolate reads the source, as before.
 * Its bounded read and guarded put (`coloRead`, `coloPut`) also carry the catalogue's colo-shared answers
 * (control/colo-look.ts, control/colo-loads.ts), so every colo entry fails, and times out, the same way.
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

/**
 * What `take` makes of the colo's entry at `url`, or null when there is none. Never rejects: a read that
 * fails or hangs past COLO_READ_TIMEOUT_MS, or a `take` that throws, is logged under `what` and counts as
 * none, so the caller asks the source itself (the colo cache only saves reads, it never fails a request).
 */
export async function coloRead<T>(url: string, what: string, take: (hit: Response) => Promise<T | null>): Promise<T | null> {
  try {
    const hit = await coloMatch(url);
    return hit ? await take(hit) : null;
  } catch (err) {
    console.error(`${what}: colo cache read failed`, err);
    return null;
  }
}

/**
 * Puts `body` (JSON, or a function making it) at `url` for the colo's other isolates, kept `maxAgeS`
 * seconds, with `headers` besides. Never rejects: a put that fails, or a body that cannot be made, is
 * logged under `what` and dropped (the others then ask the source themselves).
 */
export async function coloPut(url: string, body: string | (() => string), maxAgeS: number, what: string, headers: Record<string, string> = {}): Promise<void> {
  try {
    const text = typeof body === "function" ? body() : body;
    await caches.default.put(
      url,
      new Response(text, { headers: { ...headers, "Content-Type": "application/json", "Cache-Control": `public, max-age=${maxAgeS}` } }),
    );
  } catch (err) {
    console.error(`${what}: colo cache put failed`, err);
  }
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
  const what = `colo-shared ${name}`;
  // Boxed: a shared absence (text null) is a hit, not the miss that coloRead's null says.
  const shared = await coloRead(url, what, async (hit) => {
    coloSharedReads.hits++;
    if (hit.headers.get(ABSENT) === "1") {
      await hit.body?.cancel();
      return { text: null };
    }
    return { text: await hit.text() };
  });
  if (shared) return shared.text;
  const text = await read();
  const put = coloPut(url, text ?? "", Math.ceil(windowMs / 1000) + 1, what, text === null ? { [ABSENT]: "1" } : {});
  if (waitUntil) waitUntil(put);
  else await put;
  return text;
}
