import { beforeAll, describe, expect, it } from "vitest";
import { serveRepresentation, textRepresentation } from "../workers/shared/representation";
import { call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * A 412 or a 416 answers one request's conditions or range, not the file: it must not carry the file's
 * year-long `immutable` caching, or a cache keyed by URL alone could keep the JSON error and answer every
 * later plain GET of that URL with it.
 */

const IMMUTABLE = "public, max-age=31536000, immutable";
let seg: string;

beforeAll(async () => {
  await publishTitle("error-caching-title");
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: ["error-caching-title"] }])).status).toBe(200);
  const p = (await (await pressPlay(await memberToken("premium"), { titleId: "error-caching-title" }, GEO.lumenNyc)).json()) as PlayResponse;
  seg = `${p.ocas.find((o) => o.ocaId === "lumen-nyc-1")!.url}video/avc-480p/seg-00001.m4s`;
});

describe("error answers about one request's conditions or range", () => {
  const rep = () => textRepresentation("0123456789", '"abc"', "video/iso.segment", IMMUTABLE, new Date("2020-01-01T00:00:00Z"));
  const req = (headers: Record<string, string>, method = "GET") => new Request("http://cdn.test/x", { method, headers });

  it("are never stored by caches: a 412 from If-Match or If-Unmodified-Since says no-store", async () => {
    for (const [headers, method] of [
      [{ "If-Match": '"other"' }, "GET"],
      [{ "If-Match": '"other"' }, "HEAD"],
      [{ "If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT" }, "GET"],
    ] as const) {
      const res = await serveRepresentation(req(headers, method), rep());
      expect(res.status).toBe(412);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
    }
  });

  it("are never stored by caches: a 416 for an unsatisfiable range says no-store", async () => {
    const res = await serveRepresentation(req({ Range: "bytes=100-" }), rep());
    expect(res.status).toBe(416);
    expect(res.headers.get("Content-Range")).toBe("bytes */10");
    expect(res.headers.get("Cache-Control")).toBe("no-store");
  });

  it("leave the file's own answers as they were: 200, 206 and 304 keep its caching", async () => {
    expect((await serveRepresentation(req({}), rep())).headers.get("Cache-Control")).toBe(IMMUTABLE);
    expect((await serveRepresentation(req({ Range: "bytes=0-1" }), rep())).headers.get("Cache-Control")).toBe(IMMUTABLE);
    const notModified = await serveRepresentation(req({ "If-None-Match": '"abc"' }), rep());
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("Cache-Control")).toBe(IMMUTABLE);
  });

  it("say no-store on an OCA's segment, from R2 and from the colo cache alike", async () => {
    // The first request reads R2 (and fills the colo cache), the second is answered from the colo cache.
    for (let i = 0; i < 2; i++) {
      const unsatisfiable = await call(seg, { headers: { Range: "bytes=999999-" } });
      expect(unsatisfiable.status).toBe(416);
      expect(unsatisfiable.headers.get("Cache-Control")).toBe("no-store");
      const failed = await call(seg, { headers: { "If-Match": '"not-this-one"' } });
      expect(failed.status).toBe(412);
      expect(failed.headers.get("Cache-Control")).toBe("no-store");
      const whole = await call(seg);
      expect(whole.status).toBe(200);
      expect(whole.headers.get("Cache-Control")).toBe(IMMUTABLE);
      await whole.arrayBuffer();
    }
  });
});

describe("every other error answer, of either plane", () => {
  it("says no-store: a forged token, a file the title lacks, an unknown route, a member refused, bad input", async () => {
    const forged = seg.replace(/\/oca\/([^/]+)\/([^/]+)\/([^/]+)\//, (_m, s, o, t: string) => `/oca/${s}/${o}/${t.slice(0, -4)}AAAA/`);
    const member = await memberToken("premium");
    const answers = [
      await call(forged),
      await call(seg.replace("seg-00001.m4s", "seg-99999.m4s")),
      await call("/no/such/route"),
      await call("/v1/titles"),
      await pressPlay(member, { titleId: "no-such-title" }, GEO.lumenNyc),
      await call("/v1/titles?limit=0", { headers: { Authorization: `Bearer ${member}` }, geo: GEO.lumenNyc }),
    ];
    for (const res of answers) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBeTruthy();
      expect(res.headers.get("Cache-Control"), `${res.status} ${res.url}`).toBe("no-store");
    }
    expect(answers.map((r) => r.status)).toEqual([403, 404, 404, 401, 404, 400]);
  });
});

describe("answers that send none of a body fetched ahead", () => {
  /** A representation whose whole body is in hand (as a colo cache hit's), noting whether it was let go. */
  function inHand() {
    const seen = { cancelled: false };
    const stream = new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(10)), cancel: () => void (seen.cancelled = true) });
    const rep = textRepresentation("0123456789", '"abc"', "video/iso.segment", IMMUTABLE, new Date("2020-01-01T00:00:00Z"));
    return { seen, rep: { ...rep, body: async () => stream, release: () => stream.cancel() } };
  }
  const req = (headers: Record<string, string>, method = "GET") => new Request("http://cdn.test/x", { method, headers });

  it("let it go: HEAD, 304, 412 and 416", async () => {
    for (const [headers, method, status] of [
      [{}, "HEAD", 200],
      [{ "If-None-Match": '"abc"' }, "GET", 304],
      [{ "If-Match": '"other"' }, "GET", 412],
      [{ Range: "bytes=100-" }, "GET", 416],
    ] as const) {
      const { seen, rep } = inHand();
      const res = await serveRepresentation(req(headers, method), rep);
      expect(res.status).toBe(status);
      expect(seen.cancelled, `${method} ${status}`).toBe(true);
    }
  });

  it("keep it for a 200 that sends it", async () => {
    const { seen, rep } = inHand();
    const res = await serveRepresentation(req({}), rep);
    expect(res.status).toBe(200);
    expect(seen.cancelled).toBe(false);
    await res.body?.cancel();
  });

  it("from the colo cache: a HEAD and a 304 of a cached segment answer, and the next GET still gets every byte", async () => {
    const whole = await call(seg);
    const bytes = (await whole.arrayBuffer()).byteLength;
    const hit = await call(seg);
    expect(hit.headers.get("X-Cache")).toBe("HIT");
    await hit.arrayBuffer();
    const head = await call(seg, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("X-Cache")).toBe("HIT");
    const notModified = await call(seg, { headers: { "If-None-Match": whole.headers.get("ETag")! } });
    expect(notModified.status).toBe(304);
    const again = await call(seg);
    expect(again.headers.get("X-Cache")).toBe("HIT");
    expect((await again.arrayBuffer()).byteLength).toBe(bytes);
  });
});
