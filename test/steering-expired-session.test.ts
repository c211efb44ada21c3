import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { signingKey } from "../workers/shared/signing-keys";
import { signSessionToken, type SessionClaims } from "../workers/control/session-token";
import { call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

const TITLE = "steer-expired-title";
let play: PlayResponse;

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  const res = await pressPlay(await memberToken("standard"), { titleId: TITLE }, GEO.lumenNyc);
  expect(res.status).toBe(200);
  play = (await res.json()) as PlayResponse;
});

/** The play's own session, validly signed, but expired a little while ago. */
async function expiredSession(): Promise<string> {
  const payload = play.sessionToken.split(".")[2];
  const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as SessionClaims;
  const { ring, kid } = signingKey(env);
  return signSessionToken(ring, kid, { ...claims, exp: Math.floor(Date.now() / 1000) - 30 });
}

describe("steering a session that has expired", () => {
  it("answers 410 session_expired, so HLS/DASH players stop polling (a 403 is retried every TTL forever)", async () => {
    const token = await expiredSession();
    for (const file of ["steering.json", "master.m3u8", "manifest.mpd"]) {
      const res = await call(`/v1/steering/${token}/${TITLE}/${file}`);
      expect(res.status, file).toBe(410);
      expect(((await res.json()) as { error: { code: string } }).error.code, file).toBe("session_expired");
    }
  });

  it("still refuses a token with a bad signature with 403, expired or not", async () => {
    const token = await expiredSession();
    const parts = token.split(".");
    const mac = parts[3];
    parts[3] = (mac[0] === "A" ? "B" : "A") + mac.slice(1);
    const res = await call(`/v1/steering/${parts.join(".")}/${TITLE}/steering.json`);
    expect(res.status).toBe(403);
  });
});
