import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCli, UsageError } from "../../ingest/cli";
import { makeSource } from "../../ingest/fixtures";
import { ingest, type IngestOptions } from "../../ingest/pipeline";
import { createReporter, type Reporter } from "../../ingest/progress";

/**
 * What the admin API will refuse at the end of a publish (the registration's size limits, the token)
 * is found out before the encode, not after hours of it and the upload of every file.
 */

let dir: string;
let short: string;

/** Past validation a run starts the ladder: here that is where the test stops it, as "too late". */
class TooLate extends Error {}
const stopsAtLadder = (): Reporter => {
  const r = createReporter({ mode: "none" });
  return {
    ...r,
    stage: (name, total, unit) =>
      name === "ladder"
        ? (() => {
            throw new TooLate("reached the ladder stage");
          })()
        : r.stage(name, total, unit),
  };
};

/** An admin API that answers every call with `status`, and counts the calls. */
function fakeAdmin(status: number) {
  const calls: string[] = [];
  const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push(`${init?.method ?? "GET"} ${String(url)}`);
    return new Response(JSON.stringify({ error: status === 401 ? "unauthorized" : "unknown_title", message: "no" }), { status });
  }) as typeof fetch;
  return { calls, fetch: fetchImpl };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-preflight-"));
  short = await makeSource(path.join(dir, "short.mp4"), { width: 160, height: 90, seconds: 2, gop: 25 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = (source: string): IngestOptions => ({
  source,
  titleId: "preflight",
  title: "Preflight",
  sourceLanguage: "en",
  workDir: path.join(dir, "work"),
  reporter: stopsAtLadder(),
  jobs: 2,
});

describe("a publish refused only at its end is refused before the encode", () => {
  it("a title with more files than a registration takes (20,000): 1 s segments of a 7-minute title in 49 renditions", async () => {
    // 200x112 at 10 fps for 410 s: 48 rungs (16p-110p) + 1 audio, each 410 segments + init + playlist:
    // 49 x 412 + 2 manifests + a poster = 20,191 files. (A 2 h film in two codecs of 5 rungs with 2 audio languages at the
    // default 4 s segments: 12 x 1,802 + 3 = 21,627.)
    const long = await makeSource(path.join(dir, "long.mp4"), { width: 200, height: 112, fps: 10, seconds: 410, gop: 10 });
    const admin = fakeAdmin(404);
    const heights = Array.from({ length: 48 }, (_, i) => 16 + 2 * i);
    const err = await ingest({
      ...base(long),
      heights,
      segmentSeconds: 1,
      chunkSeconds: 1,
      publish: { baseUrl: "http://admin.invalid", adminToken: "t".repeat(32), fetch: admin.fetch },
    }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(TooLate);
    expect((err as Error).message).toMatch(/20191 files .*a poster.*at most 20000/);
    expect(admin.calls.filter((c) => c.startsWith("PUT"))).toEqual([]);
  });

  it("an admin token the API refuses (401)", async () => {
    const admin = fakeAdmin(401);
    const err = await ingest({ ...base(short), publish: { baseUrl: "http://admin.invalid", adminToken: "wrong-token-0123456789", fetch: admin.fetch } }).catch(
      (e: unknown) => e,
    );
    expect(err).not.toBeInstanceOf(TooLate);
    expect((err as Error).message).toMatch(/401/);
    expect(admin.calls).toHaveLength(1);
  });

  it("a token no HTTP header can carry is a usage error at once, and is not echoed", () => {
    const secret = "s3cret-admin-token-line1\nline2";
    const argv = [short, "--title-id", "preflight", "--title", "Preflight", "--base-url", "https://cdn.example", "--admin-token", secret];
    let err: unknown;
    try {
      parseCli(argv, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).not.toContain("s3cret");
    // from the environment too, and "Bearer ..." pasted whole (the API reads the token as one word)
    expect(() => parseCli(argv.slice(0, -2), { ADMIN_TOKEN: "Bearer 0123456789abcdef" })).toThrow(UsageError);
    expect(parseCli(argv.slice(0, -2), { ADMIN_TOKEN: "0123456789abcdef" }).options.publish?.adminToken).toBe("0123456789abcdef");
  });
});
