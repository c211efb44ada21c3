import { describe, expect, it } from "vitest";
import { checkRegistrationTexts, type RegistrationTexts, UsageError } from "../../ingest/cli";
import { chooseLadder, ladderHeights } from "../../ingest/ladder";
import { titleRegistrationSchema } from "../../shared/catalogue";

/**
 * What ingest's flags ask for is checked before any encoding: a ladder never has two rungs of one name
 * (two would write the same files), and texts the title's registration would refuse at
 * PUT /admin/titles, after hours of encoding, are refused at once with a usage error.
 */

const PROBE = { complexity: 1, bpp: 0.06, referenceBpp: 0.06, width: 640, height: 360, samples: [], crf: 23 };
const VIDEO = { width: 1920, height: 1080, displayWidth: 1920, fps: { num: 24, den: 1 } };

describe("the ladder of --heights", () => {
  it("has one rung per even height: 241 and 242 are both 242p", () => {
    expect(ladderHeights(1080, [241, 242, 480])).toEqual([242, 480]);
    const ids = chooseLadder(PROBE, VIDEO, { codecs: ["h264", "vp9"], heights: [241, 242] }).ladder.map((r) => r.id);
    expect(ids).toEqual(["avc-242p", "vp9-242p"]);
  });

  it("still leaves out heights above the source's", () => {
    expect(ladderHeights(360, [241, 720])).toEqual([242]);
  });
});

describe("ingest's flags against the registration's limits", () => {
  const OK: RegistrationTexts = { title: "A title", description: "", languages: [{ flag: "audio", language: "es" }], codecs: ["h264"] };
  /** The server's verdict on a registration carrying these texts (renditions labelled as ingest labels them). */
  const serverAccepts = (t: { name: string; description: string; language: string }) =>
    titleRegistrationSchema.safeParse({
      name: t.name,
      description: t.description,
      durationS: 10,
      renditions: [{ id: "aac-x", kind: "audio", codec: "mp4a.40.2", bandwidth: 128000, language: t.language, label: "Label" }],
      files: [{ path: "master.m3u8", bytes: 1, sha256: "0".repeat(64) }],
      licences: [],
    }).success;

  it.each<[string, Partial<RegistrationTexts>, { name?: string; description?: string; language?: string }, RegExp]>([
    ["a title over 200 characters", { title: "t".repeat(201) }, { name: "t".repeat(201) }, /--title: at most 200/],
    ["a description over 2,000 characters", { description: "d".repeat(2001) }, { description: "d".repeat(2001) }, /--description: at most 2000/],
    [
      "a language tag over 16 characters",
      { languages: [{ flag: "subtitles", language: "en-abcdefgh-ijklm" }] },
      { language: "en-abcdefgh-ijklm" },
      /--subtitles: .*16/,
    ],
  ])("refuses %s, as the server would", (_, texts, server, message) => {
    expect(() => checkRegistrationTexts({ ...OK, ...texts })).toThrow(UsageError);
    expect(() => checkRegistrationTexts({ ...OK, ...texts })).toThrow(message);
    expect(serverAccepts({ name: OK.title, description: "", language: "es", ...server })).toBe(false);
  });

  it("accepts texts at the limits, as the server does", () => {
    const texts = { title: "t".repeat(200), description: "d".repeat(2000), languages: [{ flag: "audio", language: "en-abcdefgh-ijkl" }] };
    expect(() => checkRegistrationTexts({ ...OK, ...texts })).not.toThrow();
    expect(serverAccepts({ name: texts.title, description: texts.description, language: texts.languages[0].language })).toBe(true);
  });

  it("refuses more rungs than a registration's ladder holds (50)", () => {
    const heights = Array.from({ length: 17 }, (_, i) => 240 + 2 * i);
    expect(() => checkRegistrationTexts({ ...OK, codecs: ["h264", "vp9", "av1"], heights })).toThrow(/at most 50 rungs, got 51/);
    // Heights that round to one rung count once.
    expect(() => checkRegistrationTexts({ ...OK, codecs: ["h264", "vp9", "av1"], heights: [...heights.slice(0, 16), 241] })).not.toThrow();
  });
});
