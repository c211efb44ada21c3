/** A file of a title as the catalogue lists it. */
export interface TitleFile {
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * The time a copy may take beyond its bytes at COPY_MIN_BYTES_PER_S (and a read may wait for its
 * answer) before it is given up: a source that hangs mid-body would otherwise hold the fill queue, and
 * the copy's lock, for good. Between R2 buckets a healthy copy of a segment takes well under a second.
 */
export const COPY_STALL_MS = 30_000;
/** The slowest a copy may be on the whole: one may take COPY_STALL_MS plus its bytes at this rate. */
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
 * and the stored size is compared with the catalogue's. A copy not done within `stallMs` plus its
 * bytes at COPY_MIN_BYTES_PER_S (a source that hangs or trickles, a write that never ends) is given up
 * (CopyStalled). A failed copy leaves nothing behind: its write is aborted and waited for before the
 * key is deleted, so it cannot land after the delete. One timer watches the whole copy: a title's files
 * are segments of a few MB, so its deadline is near `stallMs` anyway, and timers or a transform around
 * every chunk took the site object's one thread more than twice as long as the copy itself.
 */
export async function copyVerified(src: R2ObjectBody, dest: R2Bucket, destKey: string, file: TitleFile, stallMs = COPY_STALL_MS): Promise<void> {
  const limitMs = stallMs + (file.bytes * 1000) / COPY_MIN_BYTES_PER_S;
  const giveUp = new AbortController();
  const givenUp = new Promise<never>((_, reject) => giveUp.signal.addEventListener("abort", () => reject(giveUp.signal.reason)));
  // Settled by the race below or the clean-up: never left unhandled.
  givenUp.catch(() => {});
  const timer = setTimeout(() => giveUp.abort(new CopyStalled(`copying ${destKey}: no progress to the end in ${Math.round(limitMs)} ms`)), limitMs);
  let put: Promise<R2Object | null> | undefined;
  try {
    if (src.size !== file.bytes) throw new Error(`source has ${src.size} bytes, catalogue says ${file.bytes}`);
    const { readable, writable } = new FixedLengthStream(src.size);
    put = dest.put(destKey, readable, { sha256: file.sha256, customMetadata: { sha256: file.sha256 } });
    // Given up, the pipe cancels the source and aborts the write, so the put fails rather than wait.
    const piped = src.body.pipeTo(writable, { signal: giveUp.signal });
    const [, stored] = await Promise.race([Promise.all([piped, put]), givenUp]);
    const check = await Promise.race([dest.head(destKey), givenUp]);
    if (!stored || !check || check.size !== file.bytes) throw new Error(`stored size ${check?.size} != ${file.bytes}`);
  } catch (err) {
    if (!giveUp.signal.aborted) giveUp.abort(err);
    await src.body.cancel(err).catch(() => {});
    // An aborted write settles at once; one that does not is waited for a while at most.
    if (put) await within(put, stallMs, `abandoning ${destKey}`).catch(() => {});
    await dest.delete(destKey).catch(() => {});
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
