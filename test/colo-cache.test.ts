import { beforeAll, describe, expect, it, vi } from "vitest";
import { ocaKey } from "../shared/file-keys";
import { cacheWhole } from "../workers/shared/colo-cache";
import { getCounted } from "./tier-calls";
import { fill, GEO, memberToken, pressPlay, publishTitle, type FixtureTitle, type PlayResponse } from "./fixtures";

/**
 * The colo cache (the Cache API, which the local runtime provides) in front of an OCA's tier bucket.
 * The tier bucket binding is wrapped by a proxy that counts the R2 calls a request makes: the one thing
 * mocked, because R2 does not count its own calls.
 */

const TITLE = "colo-title";
const SEG = "video/avc-480p/seg-00001.m4s";
let t: FixtureTitle;
let premium: PlayResponse;
let basic: PlayResponse;

beforeAll(async () => {
  t = await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  premium = (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
  basic = (await (await pressPlay(await memberToken("basic"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
  expect(premium.ocas[0].ocaId).toBe("lumen-nyc-1");
});

describe("the colo cache in front of an OCA", () => {
  it("serves a segment read once from R2 afterwards with no R2 call, to any session, whole, ranged or conditional", async () => {
    const first = await getCounted(`${premium.ocas[0].url}${SEG}`);
    expect(first.res.headers.get("X-Cache")).toBe("MISS");
    expect(first.calls.length).toBeGreaterThan(0);
    expect(Buffer.from(first.body).equals(Buffer.from(t.files[SEG]))).toBe(true);

    // Another session (another token): the cache key is the content, not the URL.
    const again = await getCounted(`${basic.ocas[0].url}${SEG}`);
    expect(again.res.headers.get("X-Cache")).toBe("HIT");
    expect(again.res.headers.get("X-OCA-Source")).toBe("local");
    expect(again.calls).toEqual([]);
    expect(Buffer.from(again.body).equals(Buffer.from(t.files[SEG]))).toBe(true);
    expect(again.res.headers.get("ETag")).toBe(first.res.headers.get("ETag"));

    const ranged = await getCounted(`${premium.ocas[0].url}${SEG}`, { Range: "bytes=100-1099" });
    expect(ranged.res.status).toBe(206);
    expect(ranged.res.headers.get("Content-Range")).toBe(`bytes 100-1099/${t.files[SEG].byteLength}`);
    expect(Buffer.from(ranged.body).equals(Buffer.from(t.files[SEG].subarray(100, 1100)))).toBe(true);
    expect(ranged.calls).toEqual([]);

    const etag = first.res.headers.get("ETag")!;
    const conditional = await getCounted(`${premium.ocas[0].url}${SEG}`, { "If-None-Match": etag });
    expect(conditional.res.status).toBe(304);
    expect(conditional.calls).toEqual([]);
  });

  it("reads a range from R2 when the cache answers it with the whole object, never the whole under a range's headers", async () => {
    const path = "video/avc-480p/init.mp4";
    expect((await getCounted(`${premium.ocas[0].url}${path}`)).res.headers.get("X-Cache")).toBe("MISS");
    // A cache that ignores Range (200, the whole object): the local runtime's honours it, so this one
    // answer is made up, the one thing mocked here.
    const match = caches.default.match.bind(caches.default);
    const spy = vi.spyOn(caches.default, "match").mockImplementation(async (req, opts) => {
      const r = req instanceof Request ? req : new Request(req);
      if (!r.headers.has("Range")) return match(r, opts);
      const whole = await match(new Request(r.url), opts);
      return whole ? new Response(whole.body, { status: 200, headers: whole.headers }) : undefined;
    });
    try {
      const ranged = await getCounted(`${premium.ocas[0].url}${path}`, { Range: "bytes=100-599" });
      expect(ranged.res.status).toBe(206);
      expect(ranged.body.byteLength).toBe(500);
      expect(Buffer.from(ranged.body).equals(Buffer.from(t.files[path].subarray(100, 600)))).toBe(true);
      expect(ranged.calls.some((c) => c.startsWith("get "))).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it("fills the cache from a first ranged request too, in the background", async () => {
    const path = "video/avc-240p/seg-00001.m4s";
    const first = await getCounted(`${premium.ocas[0].url}${path}`, { Range: "bytes=0-99" });
    expect(first.res.status).toBe(206);
    expect(first.res.headers.get("X-Cache")).toBe("MISS");
    const whole = await getCounted(`${premium.ocas[0].url}${path}`);
    expect(whole.res.headers.get("X-Cache")).toBe("HIT");
    expect(whole.calls).toEqual([]);
    expect(Buffer.from(whole.body).equals(Buffer.from(t.files[path]))).toBe(true);
  });

  it("reads a file whole for the cache at most once a minute per isolate, where the colo cache keeps nothing", async () => {
    const path = "video/avc-720p/seg-00001.m4s";
    // A zone whose Cache API stores nothing (as on workers.dev): the one thing mocked in this test.
    const cache = caches.default;
    Object.defineProperty(cache, "put", { configurable: true, value: async () => {} });
    try {
      const wholeReads: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await getCounted(`${premium.ocas[0].url}${path}`, { Range: `bytes=${i * 10}-${i * 10 + 9}` });
        expect(r.res.status).toBe(206);
        expect(r.res.headers.get("X-Cache")).toBe("MISS");
        expect(Buffer.from(r.body).equals(Buffer.from(t.files[path].subarray(i * 10, i * 10 + 10)))).toBe(true);
        // A ranged read passes its range; the cache's fill reads the object with no options.
        wholeReads.push(r.calls.filter((c) => c.startsWith("get ") && c.endsWith(" -")).length);
      }
      expect(wholeReads).toEqual([1, 0, 0]);
    } finally {
      delete (cache as { put?: unknown }).put;
    }
  });

  it("keeps one filtered multivariant playlist per height cap", async () => {
    const p1 = await getCounted(`${premium.ocas[0].url}master.m3u8`);
    const b1 = await getCounted(`${basic.ocas[0].url}master.m3u8`);
    const p2 = await getCounted(`${premium.ocas[0].url}master.m3u8`);
    const b2 = await getCounted(`${basic.ocas[0].url}master.m3u8`);
    expect([p2.res.headers.get("X-Cache"), b2.res.headers.get("X-Cache")]).toEqual(["HIT", "HIT"]);
    expect([p2.calls, b2.calls]).toEqual([[], []]);
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    expect(text(p2.body)).toBe(text(p1.body));
    expect(text(b2.body)).toBe(text(b1.body));
    expect(text(p2.body)).toContain("avc-720p");
    expect(text(b2.body)).not.toContain("avc-720p");
    expect(b2.res.headers.get("ETag")).not.toBe(p2.res.headers.get("ETag"));
  });

  it("does not serve a filtered playlist the filter before a deploy wrote (its version is in the key)", async () => {
    // What an older filter left in the colo cache under the key it used, for the basic cap.
    const master = t.files["master.m3u8"];
    const sha256 = Buffer.from(await crypto.subtle.digest("SHA-256", master)).toString("hex");
    const stale = "#EXTM3U\n# written by an older filter\n";
    await cacheWhole({ space: "oca", key: ocaKey("lumen-nyc", "lumen-nyc-1", TITLE, "master.m3u8", sha256), variant: `cap=${basic.maxHeight}` }, stale, {
      size: stale.length,
      etag: '"stale"',
      contentType: "application/vnd.apple.mpegurl",
      maxAgeS: 3600,
    });
    const res = await getCounted(`${basic.ocas[0].url}master.m3u8`);
    expect(res.res.status).toBe(200);
    const text = new TextDecoder().decode(res.body);
    expect(text).not.toContain("older filter");
    expect(text).toContain("avc-480p");
  });

  it("answers a range from R2 when the cached object goes between its lookup and the read of the slice", async () => {
    expect((await getCounted(`${premium.ocas[0].url}${SEG}`)).res.headers.get("X-Cache")).toBe("HIT");
    // The eviction race, which the local cache cannot be made to lose on demand: its ranged reads miss
    // (the one thing mocked in this test).
    const cache = caches.default;
    const match = cache.match.bind(cache);
    Object.defineProperty(cache, "match", {
      configurable: true,
      value: (req: RequestInfo, opts?: CacheQueryOptions) =>
        req instanceof Request && req.headers.has("Range") ? Promise.resolve(undefined) : match(req, opts),
    });
    try {
      const ranged = await getCounted(`${premium.ocas[0].url}${SEG}`, { Range: "bytes=10-19" });
      expect(ranged.res.status).toBe(206);
      expect(ranged.res.headers.get("X-Cache")).toBe("MISS");
      expect(Buffer.from(ranged.body).equals(Buffer.from(t.files[SEG].subarray(10, 20)))).toBe(true);
      expect(ranged.calls.length).toBeGreaterThan(0);
    } finally {
      delete (cache as { match?: unknown }).match;
    }
    expect((await getCounted(`${premium.ocas[0].url}${SEG}`, { Range: "bytes=10-19" })).res.headers.get("X-Cache")).toBe("HIT");
  });

  it("leaves the miss path as it was: a file the OCA lacks comes from origin, uncached", async () => {
    const other = (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
    const url = other.ocas[0].url.replace("/lumen-nyc-1/", "/lumen-nyc-2/");
    for (let i = 0; i < 2; i++) {
      const r = await getCounted(`${url}${SEG}`);
      expect(r.res.status).toBe(200);
      expect(r.res.headers.get("X-OCA-Source")).toBe("origin");
      expect(r.res.headers.get("X-Cache")).toBe("MISS");
    }
  });

  it("is bypassed, lookup and fill alike, by the benchmark's dev-only header: R2 is read on every such request", async () => {
    const path = "audio/aac-en/seg-00001.m4s"; // no other test here reads it
    const bypass = { "X-Bench-No-Colo-Cache": "1" };
    for (let i = 0; i < 2; i++) {
      const r = await getCounted(`${premium.ocas[0].url}${path}`, bypass);
      expect(r.res.headers.get("X-Cache")).toBe("MISS");
      expect(r.calls.filter((c) => c.startsWith("get "))).toHaveLength(1);
      expect(Buffer.from(r.body).equals(Buffer.from(t.files[path]))).toBe(true);
    }
    // Nothing was put in the cache: the first request without the header still misses, and fills it.
    expect((await getCounted(`${premium.ocas[0].url}${path}`)).res.headers.get("X-Cache")).toBe("MISS");
    const hit = await getCounted(`${premium.ocas[0].url}${path}`);
    expect(hit.res.headers.get("X-Cache")).toBe("HIT");
    expect(hit.calls).toEqual([]);
  });
});
