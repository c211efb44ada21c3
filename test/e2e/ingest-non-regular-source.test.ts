import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCli, UsageError } from "../../ingest/cli";
import { tinySource } from "./tiny-source";
import { ingest, type IngestOptions } from "../../ingest/pipeline";
import { createReporter } from "../../ingest/progress";

/**
 * `ingest()` called as a function, not through the CLI, refuses a source that is not a regular file
 * (a FIFO, a directory) with the usage error the CLI gives, before reading it: a FIFO would be hashed
 * and probed forever.
 */

let dir: string;
let fifo: string;
let folder: string;
let source: string;

beforeAll(async () => {
  ({ dir, source } = await tinySource("ingest-non-regular-"));
  fifo = path.join(dir, "fifo");
  execFileSync("mkfifo", [fifo]);
  folder = path.join(dir, "folder");
  await mkdir(folder);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = (over: Partial<IngestOptions>): IngestOptions => ({
  source,
  titleId: "non-regular",
  title: "Non-regular",
  sourceLanguage: "en",
  workDir: path.join(dir, "work"),
  reporter: createReporter({ mode: "none" }),
  until: "validate",
  jobs: 1,
  ...over,
});

/**
 * What `run` settles to within `ms`, or "hung". A run that hangs is blocked reading the FIFO: it is let
 * go by opening the FIFO's other end and closing it (its readers see the end of the file), so no
 * reader is left blocked after the test.
 */
async function within(run: Promise<unknown>, ms: number): Promise<unknown> {
  let done = false;
  const settled = run.finally(() => {
    done = true;
  });
  const timeout = new Promise<"hung">((r) => setTimeout(() => r("hung"), ms));
  const out = await Promise.race([settled.catch((e: unknown) => e), timeout]);
  while (!done) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      /* no reader at this moment */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return out;
}

describe("ingest() given a source that is not a regular file", () => {
  it("refuses a FIFO at once with the CLI's usage error, instead of reading it forever", async () => {
    const err = await within(ingest(options({ source: fifo })), 10_000);
    expect(err, "ingest() hung on the FIFO").not.toBe("hung");
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`${fifo} is not a regular file (a FIFO): give a file on disk`);
    // …the very message the CLI gives for it
    expect(() => parseCli([fifo, "--title-id", "non-regular", "--title", "Non-regular", "--no-publish"], {})).toThrow((err as Error).message);
  });

  it("refuses a directory, and a FIFO given as an audio or subtitle file, the same way", async () => {
    const dirErr = await within(ingest(options({ source: folder })), 10_000);
    expect(dirErr).toBeInstanceOf(UsageError);
    expect((dirErr as Error).message).toMatch(/is not a regular file \(a directory\)/);
    const audioErr = await within(ingest(options({ audio: [{ language: "es", path: fifo }] })), 10_000);
    expect(audioErr).toBeInstanceOf(UsageError);
    expect((audioErr as Error).message).toBe(`--audio: ${fifo} is not a regular file (a FIFO): give a file on disk`);
    const subsErr = await within(ingest(options({ subtitles: [{ language: "es", path: fifo }] })), 10_000);
    expect((subsErr as Error).message).toMatch(/^--subtitles: .*not a regular file \(a FIFO\)/);
  });

  it("still takes a regular file", async () => {
    const r = await ingest(options({}));
    expect(r).toMatchObject({ status: "stopped", stoppedAfter: "validate" });
  });
});
