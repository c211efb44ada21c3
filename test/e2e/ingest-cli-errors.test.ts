import { execFileSync } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCli, UsageError } from "../../ingest/cli";
import { type IngestCliRun, runIngestCli } from "./ingest-cli";
import { onePackagedFile, tinySource } from "./tiny-source";
import { PublishError, publishTitle, unreachable } from "../../ingest/publish";

/**
 * What goes wrong before or around a run is said in one line with the CLI's exit codes (2 usage,
 * 1 failed), never as a stack trace or an unhandled rejection, and never by hanging.
 */

const TOKEN = "s3cret-admin-token-0123456789";
let dir: string;
let source: string;

/** The CLI as a user runs it, without the shell's publish settings; killed after `timeoutMs` (a run that hangs is a failure too). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<IngestCliRun> {
  return runIngestCli(args, { env, withoutShellPublishEnv: true, timeoutMs });
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

const titleArgs = ["--title-id", "cli-errors", "--title", "CLI errors"];

beforeAll(async () => {
  ({ dir, source } = await tinySource("ingest-cli-errors-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a bad R2 account id", () => {
  it.each<[string, string[], NodeJS.ProcessEnv, RegExp]>([
    ["--r2-account-id", ["--r2-account-id", "bad.account/id"], {}, /--r2-account-id: not an account id/],
    ["R2_ACCOUNT_ID", [], { R2_ACCOUNT_ID: "bad account" }, /R2_ACCOUNT_ID: not an account id/],
  ])("given as %s is a usage error (exit 2), not a stack trace", async (_, flags, env, message) => {
    const r = await cli([source, ...titleArgs, "--admin-token", TOKEN, ...flags], { R2_ACCESS_KEY_ID: "k", R2_SECRET_ACCESS_KEY: "s", ...env });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("usage: npm run ingest");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("a source that is not a regular file", () => {
  it("is a usage error: a device, a FIFO, a directory, as the source or as --audio / --subtitles", async () => {
    const fifo = path.join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const folder = path.join(dir, "folder");
    await mkdir(folder, { recursive: true });
    const parse = (argv: string[]) => parseCli([...argv, ...titleArgs, "--no-publish"], {});
    for (const bad of ["/dev/zero", fifo, folder]) {
      expect(() => parse([bad])).toThrow(UsageError);
      expect(() => parse([bad])).toThrow(/not a regular file/);
      expect(() => parse([source, "--audio", `es=${bad}`])).toThrow(/--audio: .*not a regular file/);
      expect(() => parse([source, "--subtitles", `es=${bad}`])).toThrow(/--subtitles: .*not a regular file/);
    }
    expect(parse([source]).options.source).toBe(source);
  });

  it("/dev/zero: the CLI exits 2 at once instead of hashing it forever", async () => {
    const r = await cli(["/dev/zero", ...titleArgs, "--no-publish", "--progress", "plain", "--out", path.join(dir, "work")], {}, 15_000);
    expect(r.signal, "the run hung").toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/dev\/zero.*not a regular file/);
  });
});

describe("an admin API that cannot be reached", () => {
  it("fails in one line naming its origin and why (ECONNREFUSED), exit 1, without the token", async () => {
    const port = await closedPort();
    const r = await cli([
      source,
      ...titleArgs,
      "--base-url",
      `http://127.0.0.1:${port}/some/path`,
      "--admin-token",
      TOKEN,
      "--progress",
      "plain",
      "--out",
      path.join(dir, "work"),
    ]);
    expect(r.code, r.stderr).toBe(1);
    const failure = r.stderr.slice(r.stderr.indexOf("ingest failed"));
    expect(failure.trim().split("\n")).toHaveLength(1);
    expect(failure).toMatch(new RegExp(`^ingest failed in publish: .*http://127\\.0\\.0\\.1:${port}\\b.*ECONNREFUSED`));
    expect(r.stderr).not.toContain(TOKEN);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  /** fetch as undici fails it when the connection is refused. */
  const refused = (url: string) => {
    const cause = Object.assign(new Error(`connect ECONNREFUSED ${new URL(url).host}`), { code: "ECONNREFUSED" });
    return new TypeError("fetch failed", { cause });
  };

  it.each<[string, boolean]>([
    ["through the admin API", false],
    ["straight to R2", true],
  ])("an upload %s that cannot connect (after its retries) is a PublishError naming the origin and the cause", async (_, viaS3) => {
    const { packageDir, registration } = await onePackagedFile(dir);
    const uploads: string[] = [];
    const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      if ((init?.method ?? "GET") === "GET") return new Response(JSON.stringify({ files: [] }), { status: 200 });
      uploads.push(url);
      throw refused(url);
    }) as typeof fetch;
    const s3 = viaS3 ? { accessKeyId: "k", secretAccessKey: "s", endpoint: "https://acct.r2.cloudflarestorage.com", bucket: "b", region: "auto" } : null;
    const err = await publishTitle(
      { baseUrl: "http://admin.example:8787", adminToken: TOKEN, s3, fetch: fetchImpl },
      "cli-errors",
      packageDir,
      registration,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    const origin = viaS3 ? "https://acct.r2.cloudflarestorage.com" : "http://admin.example:8787";
    expect((err as Error).message).toContain(origin);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect((err as Error).message).not.toContain(TOKEN);
    expect((err as Error).message).not.toContain("\n");
    expect(uploads).toHaveLength(3); // still retried
  });

  it("never quotes the token, nor the URL's path, when the cause does", () => {
    const err = new TypeError("fetch failed", { cause: new Error(`invalid header value "Bearer ${TOKEN}"`) });
    const message = unreachable("https://cdn.example/admin/titles/x?k=1", err, [TOKEN]).message;
    expect(message).toBe('cannot reach https://cdn.example: invalid header value "Bearer <secret>"');
  });
});
