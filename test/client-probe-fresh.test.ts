import { beforeAll, describe, expect, it } from "vitest";
import { probeUrl } from "../client/probe";
import type { FetchLike, ResponseLike } from "../client/types";
import { call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

// Media files are served `immutable`: a browser keeps a probe's answer in its HTTP cache, and a probe
// of the same URL again is answered from it in a millisecond. Every re-probe round then measured the
// cache (every OCA equally "fast", whatever its network) rather than the OCA. Each probe asks a URL of
// its own, which the OCA still serves as a probe.

const TITLE = "probe-fresh-title";
const SITE = "lumen-nyc";
const SEG = "video/avc-480p/seg-00001.m4s";

let session: PlayResponse;

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: SITE, ocaId: `${SITE}-1`, titleIds: [TITLE] }])).status).toBe(200);
  const res = await pressPlay(await memberToken("premium", "probe-fresh-member"), { titleId: TITLE }, GEO.lumenNyc);
  expect(res.status).toBe(200);
  session = (await res.json()) as PlayResponse;
});

describe("the SDK's probe", () => {
  it("asks a URL of its own each time, marked probe=1, and the OCA answers it", async () => {
    const asked: string[] = [];
    const fetchFn: FetchLike = async (url, init) => {
      asked.push(url);
      return (await call(url, { headers: init?.headers, signal: init?.signal })) as unknown as ResponseLike;
    };
    const oca = session.ocas.find((o) => o.siteId === SITE)!;
    const first = await probeUrl(fetchFn, oca.ocaId, oca.url + SEG, { bytes: 65_536 });
    const second = await probeUrl(fetchFn, oca.ocaId, oca.url + SEG, { bytes: 65_536 });
    expect([first, second].map((r) => [r.ok, r.status, r.bytes])).toEqual([
      [true, 206, 65_536],
      [true, 206, 65_536],
    ]);
    expect(asked).toHaveLength(2);
    expect(new Set(asked).size).toBe(2);
    for (const url of asked) expect(new URL(url).searchParams.get("probe")).toBe("1");
  });
});
