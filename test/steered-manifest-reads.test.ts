import { beforeAll, describe, expect, it } from "vitest";
import { forgetOriginTexts, originTextReads } from "../workers/control/origin-text";
import { call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * The steered playlists' manifests (every player's start asks for one) read from origin once per colo:
 * kept in the isolate, and in the colo cache (the real Cache API of this workerd) for the colo's other
 * isolates; `forgetOriginTexts()` stands for another isolate of the colo.
 */

const TITLE = "steered-manifest-reads";

const play = async () => {
  const res = await pressPlay(await memberToken("premium"), { titleId: TITLE, device: { codecs: ["avc1", "mp4a"], maxHeight: 2160 } }, GEO.lumenNyc);
  expect(res.status).toBe(200);
  return (await res.json()) as PlayResponse;
};

/** One steered playlist, and where its manifest was read from. */
async function steered(url: string): Promise<{ text: string; from: "isolate" | "colo" | "origin" }> {
  const before = { ...originTextReads };
  const res = await call(url);
  expect(res.status).toBe(200);
  const text = await res.text();
  const from = (["isolate", "colo", "origin"] as const).filter((k) => originTextReads[k] > before[k]);
  expect(from).toHaveLength(1);
  return { text, from: from[0] };
}

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
});

describe("the steered playlists' manifests", () => {
  it("are read from origin once, then from the isolate, and by the colo's other isolates from the colo cache", async () => {
    forgetOriginTexts();
    const p = await play();
    const first = await steered(p.steering.hls);
    expect(first.from).toBe("origin");
    expect(first.text).toContain("#EXT-X-CONTENT-STEERING");
    const again = await steered((await play()).steering.hls);
    expect(again.from).toBe("isolate");
    // Another isolate: the colo cache, once the first read's put has landed.
    let other = { text: "", from: "origin" as string };
    for (let i = 0; i < 20 && other.from !== "colo"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      forgetOriginTexts();
      other = await steered((await play()).steering.hls);
    }
    expect(other.from).toBe("colo");
    // Each session's playlist names its own steering server and tokens; the manifest's ladder is the same.
    const variants = (t: string) => t.split("\n").filter((l) => l.startsWith("#EXT-X-STREAM-INF"));
    expect(variants(other.text).length).toBeGreaterThan(0);
    expect(variants(other.text).map((l) => l.replace(/PATHWAY-ID="[^"]*"/, ""))).toEqual(variants(first.text).map((l) => l.replace(/PATHWAY-ID="[^"]*"/, "")));
  });

  it("answers the DASH manifest through the same reads", async () => {
    forgetOriginTexts();
    const p = await play();
    const first = await steered(p.steering.dash);
    expect(first.text).toContain("<MPD");
    expect((await steered(p.steering.dash)).from).toBe("isolate");
  });
});
