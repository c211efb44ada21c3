import type { ProbeResult } from "./scoring";
import type { FetchLike } from "./types";

export interface ProbeOptions {
  /** Bytes to ask for with a Range request (the OCA answers 206). */
  bytes?: number;
  timeoutMs?: number;
  /** Monotonic clock in ms (performance.now by default). */
  now?: () => number;
}

const monotonic = () => performance.now();

/**
 * Probes one OCA with a small Range request: time to the response headers and throughput over the
 * body. Any status other than 200/206, a network error or the timeout makes the probe fail.
 */
export async function probeUrl(fetchFn: FetchLike, ocaId: string, url: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const bytes = opts.bytes ?? 65_536;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const now = opts.now ?? monotonic;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const t0 = now();
  try {
    const res = await fetchFn(url, { headers: { Range: `bytes=0-${bytes - 1}` }, signal: ctl.signal });
    const tHeaders = now();
    if (res.status !== 206 && res.status !== 200) {
      await res.body?.cancel?.().catch(() => {});
      return { ocaId, ok: false, at: tHeaders, status: res.status, ttfbMs: tHeaders - t0, error: `HTTP ${res.status}` };
    }
    let got = 0;
    let firstChunk = 0;
    let tFirst = tHeaders;
    const reader = res.body?.getReader();
    if (reader) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (got === 0) {
          tFirst = now();
          firstChunk = value?.byteLength ?? 0;
        }
        got += value?.byteLength ?? 0;
        if (got >= bytes) {
          await reader.cancel().catch(() => {});
          break;
        }
      }
    } else {
      got = (await res.arrayBuffer()).byteLength;
      firstChunk = got;
    }
    const tEnd = now();
    return {
      ocaId,
      ok: true,
      at: tEnd,
      status: res.status,
      ttfbMs: tHeaders - t0,
      throughputBps: probeThroughputBps(got, firstChunk, t0, tFirst, tEnd),
      bytes: got,
    };
  } catch (err) {
    const aborted = ctl.signal.aborted;
    return { ocaId, ok: false, at: now(), error: aborted ? `timeout after ${timeoutMs} ms` : String((err as Error)?.message ?? err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Below this many ms of body time after the first chunk, the body rate is noise: use the whole request. */
const MIN_BODY_MS = 5;

/**
 * Throughput of a probe. The clock starts when the first chunk has already arrived, so that chunk's
 * bytes are not counted against the body time (counting them let a probe read in one chunk score
 * hundreds of Mbit/s). With too little after the first chunk to time, the whole request (including
 * the time to the first byte) is the measure: a lower bound, the safe side for a start-up rung.
 */
export function probeThroughputBps(bytes: number, firstChunkBytes: number, tStart: number, tFirstChunk: number, tEnd: number): number {
  const afterFirst = bytes - firstChunkBytes;
  const bodyMs = tEnd - tFirstChunk;
  if (afterFirst > 0 && bodyMs >= MIN_BODY_MS) return (afterFirst * 8000) / bodyMs;
  return (bytes * 8000) / Math.max(1, tEnd - tStart);
}
