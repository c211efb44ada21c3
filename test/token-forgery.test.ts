import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../workers/index";
import { call, fill, forgeSessionToken, forgeToken, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

// The forgery this project once had: a key id naming an inherited property of a plain object made
// that property's string form the HMAC key. Every route that takes a URL token is tried with it.

let play: PlayResponse;
const TITLE = "forgery-title";

const forged = (kid: string, key: string, titleId: string, sessionId: string) => forgeToken(kid, key, titleId, sessionId);

const ATTEMPTS: Array<[kid: string, key: string]> = [
  ["__proto__", "[object Object]"],
  ["constructor", "function Object() { [native code] }"],
  ["toString", "function toString() { [native code] }"],
  ["hasOwnProperty", "function hasOwnProperty() { [native code] }"],
  ["valueOf", "function valueOf() { [native code] }"],
];

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  play = (await (await pressPlay(await memberToken("premium", "forgery-viewer"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
});

describe("a URL token forged with an inherited key id", () => {
  it.each(ATTEMPTS)("with kid %s is refused by every OCA, by origin and by the steering server", async (kid, key) => {
    const token = await forged(kid, key, TITLE, play.sessionId);
    // The steering server takes the signed session: the real session's claims under the forged key id.
    const session = await forgeSessionToken(kid, key, play.sessionToken.split(".")[2]);
    const urls = [
      `/oca/lumen-nyc/lumen-nyc-1/${token}/${TITLE}/master.m3u8`,
      `/oca/lumen-nyc/lumen-nyc-1/${token}/${TITLE}/video/avc-720p/seg-00001.m4s`,
      `/oca/origin/origin/${token}/${TITLE}/master.m3u8`,
      `/v1/steering/${session}/${TITLE}/steering.json`,
      `/v1/steering/${session}/${TITLE}/master.m3u8`,
    ];
    for (const url of urls) {
      const res = await call(url);
      expect(res.status, url).toBe(403);
      expect(await errorOf(res), url).toMatchObject({ code: "forbidden", message: "token rejected: unknown_key" });
    }
  });

  it("is refused even when URL_SIGNING_KEYS is unset: 503 not_configured, never a served file", async () => {
    for (const [kid, key] of ATTEMPTS) {
      const token = await forged(kid, key, TITLE, play.sessionId);
      for (const url of [
        `/oca/lumen-nyc/lumen-nyc-1/${token}/${TITLE}/master.m3u8`,
        `/oca/origin/origin/${token}/${TITLE}/master.m3u8`,
        `/v1/steering/${await forgeSessionToken(kid, key, play.sessionToken.split(".")[2])}/${TITLE}/steering.json`,
      ]) {
        const ctx = createExecutionContext();
        const res = await worker.fetch(new Request(`http://cdn.test${url}`), { ...env, URL_SIGNING_KEYS: undefined }, ctx);
        await waitOnExecutionContext(ctx);
        expect(res.status, url).toBe(503);
        expect((await errorOf(res)).code).toBe("not_configured");
      }
    }
  });
});

describe("signing keys that are missing or unparsable", () => {
  const withKeys = async (keys: string | undefined, path: string, init: RequestInit = {}) => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`http://cdn.test${path}`, init), { ...env, URL_SIGNING_KEYS: keys }, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };

  it.each([
    ["unset", undefined],
    ["empty", ""],
    ["not JSON", "{k1:"],
    ["an array", "[]"],
    ["an inherited key id", '{"__proto__":"0123456789abcdef0123"}'],
    ["a short secret", '{"k1":"short"}'],
  ])("when %s, answer every token route with 503 not_configured in the error shape", async (_what, keys) => {
    const token = play.ocas[0].url.split("/")[6];
    for (const path of [`/oca/lumen-nyc/lumen-nyc-1/${token}/${TITLE}/master.m3u8`, `/v1/steering/${play.sessionToken}/${TITLE}/steering.json`]) {
      const res = await withKeys(keys, path);
      expect(res.status, path).toBe(503);
      const err = await errorOf(res);
      expect(err.code).toBe("not_configured");
      expect(err.message).toMatch(/^URL signing is not configured: /);
    }
    const member = await memberToken("premium", "forgery-config");
    const res = await withKeys(keys, "/v1/play", {
      method: "POST",
      headers: { Authorization: `Bearer ${member}`, "Content-Type": "application/json", "X-Client-Geo": GEO.lumenNyc },
      body: JSON.stringify({ titleId: TITLE }),
    });
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("not_configured");
  });

  it("answers a play with 503 when URL_SIGNING_KID names no key of the ring", async () => {
    const member = await memberToken("premium", "forgery-config");
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request("http://cdn.test/v1/play", {
        method: "POST",
        headers: { Authorization: `Bearer ${member}`, "Content-Type": "application/json", "X-Client-Geo": GEO.lumenNyc },
        body: JSON.stringify({ titleId: TITLE }),
      }),
      { ...env, URL_SIGNING_KID: "constructor" },
      ctx,
    );
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("not_configured");
  });
});
