import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, callWithEnv, GEO, memberToken, publishTitle } from "./fixtures";

/**
 * An operator's takedown or registration shows at once in the isolate that made it: its next play and
 * browse list read the change, rather than serving the views it held for up to 2 × CATALOGUE_TTL_S (a
 * minute here, so no look comes between by itself). Other isolates learn it within that bound.
 */

const TITLE = "seen-where-made-title";
const TTL = { ...env, CATALOGUE_TTL_S: "60" };

const request = (path: string, init: RequestInit & { geo?: string } = {}) => callWithEnv(TTL as Env, path, init);

const play = async () =>
  request("/v1/play", {
    method: "POST",
    headers: { Authorization: `Bearer ${await memberToken("premium")}`, "Content-Type": "application/json" },
    body: JSON.stringify({ titleId: TITLE, device: { codecs: ["avc1", "mp4a"], maxHeight: 1080 } }),
    geo: GEO.lumenNyc,
  });
const listed = async () => {
  const res = await request("/v1/titles?limit=200", { headers: { Authorization: `Bearer ${await memberToken("premium")}` }, geo: GEO.lumenNyc });
  return ((await res.json()) as { titles: Array<{ id: string }> }).titles.map((t) => t.id);
};
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

beforeAll(async () => {
  await publishTitle(TITLE);
});

describe("a catalogue change made through an isolate", () => {
  it("is seen by that isolate's next play and browse list: a takedown", async () => {
    // The views warm: the title plays and is listed.
    expect((await play()).status).toBe(200);
    expect(await listed()).toContain(TITLE);

    const down = await request(`/admin/titles/${TITLE}`, { method: "DELETE", headers: ADMIN });
    expect(down.status).toBe(200);
    const refused = await play();
    expect(refused.status).toBe(410);
    expect(await errorOf(refused)).toBe("taken_down");
    expect(await listed()).not.toContain(TITLE);
  });
});
