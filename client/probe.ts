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

/** A body that took less than this to arrive says nothing about throughput on its own (ms). */
export const MIN_BODY_MS = 10;

/**
 * The URL with `probe=1`: the OCA counts a probe's bytes as its load but not as the session's viewing,
 * and makes no entry for the session at its site (rows a site would write for every OCA probed).
 */
export function probeMarked(url: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}probe=1`;
}

/**
 * Probes one OCA with a Range request: time to the response headers, and throughput of every byte of
 * the body over the time from the headers to the last byte (the wait for the first chunk included).
 * A body that arrived too fast to time (one chunk, under MIN_BODY_MS) is timed over the whole
 * exchange instead, request sent to last byte, so it cannot score an absurd rate. Any status other
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
    const res = await fetchFn(probeMarked(url), { headers: { Range: `bytes=0-${bytes - 1}` }, signal: ctl.signal });
    const tHeaders = now();
    if (res.status !== 206 && res.status !== 200) {
      await res.body?.cancel?.().catch(() => {});
      return { ocaId, ok: false, at: tHeaders, status: res.status, ttfbMs: tHeaders - t0, error: `HTTP ${res.status}` };
    }
    let got = 0;
    const reader = res.body?.getReader();
    if (reader) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        got += value?.byteLength ?? 0;
        if (got >= bytes) {
          await reader.cancel().catch(() => {});
          break;
        }
      }
    } else {
      got = (await res.arrayBuffer()).byteLength;
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
