import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runIngestCli } from "./ingest-cli";
import { tinySource } from "./tiny-source";

/**
 * `--heights` names the rungs a content team wants. No rung is upscaled, so a height above the source's
 * is left out: the run says so, and when none is left it is a usage error right after validation. Before,
 * such heights vanished without a word, and with all of them above the source the title got the default
 * ladder instead of the one asked for.
 */

let dir: string;
let source: string;

beforeAll(async () => {
  ({ dir, source } = await tinySource("ingest-heights-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The CLI on the 160×90 source, stopped after the ladder, printing its result as JSON. */
const ladderRun = (name: string, heights: string) =>
  runIngestCli(
    [source, "--title-id", name, "--title", name, "--heights", heights, "--until", "ladder", "--json", "--progress", "plain", "--out", path.join(dir, name)],
    { withoutShellPublishEnv: true, timeoutMs: 120_000 },
  );

describe("--heights above the source's height", () => {
  it("is a usage error when every height is above it, before any encode", async () => {
    const run = await ladderRun("all-above", "720,1080");
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/error: --heights: 720, 1080 above the source's 90 px \(no rung is upscaled\): give heights up to 90/);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(path.join(dir, "all-above", "chunks"))).toBe(false);
  });

  it("leaves out the heights above it with a warning, and keeps the others", async () => {
    const run = await ladderRun("some-above", "46,1080");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/warning: --heights 1080 left out: above the source's 90 px/);
    const result = JSON.parse(run.stdout) as { status: string; ladder: { ladder: Array<{ id: string }> } };
    expect(result.status).toBe("stopped");
    expect(result.ladder.ladder.map((r) => r.id)).toEqual(["avc-46p"]);
  });
});
