/** A file of a title as the catalogue lists it. */
export interface TitleFile {
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * How long a copy may go without progress (no answer to its read, no chunk read or written, no answer
 * to its write) before it is given up: a source that hangs mid-body would otherwise hold the fill
 * queue, and the copy's lock, for good. Between R2 buckets a healthy copy never pauses this long.
 */
export const COPY_STALL_MS = 30_000;
/**
 * The slowest a copy may be on the whole, so a source that trickles a byte now and then (never
 * stalling) is given up too: a copy may take COPY_STALL_MS plus its bytes at this rate.
 */
export const COPY_MIN_BYTES_PER_S = 1_000_000;

/** A copy given up because its source or destination stopped making progress. */
export class CopyStalled extends Error {}

/** Settles like `p`, or rejects with CopyStalled once `ms` pass first. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CopyStalled(`${what}: no progress in ${Math.round(ms)} ms`)), Math.max(0, ms));
  });
  return Promise.race([p, late]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

/**
 * Reads `key` from `bucket` and copies it into `dest` as `copyVerified` does, within the same limits:
 * a read whose answer never comes is given up after `stallMs` (its body, should it come later, is
 * cancelled). Throws when the source has no such object.
 */
export async function copyFrom(
  from: { bucket: R2Bucket; key: string; label: string },
  dest: R2Bucket,
  destKey: string,
  file: TitleFile,
  stallMs = COPY_STALL_MS,
): Promise<void> {
  const get = from.bucket.get(from.key);
  let obj: R2ObjectBody | null;
  try {
    obj = await within(get, stallMs, `reading ${from.label} copy ${from.key}`);
  } catch (err) {
    void get.then((late) => late?.body.cancel()).catch(() => {});
    throw err;
  }
  if (!obj) throw new Error(`${from.label} copy ${from.key} disappeared`);
  await copyVerified(obj, dest, destKey, file, stallMs);
}

/**
 * Copies one object between R2 buckets, streamed, and verifies it: R2 checks the SHA-256 on write
 * and the stored size is compared with the catalogue's. A copy that makes no progress for `stallMs`,
 * or runs slower than COPY_MIN_BYTES_PER_S on the whole, is given up (CopyStalled). A failed copy
 * leaves nothing behind: its write is aborted and waited for before the key is deleted, so it cannot
 * land after the delete.
 */
export async function copyVerified(src: R2ObjectBody, dest: R2Bucket, destKey: string, file: TitleFile, stallMs = COPY_STALL_MS): Promise<void> {
  const deadline = Date.now() + stallMs + (file.bytes * 1000) / COPY_MIN_BYTES_PER_S;
  const step = () => Math.min(stallMs, deadline - Date.now());
  let put: Promise<R2Object | null> | undefined;
  const reader = src.body.getReader();
  try {
    if (src.size !== file.bytes) throw new Error(`source has ${src.size} bytes, catalogue says ${file.bytes}`);
    const { readable, writable } = new FixedLengthStream(src.size);
    const writer = writable.getWriter();
    // Rejected by an abort below: what failed is thrown from the copy, not left unhandled here.
    writer.closed.catch(() => {});
    put = dest.put(destKey, readable, { sha256: file.sha256, customMetadata: { sha256: file.sha256 } });
    const written = put;
    const pump = (async () => {
      try {
        for (;;) {
          const chunk = await within(reader.read(), step(), `reading ${destKey}'s source`);
          if (chunk.done) break;
          await within(writer.write(chunk.value), step(), `writing ${destKey}`);
        }
        await within(writer.close(), step(), `finishing ${destKey}`);
      } catch (err) {
        // The write then fails rather than wait for bytes that will not come.
        await writer.abort(err).catch(() => {});
        throw err;
      }
    })();
    // A write refused early (R2's checksum) ends the copy at once; one that hangs once every byte is
    // handed over is given up too.
    const [, stored] = await Promise.all([pump, Promise.race([written, pump.then(() => within(written, step(), `storing ${destKey}`))])]);
    const check = await within(dest.head(destKey), stallMs, `checking ${destKey}`);
    if (!stored || !check || check.size !== file.bytes) throw new Error(`stored size ${check?.size} != ${file.bytes}`);
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    // An aborted write settles at once; one that does not is waited for a while at most.
    if (put) await within(put, stallMs, `abandoning ${destKey}`).catch(() => {});
    await dest.delete(destKey).catch(() => {});
    throw err;
  }
}
