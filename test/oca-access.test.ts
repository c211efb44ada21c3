import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { signUrlToken } from "../workers/shared/url-token";
import { call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

let play: PlayResponse;
const KEYS = new Map(Object.entries(JSON.parse(env.URL_SIGNING_KEYS!) as Record<string, string>));

beforeAll(async () => {
  await publishTitle("access-title");
  await publishTitle("access-other");
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-2", titleIds: ["access-title", "access-other"] }])).status).toBe(200);
  play = (await (await pressPlay(await memberToken("premium"), { titleId: "access-title" }, GEO.lumenNyc)).json()) as PlayResponse;
});

const code = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;
const tokenOf = (url: string) => url.split("/")[6];
const withToken = (url: string, token: string) => url.replace(tokenOf(url), token);

describe("OCA URL tokens", () => {
  it("open the title's files on every listed OCA", async () => {
    expect((await call(play.hls)).status).toBe(200);
  });

  it("are refused with 403 when tampered with", async () => {
    const t = tokenOf(play.ocas[0].url);
    const parts = t.split(".");
    const mac = parts[5];
    const flipped = mac.slice(0, -2) + (mac.endsWith("AA") ? "BB" : "AA");
    for (const bad of [
      [...parts.slice(0, 5), flipped].join("."),
      [parts[0], parts[1], parts[2], String(Number(parts[3]) + 3600), parts[4], mac].join("."),
      [parts[0], parts[1], parts[2], parts[3], "4320", mac].join("."),
      [parts[0], parts[1], "00000000-0000-0000-0000-000000000000", parts[3], parts[4], mac].join("."),
      [parts[0], "k9", ...parts.slice(2)].join("."),
      "garbage",
    ]) {
      const res = await call(`${withToken(play.ocas[0].url, bad)}master.m3u8`);
      expect(res.status, bad).toBe(403);
      expect((await code(res)).code).toBe("forbidden");
    }
  });

  it("are refused with 403 once expired", async () => {
    const expired = await signUrlToken(KEYS, "k1", {
      titleId: "access-title",
      sessionId: "s-1",
      exp: Math.floor(Date.now() / 1000) - 1,
      maxHeight: 2160,
      version: play.version,
      home: "ixp-nyc",
      country: "US",
      issuedAt: Date.now(),
      streams: env.MEMBER_STREAMS.newUniqueId().toString(),
    });
    const res = await call(`${withToken(play.ocas[0].url, expired)}master.m3u8`);
    expect(res.status).toBe(403);
    expect((await code(res)).message).toBe("token rejected: expired");
  });

  it("are refused with 403 for another title", async () => {
    const res = await call(`${play.ocas[0].url.replace("/access-title/", "/access-other/")}master.m3u8`);
    expect(res.status).toBe(403);
    expect((await code(res)).message).toBe("token rejected: bad_signature");
  });

  it("still verify when signed with an older key id that is kept in the ring", async () => {
    const old = await signUrlToken(KEYS, "k0", {
      titleId: "access-title",
      sessionId: "s-2",
      exp: Math.floor(Date.now() / 1000) + 60,
      maxHeight: 2160,
      version: play.version,
      home: "ixp-nyc",
      country: "US",
      issuedAt: Date.now(),
      streams: env.MEMBER_STREAMS.newUniqueId().toString(),
    });
    expect((await call(`${withToken(play.ocas[0].url, old)}master.m3u8`)).status).toBe(200);
  });
});

describe("paths that try to leave the title", () => {
  const prefix = () => play.ocas[0].url;
  it.each([
    "../access-other/master.m3u8",
    "%2e%2e/access-other/master.m3u8",
    "%2E%2E%2Faccess-other%2Fmaster.m3u8",
    "video/..%2f..%2fmaster.m3u8",
    "video%5c..%5cmaster.m3u8",
    "subs/sub-en.vtt%00.m3u8",
    ".hidden",
    "video/avc-240p/seg 1.m4s",
  ])("refuses %s with 400 or 404 and never serves another title's bytes", async (tail) => {
    const res = await call(`${prefix()}${tail}`);
    expect([400, 403, 404]).toContain(res.status);
    const err = await code(res);
    expect(err.code).toMatch(/^(bad_path|not_found|forbidden)$/);
  });

  it("answers an unknown OCA with 404", async () => {
    const res = await call(`${play.ocas[0].url.replace(/\/oca\/[^/]+\/[^/]+\//, "/oca/lumen-nyc/lumen-nyc-9/")}master.m3u8`);
    expect(res.status).toBe(404);
    expect((await code(res)).code).toBe("unknown_oca");
  });
});
