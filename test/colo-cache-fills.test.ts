import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import worker from "../workers/index";
import { cacheWhole, TEE_BYTES_IN_FLIGHT_MAX, teedToColoCache } from "../workers/shared/colo-cache";
import type { Representation } from "../workers/shared/representation";
import { getCounted } from "./tier-calls";
import { fill, GEO, memberToken, pressPlay, publishTitle, type FixtureTitle, type PlayResponse } from "./fixtures";

/**
 * How the colo cache is filled: a herd of misses for a new segment fills it once (one put, one tee's
 * copy in memory), tees in flight are bounded, and a put the cache refuses lets go of the body it was
 * handed. The Cache API is the local runtime's; only its `put` is wrapped, to hold one open or refuse it.
 */

const TITLE = "colo-fill-title";
let t: FixtureTitle;
let play: PlayResponse;

beforeAll(async () => {
  t = await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  play = (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
  expect(play.ocas[0].ocaId).toBe("lumen-nyc-1");
});

const cache = caches.default;
afterEach(() => {
  delete (cache as { put?: unknown }).put;
});

/** Wraps the cache's put: `hold(n)` says whether the n-th call (from 0) waits for `open()` before it runs. */
function wrapPut(hold: (n: number) => boolean, refuse = false) {
  const put = cache.put.bind(cache);
  const urls: string[] = [];
  let open = () => {};
  const gate = new Promise<void>((r) => (open = r));
  Object.defineProperty(cache, "put", {
    configurable: true,
    value: async (req: RequestInfo, res: Response) => {
      const n = urls.push(typeof req === "string" ? req : req.url) - 1;
      if (hold(n)) await gate;
      if (refuse) throw new Error("the cache refused the entry");
      return put(req, res);
    },
  });
  return { urls, open };
}

const rep = (size: number, etag: string): Representation => ({
  size,
  etag,
  contentType: "video/mp4",
  cacheControl: "public, max-age=31536000, immutable",
  body: async () => null,
});

/** A stream of a few chunks that notes being cancelled. */
function source() {
  const seen = { cancelled: false };
  let left = 4;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (left-- > 0) c.enqueue(new Uint8Array(1024));
      else c.close();
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { stream, seen };
}

describe("filling the colo cache", () => {
  it("fills it once for a herd of misses for the same new segment: a second miss while the first's put runs puts nothing", async () => {
    const path = "video/avc-480p/seg-00001.m4s";
    const { urls, open } = wrapPut((n) => n === 0);
    // The first miss: served, its tee's put held open (a slow cache write).
    const ctxA = createExecutionContext();
    const a = await worker.fetch(new Request(`${play.ocas[0].url}${path}`), env, ctxA);
    expect(a.headers.get("X-Cache")).toBe("MISS");
    expect(Buffer.from(await a.arrayBuffer()).equals(Buffer.from(t.files[path]))).toBe(true);
    expect(urls).toHaveLength(1);
    // A second miss meanwhile: its viewer gets the whole segment, and the cache no second put.
    const b = await getCounted(`${play.ocas[0].url}${path}`);
    expect(b.res.status).toBe(200);
    expect(b.res.headers.get("X-Cache")).toBe("MISS");
    expect(Buffer.from(b.body).equals(Buffer.from(t.files[path]))).toBe(true);
    expect(urls).toHaveLength(1);
    open();
    await waitOnExecutionContext(ctxA);
    const hit = await getCounted(`${play.ocas[0].url}${path}`);
    expect(hit.res.headers.get("X-Cache")).toBe("HIT");
    expect(hit.calls).toEqual([]);
  });

  it("lets the fill go when its put fails: the next miss fills the cache", async () => {
    const path = "video/avc-240p/seg-00001.m4s";
    const refused = wrapPut(() => false, true);
    const first = await getCounted(`${play.ocas[0].url}${path}`);
    expect(first.res.status).toBe(200);
    expect(Buffer.from(first.body).equals(Buffer.from(t.files[path]))).toBe(true);
    expect(refused.urls).toHaveLength(1);
    delete (cache as { put?: unknown }).put;
    expect((await getCounted(`${play.ocas[0].url}${path}`)).res.headers.get("X-Cache")).toBe("MISS");
    expect((await getCounted(`${play.ocas[0].url}${path}`)).res.headers.get("X-Cache")).toBe("HIT");
  });

  it("holds the bytes of tees in flight to TEE_BYTES_IN_FLIGHT_MAX: past it a miss goes to its viewer alone", async () => {
    const { urls, open } = wrapPut(() => true);
    const size = 16 * 1024 * 1024;
    const fits = 4;
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i <= fits; i++) {
      const r = teedToColoCache(rep(size, `"tee-${i}"`), source().stream, { space: "oca", key: `tee-bound/${i}` }, 60, (p) => pending.push(p));
      await r.release?.();
    }
    expect(urls).toHaveLength(fits);
    open();
    await Promise.all(pending);
    // Settled, they no longer count: the next one tees.
    teedToColoCache(rep(size, '"tee-next"'), source().stream, { space: "oca", key: "tee-bound/next" }, 60, (p) => pending.push(p));
    await Promise.all(pending);
    expect(urls).toHaveLength(fits + 1);
    expect(fits * size).toBe(TEE_BYTES_IN_FLIGHT_MAX);
  });

  it("lets go of the body a put refused before reading it", async () => {
    wrapPut(() => false, true);
    const { stream, seen } = source();
    await expect(
      cacheWhole({ space: "oca", key: "refused/whole" }, stream, { size: 4096, etag: '"r"', contentType: "video/mp4", maxAgeS: 60 }),
    ).rejects.toThrow();
    expect(seen.cancelled).toBe(true);
  });

  it("lets go of a tee's source once the viewer lets go and the put failed: nothing holds its bytes", async () => {
    wrapPut(() => false, true);
    const { stream, seen } = source();
    const pending: Promise<unknown>[] = [];
    const r = teedToColoCache(rep(4096, '"t"'), stream, { space: "oca", key: "refused/tee" }, 60, (p) => pending.push(p));
    await Promise.all(pending);
    await r.release?.();
    expect(seen.cancelled).toBe(true);
  });
});
