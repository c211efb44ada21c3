import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../workers/index";
import { forgetTopologyLooks } from "../workers/shared/topology-live";
import { fill, GEO, memberToken, publishTitle, type PlayResponse } from "./fixtures";

/**
 * The hot paths and D1. The Worker runs here with the deployed default CATALOGUE_TTL_S (5 s) and its
 * D1 binding wrapped by a proxy that counts the calls the request path makes and can refuse them,
 * as a D1 outage would: the one thing mocked, because the local runtime cannot make D1 fail on cue.
 */

const TITLE = "cache-title";
const COLD = "cache-cold";
const OTHER = "cache-other";
const DEVICE = { codecs: ["avc1", "mp4a"], maxHeight: 1080 };

interface D1Probe {
  calls: string[];
  down: boolean;
}

/** Counts (and can refuse) calls on the binding and on any session made from it, as the views read through sessions. */
function probedDb(probe: D1Probe): D1Database {
  const probed = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, key) {
        const value = Reflect.get(t, key) as unknown;
        if (typeof value !== "function") return value;
        // Opening a session is no call to D1; what the session runs is.
        if (key === "withSession") return (...args: unknown[]) => probed((value as (...a: unknown[]) => object).apply(t, args));
        if (key === "getBookmark") return () => (value as () => unknown).apply(t);
        return (...args: unknown[]) => {
          probe.calls.push(String(key));
          if (probe.down) throw new Error("injected: D1 unreachable");
          return (value as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  return probed(env.DB);
}

async function request(path: string, init: RequestInit & { geo?: string }, probe: D1Probe, ttl = "5"): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.geo) headers.set("X-Client-Geo", init.geo);
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://cdn.test${path}`, { ...init, headers }), { ...env, CATALOGUE_TTL_S: ttl, DB: probedDb(probe) }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const play = async (probe: D1Probe, titleId = TITLE, ttl = "5") =>
  request(
    "/v1/play",
    {
      method: "POST",
      // A new member each play: the stream limit is another test's concern.
      headers: { Authorization: `Bearer ${await memberToken("premium")}`, "Content-Type": "application/json" },
      body: JSON.stringify({ titleId, device: DEVICE }),
      geo: GEO.lumenNyc,
    },
    probe,
    ttl,
  );
const poll = (p: PlayResponse, probe: D1Probe, ttl = "5") => request(new URL(p.steering.server).pathname, {}, probe, ttl);

beforeAll(async () => {
  await publishTitle(TITLE);
  await publishTitle(COLD);
  await publishTitle(OTHER);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE, OTHER] }])).status).toBe(200);
});

describe("the play and steering hot paths", () => {
  it("read D1 once per title per isolate, then not at all while the view is fresh, and write nothing", async () => {
    const warm: D1Probe = { calls: [], down: false };
    const first = await play(warm);
    expect(first.status).toBe(200);
    expect(warm.calls.length).toBeGreaterThan(0);
    const steady: D1Probe = { calls: [], down: false };
    const plays: PlayResponse[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await play(steady);
      expect(res.status).toBe(200);
      plays.push((await res.json()) as PlayResponse);
    }
    expect(plays[0].ocas[0].ocaId).toBe("lumen-nyc-1");
    // A first poll loads the session's version view once; every later poll reads nothing.
    expect((await poll(plays[0], steady)).status).toBe(200);
    steady.calls.length = 0;
    for (const p of plays) {
      const res = await poll(p, steady);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { "PATHWAY-PRIORITY": string[] })["PATHWAY-PRIORITY"][0]).toBe("lumen-nyc-1");
    }
    expect(steady.calls).toEqual([]);
  });

  it("past the TTL ask D1 one question per look whatever the titles cached, and reload only a title that changed", async () => {
    const TTL = "0.001"; // every request looks
    const warm: D1Probe = { calls: [], down: false };
    expect((await play(warm, TITLE, TTL)).status).toBe(200);
    const before = (await (await play(warm, OTHER, TTL)).json()) as PlayResponse;
    expect(before.ocas.map((o) => o.ocaId)).not.toContain("lumen-nyc-2");
    expect((await play(warm, "cache-later", TTL)).status).toBe(404);
    const batches = (p: D1Probe) => p.calls.filter((c) => c === "batch").length;

    // Nothing changed: each play asks the one question (a statement) and reloads nothing (a title's load is a batch).
    const steady: D1Probe = { calls: [], down: false };
    for (const t of [TITLE, OTHER, TITLE, OTHER]) expect((await play(steady, t, TTL)).status).toBe(200);
    expect(batches(steady)).toBe(0);
    expect(steady.calls.filter((c) => c === "prepare").length).toBeGreaterThanOrEqual(4);

    // A second OCA fills OTHER: the look reports it, OTHER reloads (its new copy shows), TITLE does not.
    expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-2", titleIds: [OTHER] }])).status).toBe(200);
    const changed: D1Probe = { calls: [], down: false };
    const other = (await (await play(changed, OTHER, TTL)).json()) as PlayResponse;
    expect(other.ocas.map((o) => o.ocaId)).toContain("lumen-nyc-2");
    expect(batches(changed)).toBe(1);
    changed.calls.length = 0;
    expect((await play(changed, TITLE, TTL)).status).toBe(200);
    expect(batches(changed)).toBe(0);

    // A title the isolate knew as unknown shows once it is published.
    await publishTitle("cache-later");
    expect((await play(changed, "cache-later", TTL)).status).not.toBe(404);
  });

  it("keep playing and steering cached titles while D1 is unreachable, and answer others with a documented 503", async () => {
    const ok: D1Probe = { calls: [], down: false };
    const p = (await (await play(ok)).json()) as PlayResponse;
    expect((await poll(p, ok)).status).toBe(200);
    // D1 goes away, and the cached answers are past their freshness (TTL 1 ms): they are served stale.
    const down: D1Probe = { calls: [], down: true };
    await new Promise((r) => setTimeout(r, 5));
    const again = await play(down, TITLE, "0.001");
    expect(again.status).toBe(200);
    expect(((await again.json()) as PlayResponse).ocas[0].ocaId).toBe("lumen-nyc-1");
    expect(down.calls.length).toBeGreaterThan(0); // it did try
    expect((await poll(p, down, "0.001")).status).toBe(200);
    // A title this isolate never read cannot be served: 503 with Retry-After, in the error shape.
    const cold = await play(down, COLD, "0.001");
    expect(cold.status).toBe(503);
    expect(cold.headers.get("Retry-After")).toBe("5");
    expect(((await cold.json()) as { error: { code: string } }).error.code).toBe("catalogue_unavailable");
  });

  it("keep known titles cached through a flood of made-up title ids", { timeout: 120_000 }, async () => {
    const warm: D1Probe = { calls: [], down: false };
    expect((await play(warm, OTHER)).status).toBe(200);
    // More unknown ids than the view keeps titles (2 000): each is asked of D1 once and answered 404.
    const flood: D1Probe = { calls: [], down: false };
    let token = "";
    for (let i = 0; i < 2100; i++) {
      // A member per 50 plays: the per-member play rate is another test's concern.
      if (i % 50 === 0) token = await memberToken("premium");
      const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
      const res = await request("/v1/play", { method: "POST", headers, body: JSON.stringify({ titleId: `made-up-${i}` }), geo: GEO.lumenNyc }, flood);
      expect(res.status).toBe(404);
    }
    const after: D1Probe = { calls: [], down: false };
    expect((await play(after, OTHER)).status).toBe(200);
    expect(after.calls).toEqual([]);
  });
});

describe("the browse list", () => {
  const browse = async (probe: D1Probe, ttl = "5") =>
    request("/v1/titles", { headers: { Authorization: `Bearer ${await memberToken("premium")}` }, geo: GEO.lumenNyc }, probe, ttl);

  it("is read from D1 once per country while fresh, and served stale while D1 is unreachable", async () => {
    const warm: D1Probe = { calls: [], down: false };
    const first = await browse(warm);
    expect(first.status).toBe(200);
    const ids = ((await first.json()) as { titles: Array<{ id: string }> }).titles.map((t) => t.id);
    expect(ids).toEqual(expect.arrayContaining([TITLE, COLD, OTHER]));
    const steady: D1Probe = { calls: [], down: false };
    for (let i = 0; i < 3; i++) expect((await browse(steady)).status).toBe(200);
    expect(steady.calls).toEqual([]);
    const down: D1Probe = { calls: [], down: true };
    await new Promise((r) => setTimeout(r, 5));
    const stale = await browse(down, "0.001");
    expect(stale.status).toBe(200);
    expect(((await stale.json()) as { titles: Array<{ id: string }> }).titles.map((t) => t.id)).toEqual(ids);
  });

  it("answers 503 catalogue_unavailable, not 500, when D1 is unreachable and the country was never read", async () => {
    const down: D1Probe = { calls: [], down: true };
    const res = await request("/v1/titles", { headers: { Authorization: `Bearer ${await memberToken("premium")}` }, geo: "country=JP" }, down);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("catalogue_unavailable");
  });
});

describe("the live topology's look in a cold isolate", () => {
  it("does not hold every request for D1 after a failed first look: one look per TTL", async () => {
    forgetTopologyLooks();
    const ttl = "1";
    const down: D1Probe = { calls: [], down: true };
    expect((await request("/v1", {}, down, ttl)).status).toBe(200);
    expect(down.calls.length).toBeGreaterThan(0); // the first request asked
    const next: D1Probe = { calls: [], down: true };
    for (let i = 0; i < 3; i++) expect((await request("/v1", {}, next, ttl)).status).toBe(200);
    expect(next.calls).toEqual([]);
    // Past the TTL a request looks again.
    await new Promise((r) => setTimeout(r, 1100));
    const later: D1Probe = { calls: [], down: true };
    expect((await request("/v1", {}, later, ttl)).status).toBe(200);
    expect(later.calls.length).toBeGreaterThan(0);
    // A new isolate with D1 back looks and is live as before.
    forgetTopologyLooks();
    const up: D1Probe = { calls: [], down: false };
    expect((await request("/v1", {}, up)).status).toBe(200);
    expect(up.calls.length).toBeGreaterThan(0);
  });
});
