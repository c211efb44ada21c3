import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ffmpegPath } from "../../ingest/ffmpeg-path";
import { makeFrameGapSource } from "../../ingest/fixtures";
import { validateSource } from "../../ingest/validate";

/**
 * A phone records at a variable frame rate: in low light it halves the rate, which validation sees
 * as a missing frame at every other step. It is refused (the encode is frame-indexed at one rate),
 * but the reason says what it is and how to make it constant, and counts every gap, not the first 20
 * it lists. A source with one real gap of lost frames gets no such hint.
 */

let dir: string;
let vfr: string;
let gap: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-vfr-"));
  vfr = path.join(dir, "vfr.mp4");
  // 1 s at 30 fps, then 45 frames at 15 fps (to 3.97 s), and 4 s of audio
  execFileSync(ffmpegPath, [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=30:d=2.5,setpts='if(lt(N,30),N/30,1+(N-30)/15)/TB'"],
    ...["-f", "lavfi", "-i", "sine=sample_rate=48000:duration=4", "-c:v", "libx264", "-preset", "ultrafast", "-vsync", "vfr", "-c:a", "aac", vfr],
  ]);
  gap = await makeFrameGapSource(path.join(dir, "gap.mp4"), { width: 160, height: 90, seconds: 3, atS: 1, missing: 10 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const validate = (source: string) => validateSource({ source, sourceLanguage: "en", audio: [], subtitles: [] });

describe("a variable-frame-rate source", () => {
  it("is refused saying it looks variable and how to make it constant, with all its gaps counted", async () => {
    const r = await validate(vfr);
    expect(r.reasons.map((x) => x.code)).toEqual(["frame_gaps"]);
    const message = r.reasons[0].message;
    const m = /^(\d+) frame\(s\) missing in (\d+) timestamp gap\(s\) at 30\/1 fps/.exec(message);
    expect(m, message).not.toBeNull();
    // a frame (two where timestamps round) missing at each of the 44 steps at 15 fps: more gaps than the 20 listed
    expect(Number(m![2])).toBeGreaterThan(35);
    expect(Number(m![2])).toBeLessThanOrEqual(Number(m![1]));
    expect(message).toContain(
      "; this looks like a variable frame rate (e.g. a phone recording): make it constant first, e.g. ffmpeg -i SOURCE -vf fps=30 -c:a copy OUT.mp4",
    );
  });

  it("but a constant-rate source that lost a run of frames is told only that, where", async () => {
    const r = await validate(gap);
    expect(r.reasons.map((x) => x.code)).toEqual(["frame_gaps"]);
    expect(r.reasons[0].message).toBe("10 frame(s) missing in 1 timestamp gap(s) at 25/1 fps: 10 at 1.00 s");
  });
});
