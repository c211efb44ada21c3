import { describe, expect, it } from "vitest";
import { originKey } from "../shared/file-keys";
import { call, publishTitle } from "./fixtures";

// The dev-only routes `npm run bench:play` measures against (404 unless DEV_MODE, which the test
// Worker sets): what each baseline does must be what the README says it does.

type ErrorBody = { error: { code: string } };

describe("the benchmark's bare R2 route", () => {
  it("answers an origin object's bytes whole, with its length and type, and nothing else", async () => {
    const t = await publishTitle("bench-bare-r2");
    const path = "video/avc-480p/seg-00001.m4s";
    const res = await call(`/v1/dev/bench/r2/${originKey(t.titleId, path, t.sha[path])}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe(String(t.files[path].byteLength));
    expect(res.headers.get("Content-Type")).toBe("video/iso.segment");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(t.files[path]);
    // No OCA headers: it is not the data plane.
    expect(res.headers.get("X-OCA")).toBeNull();
  });

  it("refuses what is not an origin key, and says which object is missing", async () => {
    const t = await publishTitle("bench-bare-r2-bad");
    const bad = await call("/v1/dev/bench/r2/bench-bare-r2-bad/..%2F..%2Fsecret");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).error.code).toBe("bad_path");
    const malformed = await call("/v1/dev/bench/r2/bench-bare-r2-bad/%E0%A4%A");
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as ErrorBody).error.code).toBe("bad_path");
    // The rules the planes check: a safe title id, a 16-hex tag, a safe path of at most 8 segments.
    const valid = originKey(t.titleId, "video/avc-480p/seg-00001.m4s", "0".repeat(64));
    const tag = valid.split("/")[1];
    for (const key of [
      `__proto__/${tag}/video/avc-480p/seg-00001.m4s`,
      `bench-bare-r2-bad/${tag}0/video/avc-480p/seg-00001.m4s`,
      `bench-bare-r2-bad/${tag}/video/a..b/seg-00001.m4s`,
      `bench-bare-r2-bad/${tag}/${"a/".repeat(8)}seg-00001.m4s`,
    ]) {
      const res = await call(`/v1/dev/bench/r2/${key}`);
      expect(res.status, key).toBe(400);
      expect(((await res.json()) as ErrorBody).error.code, key).toBe("bad_path");
    }
    const missing = await call(`/v1/dev/bench/r2/${originKey(t.titleId, "video/avc-480p/seg-09999.m4s", "0".repeat(64))}`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as ErrorBody).error.code).toBe("not_found");
  });
});
