import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packetSpan } from "../../ingest/check";
import { runChecked } from "../../ingest/exec";
import { ffmpegPath } from "../../ingest/ffmpeg-path";
import { scanVideoPackets } from "../../ingest/probe";

/**
 * A feature film has many packets: its AAC audio alone is 46.875 packets a second (264,000 in 94
 * minutes), its video 25-60. ffprobe lists one line per packet, so the listings of a long title run
 * to millions of characters; every packet must still be counted. Here: 250,000 packets (a 94-minute
 * film's audio) of a tiny picture at 1,000 fps, made in about a second.
 */

const PACKETS = 250_000;
let dir: string;
let many: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-long-"));
  many = path.join(dir, "many packets.nut");
  await runChecked(
    ffmpegPath,
    [
      "-hide_banner",
      "-nostdin",
      "-y",
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      `color=c=black:s=16x16:r=1000:d=${PACKETS / 1000}`,
      "-c:v",
      "rawvideo",
      "-pix_fmt",
      "gray",
      "-f",
      "nut",
      many,
    ],
    "many-packet source",
    { timeoutMs: 120_000 },
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the packet listings of a long title", () => {
  it("the self-check counts every packet of a rendition and its whole span (else a film over ~70 min fails its check)", async () => {
    const span = await packetSpan(many);
    expect(span.count).toBe(PACKETS);
    expect(span.startS).toBe(0);
    // to the last packet's end (this container gives packets a tick's duration, not a frame's)
    expect(span.endS).toBeGreaterThan((PACKETS - 1) / 1000);
    expect(span.endS).toBeLessThanOrEqual(PACKETS / 1000);
  });

  it("the source's packet scan lists every packet and keyframe (else chunks ignore the source's keyframes)", async () => {
    const scan = await scanVideoPackets(many, 0, 0);
    expect(scan.pts).toHaveLength(PACKETS);
    expect(scan.keyframes).toHaveLength(PACKETS);
    expect(scan.pts[0]).toBe(0);
    expect(scan.pts[PACKETS - 1]).toBeCloseTo((PACKETS - 1) / 1000, 6);
  });
});
