import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tinySource } from "./tiny-source";
import { validateSource } from "../../ingest/validate";

/**
 * Subtitles are published as WebVTT, which is UTF-8. Many SRT files are not: saved as Windows-1252 /
 * Latin-1 (or UTF-16) by the tools that made them. Read as UTF-8, every accented letter of such a file
 * becomes U+FFFD, and the title would be published with "¿Qu� tal?" on screen: validation must refuse it.
 */

const SRT = "1\n00:00:00,200 --> 00:00:01,500\n¿Qué tal, señor?\n\n2\n00:00:01,600 --> 00:00:01,900\nAdiós\n";
let dir: string;
let source: string;

beforeAll(async () => {
  ({ dir, source } = await tinySource("ingest-subs-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const validate = (subtitles: Array<{ language: string; path: string }>) => validateSource({ source, sourceLanguage: "en", audio: [], subtitles });

describe("the text encoding of subtitle files", () => {
  it("takes UTF-8 (with or without a byte order mark)", async () => {
    const plain = path.join(dir, "es utf8.srt");
    const bom = path.join(dir, "es-bom.srt");
    await writeFile(plain, SRT, "utf8");
    await writeFile(bom, `\uFEFF${SRT}`, "utf8");
    const r = await validate([
      { language: "es", path: plain },
      { language: "fr", path: bom },
    ]);
    expect(r.reasons).toEqual([]);
    expect(r.subtitles.map((s) => s.cues)).toEqual([2, 2]);
  });

  it("refuses a Latin-1 (Windows-1252) file instead of publishing its accents as U+FFFD", async () => {
    const latin1 = path.join(dir, "es-latin1.srt");
    await writeFile(latin1, Buffer.from(SRT, "latin1"));
    const r = await validate([{ language: "es", path: latin1 }]);
    expect(r.ok).toBe(false);
    expect(r.reasons.map((x) => x.code)).toEqual(["subtitles_invalid"]);
    expect(r.reasons[0].message).toMatch(/UTF-8/);
  });

  it("refuses a UTF-16 file saying why (not only that it has no cues)", async () => {
    const utf16 = path.join(dir, "es-utf16.srt");
    await writeFile(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SRT, "utf16le")]));
    const r = await validate([{ language: "es", path: utf16 }]);
    expect(r.reasons.map((x) => x.code)).toEqual(["subtitles_invalid"]);
    expect(r.reasons[0].message).toMatch(/UTF-8/);
  });
});
