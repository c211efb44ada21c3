import { beforeAll, describe, expect, it } from "vitest";
import { VcdnClient } from "../client/api";
import type { SdkError } from "../client/errors";
import { PlaySession } from "../client/session";
import type { FetchLike } from "../client/types";
import { ADMIN, call, fill, GEO, memberToken, publishTitle } from "./fixtures";

/**
 * The SDK on the Worker itself, through a takedown: a session the takedown stopped stays stopped on the
 * server even once the title is published again, and the SDK, refused 410, takes a new play session and
 * plays on; a takedown that stands ends the session with the new play's own refusal (taken_down).
 */

const LIFTED = "lifted-takedown-title";
const STANDS = "standing-takedown-title";
const SEGMENT = "video/avc-240p/seg-00001.m4s";
const fetch = ((url: string, init?: RequestInit) => call(url, init)) as unknown as FetchLike;

async function session(titleId: string): Promise<PlaySession> {
  const client = new VcdnClient({ baseUrl: "http://cdn.test", token: await memberToken("premium"), geo: GEO.lumenNyc, fetch });
  return PlaySession.start(client, titleId, { pollSteering: false, reprobeIntervalMs: 0, flushIntervalMs: 60_000 });
}

beforeAll(async () => {
  for (const t of [LIFTED, STANDS]) await publishTitle(t);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [LIFTED, STANDS] }])).status).toBe(200);
});

describe("a session through a takedown", () => {
  it("plays on under a new play session once the title is published again", async () => {
    const s = await session(LIFTED);
    const before = `${s.current.url}${SEGMENT}`;
    expect((await call(before)).status).toBe(200);
    expect((await call(`/admin/titles/${LIFTED}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    await publishTitle(LIFTED);
    // The server keeps the stopped session stopped...
    const refused = await call(before);
    expect(refused.status).toBe(410);
    // ...and the SDK, told so, renews: the file loads again under the new session.
    expect(await s.refused(s.current.ocaId, before, 410, await refused.text())).toBe(true);
    const after = `${s.current.url}${SEGMENT}`;
    expect(after).not.toBe(before);
    const again = await call(after);
    expect(again.status).toBe(200);
    expect((await again.arrayBuffer()).byteLength).toBeGreaterThan(0);
    await s.close();
  });

  it("ends with the new play's refusal when the takedown stands", async () => {
    const s = await session(STANDS);
    const errors: SdkError[] = [];
    s.on("error", (e) => errors.push(e as SdkError));
    const before = `${s.current.url}${SEGMENT}`;
    expect((await call(`/admin/titles/${STANDS}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const refused = await call(before);
    expect(refused.status).toBe(410);
    expect(await s.refused(s.current.ocaId, before, 410, await refused.text())).toBe(false);
    const fatal = errors.find((e) => e.fatal);
    expect(fatal?.data).toMatchObject({ status: 410, apiCode: "taken_down" });
  });
});
