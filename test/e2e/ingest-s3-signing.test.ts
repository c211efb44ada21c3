import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { publishTitle, type TitleRegistration } from "../../ingest/publish";
import { originKey } from "../../shared/file-keys";
import { EMPTY_SHA256, encodeRfc3986, objectUrl, r2Endpoint, s3CredentialsFromEnv, signedPut, signV4 } from "../../ingest/s3";

// The examples of "Signature Version 4 signing: examples using the Authorization header" in the
// Amazon S3 documentation (AKIAIOSFODNN7EXAMPLE, 24 May 2013, us-east-1).
const AWS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1" };
const DATE = new Date("2013-05-24T00:00:00Z");

describe("uploading to R2 through its S3 API (signing and URLs, no network)", () => {
  it("signs GET Object exactly as the AWS documentation's example", () => {
    const s = signV4({
      method: "GET",
      url: "https://examplebucket.s3.amazonaws.com/test.txt",
      headers: { Range: "bytes=0-9" },
      payloadHash: EMPTY_SHA256,
      credentials: AWS,
      date: DATE,
    });
    expect(s.headers.authorization).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
  });

  it("signs PUT Object (a key that needs encoding, extra headers) as the AWS documentation's example", () => {
    const body = "Welcome to Amazon S3.";
    const hash = createHash("sha256").update(body).digest("hex");
    expect(hash).toBe("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    const s = signV4({
      method: "PUT",
      url: `https://examplebucket.s3.amazonaws.com/${encodeRfc3986("test$file.text")}`,
      headers: { Date: "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY" },
      payloadHash: hash,
      credentials: AWS,
      date: DATE,
    });
    expect(s.canonicalRequest.split("\n")[1]).toBe("/test%24file.text");
    expect(s.signature).toBe("98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  });

  it("signs a listing with a sorted, encoded query string as the AWS documentation's example", () => {
    const s = signV4({
      method: "GET",
      url: "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
      headers: {},
      payloadHash: EMPTY_SHA256,
      credentials: AWS,
      date: DATE,
    });
    expect(s.signature).toBe("34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  });

  it("builds path-style R2 object URLs and signs each title file with its SHA-256 and region auto", () => {
    const c = { accessKeyId: "k", secretAccessKey: "s", endpoint: r2Endpoint("0123abcd"), bucket: "vcdn-origin", region: "auto" };
    expect(objectUrl(c, "orbit-city/video/avc-720p/seg-00001.m4s")).toBe(
      "https://0123abcd.r2.cloudflarestorage.com/vcdn-origin/orbit-city/video/avc-720p/seg-00001.m4s",
    );
    expect(objectUrl(c, "t/a b/c(1)*.vtt")).toBe("https://0123abcd.r2.cloudflarestorage.com/vcdn-origin/t/a%20b/c%281%29%2A.vtt");
    expect(() => r2Endpoint("evil.example/x")).toThrow();
    const sha = "a".repeat(64);
    const put = signedPut(c, "orbit-city/master.m3u8", { bytes: 123, sha256: sha, contentType: "application/vnd.apple.mpegurl" }, DATE);
    expect(put.headers["x-amz-content-sha256"]).toBe(sha);
    expect(put.headers["x-amz-meta-sha256"]).toBe(sha);
    expect(put.headers["content-length"]).toBe("123");
    expect(put.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=k\/20130524\/auto\/s3\/aws4_request,SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-sha256,Signature=[0-9a-f]{64}$/,
    );
    // the payload hash is the last line of the canonical request: R2 checks the bytes against it
    expect(put.canonicalRequest.split("\n").pop()).toBe(sha);
  });

  it("reads credentials from the environment, or none", () => {
    expect(s3CredentialsFromEnv({})).toBeNull();
    expect(s3CredentialsFromEnv({ R2_ACCOUNT_ID: "abc123", R2_ACCESS_KEY_ID: "id", R2_SECRET_ACCESS_KEY: "secret" })).toEqual({
      accessKeyId: "id",
      secretAccessKey: "secret",
      sessionToken: undefined,
      endpoint: "https://abc123.r2.cloudflarestorage.com",
      bucket: "vcdn-origin",
      region: "auto",
    });
  });

  it("publishes media to the bucket and registers through the admin API, in that order", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "ingest-s3-"));
    try {
      const files = { "video/avc-90p/seg-00001.m4s": "segment", "video/avc-90p/index.m3u8": "#EXTM3U\n", "master.m3u8": "#EXTM3U\n#master\n" };
      const entries: Array<{ path: string; bytes: number; sha256: string }> = [];
      for (const [p, text] of Object.entries(files)) {
        const full = path.join(dir, ...p.split("/"));
        await mkdir(path.dirname(full), { recursive: true });
        await writeFile(full, text);
        entries.push({ path: p, bytes: Buffer.byteLength(text), sha256: createHash("sha256").update(text).digest("hex") });
      }
      const calls: Array<{ method: string; url: string; headers: Record<string, string>; body?: string }> = [];
      const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
        const url = String(input);
        let body: string | undefined;
        if (init?.body instanceof ReadableStream) body = await new Response(init.body).text();
        else if (typeof init?.body === "string") body = init.body;
        calls.push({ method: init?.method ?? "GET", url, headers: Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>)), body });
        if (url.endsWith("/admin/origin/t1"))
          return Response.json({ titleId: "t1", files: [{ path: "video/avc-90p/seg-00001.m4s", bytes: 1, sha256: "0".repeat(64) }] });
        if (url.includes("/admin/titles/")) return Response.json({ titleId: "t1" });
        return new Response(null, { status: 200 });
      }) as typeof fetch;
      const s3 = { accessKeyId: "id", secretAccessKey: "secret", endpoint: "https://acct.r2.cloudflarestorage.com", bucket: "vcdn-origin", region: "auto" };
      const registration = {
        name: "T1",
        durationS: 1,
        encoding: { reason: "test", ladder: [] },
        renditions: [],
        files: entries,
        licences: [],
      } as unknown as TitleRegistration;
      const r = await publishTitle({ baseUrl: "https://cdn.example", adminToken: "tok", s3, fetch: fakeFetch, concurrency: 1 }, "t1", dir, registration);
      expect(r).toMatchObject({ uploaded: 3, skipped: 0, via: "s3", registered: true });
      const puts = calls.filter((c) => c.url.startsWith("https://acct.r2.cloudflarestorage.com/"));
      // media first, then the media playlist, then the multivariant playlist
      // each under its content key (a tag of its SHA-256), so a re-publish never overwrites bytes a session may still read
      const key = (p: string) => originKey("t1", p, entries.find((e) => e.path === p)!.sha256);
      expect(puts.map((c) => c.url.replace("https://acct.r2.cloudflarestorage.com/vcdn-origin/", ""))).toEqual([
        key("video/avc-90p/seg-00001.m4s"),
        key("video/avc-90p/index.m3u8"),
        key("master.m3u8"),
      ]);
      for (const p of puts) {
        const e = entries.find((x) => p.url.endsWith(x.path))!;
        expect(p.body).toBe(files[e.path as keyof typeof files]);
        expect(p.headers["x-amz-content-sha256"]).toBe(e.sha256);
        expect(p.headers.authorization).toContain("/auto/s3/aws4_request");
        expect(p.headers.host).toBeUndefined();
      }
      const last = calls[calls.length - 1];
      expect(last.method).toBe("PUT");
      expect(last.url).toBe("https://cdn.example/admin/titles/t1");
      expect(last.headers.Authorization).toBe("Bearer tok");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
