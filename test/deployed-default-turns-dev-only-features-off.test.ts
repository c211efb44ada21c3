import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../workers/index";
import { fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * The Worker as `wrangler deploy` ships it: DEV_MODE is "false" in wrangler.toml's [vars] (the tests'
 * Worker turns it on). Then the dev routes answer 404, X-Client-Geo is ignored (location comes from
 * `request.cf` alone), and the benchmark's colo-cache bypass header does nothing. Anything but the exact
 * string "true" is off.
 */

const TITLE = "deployed-default-title";
const SEG = "video/avc-480p/seg-00001.m4s";
const NYC_CF = { asn: 64500, country: "US", latitude: "40.71", longitude: "-74.0" };
let play: PlayResponse;

async function deployed(path: string, init: RequestInit = {}, devMode = "false"): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://cdn.test${path}`, init), { ...env, DEV_MODE: devMode }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  play = (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
});

describe('the deployed default (DEV_MODE not "true")', () => {
  it.each(["false", "", "TRUE", "1", "yes"])("answers every dev route 404 with DEV_MODE=%j", async (devMode) => {
    const token = await deployed(
      "/v1/dev/token",
      { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ memberId: "ada", plan: "premium" }) },
      devMode,
    );
    expect(token.status).toBe(404);
    expect(await errorCode(token)).toBe("not_found");
    for (const path of ["/v1/dev/bench/d1", "/v1/dev/bench/do/ada", "/v1/dev/bench/do-acquire/ada", "/v1/dev/bench/r2/x/0000000000000000/master.m3u8"]) {
      const res = await deployed(path, {}, devMode);
      expect(res.status, path).toBe(404);
      expect(await errorCode(res), path).toBe("not_found");
    }
  });

  it("ignores X-Client-Geo, even a malformed one, and takes the client's location from request.cf", async () => {
    const auth = { Authorization: `Bearer ${await memberToken("premium")}` };
    // A client in the US claiming to be in Germany is still in the US.
    const browse = await deployed("/v1/titles", { headers: { ...auth, "X-Client-Geo": GEO.rheinnetBerlin }, cf: NYC_CF } as RequestInit);
    expect(browse.status).toBe(200);
    expect(((await browse.json()) as { country: string | null }).country).toBe("US");
    // A header dev mode would refuse (400 bad_client_geo) is not read at all.
    const malformed = await deployed("/v1/titles", { headers: { ...auth, "X-Client-Geo": "not a location" }, cf: NYC_CF } as RequestInit);
    expect(malformed.status).toBe(200);
    // Without request.cf the header does not stand in for it: no country, nothing to browse.
    const noCf = await deployed("/v1/titles", { headers: { ...auth, "X-Client-Geo": GEO.lumenNyc } });
    expect(await noCf.json()).toEqual({ country: null, total: 0, titles: [] });
  });

  it("plays from request.cf's location, not the header's: a US-only title plays for a US client claiming Germany", async () => {
    const req = {
      method: "POST",
      headers: { Authorization: `Bearer ${await memberToken("premium")}`, "Content-Type": "application/json", "X-Client-Geo": GEO.rheinnetBerlin },
      body: JSON.stringify({ titleId: TITLE }),
      cf: NYC_CF,
    } as RequestInit;
    const res = await deployed("/v1/play", req);
    expect(res.status).toBe(200);
    const body = (await res.json()) as PlayResponse;
    // Steered as the Lumen Fiber (AS64500) subscriber request.cf says it is.
    expect(body.ocas[0].ocaId).toBe("lumen-nyc-1");
  });

  it("serves from the colo cache whatever X-Bench-No-Colo-Cache says", async () => {
    const url = new URL(`${play.ocas[0].url}${SEG}`);
    const first = await deployed(url.pathname);
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    const again = await deployed(url.pathname, { headers: { "X-Bench-No-Colo-Cache": "1" } });
    expect(again.status).toBe(200);
    await again.arrayBuffer();
    expect(again.headers.get("X-Cache")).toBe("HIT");
    // The same header with DEV_MODE=true bypasses it (what the benchmark measures).
    const bench = await deployed(url.pathname, { headers: { "X-Bench-No-Colo-Cache": "1" } }, "true");
    await bench.arrayBuffer();
    expect(bench.headers.get("X-Cache")).toBe("MISS");
  });
});
