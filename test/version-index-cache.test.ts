import { describe, expect, it } from "vitest";
import type { VersionIndex } from "../shared/title-version";
import { VersionIndexCache } from "../workers/shared/version-index";

/**
 * The isolate's kept title version indexes (pure): bounded by their files, not only their number, as
 * one long title's index holds thousands of files.
 */

const indexOf = (titleId: string, files: number): VersionIndex => ({
  titleId,
  version: 1,
  files: new Map(Array.from({ length: files }, (_, i) => [`v/seg-${i}.m4s`, { sha256: "0".repeat(64), bytes: 1 }])),
});

describe("kept title version indexes", () => {
  it("drop the least recently used once their files pass the bound, however few they are", () => {
    const cache = new VersionIndexCache(512, 10_000);
    cache.set("a", indexOf("a", 4_000));
    cache.set("b", indexOf("b", 4_000));
    expect(cache.get("a")?.titleId).toBe("a"); // now b is the least recently used
    cache.set("c", indexOf("c", 4_000));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")?.titleId).toBe("a");
    expect(cache.get("c")?.titleId).toBe("c");
    expect(cache.size()).toEqual({ indexes: 2, files: 8_000 });
  });

  it("drop the least recently used past their number, and count an index set again once", () => {
    const cache = new VersionIndexCache(2, 10_000);
    cache.set("a", indexOf("a", 10));
    cache.set("a", indexOf("a", 20));
    cache.set("b", indexOf("b", 10));
    cache.set("c", indexOf("c", 10));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size()).toEqual({ indexes: 2, files: 20 });
  });

  it("do not keep an index larger than the whole bound, nor drop the others for it", () => {
    const cache = new VersionIndexCache(512, 10_000);
    cache.set("a", indexOf("a", 100));
    cache.set("huge", indexOf("huge", 10_001));
    expect(cache.get("huge")).toBeUndefined();
    expect(cache.get("a")?.titleId).toBe("a");
    expect(cache.size()).toEqual({ indexes: 1, files: 100 });
  });
});
