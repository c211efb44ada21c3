import { ApiError } from "../shared/errors";
import type { OcaFault } from "../shared/site-view";

/**
 * An OCA's fault switch, applied where an OCA would fail: added latency before the answer, a share of
 * requests answered 503, and bodies paced to a throughput cap. Set through the admin API, carried to
 * every isolate in the site's live view.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits the added latency, then fails the request with the fault's probability. */
export async function applyFault(fault: OcaFault | null, where: string): Promise<void> {
  if (!fault) return;
  if (fault.addedLatencyMs > 0) await sleep(Math.min(fault.addedLatencyMs, 30_000));
  if (fault.errorRate > 0 && Math.random() < fault.errorRate) {
    throw new ApiError(503, "oca_error", `${where} failed to answer (fault switch)`, undefined, { "Retry-After": "1" });
  }
}

/** The response with its body paced to the fault's throughput cap (bits/s); unchanged without one. */
export function paced(res: Response, fault: OcaFault | null): Response {
  const bps = fault?.throughputBps;
  if (!bps || !res.body) return res;
  const start = Date.now();
  let sent = 0;
  const body = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, ctrl) {
        // Large chunks go in 16 KiB slices, so the pace is even.
        for (let i = 0; i < chunk.byteLength; i += 16_384) {
          const slice = chunk.subarray(i, i + 16_384);
          sent += slice.byteLength;
          const due = start + (sent * 8 * 1000) / bps;
          if (due > Date.now()) await sleep(due - Date.now());
          ctrl.enqueue(slice);
        }
      },
    }),
  );
  return new Response(body, res);
}
