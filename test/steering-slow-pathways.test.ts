import { beforeAll, describe, expect, it } from "vitest";
import { call, GEO, memberToken, pressPlay, publishHeldAt, type PlayResponse } from "./fixtures";

const TITLE = "rv-steer-title";

beforeAll(async () => {
  await publishHeldAt(TITLE, ["lumen-nyc/lumen-nyc-1", "lumen-nyc/lumen-nyc-2", "ixp-nyc/ixp-nyc-1"]);
});

const play = async () => (await (await pressPlay(await memberToken("standard"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
const priority = async (url: string) => ((await (await call(url)).json()) as { "PATHWAY-PRIORITY": string[] })["PATHWAY-PRIORITY"];

describe("the steering server and slow pathways", () => {
  it("puts two pathways dash.js reports too slow behind the next one, not back in front", async () => {
    const p = await play();
    const [a, b, c] = p.ocas.map((o) => o.ocaId);
    expect(p.ocas.length).toBeGreaterThanOrEqual(4);
    // dash.js lists every service location it used since its last poll, each with its throughput.
    const order = await priority(`${p.steering.server}?dash=1&_DASH_pathway=%22${a},${b}%22&_DASH_throughput=100000,100000`);
    expect(order.slice(0, 3)).toEqual([c, a, b]);
  });

  it("moves a pathway reported twice behind the next one only once", async () => {
    const p = await play();
    const [a, b] = p.ocas.map((o) => o.ocaId);
    const order = await priority(`${p.steering.server}?dash=1&_DASH_pathway=%22${a},${a}%22&_DASH_throughput=100000,100000`);
    expect(order).toEqual([b, a, ...p.ocas.slice(2).map((o) => o.ocaId)]);
  });

  it("reads no more of a poll's report than the session has pathways (a 20,000-entry list included)", async () => {
    const p = await play();
    const ids = p.ocas.map((o) => o.ocaId);
    const [a, b] = ids;
    // The session's count of entries naming a as fast, then b as slow: b is one past the count, not read.
    const fast = ids.map(() => a).join(",");
    const past = await priority(`${p.steering.server}?dash=1&_DASH_pathway=%22${fast},${b}%22&_DASH_throughput=${ids.map(() => "9000000").join(",")},100000`);
    expect(past).toEqual(ids);
    // A list of 20,000 pathways and throughputs is answered as a poll naming the session's count of them.
    const flood = await call(`${p.steering.server}?dash=1&_DASH_pathway=%22${`${a},`.repeat(20_000)}%22&_DASH_throughput=${"100000,".repeat(20_000)}`);
    expect(flood.status).toBe(200);
    expect(((await flood.json()) as { "PATHWAY-PRIORITY": string[] })["PATHWAY-PRIORITY"]).toEqual([b, a, ...ids.slice(2)]);
  });
});
