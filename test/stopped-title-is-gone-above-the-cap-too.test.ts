import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * A title taken down answers 410 for every file of a running session, whatever its token says: a
 * rendition above the session's cap too. A 403 there reads as "step down a rendition" to a player,
 * which then asks again rather than stop.
 */

const TITLE = "gone-above-cap-title";
let play: PlayResponse;

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  // The basic plan caps at 480p: the 720p rendition is above this session's cap.
  play = (await (await pressPlay(await memberToken("basic"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
  expect(play.maxHeight).toBeLessThan(720);
});

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe("a taken-down title", () => {
  it("answers 410 taken_down for a rendition above the session's cap, as for every other file, from an OCA and origin", async () => {
    const above = "video/avc-720p/seg-00001.m4s";
    const before = await call(`${play.ocas[0].url}${above}`);
    expect(before.status).toBe(403);
    expect(await errorOf(before)).toBe("rendition_not_allowed");

    expect((await call(`/admin/titles/${TITLE}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const origin = play.ocas.find((o) => o.siteId === "origin")!;
    for (const base of [play.ocas[0].url, origin.url]) {
      for (const path of [above, "video/avc-240p/seg-00001.m4s", "master.m3u8"]) {
        const res = await call(`${base}${path}`);
        expect(res.status, `${base}${path}`).toBe(410);
        expect(await errorOf(res)).toBe("taken_down");
      }
    }
  });
});
