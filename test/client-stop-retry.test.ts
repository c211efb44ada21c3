import { beforeAll, describe, expect, it } from "vitest";
import { VcdnClient } from "../client/api";
import { PlaySession } from "../client/session";
import type { FetchLike } from "../client/types";
import { call, fill, GEO, memberToken, pressPlay, publishTitle } from "./fixtures";

/**
 * A basic plan's one stream, and the SDK's stop when the events endpoint fails as the player closes:
 * the SDK plays on the real Worker; only the failing answers of `POST /v1/events` are injected in
 * front of it (the Worker cannot be made to answer 503 on demand).
 */

const TITLE = "stop-retry-title";

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
});

interface EventsCall {
  batchId: string;
  types: string[];
  status: number;
  body: string;
}

/**
 * The SDK's fetch on the Worker, with the first events request holding a stop answered by
 * `failFirstStop`: "unreached" (a 503 of the front, the Worker never saw it) or "answer_lost" (the
 * Worker stored it, its answer was lost: a 503 in its place).
 */
function onWorker(failFirstStop: "unreached" | "answer_lost") {
  const events: EventsCall[] = [];
  let failed = false;
  const fetch = (async (url: string, init?: RequestInit) => {
    if (!url.endsWith("/v1/events")) return call(url, init);
    const sent = JSON.parse(String(init?.body)) as { batchId: string; events: Array<{ type: string }> };
    const types = sent.events.map((e) => e.type);
    const unavailable = () =>
      new Response(JSON.stringify({ error: { code: "events_unavailable", message: "injected" } }), {
        status: 503,
        headers: { "Content-Type": "application/json", "Retry-After": "5" },
      });
    let res: Response;
    if (!failed && types.includes("stop")) {
      failed = true;
      if (failFirstStop === "answer_lost") await (await call(url, init)).text();
      res = unavailable();
    } else res = await call(url, init);
    const body = await res.clone().text();
    events.push({ batchId: sent.batchId, types, status: res.status, body });
    return res;
  }) as unknown as FetchLike;
  return { fetch, events };
}

describe("a player's stop when the events endpoint answers 503 as it closes", () => {
  it("is tried again within the close, so the member's next play on a one-stream plan is not refused", async () => {
    const token = await memberToken("basic");
    const { fetch, events } = onWorker("unreached");
    const client = new VcdnClient({ baseUrl: "http://cdn.test", token, geo: GEO.lumenNyc, fetch });
    const s = await PlaySession.start(client, TITLE, { reprobeIntervalMs: 0, pollSteering: false });
    // The web player's stop: the event, then the session's close.
    s.emit({ type: "stop", reason: "user" });
    const t0 = performance.now();
    await s.close();
    const closeMs = performance.now() - t0;
    // The stop reached the member's object: the slot is free for the next play.
    const next = await pressPlay(token, { titleId: TITLE }, GEO.lumenNyc);
    expect(next.status, await next.clone().text()).toBe(200);
    const stops = events.filter((e) => e.types.includes("stop"));
    expect(stops.map((e) => e.status)).toEqual([503, 202]);
    expect(stops[1].batchId).toBe(stops[0].batchId);
    expect(closeMs).toBeLessThan(5_000);
  });

  it("counts a stop whose answer was lost once: its retry carries the same batch id", async () => {
    const token = await memberToken("basic");
    const { fetch, events } = onWorker("answer_lost");
    const client = new VcdnClient({ baseUrl: "http://cdn.test", token, geo: GEO.lumenNyc, fetch });
    const s = await PlaySession.start(client, TITLE, { reprobeIntervalMs: 0, pollSteering: false });
    s.emit({ type: "stop", reason: "user" });
    await s.close();
    const stops = events.filter((e) => e.types.includes("stop"));
    expect(stops.map((e) => e.status)).toEqual([503, 200]);
    expect(stops[1].batchId).toBe(stops[0].batchId);
    expect(JSON.parse(stops[1].body)).toMatchObject({ accepted: 0, duplicate: true });
    expect((await pressPlay(token, { titleId: TITLE }, GEO.lumenNyc)).status).toBe(200);
  });
});
