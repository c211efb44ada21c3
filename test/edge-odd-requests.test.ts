import { beforeAll, describe, expect, it } from "vitest";
import { MAX_VALIDATOR_LIST_CHARS } from "../workers/edge/app";
import { matchHolds, noneMatchHits, VALIDATOR_TAGS_READ } from "../workers/shared/range";
import { call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * The data plane as an attacker or a broken player hits it: odd paths, tokens, headers and methods.
 * Every bad input gets a clear 4xx JSON error (or a correct HTTP answer), never a 5xx, and no list a
 * client sends (path segments, entity tags) is walked past what an honest request could hold.
 */

let base: string;
let seg: string;

beforeAll(async () => {
  await publishTitle("odd-requests-title");
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: ["odd-requests-title"] }])).status).toBe(200);
  const p = (await (await pressPlay(await memberToken("premium"), { titleId: "odd-requests-title" }, GEO.lumenNyc)).json()) as PlayResponse;
  base = p.ocas.find((o) => o.ocaId === "lumen-nyc-1")!.url;
  seg = `${base}video/avc-480p/seg-00001.m4s`;
});

type ErrorBody = { error: { code: string; message: string } };

/** The answer's JSON error (asserting it is one). */
async function errorOf(res: Response): Promise<ErrorBody["error"]> {
  expect(res.headers.get("Content-Type")).toContain("application/json");
  return ((await res.json()) as ErrorBody).error;
}

/** A list of `n` quoted entity tags, none this CDN's. */
const tags = (n: number) => Array.from({ length: n }, (_, i) => `"not-this-${i}"`).join(", ");

describe("an OCA path", () => {
  it("longer than any OCA URL can be is 414, before it is split", async () => {
    for (const long of [`${base}${"a/".repeat(50_000)}x`, `${base}${"a".repeat(100_000)}`]) {
      const res = await call(long);
      expect(res.status).toBe(414);
      expect((await errorOf(res)).code).toBe("uri_too_long");
    }
  });

  it("as long as a file path may be is still looked up (404 for a file the title lacks, not 414)", async () => {
    const longest = `${`${"a".repeat(99)}/`.repeat(7)}${"a".repeat(99)}`;
    expect(longest.length).toBeLessThanOrEqual(800);
    const res = await call(`${base}${longest}`);
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("not_found");
  });

  it("with a reserved name or an over-long file path says what the rule is, not that a character is wrong", async () => {
    for (const bad of [`${base}__proto__`, `${base}${"b".repeat(129)}`]) {
      const res = await call(bad);
      expect(res.status).toBe(400);
      const err = await errorOf(res);
      expect(err.code).toBe("bad_path");
      expect(err.message).toContain("reserved names");
    }
    const title = await call(`${base.replace("odd-requests-title", "constructor")}master.m3u8`);
    expect(title.status).toBe(400);
    expect((await errorOf(title)).message).toContain("reserved name");
  });

  it("with encoded separators, double encoding, bad escapes or odd tokens is a 4xx JSON error", async () => {
    const token = base.split("/")[6];
    for (const odd of [
      `${base}video%2Favc-480p/seg-00001.m4s`,
      `${base}video%252Favc-480p/seg-00001.m4s`,
      `${base}%252e%252e/seg-00001.m4s`,
      `${base}video%5Cseg`,
      `${base}video/%zz/seg`,
      `${base}video/%E0%A4%A/seg`,
      `${base}video//seg`,
      `${seg};x=1`,
      seg.replace(token, `v5.${"a".repeat(300)}`),
      seg.replace(token, token.replace("v5.", "v5%2E")),
    ]) {
      const res = await call(odd);
      expect(res.status, odd.slice(0, 200)).toBeGreaterThanOrEqual(400);
      expect(res.status, odd.slice(0, 200)).toBeLessThan(500);
      expect(typeof (await errorOf(res)).code).toBe("string");
    }
  });
});

describe("an OCA URL asked with another method", () => {
  it("is 405 with Allow, as JSON; OPTIONS stays the CORS preflight and GET serves", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const res = await call(seg, { method, headers: { Origin: "https://player.test" } });
      expect(res.status, method).toBe(405);
      expect(res.headers.get("Allow")).toBe("GET, HEAD, OPTIONS");
      // A player on another origin reads the error too.
      expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
      expect((await errorOf(res)).code).toBe("method_not_allowed");
    }
    const preflight = await call(seg, { method: "OPTIONS", headers: { Origin: "https://player.test", "Access-Control-Request-Method": "GET" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Methods")).toContain("GET");
    const got = await call(seg);
    expect(got.status).toBe(200);
    await got.arrayBuffer();
  });
});

describe("conditional headers", () => {
  it("with an entity-tag list longer than any cache sends are 431, not walked", async () => {
    for (const name of ["If-None-Match", "If-Match"]) {
      for (const method of ["GET", "HEAD"]) {
        const res = await call(seg, { method, headers: { [name]: tags(5_000) } });
        expect(res.status, `${method} ${name}`).toBe(431);
        expect(res.headers.get("Cache-Control")).toBe("no-store");
        if (method === "GET") expect((await errorOf(res)).code).toBe("header_too_large");
      }
    }
  });

  it("with a list up to the bound keep their meaning: the file's tag among others is 304", async () => {
    const first = await call(seg);
    const etag = first.headers.get("ETag")!;
    await first.arrayBuffer();
    let list = etag;
    for (let i = 0; `${list}, "not-this-${i}"`.length <= MAX_VALIDATOR_LIST_CHARS; i++) list = `${list}, "not-this-${i}"`;
    expect(list.length).toBeGreaterThan(MAX_VALIDATOR_LIST_CHARS - 20);
    expect((await call(seg, { headers: { "If-None-Match": list } })).status).toBe(304);
    const held = await call(seg, { headers: { "If-Match": list } });
    expect(held.status).toBe(200);
    await held.arrayBuffer();
  });
});

describe("odd headers and queries a player's bytes do not depend on", () => {
  it("are answered as if absent or as RFC 9110 says, never a 5xx", async () => {
    const cases: Array<[string, RequestInit]> = [
      ["10,000 ranges", { headers: { Range: `bytes=${Array.from({ length: 10_000 }, (_, i) => `${i}-${i}`).join(",")}` } }],
      ["a 50,000-digit range", { headers: { Range: `bytes=${"1".repeat(50_000)}-` } }],
      ["a 60 KB CMCD header", { headers: { "CMCD-Request": `bl=${"1".repeat(60_000)}` } }],
      ["CMCD out of range", { headers: { "CMCD-Request": "bl=-1,mtp=99999999999999", "CMCD-Object": 'br=(1 2 3),ot=zz,d="x"', "CMCD-Status": "bs" } }],
      ["junk If-Range", { headers: { Range: "bytes=0-1", "If-Range": "x".repeat(10_000) } }],
      ["junk If-Modified-Since", { headers: { "If-Modified-Since": "x".repeat(50_000) } }],
    ];
    for (const [label, init] of cases) {
      const res = await call(seg, init);
      expect(res.status, label).toBe(200);
      expect(res.headers.get("Content-Length"), label).toBe("65536");
      await res.arrayBuffer();
    }
    for (const q of [
      `CMCD=${encodeURIComponent(`br=${"9".repeat(50_000)}`)}`,
      `CMCD=${encodeURIComponent('__proto__=1,br=-5,bl=1e400,sid="x"')}`,
      "a=1&".repeat(20_000),
    ]) {
      const res = await call(`${seg}?${q}`);
      expect(res.status, q.slice(0, 40)).toBe(200);
      await res.arrayBuffer();
    }
  });
});

describe("shared validator lists and unknown routes", () => {
  it("compare no more than the first 64 entity tags of a list (posters share the code)", () => {
    const mine = '"abc"';
    expect(noneMatchHits(`${tags(VALIDATOR_TAGS_READ - 1)}, ${mine}`, mine)).toBe(true);
    expect(noneMatchHits(`${tags(VALIDATOR_TAGS_READ)}, ${mine}`, mine)).toBe(false);
    expect(matchHolds(`${tags(VALIDATOR_TAGS_READ - 1)}, ${mine}`, mine)).toBe(true);
    expect(matchHolds(`${tags(VALIDATOR_TAGS_READ)}, ${mine}`, mine)).toBe(false);
  });

  it("echo an unknown route's path cut short, not a 10 KB message", async () => {
    const res = await call(`http://cdn.test/nope/${"x".repeat(10_000)}`);
    expect(res.status).toBe(404);
    const e = await errorOf(res);
    expect(e.code).toBe("not_found");
    expect(e.message).toMatch(/^no route GET \/nope\/x+…$/);
    expect(e.message.length).toBeLessThan(300);
  });
});
