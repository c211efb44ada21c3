import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCli, UsageError } from "../../ingest/cli";
import { tinySource } from "./tiny-source";

/**
 * The bucket of an upload through R2's S3 API is checked with the flags, before any encoding: a name R2
 * cannot have (an empty `--r2-bucket ""` was taken as no flag, the upload going to the default bucket),
 * and a bucket named without R2's S3 API (the title would go to the local Worker's origin, the flag
 * ignored), are usage errors naming what was given.
 */

const KEYS = { R2_ACCESS_KEY_ID: "key-id", R2_SECRET_ACCESS_KEY: "secret-key" };
const ENDPOINT = "https://acct.r2.cloudflarestorage.com";
let dir: string;
let source: string;
const args = () => [source, "--title-id", "r2-bucket", "--title", "R2 bucket", "--base-url", "https://cdn.example", "--admin-token", "t".repeat(32)];

beforeAll(async () => {
  ({ dir, source } = await tinySource("ingest-r2-bucket-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the R2 bucket of an upload", () => {
  it.each(["", "ab", "Upper-Case", "under_score", "-leading", "trailing-", "a".repeat(64), "with space", "dots.in.name"])(
    "%j given as --r2-bucket is a usage error naming the flag",
    (bucket) => {
      // (the = form: a value starting with "-" would be read as a flag)
      const parse = () => parseCli([...args(), "--r2-endpoint", ENDPOINT, `--r2-bucket=${bucket}`], KEYS);
      expect(parse).toThrow(UsageError);
      expect(parse).toThrow(/^--r2-bucket: not a bucket name/);
    },
  );

  it("given as R2_BUCKET is checked the same, naming the variable", () => {
    expect(() => parseCli([...args(), "--r2-endpoint", ENDPOINT], { ...KEYS, R2_BUCKET: "My_Bucket" })).toThrow(/^R2_BUCKET: not a bucket name/);
  });

  it("named without R2's S3 API is refused, not ignored", () => {
    const parse = () => parseCli([...args(), "--r2-bucket", "vcdn-origin-eu"], KEYS);
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(/--r2-bucket names the bucket of an upload through R2's S3 API/);
  });

  it("is taken as given when it is a name R2 allows, the flag over the variable", () => {
    const bucketOf = (extra: string[], env: Record<string, string> = {}) =>
      parseCli([...args(), "--r2-endpoint", ENDPOINT, ...extra], { ...KEYS, ...env }).options.publish?.s3?.bucket;
    expect(bucketOf(["--r2-bucket", "vcdn-origin-eu"])).toBe("vcdn-origin-eu");
    expect(bucketOf(["--r2-bucket", "abc"], { R2_BUCKET: "from-env" })).toBe("abc");
    expect(bucketOf([], { R2_BUCKET: "from-env" })).toBe("from-env");
    expect(bucketOf([])).toBe("vcdn-origin");
    // An empty variable counts as unset, as every R2_ variable does.
    expect(bucketOf([], { R2_BUCKET: "" })).toBe("vcdn-origin");
  });
});
