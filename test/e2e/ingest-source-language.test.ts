import { describe, expect, it } from "vitest";
import { checkRegistrationTexts } from "../../ingest/cli";
import { DEFAULT_SOURCE_LANGUAGE, sourceLanguageOf } from "../../ingest/pipeline";
import type { ProbedStream } from "../../ingest/probe";
import { REGISTRATION_LIMITS } from "../../shared/catalogue";

/**
 * The language of the source's own audio, when --language does not give it, comes from the file's
 * metadata (ffprobe's stream tag): any string the file's author wrote. It is taken only as --language
 * would be (a BCP 47 tag, within the registration's limits); one that is not is warned of on the
 * progress output and the default is used, rather than being written into the encode, the audio's
 * file name and the registration, which would refuse it after the whole encode. (Pure: no ffprobe.)
 */

const probeWith = (language: string | null) => ({
  audio: [{ index: 1, codecType: "audio", codecName: "aac", durationS: 10, startS: 0, declaredFrames: null, language } satisfies ProbedStream],
});

function languageOf(language: string | null): { language: string; warnings: string[] } {
  const warnings: string[] = [];
  return { language: sourceLanguageOf(probeWith(language), (m) => warnings.push(m)), warnings };
}

/** What the CLI's check of --language lets through (throws otherwise). */
const passesFlagCheck = (language: string) => checkRegistrationTexts({ title: "t", languages: [{ flag: "language", language }], codecs: ["h264"] });

describe("the source's own audio language, from its metadata", () => {
  it("takes a well-formed tag, normalised as --language is", () => {
    expect(languageOf("spa")).toEqual({ language: "es", warnings: [] });
    expect(languageOf("pt_br")).toEqual({ language: "pt-BR", warnings: [] });
  });

  it("uses the default without a word when the file has no tag (or und)", () => {
    expect(languageOf(null)).toEqual({ language: DEFAULT_SOURCE_LANGUAGE, warnings: [] });
    expect(sourceLanguageOf({ audio: [] }, () => {})).toBe(DEFAULT_SOURCE_LANGUAGE);
    expect(sourceLanguageOf(null, () => {})).toBe(DEFAULT_SOURCE_LANGUAGE);
  });

  it("does not take a 300-character tag, even one shaped like BCP 47: it warns and uses the default", () => {
    const long = `eng${"-abcdefgh".repeat(33)}`;
    expect(long).toHaveLength(300);
    const { language, warnings } = languageOf(long);
    expect(language).toBe(DEFAULT_SOURCE_LANGUAGE);
    expect(language.length).toBeLessThanOrEqual(REGISTRATION_LIMITS.language);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/language tag/);
    expect(warnings[0]).toMatch(new RegExp(`at most ${REGISTRATION_LIMITS.language} characters`));
    // The warning quotes a bounded part of the tag, not all 300 characters.
    expect(warnings[0].length).toBeLessThan(200);
  });

  it.each([
    ["a 300-character word", "x".repeat(300)],
    ["a tag with a space and a semicolon", "en; rm -rf"],
    ["a tag with a newline", "en\nfr"],
    ["a tag of non-ASCII letters", "日本語"],
    ["a subtag over 8 characters", "en-abcdefghi"],
  ])("does not take %s: it warns and uses the default", (_, tag) => {
    const { language, warnings } = languageOf(tag);
    expect(language).toBe(DEFAULT_SOURCE_LANGUAGE);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not a language tag/);
  });

  it("lets through only what --language's own check lets through", () => {
    for (const tag of ["spa", "pt_br", "en-abcdefgh-ijkl", "en-abcdefgh-ijklm", "x".repeat(300), "en; rm -rf"]) {
      const { language } = languageOf(tag);
      expect(() => passesFlagCheck(language)).not.toThrow();
    }
  });
});
