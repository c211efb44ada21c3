import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, GEO, memberToken, pressPlay, publishHeldAt, type PlayResponse } from "./fixtures";

const TITLE = "cs-title";
type Steered = PlayResponse;

/** An OCA link narrowed to this many bits/s, which two players streaming through it at once fill twice over. */
const LOADED_BPS = 400_000;

/** Two players read a 64 KiB segment through an OCA URL at once, to the end (paced to the OCA's link). */
const streamThrough = (ocaUrl: string) => Promise.all([0, 1].map(async () => (await call(`${ocaUrl}video/avc-720p/seg-00001.m4s`)).arrayBuffer()));

beforeAll(async () => {
  await publishHeldAt(TITLE, ["lumen-nyc/lumen-nyc-1", "lumen-nyc/lumen-nyc-2", "ixp-nyc/ixp-nyc-1"]);
});

const play = async (geo = GEO.lumenNyc) => (await (await pressPlay(await memberToken("standard"), { titleId: TITLE }, geo)).json()) as Steered;
const post = (path: string, body: unknown) =>
  call(path, { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body: JSON.stringify(body) });
const steering = async (url: string) => (await (await call(url)).json()) as Record<string, unknown> & { "PATHWAY-PRIORITY": string[] };
const until = async <T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> => {
  const end = Date.now() + ms;
  let v = await f();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    v = await f();
  }
  return v;
};

describe("HLS Content Steering", () => {
  it("gives each session a multivariant playlist with one pathway per ranked OCA", async () => {
    const p = await play();
    expect(p.steering.hls).toMatch(/\/v1\/steering\/s1\.k1\.[^/]+\/cs-title\/master\.m3u8$/);
    const res = await call(p.steering.hls);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/vnd.apple.mpegurl");
    const text = await res.text();
    const ids = p.ocas.map((o) => o.ocaId);
    expect(text).toContain(`#EXT-X-CONTENT-STEERING:SERVER-URI="${p.steering.server}?start=1",PATHWAY-ID="${ids[0]}"`);
    for (const o of p.ocas) {
      // standard plan: 240p, 480p and 720p on every pathway, each with its own audio group.
      const variants = text.split("\n").filter((l) => l.startsWith("#EXT-X-STREAM-INF") && l.includes(`PATHWAY-ID="${o.ocaId}"`));
      expect(variants).toHaveLength(3);
      expect(variants.every((v) => v.includes(`AUDIO="aud-${o.ocaId}"`))).toBe(true);
      expect(text).toContain(`GROUP-ID="aud-${o.ocaId}"`);
      expect(text).toContain(`URI="${o.url}audio/aac-en/index.m3u8"`);
      expect(text).toContain(`${o.url}video/avc-720p/index.m3u8`);
    }
  });

  it("answers the steering server with VERSION, TTL, RELOAD-URI and PATHWAY-PRIORITY", async () => {
    const p = await play();
    const m = await steering(`${p.steering.server}?_HLS_pathway=${p.ocas[0].ocaId}&_HLS_throughput=9000000`);
    expect(m).toEqual({
      VERSION: 1,
      TTL: expect.any(Number),
      "RELOAD-URI": p.steering.server,
      "PATHWAY-PRIORITY": p.ocas.map((o) => o.ocaId),
    });
    expect(m.TTL as number).toBeLessThanOrEqual(10);
  });

  it("ignores the throughput of the first request (from SERVER-URI): hls.js has measured nothing yet", async () => {
    const p = await play();
    const m = await steering(`${p.steering.server}?start=1&_HLS_pathway=${p.ocas[0].ocaId}&_HLS_throughput=100000`);
    expect(m["PATHWAY-PRIORITY"]).toEqual(p.ocas.map((o) => o.ocaId));
    expect(m["RELOAD-URI"]).toBe(p.steering.server);
  });

  it("moves a pathway whose throughput cannot carry the lowest rung behind the next one", async () => {
    const p = await play();
    const m = await steering(`${p.steering.server}?_HLS_pathway=${p.ocas[0].ocaId}&_HLS_throughput=100000`);
    expect(m["PATHWAY-PRIORITY"].slice(0, 2)).toEqual([p.ocas[1].ocaId, p.ocas[0].ocaId]);
  });

  it("answers a CORS preflight and lets a player on any origin read its answers", async () => {
    const p = await play();
    const pre = await call(p.steering.server, { method: "OPTIONS", headers: { Origin: "https://player.example", "Access-Control-Request-Method": "GET" } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(pre.headers.get("Access-Control-Allow-Methods")).toContain("GET");
    const res = await call(p.steering.server, { headers: { Origin: "https://player.example" } });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(((await res.json()) as { "PATHWAY-PRIORITY": string[] })["PATHWAY-PRIORITY"][0]).toBe(p.ocas[0].ocaId);
  });

  it("refuses a tampered token and a session of another title", async () => {
    const p = await play();
    expect((await call(p.steering.server.replace(/\.([A-Za-z0-9_-]{10})[A-Za-z0-9_-]*\/cs-title/, ".AAAA$1/cs-title"))).status).toBe(403);
    expect((await call(p.steering.hls.replace("/cs-title/", "/other-title/"))).status).toBe(403);
  });

  it("reads the token and title as sent, before and after the session is known, and refuses a bad title id with 400", async () => {
    const p = await play();
    const badTitle = async (url: string) => {
      const res = await call(url.replace("/cs-title/", "/cs%20title/"));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad_path");
    };
    // First poll (the token not yet verified here), then a poll of the session the isolate knows.
    await badTitle(p.steering.server);
    expect((await call(p.steering.server)).status).toBe(200);
    await badTitle(p.steering.server);
    // Percent-encoded unreserved characters are the same URI (RFC 3986, 6.2.2.2): the same session.
    const encoded = p.steering.server.replace(/\/s1\.k1\./, "/s1%2Ek1%2E");
    expect((await steering(encoded))["PATHWAY-PRIORITY"][0]).toBe(p.ocas[0].ocaId);
  });
});

describe("DASH Content Steering", () => {
  it("adds <ContentSteering> and one BaseURL@serviceLocation per OCA to the session's MPD", async () => {
    const p = await play();
    const res = await call(p.steering.dash);
    expect(res.headers.get("Content-Type")).toBe("application/dash+xml");
    const mpd = await res.text();
    expect(mpd).toContain(`<ContentSteering defaultServiceLocation="${p.ocas[0].ocaId}" queryBeforeStart="true">${p.steering.server}?dash=1</ContentSteering>`);
    for (const o of p.ocas) expect(mpd).toContain(`<BaseURL serviceLocation="${o.ocaId}">${o.url}</BaseURL>`);
    const m = await steering(`${p.steering.server}?dash=1&_DASH_pathway=${p.ocas[0].ocaId}&_DASH_throughput=5000000`);
    // DASH-IF CTS 001 / ETSI TS 103 998 and dash.js use the HLS key: PATHWAY-PRIORITY.
    expect(m["PATHWAY-PRIORITY"]).toEqual(p.ocas.map((o) => o.ocaId));
    expect(m["SERVICE-LOCATION-PRIORITY"]).toBeUndefined();
    expect(m["RELOAD-URI"]).toBe(`${p.steering.server}?dash=1`);
  });

  it("reads dash.js's quoted pathway list with one throughput per pathway", async () => {
    const p = await play();
    const [a, b] = p.ocas.map((o) => o.ocaId);
    const m = await steering(`${p.steering.server}?dash=1&_DASH_pathway=%22${b},${a}%22&_DASH_throughput=9000000,100000`);
    expect(m["PATHWAY-PRIORITY"].slice(0, 2)).toEqual([b, a]);
  });
});

describe("steering by health and load", () => {
  it("takes a failed OCA out of the steering answer, and the OCA refuses requests with 503", async () => {
    const p = await play();
    const victim = p.ocas[0];
    expect((await post(`/admin/sites/${victim.siteId}/ocas/${victim.ocaId}/health`, { health: "failed" })).status).toBe(200);
    const m = await steering(p.steering.server);
    expect(m["PATHWAY-PRIORITY"]).not.toContain(victim.ocaId);
    expect(m["PATHWAY-PRIORITY"][0]).toBe(p.ocas[1].ocaId);
    const res = await until(
      () => call(`${victim.url}video/avc-240p/init.mp4`),
      (r) => r.status === 503,
    );
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("oca_failed");
    // The same token works on the next OCA: failover needs no new play request.
    expect((await call(`${p.ocas[1].url}video/avc-240p/init.mp4`)).status).toBe(200);
    await post(`/admin/sites/${victim.siteId}/ocas/${victim.ocaId}/health`, { health: "healthy" });
  });

  it("re-ranks a session that polled before: its OCA failed, then overloaded", async () => {
    const p = await play();
    const [first, second] = p.ocas;
    expect((await steering(p.steering.server))["PATHWAY-PRIORITY"].slice(0, 2)).toEqual([first.ocaId, second.ocaId]);
    expect((await post(`/admin/sites/${first.siteId}/ocas/${first.ocaId}/health`, { health: "failed" })).status).toBe(200);
    expect((await steering(p.steering.server))["PATHWAY-PRIORITY"]).not.toContain(first.ocaId);
    expect((await post(`/admin/sites/${first.siteId}/ocas/${first.ocaId}/health`, { health: "healthy" })).status).toBe(200);
    const back = await until(
      () => steering(p.steering.server),
      (m) => m["PATHWAY-PRIORITY"][0] === first.ocaId,
    );
    expect(back["PATHWAY-PRIORITY"]).toEqual(p.ocas.map((o) => o.ocaId));
    // Load reaches the isolate only through the site's live view (nothing in D1 moves).
    expect((await post(`/admin/sites/${first.siteId}/ocas/${first.ocaId}/capacity`, { throughputBps: LOADED_BPS })).status).toBe(200);
    const loaded = await until(
      async () => {
        await streamThrough(first.url);
        return steering(p.steering.server);
      },
      (m) => m["PATHWAY-PRIORITY"][0] !== first.ocaId,
      8000,
    );
    expect(loaded["PATHWAY-PRIORITY"].slice(0, 2)).toEqual([second.ocaId, first.ocaId]);
    await post(`/admin/sites/${first.siteId}/ocas/${first.ocaId}/capacity`, { throughputBps: null });
  });

  it("drains a whole site: new sessions skip it, its OCAs keep serving", async () => {
    expect((await post("/admin/sites/lumen-nyc/health", { health: "drained" })).status).toBe(200);
    const p = await play();
    expect(p.ocas.map((o) => o.siteId)).toEqual(["ixp-nyc", "origin"]);
    const res = await call(`${p.ocas[0].url.replace("/ixp-nyc/ixp-nyc-1/", "/lumen-nyc/lumen-nyc-1/")}video/avc-240p/init.mp4`);
    expect(res.status).toBe(200);
    await post("/admin/sites/lumen-nyc/health", { health: "healthy" });
  });

  it("moves an overloaded OCA behind the others of its tier", async () => {
    const first = await play();
    const hot = first.ocas[0];
    const other = first.ocas[1];
    // Narrow the first OCA's link, then stream through it: the data plane reports the bytes that went out.
    expect((await post(`/admin/sites/${hot.siteId}/ocas/${hot.ocaId}/capacity`, { throughputBps: LOADED_BPS })).status).toBe(200);
    const loaded = await until(
      async () => {
        await streamThrough(hot.url);
        return play();
      },
      (p) => p.ocas[0].ocaId !== hot.ocaId,
      8000,
    );
    expect(loaded.ocas.map((o) => o.ocaId).slice(0, 2)).toEqual([other.ocaId, hot.ocaId]);
    expect(loaded.ocas[1].load).toBeGreaterThan(0.85);
    const m = await steering(loaded.steering.server);
    expect(m["PATHWAY-PRIORITY"].slice(0, 2)).toEqual([other.ocaId, hot.ocaId]);
    await post(`/admin/sites/${hot.siteId}/ocas/${hot.ocaId}/capacity`, { throughputBps: null });
  });

  it("falls back to a site's last-known view, marked stale, when the site cannot be reached", async () => {
    const before = await play();
    expect(before.ocas.every((o) => !o.stale)).toBe(true);
    expect((await post("/admin/sites/ixp-nyc/chaos", { unreachable: true })).status).toBe(200);
    const after = await until(play, (p) => p.ocas.some((o) => o.stale), 8000);
    const ixp = after.ocas.find((o) => o.siteId === "ixp-nyc")!;
    expect(ixp).toMatchObject({ ocaId: "ixp-nyc-1", stale: true });
    expect(after.ocas.filter((o) => o.siteId === "lumen-nyc").every((o) => !o.stale)).toBe(true);
    // The steering server still answers, on the last-known view.
    const m = await steering(after.steering.server);
    expect(m["PATHWAY-PRIORITY"]).toContain("ixp-nyc-1");
    await post("/admin/sites/ixp-nyc/chaos", { unreachable: false });
  });
});
