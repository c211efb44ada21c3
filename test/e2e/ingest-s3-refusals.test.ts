import { rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runIngestCli } from "./ingest-cli";
import { onePackagedFile, tinySource } from "./tiny-source";
import { PublishError, publishTitle } from "../../ingest/publish";

/**
 * An upload R2's S3 API refuses (wrong keys: 403 SignatureDoesNotMatch, InvalidAccessKeyId,
 * AccessDenied) is said in one line: the status, S3's error Code and a hint to check the R2
 * credentials; never a stack trace, never the secret key. R2's S3 API is faked here (wrangler dev has
 * none), by a local server that also plays the admin API the CLI lists origin and registers through.
 */

const SECRET = "r2-secret-key-DO-NOT-PRINT-0123456789";
const TOKEN = "admin-token-0123456789";
const TITLE = "s3-refusals";
let dir: string;
let source: string;

/** S3's XML error body. */
const s3Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>${code}</Code>\n  <Message>${message}</Message>\n</Error>`;

const SIGNATURE = "The request signature we calculated does not match the signature you provided. Check your secret access key and signing method.";

beforeAll(async () => {
  ({ dir, source } = await tinySource("ingest-s3-refusals-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the CLI uploading with R2 keys S3 refuses", () => {
  let server: Server;
  const s3Puts: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? "/";
      req.resume();
      req.on("end", () => {
        if (url.startsWith("/admin/titles/")) {
          res.writeHead(req.method === "GET" ? 404 : 500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { code: "unknown_title", message: "no such title" } }));
        } else if (url.startsWith(`/admin/origin/${TITLE}`)) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ titleId: TITLE, files: [] }));
        } else {
          s3Puts.push(`${req.method} ${url}`);
          res.writeHead(403, { "content-type": "application/xml" });
          res.end(s3Error("SignatureDoesNotMatch", SIGNATURE));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it("fails in one line naming the 403, SignatureDoesNotMatch and the R2 credentials, exit 1, no stack, no secret", async () => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const args = ["--title-id", TITLE, "--title", "S3 refusals", "--base-url", origin, "--admin-token", TOKEN, "--r2-endpoint", origin];
    const { code, stderr } = await runIngestCli([source, ...args, "--progress", "plain", "--out", path.join(dir, "work")], {
      env: { R2_ACCESS_KEY_ID: "wrong-key-id", R2_SECRET_ACCESS_KEY: SECRET },
      withoutShellPublishEnv: true,
      timeoutMs: 120_000,
    });
    expect(code, stderr).toBe(1);
    expect(s3Puts.length).toBeGreaterThan(0);
    const failure = stderr.slice(stderr.indexOf("ingest failed"));
    expect(failure.trim().split("\n")).toHaveLength(1);
    expect(failure).toMatch(/^ingest failed in publish: upload s3-refusals\/\S+ to R2: 403 SignatureDoesNotMatch \(The request signature/);
    expect(failure).toMatch(/check the R2 credentials \(R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY\)/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).not.toContain(SECRET);
    // A refusal is not retried: each file was tried once.
    expect(new Set(s3Puts).size).toBe(s3Puts.length);
  });
});

describe("an S3 refusal from publishTitle", () => {
  /** A publish to an S3 API answering every PUT with `status` and `body`; the PUTs counted. */
  async function publishAgainst(status: number, body: string): Promise<{ err: unknown; puts: number }> {
    const { packageDir, registration } = await onePackagedFile(dir);
    let puts = 0;
    const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
      if ((init?.method ?? "GET") === "GET") return Response.json({ titleId: TITLE, files: [] });
      if (String(input).includes("/admin/titles/")) return Response.json({ titleId: TITLE });
      puts++;
      return new Response(body, { status, headers: { "content-type": "application/xml" } });
    }) as typeof fetch;
    const s3 = { accessKeyId: "wrong-key-id", secretAccessKey: SECRET, endpoint: "https://acct.r2.cloudflarestorage.com", bucket: "b", region: "auto" };
    const err = await publishTitle({ baseUrl: "http://admin.example", adminToken: TOKEN, s3, fetch: fetchImpl }, TITLE, packageDir, registration).catch(
      (e: unknown) => e,
    );
    return { err, puts };
  }

  it.each([
    ["InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."],
    ["AccessDenied", "Access Denied"],
  ])("403 %s is a PublishError of one line with the code and the credentials hint, not retried", async (code, message) => {
    const { err, puts } = await publishAgainst(403, s3Error(code, message));
    expect(err).toBeInstanceOf(PublishError);
    expect((err as Error).message).toBe(
      `upload ${TITLE}/master.m3u8 to R2: 403 ${code} (${message}); check the R2 credentials (R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY) and that they may write to the bucket (--r2-bucket / R2_BUCKET)`,
    );
    expect(puts).toBe(1);
  });

  it("never quotes the secret key, should S3's message carry it", async () => {
    const { err } = await publishAgainst(403, s3Error("SignatureDoesNotMatch", `bad signature for ${SECRET}`));
    expect((err as Error).message).toContain("403 SignatureDoesNotMatch");
    expect((err as Error).message).not.toContain(SECRET);
  });

  it("a 5xx is retried, then said in one line with its status and code (no credentials hint)", async () => {
    const { err, puts } = await publishAgainst(503, s3Error("SlowDown", "Please reduce your request rate."));
    expect(err).toBeInstanceOf(PublishError);
    expect((err as Error).message).toBe(`upload ${TITLE}/master.m3u8 to R2: 503 SlowDown (Please reduce your request rate.)`);
    expect(puts).toBe(3);
  });

  it("a refusal without an XML body still names its status", async () => {
    const { err } = await publishAgainst(403, "Forbidden");
    expect((err as Error).message).toMatch(/^upload s3-refusals\/master\.m3u8 to R2: 403; check the R2 credentials/);
  });
});
