import { beforeAll, describe, expect, it } from "vitest";
import { call, fill, GEO, memberToken, pressPlay, publishTitle, type FixtureTitle, type PlayResponse } from "./fixtures";

const SIZE = 100_000;
let title: FixtureTitle;
let base: string;
let seg: string;
let bytes: Uint8Array;

beforeAll(async () => {
  title = await publishTitle("range-title", { segmentBytes: SIZE });
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: ["range-title"] }])).status).toBe(200);
  const res = await pressPlay(await memberToken("premium"), { titleId: "range-title" }, GEO.lumenNyc);
  const p = (await res.json()) as PlayResponse;
  base = p.ocas.find((o) => o.ocaId === "lumen-nyc-1")!.url;
  seg = `${base}video/avc-720p/seg-00001.m4s`;
  bytes = title.files["video/avc-720p/seg-00001.m4s"];
});

const get = (url: string, headers: Record<string, string> = {}, method = "GET") => call(url, { method, headers });
const body = async (res: Response) => new Uint8Array(await res.arrayBuffer());

describe("serving a segment with RFC 9110 range semantics", () => {
  it("serves the whole file with 200, length, ETag, Accept-Ranges and immutable caching", async () => {
    const res = await get(seg);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe(String(SIZE));
    expect(res.headers.get("Accept-Ranges")).toBe("bytes");
    expect(res.headers.get("ETag")).toMatch(/^"[0-9a-f]+"$/);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(res.headers.get("Content-Type")).toBe("video/iso.segment");
    expect(res.headers.get("X-OCA-Source")).toBe("local");
    expect(await body(res)).toEqual(bytes);
  });

  it.each([
    ["bytes=0-99", 0, 99],
    ["bytes=100-199", 100, 199],
    ["bytes=99990-", 99990, SIZE - 1],
    ["bytes=-10", SIZE - 10, SIZE - 1],
    ["bytes=-200000", 0, SIZE - 1],
    ["bytes=99000-999999", 99000, SIZE - 1],
    ["bytes=5-5", 5, 5],
    ["Bytes = 10-19", 10, 19],
  ])("answers %s with 206 and the exact bytes", async (range, start, end) => {
    const res = await get(seg, { Range: range });
    expect(res.status).toBe(206);
    expect(res.headers.get("Content-Range")).toBe(`bytes ${start}-${end}/${SIZE}`);
    expect(res.headers.get("Content-Length")).toBe(String(end - start + 1));
    expect(await body(res)).toEqual(bytes.slice(start, end + 1));
  });

  it.each(["bytes=100000-", "bytes=200000-300000", "bytes=-0"])("answers unsatisfiable %s with 416 and Content-Range bytes */LEN", async (range) => {
    const res = await get(seg, { Range: range });
    expect(res.status).toBe(416);
    expect(res.headers.get("Content-Range")).toBe(`bytes */${SIZE}`);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("range_not_satisfiable");
  });

  it.each(["bytes=0-1,5-6", "items=0-10", "bytes=abc", "bytes=10-5", "bytes=", "bytes=--5", "0-10", "bytes=1-2-3"])(
    "ignores a multi-range or malformed Range %s and sends the whole file with 200",
    async (range) => {
      const res = await get(seg, { Range: range });
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Range")).toBeNull();
      expect((await body(res)).byteLength).toBe(SIZE);
    },
  );

  it("answers If-None-Match with 304 when the ETag matches (strong, weak, list or *) and 200 when not", async () => {
    const etag = (await get(seg, {}, "HEAD")).headers.get("ETag")!;
    for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, "*"]) {
      const res = await get(seg, { "If-None-Match": inm });
      expect(res.status, inm).toBe(304);
      expect(res.headers.get("ETag")).toBe(etag);
      expect(await res.text()).toBe("");
    }
    expect((await get(seg, { "If-None-Match": '"other"' })).status).toBe(200);
  });

  it("applies Range only when If-Range matches the current ETag or Last-Modified", async () => {
    const head = await get(seg, {}, "HEAD");
    const etag = head.headers.get("ETag")!;
    const lastModified = head.headers.get("Last-Modified")!;
    expect((await get(seg, { Range: "bytes=0-9", "If-Range": etag })).status).toBe(206);
    expect((await get(seg, { Range: "bytes=0-9", "If-Range": lastModified })).status).toBe(206);
    const stale = await get(seg, { Range: "bytes=0-9", "If-Range": '"stale-etag"' });
    expect(stale.status).toBe(200);
    expect((await body(stale)).byteLength).toBe(SIZE);
    expect((await get(seg, { Range: "bytes=0-9", "If-Range": `W/${etag}` })).status).toBe(200);
    expect((await get(seg, { Range: "bytes=0-9", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT" })).status).toBe(200);
  });

  it("answers HEAD with the headers of GET and no body, and ignores Range (only GET has range semantics)", async () => {
    let res = await get(seg, {}, "HEAD");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe(String(SIZE));
    expect(await res.text()).toBe("");
    res = await get(seg, { Range: "bytes=10-19" }, "HEAD");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe(String(SIZE));
    expect(res.headers.get("Content-Range")).toBeNull();
    res = await get(seg, { Range: `bytes=${SIZE}-` }, "HEAD");
    expect(res.status).toBe(200);
  });

  it.each([
    ["master.m3u8", "application/vnd.apple.mpegurl", "public, max-age=60"],
    ["manifest.mpd", "application/dash+xml", "public, max-age=60"],
    ["video/avc-240p/init.mp4", "video/mp4", "public, max-age=31536000, immutable"],
    ["audio/aac-en/seg-00001.m4s", "audio/iso.segment", "public, max-age=31536000, immutable"],
    ["subs/sub-en.vtt", "text/vtt; charset=utf-8", "public, max-age=31536000, immutable"],
  ])("gives %s the Content-Type %s", async (path, type, cache) => {
    const res = await get(`${base}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe(type);
    expect(res.headers.get("Cache-Control")).toBe(cache);
    expect(await body(res)).toEqual(title.files[path]);
  });

  it("answers the CORS preflight for Range and exposes Content-Range and ETag", async () => {
    const pre = await call(seg, {
      method: "OPTIONS",
      headers: { Origin: "https://player.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(pre.headers.get("Access-Control-Allow-Headers")).toMatch(/\bRange\b/);
    expect(pre.headers.get("Access-Control-Allow-Methods")).toContain("GET");
    const res = await get(seg, { Origin: "https://player.example", Range: "bytes=0-0" });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(res.headers.get("Access-Control-Expose-Headers")).toMatch(/Content-Range.*ETag/);
    // Errors too, so a player on another origin can read why (and fail over).
    const denied = await get(seg.replace(/\/v5\.[^/]+\//, `/v5.k1.s.1.1.1.1.ixp-nyc.US.${"0".repeat(64)}.AAAA/`), { Origin: "https://player.example" });
    expect(denied.status).toBe(403);
    expect(denied.headers.get("Access-Control-Allow-Origin")).toBe("*");
  });
});

describe("a file the OCA does not hold", () => {
  it("is served from the parent tier when the parent holds it, and counted as a miss", async () => {
    expect((await fill([{ siteId: "ixp-nyc", ocaId: "ixp-nyc-2", titleIds: ["range-title"] }])).status).toBe(200);
    const other = base.replace("/lumen-nyc/lumen-nyc-1/", "/lumen-nyc/lumen-nyc-2/");
    const res = await get(`${other}video/avc-240p/init.mp4`);
    expect(res.status).toBe(200);
    expect(res.headers.get("X-OCA-Source")).toBe("parent:ixp-nyc/ixp-nyc-2");
    expect(await body(res)).toEqual(title.files["video/avc-240p/init.mp4"]);
  });

  it("is served from origin when no tier holds it, and the site counts the miss", async () => {
    // RheinNet Munich's parent (Frankfurt) holds nothing of this title.
    const other = base.replace("/lumen-nyc/lumen-nyc-1/", "/rheinnet-muc/rheinnet-muc-2/");
    const res = await get(`${other}subs/sub-en.vtt`);
    expect(res.status).toBe(200);
    expect(res.headers.get("X-OCA-Source")).toBe("origin");
    expect(await res.text()).toContain("WEBVTT");
    // The miss rides the data plane's next batched report (within a second); poll the site state.
    let misses: Array<{ ocaId: string; titleId: string; kind: string; count: number }> = [];
    for (let i = 0; i < 120 && misses.length === 0; i++) {
      const state = (await (await call("/admin/sites/rheinnet-muc", { headers: { Authorization: "Bearer test-admin-token" } })).json()) as {
        misses: typeof misses;
      };
      misses = state.misses.filter((m) => m.titleId === "range-title");
      if (misses.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    expect(misses).toEqual([expect.objectContaining({ ocaId: "rheinnet-muc-2", titleId: "range-title", kind: "content", count: 1 })]);
  });

  it("is a 404 JSON error when the title has no such file anywhere", async () => {
    const res = await get(`${base}video/avc-240p/seg-99999.m4s`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });
});
