import { beforeAll, describe, expect, it } from "vitest";
import { call, GEO, MASTER, MPD, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * A title whose top manifests hold a reference a URL parser reads as an invalid host (`/\[`, a BaseURL
 * with a line break in it: a packager's slip, or a crafted file): the OCA's capped copy and the session's
 * steered one are still served, 200 (they were 500: the filter threw), with that reference kept within the title.
 */

const enc = new TextEncoder();
const TITLE = "bad-ref-title";
const BAD_MASTER = `${MASTER}#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Broken",URI="/\\[/subs.m3u8"\n`;
const BAD_MPD = MPD.replace('<Period id="0">', '<BaseURL>/\n/[</BaseURL>\n  <Period id="0">');

let play: PlayResponse;

beforeAll(async () => {
  await publishTitle(TITLE, { change: { "master.m3u8": enc.encode(BAD_MASTER), "manifest.mpd": enc.encode(BAD_MPD) } });
  const res = await pressPlay(await memberToken("standard"), { titleId: TITLE }, GEO.lumenNyc);
  expect(res.status).toBe(200);
  play = (await res.json()) as PlayResponse;
});

describe("a top manifest with a reference a URL parser cannot read", () => {
  it("is served capped by the OCA and steered by the steering server, never a 5xx", async () => {
    for (const url of [play.hls, play.dash, play.steering.hls, play.steering.dash]) {
      const res = await call(url);
      expect(res.status, url).toBe(200);
      const text = await res.text();
      expect(text.includes("%5C") || text.includes("%0A"), url).toBe(true);
    }
  });
});
