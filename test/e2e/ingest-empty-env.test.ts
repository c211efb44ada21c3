import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCli, UsageError } from "../../ingest/cli";
import { s3CredentialsFromEnv } from "../../ingest/s3";

/**
 * An environment variable set to nothing (`R2_ENDPOINT=` in a shell or an .env file, a CI secret that
 * is not defined) means what its absence means: ingest falls back to the default or the other
 * variable, instead of uploading to an endpoint, bucket or region of "".
 */

let dir: string;
let source: string;
const KEYS = { R2_ACCESS_KEY_ID: "key-id", R2_SECRET_ACCESS_KEY: "secret-key" };
const args = () => [source, "--title-id", "empty-env", "--title", "Empty env", "--base-url", "https://cdn.example", "--admin-token", "t".repeat(32)];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-empty-env-"));
  // parseCli only checks that the source is a regular file: it is never read here.
  source = path.join(dir, "source.mp4");
  await writeFile(source, "not read");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("an empty R2 variable", () => {
  it("counts as unset when the credentials are read: the endpoint comes from R2_ACCOUNT_ID, bucket and region are the defaults", () => {
    const env = { ...KEYS, R2_ACCOUNT_ID: "abc123", R2_ENDPOINT: "", R2_BUCKET: "", R2_REGION: "", R2_SESSION_TOKEN: "" };
    expect(s3CredentialsFromEnv(env)).toEqual({
      accessKeyId: "key-id",
      secretAccessKey: "secret-key",
      sessionToken: undefined,
      endpoint: "https://abc123.r2.cloudflarestorage.com",
      bucket: "vcdn-origin",
      region: "auto",
    });
  });

  it("counts as unset for the keys: empty keys are no credentials", () => {
    expect(s3CredentialsFromEnv({ R2_ENDPOINT: "https://acct.r2.cloudflarestorage.com", R2_ACCESS_KEY_ID: "", R2_SECRET_ACCESS_KEY: "" })).toBeNull();
  });

  it("is ignored by the CLI: an empty R2_ENDPOINT beside R2_ACCOUNT_ID uploads to the account's endpoint", () => {
    const parsed = parseCli(args(), { ...KEYS, R2_ACCOUNT_ID: "abc123", R2_ENDPOINT: "" });
    expect(parsed.options.publish?.s3).toMatchObject({ endpoint: "https://abc123.r2.cloudflarestorage.com", bucket: "vcdn-origin", region: "auto" });
  });

  it("is ignored by the CLI: only empty R2 variables upload through the admin API", () => {
    const parsed = parseCli(args(), { R2_ACCOUNT_ID: "", R2_ENDPOINT: "", R2_ACCESS_KEY_ID: "", R2_SECRET_ACCESS_KEY: "" });
    expect(parsed.options.publish).toMatchObject({ baseUrl: "https://cdn.example", s3: null });
  });
});

describe("an empty admin API variable", () => {
  it("VCDN_BASE_URL= means the default URL, not a URL of nothing", () => {
    const argv = args().filter((a, i, all) => a !== "--base-url" && all[i - 1] !== "--base-url");
    expect(parseCli(argv, { VCDN_BASE_URL: "" }).options.publish?.baseUrl).toBe("http://127.0.0.1:8787");
  });

  it("ADMIN_TOKEN= is no token: the usage error says none was given", () => {
    const argv = args().slice(0, -2);
    expect(() => parseCli(argv, { ADMIN_TOKEN: "" })).toThrow(UsageError);
    expect(() => parseCli(argv, { ADMIN_TOKEN: "" })).toThrow(/no admin token/);
  });
});
