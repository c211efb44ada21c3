import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { originKey } from "../shared/file-keys";
import worker from "../workers/index";
import { countedBucket } from "./tier-calls";
import { ADMIN, call, GEO, memberToken, patternBytes, publishTitle, sha256Hex } from "./fixtures";

/**
 * A title's poster: named in its registration (one of its files, at the title root, at most 2 MiB),
 * part of its version, listed in the browse list as `posterUrl`, and served publicly (apps show it
 * before sign-in) as an immutable image from origin through the colo cache.
 */

type Entry = { id: string; name: string; posterUrl?: string };
type ErrorBody = { error: { code: string; message: string } };

/** A JPEG's first bytes, then a pattern: the route serves bytes, it does not decode them. */
const jpeg = (n: number, seed: number) => {
  const bytes = patternBytes(n, seed);
  bytes.set([0xff, 0xd8, 0xff, 0xe0]);
  return bytes;
};

/** A PNG's signature, then a pattern. */
const png = (n: number, seed: number) => {
  const bytes = patternBytes(n, seed);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return bytes;
};

/** A WebP's RIFF header, then a pattern. */
const webp = (n: number, seed: number) => {
  const bytes = patternBytes(n, seed);
  bytes.set([0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x45, 0x42, 0x50]);
  return bytes;
};

let member: string;
const browse = async (): Promise<Entry[]> => {
  const res = await call("/v1/titles?limit=200", { headers: { Authorization: `Bearer ${member}` }, geo: GEO.lumenNyc });
  expect(res.status).toBe(200);
  return ((await res.json()) as { titles: Entry[] }).titles;
};
const entry = async (titleId: string) => (await browse()).find((t) => t.id === titleId);

/** A request (GET unless said) to the Worker whose ORIGIN bucket notes each call; waits for its background work (the colo cache's fill). */
async function getCountingOrigin(url: string, headers: Record<string, string> = {}, method = "GET") {
  const calls: string[] = [];
  const origin = countedBucket(env.ORIGIN, calls);
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, { headers, method }), { ...env, ORIGIN: origin }, ctx);
  const body = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { res, body, calls };
}

/** Registers a title's registration as given (its files already in origin); the response. */
function register(titleId: string, body: Record<string, unknown>) {
  return call(`/admin/titles/${titleId}`, { method: "PUT", headers: { ...ADMIN, "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

/** The versions of a title the catalogue ever claimed. */
async function claimedVersions(titleId: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM title_versions WHERE title_id = ?`).bind(titleId).first<{ n: number }>();
  return row?.n ?? 0;
}

beforeAll(async () => {
  member = await memberToken("premium");
});

describe("a title registered with a poster", () => {
  it("lists a posterUrl naming its version, and the URL serves the image with immutable caching, its ETag and 304", async () => {
    const poster = jpeg(5000, 71);
    const t = await publishTitle("poster-listed", { change: { "poster.jpg": poster }, register: { poster: "poster.jpg" } });
    const listed = await entry("poster-listed");
    expect(listed?.posterUrl).toBe(`http://cdn.test/v1/titles/poster-listed/poster/${t.version}`);

    const res = await call(listed!.posterUrl!);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("image/jpeg");
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    const etag = res.headers.get("ETag");
    expect(etag).toBe(`"${t.sha["poster.jpg"]}"`);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(poster);

    const again = await call(listed!.posterUrl!, { headers: { "If-None-Match": etag! } });
    expect(again.status).toBe(304);
    expect(again.headers.get("ETag")).toBe(etag);
    expect(again.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
    expect(await again.text()).toBe("");
    // A weak or listed tag matches too (If-None-Match compares weakly).
    expect((await call(listed!.posterUrl!, { headers: { "If-None-Match": `"other", W/${etag}` } })).status).toBe(304);
  });

  it("is read from origin once: the next request comes from the colo cache without an R2 read", async () => {
    const poster = png(3000, 72);
    const t = await publishTitle("poster-cached", { change: { "poster.png": poster }, register: { poster: "poster.png" } });
    const url = `http://cdn.test/v1/titles/poster-cached/poster/${t.version}`;
    const key = originKey("poster-cached", "poster.png", t.sha["poster.png"]);
    const first = await getCountingOrigin(url);
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get("Content-Type")).toBe("image/png");
    expect(first.calls).toEqual([`get ${key} -`]);
    const second = await getCountingOrigin(url);
    expect(second.res.status).toBe(200);
    expect(second.res.headers.get("X-Cache")).toBe("HIT");
    expect(second.calls).toEqual([]);
    expect(second.body).toEqual(poster);
    expect(second.res.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
  });

  it("re-published without a poster lists none, while the old version's poster stays served", async () => {
    const poster = webp(4000, 73);
    const first = await publishTitle("poster-dropped", { change: { "poster.webp": poster }, register: { poster: "poster.webp" } });
    expect((await entry("poster-dropped"))?.posterUrl).toBeDefined();
    // The same files, no poster: a new version (a version's poster never changes under its URL).
    const second = await publishTitle("poster-dropped", { change: { "poster.webp": poster } });
    expect(second.version).toBe(first.version + 1);
    const listed = await entry("poster-dropped");
    expect(listed).toBeDefined();
    expect(listed?.posterUrl).toBeUndefined();
    const old = await call(`/v1/titles/poster-dropped/poster/${first.version}`);
    expect(old.status).toBe(200);
    expect(old.headers.get("Content-Type")).toBe("image/webp");
    const none = await call(`/v1/titles/poster-dropped/poster/${second.version}`);
    expect(none.status).toBe(404);
    expect(((await none.json()) as ErrorBody).error.code).toBe("no_poster");
  });

  it("is 404 once the title is taken down", async () => {
    const t = await publishTitle("poster-down", { change: { "poster.jpg": jpeg(2000, 74) }, register: { poster: "poster.jpg" } });
    const url = `/v1/titles/poster-down/poster/${t.version}`;
    expect((await call(url)).status).toBe(200);
    expect((await call("/admin/titles/poster-down", { method: "DELETE", headers: ADMIN })).status).toBe(200);
    const gone = await call(url);
    expect(gone.status).toBe(404);
    expect(gone.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(((await gone.json()) as ErrorBody).error.code).toBe("unknown_title");
    // Also when its poster is in this colo's cache already, and for a conditional request.
    expect((await call(url, { headers: { "If-None-Match": `"${t.sha["poster.jpg"]}"` } })).status).toBe(404);
    expect((await entry("poster-down"))?.posterUrl).toBeUndefined();
  });
});

describe("a registration's poster", () => {
  const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);

  it("over 2 MiB, not among the files, or at another path is refused with 400 invalid_poster, and nothing is stored", async () => {
    const TITLE = "poster-refused";
    const sha = await sha256Hex(PNG);
    const base = {
      name: "Refused",
      durationS: 8,
      renditions: [{ id: "avc-240p", kind: "video", codec: "avc1.64001e", width: 426, height: 240, bandwidth: 400000 }],
      licences: [{ country: "US", availableFrom: "2020-01-01T00:00:00.000Z" }],
    };
    const segment = { path: "video/avc-240p/seg-00001.m4s", bytes: 3, sha256: "a".repeat(64) };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ files: [segment, { path: "poster.png", bytes: 2 * 1024 * 1024 + 1, sha256: sha }], poster: "poster.png" }, /2097153 bytes: at most 2097152 \(2 MiB\)/],
      [{ files: [segment, { path: "poster.png", bytes: 7, sha256: sha }], poster: "poster.jpg" }, /not among the registration's files/],
      [{ files: [segment, { path: "art/poster.png", bytes: 7, sha256: sha }], poster: "art/poster.png" }, /poster\.jpg, poster\.png, poster\.webp/],
      [{ files: [segment, { path: "poster.gif", bytes: 7, sha256: sha }], poster: "poster.gif" }, /poster\.jpg, poster\.png, poster\.webp/],
      [{ files: [segment], poster: "video/avc-240p/seg-00001.m4s" }, /must be at poster\.jpg/],
    ];
    for (const [over, message] of cases) {
      const res = await register(TITLE, { ...base, ...over });
      const body = (await res.json()) as ErrorBody;
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(body.error.code).toBe("invalid_poster");
      expect(body.error.message).toMatch(message);
    }
    expect(await claimedVersions(TITLE)).toBe(0);
    expect((await call(`/admin/titles/${TITLE}`, { headers: ADMIN })).status).toBe(404);
  });

  it("whose bytes are not the image its name says is refused with 400 invalid_poster, and nothing is stored", async () => {
    await expect(publishTitle("poster-not-jpeg", { change: { "poster.jpg": png(64, 8) }, register: { poster: "poster.jpg" } })).rejects.toThrow(
      /: 400 .*"invalid_poster".*poster\.jpg is not a JPEG image/,
    );
    await expect(publishTitle("poster-not-webp", { change: { "poster.webp": patternBytes(64, 9) }, register: { poster: "poster.webp" } })).rejects.toThrow(
      /not a WebP image/,
    );
    expect(await claimedVersions("poster-not-jpeg")).toBe(0);
    // The right bytes under the right name are taken.
    const t = await publishTitle("poster-png", { change: { "poster.png": png(64, 10) }, register: { poster: "poster.png" } });
    expect((await entry("poster-png"))?.posterUrl).toBe(`http://cdn.test/v1/titles/poster-png/poster/${t.version}`);
  });

  it("refused on a re-publish leaves the version as it was", async () => {
    const t = await publishTitle("poster-kept", { change: { "poster.jpg": jpeg(1000, 75) }, register: { poster: "poster.jpg" } });
    await expect(publishTitle("poster-kept", { change: { "poster.jpg": jpeg(1000, 75) }, register: { poster: "master.m3u8" } })).rejects.toThrow(
      /: 400 .*"invalid_poster"/,
    );
    expect(await claimedVersions("poster-kept")).toBe(t.version);
    expect((await entry("poster-kept"))?.posterUrl).toBe(`http://cdn.test/v1/titles/poster-kept/poster/${t.version}`);
  });
});

describe("the poster route", () => {
  it("answers bad ids and versions with 400 and unknown ones with 404, in the one JSON error shape", async () => {
    const t = await publishTitle("poster-ids", { change: { "poster.jpg": jpeg(1000, 76) }, register: { poster: "poster.jpg" } });
    const cases: Array<[string, number, string]> = [
      ["/v1/titles/__proto__/poster/1", 400, "invalid_request"],
      ["/v1/titles/bad%20id/poster/1", 400, "invalid_request"],
      [`/v1/titles/poster-ids/poster/0`, 400, "invalid_request"],
      [`/v1/titles/poster-ids/poster/01`, 400, "invalid_request"],
      [`/v1/titles/poster-ids/poster/1e3`, 400, "invalid_request"],
      [`/v1/titles/poster-ids/poster/${"9".repeat(12)}`, 400, "invalid_request"],
      ["/v1/titles/poster-nobody/poster/1", 404, "unknown_title"],
      [`/v1/titles/poster-ids/poster/${t.version + 1}`, 404, "no_poster"],
    ];
    for (const [path, status, code] of cases) {
      const res = await call(path);
      expect(res.status, path).toBe(status);
      expect(res.headers.get("Content-Type"), path).toMatch(/^application\/json/);
      expect(((await res.json()) as ErrorBody).error.code, path).toBe(code);
    }
  });

  it("holds an address to 120 lookups a minute of titles the isolate has not seen (each a D1 read), never posters it knows", async () => {
    const t = await publishTitle("poster-known", { change: { "poster.jpg": jpeg(1000, 77) }, register: { poster: "poster.jpg" } });
    const from = (ip: string) => ({ "CF-Connecting-IP": ip });
    // Seen by this isolate once (from another address): the title's view is held from then on.
    expect((await call(`/v1/titles/poster-known/poster/${t.version}`, { headers: from("198.51.100.9") })).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 125; i++) statuses.push((await call(`/v1/titles/made-up-${i}/poster/1`, { headers: from("198.51.100.7") })).status);
    expect(statuses.slice(0, 120).every((s) => s === 404)).toBe(true);
    expect(statuses.slice(120)).toEqual([429, 429, 429, 429, 429]);
    // The same address still gets a poster the isolate knows; another address is not held.
    const known = await call(`/v1/titles/poster-known/poster/${t.version}`, { headers: from("198.51.100.7") });
    expect(known.status).toBe(200);
    expect((await call("/v1/titles/made-up-other/poster/1", { headers: from("198.51.100.8") })).status).toBe(404);
  });

  it("needs no member token, and a title without a poster lists no posterUrl", async () => {
    await publishTitle("poster-none");
    expect((await entry("poster-none"))?.posterUrl).toBeUndefined();
    const res = await call("/v1/titles/poster-none/poster/1");
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error.code).toBe("no_poster");
  });
});

describe("the poster over HTTP, answered as an OCA's file is", () => {
  it("answers HEAD with a GET's headers and no body, cold and from the colo cache", async () => {
    const poster = jpeg(3000, 78);
    const t = await publishTitle("poster-head", { change: { "poster.jpg": poster }, register: { poster: "poster.jpg" } });
    const url = `http://cdn.test/v1/titles/poster-head/poster/${t.version}`;
    for (const cache of ["MISS", "HIT"]) {
      const { res, body } = await getCountingOrigin(url, {}, "HEAD");
      expect(res.status, cache).toBe(200);
      expect(body.byteLength, cache).toBe(0);
      expect(res.headers.get("X-Cache")).toBe(cache);
      expect(res.headers.get("Content-Length"), cache).toBe("3000");
      expect(res.headers.get("Content-Type"), cache).toBe("image/jpeg");
      expect(res.headers.get("ETag"), cache).toBe(`"${t.sha["poster.jpg"]}"`);
      expect(res.headers.get("Accept-Ranges"), cache).toBe("bytes");
      expect(res.headers.get("Cache-Control"), cache).toBe("public, max-age=31536000, immutable");
    }
  });

  it("answers one byte range with 206 and that slice, cold and from the colo cache, and a range past the end with 416", async () => {
    const poster = png(5000, 79);
    const t = await publishTitle("poster-range", { change: { "poster.png": poster }, register: { poster: "poster.png" } });
    const url = `http://cdn.test/v1/titles/poster-range/poster/${t.version}`;
    for (const cache of ["MISS", "HIT"]) {
      const { res, body, calls } = await getCountingOrigin(url, { Range: "bytes=100-199" });
      expect(res.status, cache).toBe(206);
      expect(res.headers.get("X-Cache")).toBe(cache);
      expect(res.headers.get("Content-Range"), cache).toBe("bytes 100-199/5000");
      expect(res.headers.get("Content-Length"), cache).toBe("100");
      expect(body, cache).toEqual(poster.slice(100, 200));
      // The cold one fills the colo cache with the whole image; the warm one reads no R2 at all.
      if (cache === "HIT") expect(calls).toEqual([]);
    }
    const tail = await call(url, { headers: { Range: "bytes=-10" } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get("Content-Range")).toBe("bytes 4990-4999/5000");
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(poster.slice(4990));

    const past = await call(url, { headers: { Range: "bytes=5000-" } });
    expect(past.status).toBe(416);
    expect(past.headers.get("Content-Range")).toBe("bytes */5000");
    // An answer to that request's range, not the image: no cache may keep it for a year.
    expect(past.headers.get("Cache-Control")).toBe("no-store");
    expect(((await past.json()) as ErrorBody).error.code).toBe("range_not_satisfiable");

    // If-Range naming another image: the range does not apply, the whole image comes.
    const other = await call(url, { headers: { Range: "bytes=0-9", "If-Range": '"other"' } });
    expect(other.status).toBe(200);
    expect(new Uint8Array(await other.arrayBuffer())).toEqual(poster);
  });

  it("answers a matching If-None-Match with 304 cold and from the colo cache, HEAD too, and a tag that does not match with the image", async () => {
    const poster = webp(2500, 80);
    const t = await publishTitle("poster-inm", { change: { "poster.webp": poster }, register: { poster: "poster.webp" } });
    const url = `http://cdn.test/v1/titles/poster-inm/poster/${t.version}`;
    const etag = `"${t.sha["poster.webp"]}"`;
    // Before any read (so not in the colo cache), then after a GET put it there.
    for (const cache of ["cold", "warm"]) {
      if (cache === "warm") expect((await getCountingOrigin(url)).res.status).toBe(200);
      const { res, body } = await getCountingOrigin(url, { "If-None-Match": etag });
      expect(res.status, cache).toBe(304);
      expect(body.byteLength, cache).toBe(0);
      expect(res.headers.get("ETag"), cache).toBe(etag);
      expect(res.headers.get("Cache-Control"), cache).toBe("public, max-age=31536000, immutable");
    }
    const head = await call(url, { method: "HEAD", headers: { "If-None-Match": `W/${etag}` } });
    expect(head.status).toBe(304);
    const miss = await call(url, { headers: { "If-None-Match": '"other"' } });
    expect(miss.status).toBe(200);
    expect(new Uint8Array(await miss.arrayBuffer())).toEqual(poster);
    // If-Match naming another image fails, as for an OCA's file.
    expect((await call(url, { headers: { "If-Match": '"other"' } })).status).toBe(412);
  });
});
