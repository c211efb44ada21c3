import { beforeAll, describe, expect, it } from "vitest";
import { call, GEO, memberToken, pressPlay, publishHeldAt, type PlayResponse } from "./fixtures";

const TITLE = "sr-steer-title";

beforeAll(async () => {
  await publishHeldAt(TITLE, ["lumen-nyc/lumen-nyc-1", "lumen-nyc/lumen-nyc-2", "ixp-nyc/ixp-nyc-1"]);
});

const play = async () => (await (await pressPlay(await memberToken("standard"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
type Manifest = { "RELOAD-URI": string; "PATHWAY-PRIORITY": string[] };
const poll = async (url: string) => (await (await call(url)).json()) as Manifest;
/** The next poll as hls.js makes it: the RELOAD-URI with the pathway it plays from and its one bandwidth estimate. */
const hlsPoll = (m: Manifest, pathway: string, bps: number) => poll(`${m["RELOAD-URI"]}?_HLS_pathway=${pathway}&_HLS_throughput=${bps}`);

/** Below 1.2 × the lowest rung of the fixture's ladder (240p): too slow for any rung. */
const SLOW_BPS = 100_000;
const FAST_BPS = 9_000_000;

describe("a pathway the player reports too slow", () => {
  it("stays behind when the player moves off it and reports its estimate from the next: no flap back every poll", async () => {
    const p = await play();
    const [a, b, c] = p.ocas.map((o) => o.ocaId);
    expect(p.ocas.length).toBeGreaterThanOrEqual(4);
    // hls.js plays from a and its estimate is too slow: a goes behind b, and the player moves to b.
    const first = await poll(`${p.steering.server}?_HLS_pathway=${a}&_HLS_throughput=${SLOW_BPS}`);
    expect(first["PATHWAY-PRIORITY"][0]).toBe(b);
    // Its estimate (one, carried over the switch) is still low on b's first downloads. Judged on this poll
    // alone, a (not reported now) led again and the player went back to it, every TTL.
    const second = await hlsPoll(first, b, SLOW_BPS);
    expect(second["PATHWAY-PRIORITY"][0]).toBe(c);
    expect(second["PATHWAY-PRIORITY"].slice(1, 3)).toEqual([a, b]);
    // On c the estimate recovers: the order holds, poll after poll.
    const third = await hlsPoll(second, c, FAST_BPS);
    expect(third["PATHWAY-PRIORITY"]).toEqual(second["PATHWAY-PRIORITY"]);
    expect((await hlsPoll(third, c, FAST_BPS))["PATHWAY-PRIORITY"]).toEqual(second["PATHWAY-PRIORITY"]);
  });

  it("comes back first once the player measures it fast again", async () => {
    const p = await play();
    const ids = p.ocas.map((o) => o.ocaId);
    const first = await poll(`${p.steering.server}?_HLS_pathway=${ids[0]}&_HLS_throughput=${SLOW_BPS}`);
    expect(first["PATHWAY-PRIORITY"].slice(0, 2)).toEqual([ids[1], ids[0]]);
    expect((await hlsPoll(first, ids[0], FAST_BPS))["PATHWAY-PRIORITY"]).toEqual(ids);
  });

  it("when every pathway the player tried was slow (its own link is), keeps the ranked order rather than hop", async () => {
    const p = await play();
    const ids = p.ocas.map((o) => o.ocaId);
    let m = await poll(`${p.steering.server}?_HLS_pathway=${ids[0]}&_HLS_throughput=${SLOW_BPS}`);
    // The player follows each answer's first pathway, slow wherever it goes.
    for (let i = 0; i < ids.length; i++) m = await hlsPoll(m, m["PATHWAY-PRIORITY"][0], SLOW_BPS);
    expect(m["PATHWAY-PRIORITY"]).toEqual(ids);
    expect((await hlsPoll(m, ids[0], SLOW_BPS))["PATHWAY-PRIORITY"]).toEqual(ids);
  });

  it("remembers no name the session lacks: a made-up pathway reported slow changes nothing", async () => {
    const p = await play();
    const ids = p.ocas.map((o) => o.ocaId);
    const junk = Array.from({ length: 50 }, (_, i) => `made-up-${i}`).join(",");
    const m = await poll(`${p.steering.server}?dash=1&_DASH_pathway=%22${junk}%22&_DASH_throughput=${"1000,".repeat(50)}`);
    expect(m["PATHWAY-PRIORITY"]).toEqual(ids);
    expect((await poll(`${m["RELOAD-URI"]}&_DASH_pathway=%22${ids[0]}%22&_DASH_throughput=${FAST_BPS}`))["PATHWAY-PRIORITY"]).toEqual(ids);
  });
});

describe("the RELOAD-URI a player polls next", () => {
  it("keeps the session's token and stays the same URL however many polls follow it (hls.js and dash.js each add their own)", async () => {
    const p = await play();
    const [a, b] = p.ocas.map((o) => o.ocaId);
    // hls.js sets its two parameters on the URL it was given (first the playlist's SERVER-URI).
    let hls = await poll(`${p.steering.server}?start=1&_HLS_pathway=${a}&_HLS_throughput=${FAST_BPS}`);
    for (let i = 0; i < 5; i++) {
      const u = new URL(hls["RELOAD-URI"]);
      u.searchParams.set("_HLS_pathway", a);
      u.searchParams.set("_HLS_throughput", String(FAST_BPS));
      hls = await poll(u.href);
      expect(hls["RELOAD-URI"]).toBe(p.steering.server);
    }
    // dash.js appends its two to whatever RELOAD-URI it got, encoded.
    let dash = await poll(`${p.steering.server}?dash=1`);
    for (let i = 0; i < 5; i++) {
      dash = await poll(`${dash["RELOAD-URI"]}&_DASH_pathway=${encodeURIComponent(`"${a},${b}"`)}&_DASH_throughput=${FAST_BPS},${FAST_BPS}`);
      expect(dash["RELOAD-URI"]).toBe(`${p.steering.server}?dash=1`);
    }
  });
});

describe("a poll's own parameters, as untrusted strings", () => {
  it("answers the ranked order, never a 5xx, for malformed escapes, huge or odd throughputs and long pathway names", async () => {
    const p = await play();
    const ids = p.ocas.map((o) => o.ocaId);
    const queries = [
      "_HLS_pathway=%E0%A4%A&_HLS_throughput=%ZZ",
      `_HLS_pathway=${ids[0]}&_HLS_throughput=1e999`,
      `_HLS_pathway=${ids[0]}&_HLS_throughput=-100000`,
      `_HLS_pathway=${ids[0]}&_HLS_throughput=${"9".repeat(400)}`,
      `_HLS_pathway=${"x".repeat(8000)}&_HLS_throughput=1`,
      "dash=1&_DASH_pathway=%&_DASH_throughput=,,,,",
      "_HLS_pathway=__proto__&_HLS_throughput=1&__proto__=1&constructor=1",
    ];
    for (const q of queries) {
      const res = await call(`${p.steering.server}?${q}`);
      expect(res.status, q).toBe(200);
      expect(((await res.json()) as Manifest)["PATHWAY-PRIORITY"], q).toEqual(ids);
    }
  });
});
