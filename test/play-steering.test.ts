import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { sessionTtlS } from "../workers/control/session-ttl";
import { call, GEO, memberToken, pressPlay, publishHeldAt, publishTitle, type PlayResponse } from "./fixtures";

const TITLE = "steer-title";
/** A member for requests that start no stream (browse, refused plays). */
let premium: string;

beforeAll(async () => {
  // A placement with choices everywhere: two OCAs in most sites, one IXP OCA failed later.
  await publishHeldAt(TITLE, [
    "lumen-nyc/lumen-nyc-1",
    "lumen-nyc/lumen-nyc-2",
    "lumen-lax/lumen-lax-1",
    "lakeshore-chi/lakeshore-chi-2",
    "rheinnet-ber/rheinnet-ber-1",
    "ixp-nyc/ixp-nyc-1",
    "ixp-sjc/ixp-sjc-2",
    "ixp-fra/ixp-fra-1",
    "ixp-ams/ixp-ams-1",
  ]);
  premium = await memberToken("premium");
});

async function steer(geo: string): Promise<PlayResponse> {
  const res = await pressPlay(await memberToken("premium"), { titleId: TITLE, device: { codecs: ["avc1", "mp4a"], maxHeight: 2160 } }, geo);
  expect(res.status).toBe(200);
  return (await res.json()) as PlayResponse;
}

const sites = (p: PlayResponse) => p.ocas.map((o) => o.siteId);

describe("steering v1", () => {
  it("puts the client's own ISP sites first, nearest first, then IXPs by distance, then origin", async () => {
    const p = await steer(GEO.lumenNyc);
    expect(sites(p)).toEqual(["lumen-nyc", "lumen-nyc", "lumen-lax", "ixp-nyc", "ixp-sjc", "ixp-ams", "ixp-fra", "origin"]);
    expect(p.ocas.map((o) => o.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(p.ocas.map((o) => o.tier)).toEqual(["embedded", "embedded", "embedded", "ixp", "ixp", "ixp", "ixp", "origin"]);
  });

  it("orders a west-coast client of the same ISP by its own distance", async () => {
    const p = await steer(GEO.lumenLa);
    expect(sites(p).slice(0, 5)).toEqual(["lumen-lax", "lumen-nyc", "lumen-nyc", "ixp-sjc", "ixp-nyc"]);
  });

  it("sends a client of another ISP only to that ISP's embedded sites", async () => {
    expect(sites(await steer(GEO.lakeshoreChicago))).toEqual(["lakeshore-chi", "ixp-nyc", "ixp-sjc", "ixp-ams", "ixp-fra", "origin"]);
    expect(sites(await steer(GEO.rheinnetBerlin))).toEqual(["rheinnet-ber", "ixp-fra", "ixp-ams", "ixp-nyc", "ixp-sjc", "origin"]);
  });

  it("gives a client in no known ISP the IXP sites by distance (Paris is nearer Amsterdam than Frankfurt), then origin", async () => {
    expect(sites(await steer(GEO.otherParis))).toEqual(["ixp-ams", "ixp-fra", "ixp-nyc", "ixp-sjc", "origin"]);
    expect(sites(await steer(GEO.otherBoston))).toEqual(["ixp-nyc", "ixp-sjc", "ixp-ams", "ixp-fra", "origin"]);
  });

  it("skips a site whose OCAs do not hold the title (Polder Glas holds nothing)", async () => {
    expect(sites(await steer(GEO.polderAmsterdam))).toEqual(["ixp-ams", "ixp-fra", "ixp-nyc", "ixp-sjc", "origin"]);
  });

  it("drops a failed OCA from the list and brings it back when restored", async () => {
    const post = (health: string) =>
      call("/admin/sites/lumen-nyc/ocas/lumen-nyc-1/health", {
        method: "POST",
        headers: { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" },
        body: JSON.stringify({ health }),
      });
    expect((await post("failed")).status).toBe(200);
    let p = await steer(GEO.lumenNyc);
    expect(p.ocas.filter((o) => o.siteId === "lumen-nyc").map((o) => o.ocaId)).toEqual(["lumen-nyc-2"]);
    await post("healthy");
    p = await steer(GEO.lumenNyc);
    expect(
      p.ocas
        .filter((o) => o.siteId === "lumen-nyc")
        .map((o) => o.ocaId)
        .sort(),
    ).toEqual(["lumen-nyc-1", "lumen-nyc-2"]);
  });

  it("signs one token that every OCA URL shares and points hls/dash at the first OCA", async () => {
    const p = await steer(GEO.lumenNyc);
    const tokens = new Set(p.ocas.map((o) => o.url.split("/")[6]));
    expect(tokens.size).toBe(1);
    expect(p.ocas[0].url).toMatch(
      new RegExp(
        `^http://cdn.test/oca/lumen-nyc/lumen-nyc-[12]/v5\\.k1\\.${p.sessionId}\\.\\d+\\.\\d+\\.2160\\.${p.version}\\.lumen-nyc\\.US\\.[0-9a-f]{64}\\.[A-Za-z0-9_-]+/${TITLE}/$`,
      ),
    );
    expect(p.hls).toBe(`${p.ocas[0].url}master.m3u8`);
    expect(p.dash).toBe(`${p.ocas[0].url}manifest.mpd`);
    expect(Date.parse(p.expiresAt)).toBeGreaterThan(Date.now());
    // The same expiry as seconds from now, which a client with a wrong clock can still time its renewal by.
    expect(p.expiresInS).toBeGreaterThanOrEqual(sessionTtlS(env) - 2);
    expect(p.expiresInS).toBeLessThanOrEqual(sessionTtlS(env));
    expect(Math.abs(Date.parse(p.expiresAt) - Date.now() - p.expiresInS * 1000)).toBeLessThan(3_000);
    // Failover needs no new play request: the same token opens the file on the next OCA too.
    for (const o of p.ocas.slice(0, 3)) {
      // The data plane learns health from its site at most once a second; an OCA restored by the
      // previous test may still be refused for that long.
      let res = await call(`${o.url}video/avc-240p/init.mp4`);
      for (let i = 0; i < 30 && res.status === 503; i++) {
        await new Promise((r) => setTimeout(r, 100));
        res = await call(`${o.url}video/avc-240p/init.mp4`);
      }
      expect(res.status).toBe(200);
      expect(res.headers.get("X-OCA-Source")).toBe(o.tier === "origin" ? "origin" : "local");
    }
  });
});

describe("plan caps and device", () => {
  it("caps renditions at the plan's height: basic 480p, standard 720p, premium all", async () => {
    for (const [plan, cap, ids] of [
      ["basic", 480, ["avc-240p", "avc-480p"]],
      ["standard", 720, ["avc-240p", "avc-480p", "avc-720p"]],
      ["premium", 2160, ["avc-240p", "avc-480p", "avc-720p"]],
    ] as const) {
      const res = await pressPlay(await memberToken(plan), { titleId: TITLE }, GEO.lumenNyc);
      const p = (await res.json()) as PlayResponse;
      expect(p.maxHeight).toBe(cap);
      expect(p.renditions.video.map((v) => v.id)).toEqual(ids);
    }
  });

  it("enforces the cap at the OCA: the basic playlist lacks 720p and its segments are refused", async () => {
    const res = await pressPlay(await memberToken("basic"), { titleId: TITLE }, GEO.lumenNyc);
    const p = (await res.json()) as PlayResponse;
    const master = await (await call(p.hls)).text();
    expect(master).toContain("video/avc-480p/index.m3u8");
    expect(master).not.toContain("video/avc-720p/index.m3u8");
    expect(master).not.toContain("RESOLUTION=1280x720");
    const mpd = await (await call(p.dash)).text();
    expect(mpd).toContain('id="avc-480p"');
    expect(mpd).not.toContain('id="avc-720p"');
    expect(mpd).not.toContain("video/avc-720p/init.mp4");
    const seg = await call(`${p.ocas[0].url}video/avc-720p/seg-00001.m4s`);
    expect(seg.status).toBe(403);
    expect(((await seg.json()) as { error: { code: string } }).error.code).toBe("rendition_not_allowed");
  });

  it("lowers the cap to the device's maxHeight and refuses devices without a usable codec", async () => {
    let res = await pressPlay(await memberToken("premium"), { titleId: TITLE, device: { codecs: ["avc1.64001f", "mp4a.40.2"], maxHeight: 360 } }, GEO.lumenNyc);
    expect(((await res.json()) as PlayResponse).renditions.video.map((v) => v.id)).toEqual(["avc-240p"]);
    res = await pressPlay(await memberToken("premium"), { titleId: TITLE, device: { codecs: ["vp09"], maxHeight: 1080 } }, GEO.lumenNyc);
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("no_playable_rendition");
  });
});

describe("licences and launch", () => {
  const error = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

  it("refuses a country without a licence with 451 and a reason", async () => {
    await publishTitle("us-only", { licences: [{ country: "US", availableFrom: "2020-01-01T00:00:00.000Z" }] });
    const res = await pressPlay(await memberToken("premium"), { titleId: "us-only" }, GEO.rheinnetBerlin);
    expect(res.status).toBe(451);
    expect(await error(res)).toEqual({ code: "not_licensed", message: "this title is not licensed in DE", details: { country: "DE" } });
    expect((await pressPlay(await memberToken("premium"), { titleId: "us-only" }, GEO.lumenNyc)).status).toBe(200);
  });

  it("refuses outside the licence window, with the window in the reason", async () => {
    await publishTitle("windowed", {
      licences: [
        { country: "US", availableFrom: "2099-01-01T00:00:00.000Z" },
        { country: "DE", availableFrom: "2000-01-01T00:00:00.000Z", availableUntil: "2001-01-01T00:00:00.000Z" },
      ],
    });
    let res = await pressPlay(await memberToken("premium"), { titleId: "windowed" }, GEO.lumenNyc);
    expect(res.status).toBe(451);
    expect((await error(res)).message).toBe("this title's licence in US starts at 2099-01-01T00:00:00.000Z");
    res = await pressPlay(await memberToken("premium"), { titleId: "windowed" }, GEO.rheinnetBerlin);
    expect(res.status).toBe(451);
    expect((await error(res)).message).toBe("this title's licence in DE ended at 2001-01-01T00:00:00.000Z");
  });

  it("refuses a title before its launch time with a clear reason", async () => {
    await publishTitle("future-launch", { availableFrom: "2099-06-01T20:00:00.000Z" });
    const res = await pressPlay(await memberToken("premium"), { titleId: "future-launch" }, GEO.lumenNyc);
    expect(res.status).toBe(403);
    expect(await error(res)).toMatchObject({ code: "not_released", message: "Fixture future-launch launches at 2099-06-01T20:00:00.000Z" });
  });

  it("lists only titles playable in the client's country, with their metadata", async () => {
    const list = async (geo: string) =>
      (await (await call("/v1/titles", { headers: { Authorization: `Bearer ${premium}` }, geo })).json()) as {
        country: string;
        titles: Array<{ id: string; name: string; durationS: number; audioLanguages: unknown[]; subtitleLanguages: unknown[]; availableFrom: string }>;
      };
    const us = await list(GEO.lumenNyc);
    const de = await list(GEO.rheinnetBerlin);
    expect(us.country).toBe("US");
    expect(us.titles.map((t) => t.id)).toContain("us-only");
    expect(us.titles.map((t) => t.id)).not.toContain("windowed");
    expect(us.titles.map((t) => t.id)).not.toContain("future-launch");
    expect(de.titles.map((t) => t.id)).not.toContain("us-only");
    const steer = us.titles.find((t) => t.id === TITLE)!;
    expect(steer).toMatchObject({
      name: `Fixture ${TITLE}`,
      durationS: 8,
      audioLanguages: [{ language: "en", label: "English" }],
      subtitleLanguages: [{ language: "en", label: "English" }],
      availableFrom: "2020-01-01T00:00:00.000Z",
    });
  });
});

describe("bad input", () => {
  const error = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it("answers missing, forged or expired member tokens with 401", async () => {
    expect(await error(await call("/v1/play", { method: "POST", body: "{}" }))).toBe("unauthorized");
    const forged = premium.slice(0, -4) + (premium.endsWith("AAAA") ? "BBBB" : "AAAA");
    const res = await pressPlay(forged, { titleId: TITLE }, GEO.lumenNyc);
    expect(res.status).toBe(401);
  });

  it("answers malformed bodies and unknown titles with 4xx JSON, never 5xx", async () => {
    const post = (body: string) =>
      call("/v1/play", { method: "POST", headers: { Authorization: `Bearer ${premium}`, "Content-Type": "application/json" }, body, geo: GEO.lumenNyc });
    for (const body of ["not json", "{}", '{"titleId":"../etc"}', '{"titleId":"x","device":{"codecs":[],"maxHeight":1}}', "[]", '{"titleId":7}']) {
      const res = await post(body);
      expect(res.status, body).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.message.length, body).toBeGreaterThan(0);
      expect(error.code, body).toBe("invalid_request");
    }
    const res = await post('{"titleId":"no-such-title"}');
    expect(res.status).toBe(404);
    expect(await error(res)).toBe("unknown_title");
  });

  it("rejects a malformed X-Client-Geo header with 400", async () => {
    const res = await pressPlay(await memberToken("premium"), { titleId: TITLE }, "asn=abc;country=USA");
    expect(res.status).toBe(400);
    expect(await error(res)).toBe("bad_client_geo");
    // Ten digits past 32 bits: the session's claims would refuse it at signing (a 500 before).
    const big = await pressPlay(await memberToken("premium"), { titleId: TITLE }, `${GEO.lumenNyc.replace(/asn=\d+/, "asn=9999999999")}`);
    expect(big.status).toBe(400);
    expect(await error(big)).toBe("bad_client_geo");
  });
});
