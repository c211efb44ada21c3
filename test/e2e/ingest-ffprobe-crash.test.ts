import { chmod, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runIngestCli } from "./ingest-cli";
import { tinySource } from "./tiny-source";

/**
 * When ffprobe crashes on a source (the bundled static ffprobe segfaults on every MPEG-TS file), the
 * rejection says ffprobe crashed and which one, so the team tries another build, instead of
 * "the container cannot be read: ffprobe exit null", which blames a file that may be fine.
 */

let dir: string;
let source: string;
let crashing: string;

beforeAll(async () => {
  ({ dir, source } = await tinySource("ingest-ffprobe-crash-"));
  // an ffprobe that dies of a segmentation fault, as the bundled one does on a transport stream
  crashing = path.join(dir, "ffprobe");
  await writeFile(crashing, "#!/bin/sh\nkill -SEGV $$\n");
  await chmod(crashing, 0o755);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a source the ffprobe in use crashes on", () => {
  it("is refused naming the crash and the ffprobe, not as an unreadable file with an exit code of null", async () => {
    const args = [source, "--title-id", "ffprobe-crash", "--title", "Crash", "--no-publish", "--out", path.join(dir, "work"), "--progress", "none"];
    const r = await runIngestCli(args, { env: { FFPROBE_PATH: crashing }, timeoutMs: 30_000 });
    expect(r.code).toBe(3);
    const out = r.stdout + r.stderr;
    expect(out).toContain(`ffprobe (${crashing}) crashed (SIGSEGV) reading it: the file may be fine; try another ffprobe build (FFPROBE_PATH)`);
    expect(out).not.toContain("exit null");
  });
});
