import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSource } from "../../ingest/fixtures";
import { startLocalWorker, type LocalWorker } from "../../r2-seed/local-worker";
import { type IngestCliRun, runIngestCli } from "./ingest-cli";

const TITLE = "resume-test";
let dir: string;
let source: string;
let worker: LocalWorker;
let persistTo: string;
const adminToken = randomBytes(16).toString("hex");
const A = { Authorization: `Bearer ${adminToken}` };

/** The CLI's publish of the source to the local Worker with 1 s segments and chunks, with `extra` flags. */
function ingestCli(extra: string[]): Promise<IngestCliRun> {
  return runIngestCli([
    ...[source, "--title-id", TITLE, "--title", "Resume Test", "--segment-seconds", "1", "--chunk-seconds", "1", "--out", path.join(dir, "work")],
    ...["--base-url", worker.url, "--admin-token", adminToken, "--progress", "plain", ...extra],
  ]);
}

async function origin(): Promise<Array<{ path: string; bytes: number; sha256: string | null }>> {
  const res = await fetch(`${worker.url}/admin/origin/${TITLE}`, { headers: A });
  expect(res.status).toBe(200);
  return ((await res.json()) as { files: Array<{ path: string; bytes: number; sha256: string | null }> }).files;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-resume-"));
  source = await makeSource(path.join(dir, "source.mp4"), { width: 320, height: 180, seconds: 4, gop: 25 });
  persistTo = await mkdtemp(path.join(tmpdir(), "ingest-resume-state-"));
  worker = await startLocalWorker({
    persistTo,
    vars: {
      DEV_MODE: "true",
      ADMIN_TOKEN: adminToken,
      MEMBER_JWT_SECRET: randomBytes(24).toString("hex"),
      URL_SIGNING_KEYS: JSON.stringify({ k1: randomBytes(24).toString("hex") }),
    },
  });
});

afterAll(async () => {
  await worker?.stop();
  await rm(persistTo, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

describe("publishing is resumable", () => {
  it("re-running after an interrupted publish uploads only what is missing, then nothing, then only what differs", async () => {
    // 1. the process dies (SIGKILL) after 5 uploads: 5 files are in origin, the title is not registered
    const crashed = await ingestCli(["--crash-after-uploads", "5", "--upload-concurrency", "1"]);
    expect(crashed.signal, crashed.stderr).toBe("SIGKILL");
    const partial = await origin();
    expect(partial).toHaveLength(5);
    expect((await fetch(`${worker.url}/admin/titles/${TITLE}`, { headers: A })).status).toBe(404);
    // media went first: no manifest is in origin yet
    expect(partial.filter((f) => f.path === "master.m3u8" || f.path === "manifest.mpd")).toEqual([]);

    // 2. the re-run reuses the encoded chunks and uploads the rest
    const resumed = await ingestCli(["--json"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const r2 = JSON.parse(resumed.stdout) as {
      status: string;
      summary: { files: number; uploaded: number; skipped: number };
      encode: { tasks: number; reused: number };
    };
    expect(r2.status).toBe("published");
    expect(r2.summary.skipped).toBe(partial.length);
    expect(r2.summary.uploaded).toBe(r2.summary.files - partial.length);
    expect(r2.encode.reused).toBe(r2.encode.tasks);
    const all = await origin();
    expect(all).toHaveLength(r2.summary.files);
    const registered = (await (await fetch(`${worker.url}/admin/titles/${TITLE}`, { headers: A })).json()) as {
      title: { encoding: { reason: string; ladder: unknown[] } };
      files: { files: number };
    };
    expect(registered.files.files).toBe(r2.summary.files);
    expect(registered.title.encoding.ladder.length).toBeGreaterThan(0);
    expect(registered.title.encoding.reason).toMatch(/constant-quality probe/);

    // 3. nothing left to do
    const again = JSON.parse((await ingestCli(["--json"])).stdout) as { summary: { uploaded: number; skipped: number; files: number } };
    expect(again.summary).toMatchObject({ uploaded: 0, skipped: again.summary.files });

    // 4. other bytes uploaded under a path go beside the right ones (keys are content-addressed): the
    // right content is still there, so nothing is uploaded again and the title still plays its own bytes
    const victim = all.find((f) => f.path.endsWith("seg-00002.m4s"))!;
    const junk = randomBytes(victim.bytes);
    const junkSha = createHash("sha256").update(junk).digest("hex");
    const put = await fetch(`${worker.url}/admin/origin/${TITLE}/${victim.path}`, {
      method: "PUT",
      headers: { ...A, "Content-Length": String(junk.length), "X-Content-SHA256": junkSha },
      body: junk,
    });
    expect(put.status).toBe(201);
    const repaired = JSON.parse((await ingestCli(["--json"])).stdout) as { summary: { uploaded: number } };
    expect(repaired.summary.uploaded).toBe(0);
    expect(
      (await origin())
        .filter((f) => f.path === victim.path)
        .map((f) => f.sha256)
        .sort(),
    ).toEqual([victim.sha256, junkSha].sort());
  });
});
