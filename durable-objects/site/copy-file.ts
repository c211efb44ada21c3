/** A file of a title as the catalogue lists it. */
export interface TitleFile {
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * Copies one object between R2 buckets, streamed, and verifies it: R2 checks the SHA-256 on write
 * and the stored size is compared with the catalogue's. A failed copy leaves nothing behind.
 */
export async function copyVerified(src: R2ObjectBody, dest: R2Bucket, destKey: string, file: TitleFile): Promise<void> {
  try {
    if (src.size !== file.bytes) throw new Error(`source has ${src.size} bytes, catalogue says ${file.bytes}`);
    const { readable, writable } = new FixedLengthStream(src.size);
    const [, put] = await Promise.all([
      src.body.pipeTo(writable),
      dest.put(destKey, readable, { sha256: file.sha256, customMetadata: { sha256: file.sha256 } }),
    ]);
    const check = await dest.head(destKey);
    if (!put || !check || check.size !== file.bytes) throw new Error(`stored size ${check?.size} != ${file.bytes}`);
  } catch (err) {
    await dest.delete(destKey).catch(() => {});
    throw err;
  }
}
