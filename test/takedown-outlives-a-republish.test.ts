import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * A takedown ends the sessions running at that moment for good: publishing the title again (a fixed
 * cut, a cleared claim) lets new plays in, not the sessions the takedown stopped, whose tokens would
 * otherwise play on (the old version's files included) until they expire.
 */

const TITLE = "takedown-republish-title";
const SEGMENT = "video/avc-240p/seg-00001.m4s";
let before: PlayResponse;

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  before = (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
  expect((await call(`${before.ocas[0].url}${SEGMENT}`)).status).toBe(200);
  expect((await call(`/admin/titles/${TITLE}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
  expect((await call(`${before.ocas[0].url}${SEGMENT}`)).status).toBe(410);
  // Published again: the same files and licences, as an operator lifting a takedown does.
  await publishTitle(TITLE);
});

describe("a title taken down and published again", () => {
  it("plays for a new session", async () => {
    const res = await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.lumenNyc);
    expect(res.status).toBe(200);
    const after = (await res.json()) as PlayResponse;
    const seg = await call(`${after.ocas[0].url}${SEGMENT}`);
    expect(seg.status).toBe(200);
    expect((await seg.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it("still refuses the session the takedown stopped, from an OCA and from origin, and its steering", async () => {
    const origin = before.ocas.find((o) => o.siteId === "origin")!;
    for (const base of [before.ocas[0].url, origin.url]) {
      const res = await call(`${base}${SEGMENT}`);
      expect(res.status, base).toBe(410);
      expect(["taken_down", "not_licensed"]).toContain(await errorOf(res));
    }
    expect((await call(before.steering.server)).status).toBe(410);
  });
});
