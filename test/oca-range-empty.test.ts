import { describe, expect, it } from "vitest";
import { decideRange } from "../workers/shared/range";
import { serveRepresentation, textRepresentation } from "../workers/shared/representation";

/**
 * RFC 9110 §14.1.1: "When a selected representation has zero length, the only satisfiable form of
 * range-spec is a suffix-range with a non-zero suffix-length." Such a range cannot be written as a
 * Content-Range (there is no last byte), so the answer is the whole (empty) representation with 200,
 * never a 416 the player takes for an error.
 */
describe("a Range on a zero-length file", () => {
  const empty = () => textRepresentation("", '"d41d8cd98f00b204e9800998ecf8427e"', "text/vtt; charset=utf-8", "public, max-age=31536000, immutable");
  const get = (range: string) => new Request("http://cdn.test/x", { headers: { Range: range } });

  it("answers a non-zero suffix range with 200 and the empty body, not 416", async () => {
    expect(decideRange("bytes=-5", 0).kind).toBe("full");
    const res = await serveRepresentation(get("bytes=-5"), empty());
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe("0");
    expect(res.headers.get("Content-Range")).toBeNull();
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it("still finds a first byte (bytes=0-) or a zero suffix unsatisfiable: 416 with bytes */0", async () => {
    for (const range of ["bytes=0-", "bytes=0-0", "bytes=-0"]) {
      const res = await serveRepresentation(get(range), empty());
      expect(res.status, range).toBe(416);
      expect(res.headers.get("Content-Range"), range).toBe("bytes */0");
    }
  });
});
