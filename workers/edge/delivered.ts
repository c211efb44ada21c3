/**
 * A response whose body tells what of it went out, as it goes: `sent` with each chunk the client
 * reads, and `done` once with the total when the body has all gone or the client left (the body was
 * cancelled). So an OCA's bytes served, its load and a session's bytes count what was delivered: a
 * token holder cannot swell them by asking for files and dropping the requests, and a long download
 * counts while it runs. The length stays known to the runtime (a fixed-length stream), so the response
 * keeps its Content-Length.
 */
export function countDelivered(res: Response, on: { sent: (bytes: number) => void; done: (total: number) => void }): Response {
  const source = res.body;
  if (!source) {
    on.done(0);
    return res;
  }
  const length = Number(res.headers.get("Content-Length") ?? Number.NaN);
  let total = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    on.done(total);
  };
  const reader = source.getReader();
  const counted = new ReadableStream<Uint8Array>(
    {
      async pull(ctrl) {
        const r = await reader.read();
        if (r.done) {
          finish();
          ctrl.close();
          return;
        }
        total += r.value.byteLength;
        on.sent(r.value.byteLength);
        ctrl.enqueue(r.value);
      },
      async cancel(reason) {
        finish();
        await reader.cancel(reason);
      },
    },
    // Pulled only as the consumer reads: what was pulled is what went out, within a chunk.
    { highWaterMark: 0 },
  );
  const body = Number.isSafeInteger(length) && length >= 0 ? counted.pipeThrough(new FixedLengthStream(length)) : counted;
  return new Response(body, res);
}
