import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { SILENCE_MS } from "../durable-objects/member/streams";
import { ADMIN, call, fill, GEO, memberToken, type PlayResponse, pressPlay, publishTitle } from "./fixtures";

/**
 * An operator's DELETE of a member's stream answers 404 `unknown_stream` for any stream that does not
 * count against the plan's limit, as the README and the API reference say. A stream silent past
 * SILENCE_MS no longer counts (the member's list leaves it out, a play takes its slot), yet its row
 * stayed in the member object's memory until something else made the object look at the clock: the
 * DELETE found it there and answered 200 `released: true` for a slot it did not hold.
 */

const TITLE = "stream-delete-title";
const member = (id: string) => env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName(id));

const play = async (token: string) => {
  const res = await pressPlay(token, { titleId: TITLE }, GEO.lumenNyc);
  return { status: res.status, body: (await res.json()) as PlayResponse };
};

const listed = async (memberId: string) => {
  const res = await call(`/admin/members/${memberId}/streams`, { headers: ADMIN });
  expect(res.status).toBe(200);
  return ((await res.json()) as { streams: Array<{ sessionId: string }> }).streams.map((s) => s.sessionId);
};

const free = (memberId: string, sessionId: string) => call(`/admin/members/${memberId}/streams/${sessionId}`, { method: "DELETE", headers: ADMIN });

/** Moves a stream's last activity back past the silence window in storage (the object reads it when it wakes). */
const silenceInStorage = (memberId: string, sessionId: string) =>
  runInDurableObject(member(memberId), (_o, state) => {
    state.storage.sql.exec(`UPDATE streams SET last_seen = last_seen - ? WHERE session_id = ?`, SILENCE_MS + 1, sessionId);
  });

/**
 * The same for an object that stayed awake (its other streams' calls kept it): the row in its memory
 * too. No other way reaches that row: the object's methods read the clock, which a test cannot move.
 */
const silenceAwake = (memberId: string, sessionId: string) =>
  runInDurableObject(member(memberId), (instance, state) => {
    state.storage.sql.exec(`UPDATE streams SET last_seen = last_seen - ? WHERE session_id = ?`, SILENCE_MS + 1, sessionId);
    const book = (instance as unknown as { book: { cached: Map<string, { lastSeenAt: number }> | null } }).book;
    const row = book.cached?.get(sessionId);
    expect(row, "the object holds the stream in memory").toBeDefined();
    row!.lastSeenAt -= SILENCE_MS + 1;
  });

async function expectUnknown(res: Response, memberId: string, sessionId: string) {
  const body = (await res.json()) as { error?: { code: string; message: string } };
  expect(res.status, JSON.stringify(body)).toBe(404);
  expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
  expect(body.error?.code).toBe("unknown_stream");
  expect(body.error?.message).toBe(`member ${memberId} has no stream ${sessionId} that counts`);
}

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
});

describe("an operator's DELETE of a stream that no longer counts", () => {
  it("answers 404 for a stream silent past the window, read back by an object that hibernated meanwhile", async () => {
    const id = "stream-delete-hibernated";
    const token = await memberToken("standard", id);
    const a = await play(token);
    const b = await play(token);
    expect([a.status, b.status]).toEqual([200, 200]);
    await silenceInStorage(id, a.body.sessionId);
    await evictDurableObject(member(id));
    await expectUnknown(await free(id, a.body.sessionId), id, a.body.sessionId);
    // The list agrees, and the stream that counts is still freed with 200.
    expect(await listed(id)).toEqual([b.body.sessionId]);
    const res = await free(id, b.body.sessionId);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ memberId: id, sessionId: b.body.sessionId, released: true });
    expect(await listed(id)).toEqual([]);
  });

  it("answers 404 for a silent stream the awake object still held in memory, and leaves it as silence left it", async () => {
    const id = "stream-delete-awake";
    const token = await memberToken("standard", id);
    const a = await play(token);
    const b = await play(token);
    expect([a.status, b.status]).toEqual([200, 200]);
    await silenceAwake(id, a.body.sessionId);
    await expectUnknown(await free(id, a.body.sessionId), id, a.body.sessionId);
    expect(await listed(id)).toEqual([b.body.sessionId]);
    // Nothing was stopped: the silent device, back while a slot is free, takes it again (an operator
    // who wants it off frees its slot once it counts, and then its requests are refused).
    const back = await member(id).touch(a.body.sessionId, { titleId: TITLE, expiresAt: Date.now() + 3_600_000 });
    expect(back).toBe("readmitted");
    expect(await listed(id)).toEqual([b.body.sessionId, a.body.sessionId]);
  });
});
