import { rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCli, UsageError } from "../../ingest/cli";
import { runIngestCli } from "./ingest-cli";
import { tinySource } from "./tiny-source";
import { ingest } from "../../ingest/pipeline";
import { createReporter, type Reporter } from "../../ingest/progress";

/**
 * An R2 endpoint that is not an http(s) URL is refused before any encoding, as a usage error: used
 * only at the first upload, it would otherwise fail after the whole encode.
 */

const KEYS = { R2_ACCESS_KEY_ID: "key-id", R2_SECRET_ACCESS_KEY: "secret-key" };
let dir: string;
let source: string;
const args = () => [source, "--title-id", "r2-endpoint", "--title", "R2 endpoint", "--base-url", "https://cdn.example", "--admin-token", "t".repeat(32)];

beforeAll(async () => {
  ({ dir, source } = await tinySource("ingest-r2-endpoint-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a bad --r2-endpoint", () => {
  it.each(["r2.example.com", "not a url", "ftp://acct.r2.cloudflarestorage.com", "file:///tmp/bucket", "https://", "https://acct.example/?x=1", ""])(
    "%j is a usage error naming the flag",
    (endpoint) => {
      const parse = () => parseCli([...args(), "--r2-endpoint", endpoint], KEYS);
      expect(parse).toThrow(UsageError);
      expect(parse).toThrow(/^--r2-endpoint: /);
    },
  );

  it("given as R2_ENDPOINT is a usage error naming the variable", () => {
    expect(() => parseCli(args(), { ...KEYS, R2_ENDPOINT: "acct.r2.cloudflarestorage.com" })).toThrow(/^R2_ENDPOINT: not a URL/);
  });

  it("is not confused with a good one: https and http endpoints are taken as given", () => {
    for (const endpoint of ["https://acct.r2.cloudflarestorage.com", "http://127.0.0.1:9000"])
      expect(parseCli([...args(), "--r2-endpoint", endpoint], KEYS).options.publish?.s3?.endpoint).toBe(endpoint);
  });

  it("stops the CLI with exit 2 and its usage before any stage runs", async () => {
    // (an admin API on a port nothing listens on: a run that got past the flags would fail there, exit 1)
    const { code, stderr } = await runIngestCli(
      [...args(), "--base-url", "http://127.0.0.1:9", "--r2-endpoint", "r2.example.com", "--progress", "plain", "--out", path.join(dir, "work")],
      { env: KEYS, withoutShellPublishEnv: true, timeoutMs: 30_000 },
    );
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/error: --r2-endpoint: not a URL: "r2\.example\.com"/);
    expect(stderr).toContain("usage: npm run ingest");
    expect(stderr).not.toMatch(/\[(validate|encode)\] started/);
  });
});

describe("ingest() given a bad R2 endpoint directly", () => {
  it("refuses it with a usage error before validating the source", async () => {
    const stages: string[] = [];
    const quiet = createReporter({ mode: "none" });
    const reporter: Reporter = { ...quiet, stage: (name, total, unit) => (stages.push(name), quiet.stage(name, total, unit)) };
    const s3 = { accessKeyId: "k", secretAccessKey: "s", endpoint: "acct.r2.cloudflarestorage.com", bucket: "b", region: "auto" };
    const err = await ingest({
      source,
      titleId: "r2-endpoint",
      title: "R2 endpoint",
      sourceLanguage: "en",
      workDir: path.join(dir, "work"),
      reporter,
      publish: { baseUrl: "http://127.0.0.1:9", adminToken: "t".repeat(32), s3 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/R2 endpoint.*not a URL/);
    expect(stages).toEqual([]);
  });
});
