import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * An operator's view of a member's streams (what counts against the plan's limit) and freeing one: a
 * support desk's answer to "my old TV still counts".
 */

const TITLE = "admin-streams-title";

const play = async (token: string) => {
  const res = await pressPlay(token, { titleId: TITLE }, GEO.lumenNyc);
  return { status: res.status, body: (await res.json()) as PlayResponse };
};

const streamsOf = async (memberId: string) => {
  const res = await call(`/admin/members/${memberId}/streams`, { headers: ADMIN });
  return {
    status: res.status,
    body: (await res.json()) as { memberId: string; streams: Array<{ sessionId: string; titleId: string; startedAt: number; lastSeenAt: number }> },
  };
};

const free = (memberId: string, sessionId: string, headers: Record<string, string> = ADMIN) =>
  call(`/admin/members/${memberId}/streams/${sessionId}`, { method: "DELETE", headers });

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
});

describe("an operator's view of a member's streams", () => {
  it("lists the streams that count, with their title and times", async () => {
    const token = await memberToken("standard", "admin-streams-list");
    const before = Date.now();
    const a = await play(token);
    const b = await play(token);
    expect([a.status, b.status]).toEqual([200, 200]);
    const { status, body } = await streamsOf("admin-streams-list");
    expect(status).toBe(200);
    expect(body.memberId).toBe("admin-streams-list");
    expect(body.streams.map((s) => s.sessionId)).toEqual([a.body.sessionId, b.body.sessionId]);
    for (const s of body.streams) {
      expect(s.titleId).toBe(TITLE);
      expect(s.startedAt).toBeGreaterThanOrEqual(before);
      expect(s.lastSeenAt).toBeGreaterThanOrEqual(s.startedAt);
    }
    expect((await streamsOf("admin-streams-nobody")).body.streams).toEqual([]);
  });

  it("frees a slot at once, so the member can play again, and says 404 for a stream that does not count", async () => {
    const token = await memberToken("basic", "admin-streams-free");
    const first = await play(token);
    expect(first.status).toBe(200);
    expect((await play(token)).status).toBe(409);
    // The id as a support desk may paste it, in upper case, names the same stream.
    const res = await free("admin-streams-free", first.body.sessionId.toUpperCase());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ memberId: "admin-streams-free", sessionId: first.body.sessionId, released: true });
    expect((await streamsOf("admin-streams-free")).body.streams).toEqual([]);
    const again = await free("admin-streams-free", first.body.sessionId);
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("unknown_stream");
    expect((await play(token)).status).toBe(200);
  });

  it("refuses bad ids with 400 and callers without the admin token with 401, changing nothing", async () => {
    const token = await memberToken("basic", "admin-streams-guard");
    const p = await play(token);
    expect(p.status).toBe(200);
    for (const [path, init] of [
      ["/admin/members/__proto__/streams", { headers: ADMIN }],
      [`/admin/members/${"m".repeat(65)}/streams`, { headers: ADMIN }],
      ["/admin/members/admin-streams-guard/streams/not-a-uuid", { method: "DELETE", headers: ADMIN }],
    ] as const) {
      const res = await call(path, init);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    }
    const unauthorized = await free("admin-streams-guard", p.body.sessionId, {});
    expect(unauthorized.status).toBe(401);
    expect((await streamsOf("admin-streams-guard")).body.streams.map((s) => s.sessionId)).toEqual([p.body.sessionId]);
  });
});
