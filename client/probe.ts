import type { ProbeResult } from "./scoring";
import type { FetchLike } from "./types";

export interface ProbeOptions {
  /** Bytes to ask for with a Range request (the OCA answers 206). Default 256 KiB: enough to say something about throughput. */
  bytes?: number;
  timeoutMs?: number;
  /** Monotonic clock in ms (performance.now by default). */
  now?: () => number;
  /** Ends the probe at once when aborted (the session closing): nothing of it outlives its session. */
  signal?: AbortSignal;
}

const monotonic = () => performance.now();

/**
 * `work`, or a rejection as soon as `signal` aborts. The SDK's fetch may be the app's (a polyfill, a
 * native bridge) and ignore its abort signal: a probe or a download that stalled must still end at
 * its timeout, not hang the session's start (or its playback) for good.
 */
export function orAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error("aborted"));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort);
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** A body that took less than this to arrive says nothing about throughput on its own (ms). */
export const MIN_BODY_MS = 10;

/**
 * The URL with `probe=1`: the OCA counts a probe's bytes as its load but not as the session's viewing,
 * and makes no entry for the session at its site (rows a site would write for every OCA probed).
 */
export function probeMarked(url: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}probe=1`;
}

/** Makes every probe's URL its own (with the time, below): see `probeUrl`. */
let probeSerial = 0;

/**
 * Probes one OCA with a Range request: time to the response headers, and throughput of every byte of
 * the body over the time from the headers to the last byte (the wait for the first chunk included).
 * A body that arrived too fast to time (one chunk, under MIN_BODY_MS) is timed over the whole
 * exchange instead, request sent to last byte, so it cannot score an absurd rate. Each probe's URL is
 * its own (`pn`, after `probe=1`): media files are served `immutable`, so a browser would answer a
 * repeated probe from its HTTP cache in a millisecond and every re-probe would measure the cache, not
 * the OCA (the same fast score for all, whatever their network). Any status other
 * than 200/206, an empty body, a network error or the timeout makes the probe fail.
 */
export async function probeUrl(fetchFn: FetchLike, ocaId: string, url: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const bytes = opts.bytes ?? 262_144;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const now = opts.now ?? monotonic;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const end = () => ctl.abort();
  if (opts.signal?.aborted) ctl.abort();
  else opts.signal?.addEventListener("abort", end);
  const t0 = now();
  try {
    const target = `${probeMarked(url)}&pn=${Date.now().toString(36)}.${(++probeSerial).toString(36)}`;
    const res = await orAbort(fetchFn(target, { headers: { Range: `bytes=0-${bytes - 1}` }, signal: ctl.signal }), ctl.signal);
    const tHeaders = now();
    if (res.status !== 206 && res.status !== 200) {
      // Not waited for: a body that ignores its cancel must not hold the probe.
      res.body?.cancel?.().catch(() => {});
      return { ocaId, ok: false, at: tHeaders, status: res.status, ttfbMs: tHeaders - t0, error: `HTTP ${res.status}` };
    }
    let got = 0;
    const reader = res.body?.getReader();
    if (reader) {
      for (;;) {
        const { done, value } = await orAbort(reader.read(), ctl.signal);
        if (done) break;
        got += value?.byteLength ?? 0;
        if (got >= bytes) {
          reader.cancel().catch(() => {});
          break;
        }
      }
    } else {
      got = (await orAbort(res.arrayBuffer(), ctl.signal)).byteLength;
    }
    const tEnd = now();
    // A range of a media file answered with no byte (a truncated copy, a broken cache) measured nothing:
    // a failed probe, not an OCA in the running with a throughput of 0 (a cache still ranks ahead of origin).
    if (got === 0) return { ocaId, ok: false, at: tEnd, status: res.status, ttfbMs: tHeaders - t0, bytes: 0, error: `HTTP ${res.status} with an empty body` };
    // Every byte counted over the time it took to get them all, the first chunk's wait included.
    const transferMs = Math.max(1, tEnd - tHeaders >= MIN_BODY_MS ? tEnd - tHeaders : tEnd - t0);
    return { ocaId, ok: true, at: tEnd, status: res.status, ttfbMs: tHeaders - t0, throughputBps: (got * 8000) / transferMs, bytes: got };
  } catch (err) {
    const aborted = ctl.signal.aborted;
    const why = opts.signal?.aborted ? "aborted" : aborted ? `timeout after ${timeoutMs} ms` : String((err as Error)?.message ?? err);
    return { ocaId, ok: false, at: now(), error: why };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", end);
  }
}
