import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../workers/index";
import { fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * A misconfigured signing secret answers every token route with 503 not_configured, its reason in the
 * public body. A secret written on the wrong side of URL_SIGNING_KEYS (`{"<secret>":"k1"}`) or pasted
 * into URL_SIGNING_KID must not appear in that body: anyone could read it off an OCA URL.
 */

const TITLE = "config-echo-title";
const SECRET = "wrongsidesecret0123456789abcdef";
let play: PlayResponse;

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  play = (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
});

async function fetchWith(over: Partial<Env>, path: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://cdn.test${path}`, init), { ...env, ...over }, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, text: await res.text() };
}

describe("a signing configuration error", () => {
  it("with a secret as a key id of URL_SIGNING_KEYS answers 503 without any part of that secret", async () => {
    const keys = JSON.stringify({ [SECRET]: "k1" });
    for (const path of [`${new URL(play.ocas[0].url).pathname}master.m3u8`, `/v1/steering/${play.sessionToken}/${TITLE}/steering.json`]) {
      const r = await fetchWith({ URL_SIGNING_KEYS: keys }, path);
      expect(r.status, path).toBe(503);
      expect(r.text, path).toContain("not_configured");
      expect(r.text, path).not.toContain(SECRET.slice(0, 8));
    }
  });

  it("with a secret as URL_SIGNING_KID answers a play 503 without that secret", async () => {
    const r = await fetchWith({ URL_SIGNING_KID: SECRET }, "/v1/play", {
      method: "POST",
      headers: { Authorization: `Bearer ${await memberToken("premium")}`, "Content-Type": "application/json", "X-Client-Geo": GEO.lumenNyc },
      body: JSON.stringify({ titleId: TITLE }),
    });
    expect(r.status).toBe(503);
    expect(r.text).toContain("not_configured");
    expect(r.text).not.toContain(SECRET.slice(0, 8));
  });

  it("still names a well-formed key id missing from the ring (key ids are public: every token carries one)", async () => {
    const r = await fetchWith({ URL_SIGNING_KID: "k7" }, `/v1/steering/${play.sessionToken}/${TITLE}/steering.json`);
    expect(r.status).toBe(503);
    expect(r.text).toContain('URL_SIGNING_KID \\"k7\\" is not a key of URL_SIGNING_KEYS');
  });
});
