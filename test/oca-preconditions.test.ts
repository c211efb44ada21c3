import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { r2Representation, RepresentationChanged, serveRepresentation } from "../workers/shared/representation";
import { call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

const SIZE = 50_000;
let seg: string;
let etag: string;
let lastModified: string;

beforeAll(async () => {
  await publishTitle("precond-title", { segmentBytes: SIZE });
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: ["precond-title"] }])).status).toBe(200);
  const p = (await (await pressPlay(await memberToken("premium", "precond-viewer"), { titleId: "precond-title" }, GEO.lumenNyc)).json()) as PlayResponse;
  seg = `${p.ocas.find((o) => o.ocaId === "lumen-nyc-1")!.url}video/avc-480p/seg-00001.m4s`;
  const res = await call(seg, { method: "HEAD" });
  etag = res.headers.get("ETag")!;
  lastModified = res.headers.get("Last-Modified")!;
  expect(etag).toMatch(/^"/);
  expect(Date.parse(lastModified)).not.toBeNaN();
});

const get = (headers: Record<string, string>, method = "GET") => call(seg, { method, headers });
const later = () => new Date(Date.parse(lastModified) + 60_000).toUTCString();
const earlier = () => new Date(Date.parse(lastModified) - 60_000).toUTCString();

describe("conditional requests on an OCA (RFC 9110 section 13)", () => {
  it("answers If-Modified-Since with 304 when the file is not newer, and with the file when it is", async () => {
    const same = await get({ "If-Modified-Since": lastModified });
    expect(same.status).toBe(304);
    expect(same.headers.get("ETag")).toBe(etag);
    expect(await same.text()).toBe("");
    expect((await get({ "If-Modified-Since": later() })).status).toBe(304);
    const newer = await get({ "If-Modified-Since": earlier() });
    expect(newer.status).toBe(200);
    expect((await newer.arrayBuffer()).byteLength).toBe(SIZE);
  });

  it("ignores If-Modified-Since when If-None-Match is present, or when it is not a date", async () => {
    const res = await get({ "If-None-Match": '"something-else"', "If-Modified-Since": later() });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(SIZE);
    expect((await get({ "If-Modified-Since": "yesterday-ish" })).status).toBe(200);
  });

  it("refuses a failed If-Match with 412 in the error shape, and serves a matching one", async () => {
    const res = await get({ "If-Match": '"not-the-etag"' });
    expect(res.status).toBe(412);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("precondition_failed");
    expect((await get({ "If-Match": `W/${etag}` })).status).toBe(412); // weak tags never match strongly
    const ok = await get({ "If-Match": etag, Range: "bytes=0-9" });
    expect(ok.status).toBe(206);
    expect((await ok.arrayBuffer()).byteLength).toBe(10);
    expect((await get({ "If-Match": "*" })).status).toBe(200);
  });

  it("refuses a failed If-Unmodified-Since with 412, unless If-Match decides", async () => {
    expect((await get({ "If-Unmodified-Since": earlier() })).status).toBe(412);
    expect((await get({ "If-Unmodified-Since": later() })).status).toBe(200);
    expect((await get({ "If-Unmodified-Since": earlier(), "If-Match": etag })).status).toBe(200);
    expect((await get({ "If-Unmodified-Since": earlier() }, "HEAD")).status).toBe(412);
  });

  it("ignores a date field that is not an HTTP-date, and takes all three forms of one", async () => {
    // Date.parse reads "1" and "2099" as years: neither is an HTTP-date (RFC 9110 §5.6.7), so both are ignored.
    expect((await get({ "If-Unmodified-Since": "1" })).status).toBe(200);
    expect((await get({ "If-Modified-Since": "2099" })).status).toBe(200);
    const ranged = await get({ Range: "bytes=0-9", "If-Range": "2099" });
    expect(ranged.status).toBe(200); // an If-Range that does not hold sends the whole file
    expect((await ranged.arrayBuffer()).byteLength).toBe(SIZE);
    const t = new Date(lastModified);
    const day = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"][t.getUTCDay()];
    const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][t.getUTCMonth()];
    const hms = t.toISOString().slice(11, 19);
    const dd = String(t.getUTCDate()).padStart(2, "0");
    const rfc850 = `${day}, ${dd}-${month}-${String(t.getUTCFullYear()).slice(2)} ${hms} GMT`;
    const asctime = `${day.slice(0, 3)} ${month} ${String(t.getUTCDate()).padStart(2, " ")} ${hms} ${t.getUTCFullYear()}`;
    for (const date of [lastModified, rfc850, asctime]) expect((await get({ "If-Modified-Since": date })).status, date).toBe(304);
  });
});

describe("a file that changes while it is served", () => {
  it("never sends new bytes under the old validators", async () => {
    const key = "changing/file.bin";
    await env.ORIGIN.put(key, new Uint8Array(1000).fill(1));
    const head = (await env.ORIGIN.head(key))!;
    const rep = r2Representation(env.ORIGIN, key, head, "application/octet-stream", "no-store");
    await env.ORIGIN.put(key, new Uint8Array(1000).fill(2)); // re-published between lookup and read
    expect(await rep.body()).toBeNull();
    expect(await rep.body({ offset: 0, length: 10 })).toBeNull();
    await expect(serveRepresentation(new Request("http://x/"), rep)).rejects.toBeInstanceOf(RepresentationChanged);
    await expect(serveRepresentation(new Request("http://x/", { headers: { Range: "bytes=0-9" } }), rep)).rejects.toBeInstanceOf(RepresentationChanged);
    // Unchanged, the same path serves the bytes with one consistent set of validators.
    const fresh = r2Representation(env.ORIGIN, key, (await env.ORIGIN.head(key))!, "application/octet-stream", "no-store");
    const res = await serveRepresentation(new Request("http://x/", { headers: { Range: "bytes=0-9" } }), fresh);
    expect(res.status).toBe(206);
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual(new Array(10).fill(2));
  });
});
