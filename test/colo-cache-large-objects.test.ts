import { beforeAll, describe, expect, it } from "vitest";
import { COLO_CACHE_MAX_BYTES } from "../workers/shared/colo-cache";
import { COLO_TEE_MAX_BYTES } from "../workers/edge/colo-cache";
import { getCounted } from "./tier-calls";
import { fill, GEO, memberToken, patternBytes, pressPlay, publishTitle, type FixtureTitle, type PlayResponse } from "./fixtures";

/**
 * Large objects and the colo cache. A cold miss tees its body to the viewer and the cache, and a tee
 * keeps in memory whatever the slower side has not read yet (a viewer on a slow link: up to the whole
 * object) in an isolate of 128 MB, so a large object goes to the viewer alone and the cache reads its
 * own copy; one past what the Cache API keeps is never read whole for it. The tier bucket binding is
 * wrapped by a proxy that counts the R2 calls a request makes (R2 does not count its own).
 */

const TITLE = "colo-large-title";
const BIG = "video/avc-720p/seg-00002.m4s";
const HUGE = "video/avc-720p/seg-00003.m4s";
let t: FixtureTitle;
let play: PlayResponse;

beforeAll(async () => {
  const enc = new TextEncoder();
  const playlist = `#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4,\nseg-00001.m4s\n#EXTINF:4,\nseg-00002.m4s\n#EXTINF:4,\nseg-00003.m4s\n#EXT-X-ENDLIST\n`;
  t = await publishTitle(TITLE, {
    change: {
      "video/avc-720p/index.m3u8": enc.encode(playlist),
      [BIG]: patternBytes(COLO_TEE_MAX_BYTES + 1024, 91),
      [HUGE]: patternBytes(4096, 92),
    },
  });
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
  play = (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, GEO.lumenNyc)).json()) as PlayResponse;
  expect(play.ocas[0].ocaId).toBe("lumen-nyc-1");
});

describe("large objects and the colo cache", () => {
  it("sends an object larger than a tee may hold to the viewer alone, and fills the cache from a read of its own", async () => {
    const first = await getCounted(`${play.ocas[0].url}${BIG}`);
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get("X-Cache")).toBe("MISS");
    expect(Buffer.from(first.body).equals(Buffer.from(t.files[BIG]))).toBe(true);
    // One whole read for the viewer, one for the cache (a tee would have made one, holding the rest in memory).
    expect(first.wholeReads).toBe(2);

    const again = await getCounted(`${play.ocas[0].url}${BIG}`);
    expect(again.res.headers.get("X-Cache")).toBe("HIT");
    expect(again.calls).toEqual([]);
    expect(Buffer.from(again.body).equals(Buffer.from(t.files[BIG]))).toBe(true);
  });

  it("still tees an object up to the bound: one R2 read serves the viewer and fills the cache", async () => {
    const path = "video/avc-720p/seg-00001.m4s";
    const first = await getCounted(`${play.ocas[0].url}${path}`);
    expect(first.res.headers.get("X-Cache")).toBe("MISS");
    expect(first.wholeReads).toBe(1);
    expect((await getCounted(`${play.ocas[0].url}${path}`)).res.headers.get("X-Cache")).toBe("HIT");
  });

  it("never reads an object past the Cache API's limit whole for the cache when ranges of it are asked for", async () => {
    // R2's reported size is the one thing mocked: a test cannot store an object of 512 MB. Its ranges
    // are still answered from the real (small) object, so only the first bytes are asked for.
    const huge = (key: string) => (key.endsWith("seg-00003.m4s") ? COLO_CACHE_MAX_BYTES + 1 : undefined);
    for (let i = 0; i < 2; i++) {
      const ranged = await getCounted(`${play.ocas[0].url}${HUGE}`, { Range: "bytes=0-99" }, huge);
      expect(ranged.res.status).toBe(206);
      expect(ranged.res.headers.get("X-Cache")).toBe("MISS");
      expect(ranged.res.headers.get("Content-Range")).toBe(`bytes 0-99/${COLO_CACHE_MAX_BYTES + 1}`);
      expect(Buffer.from(ranged.body).equals(Buffer.from(t.files[HUGE].subarray(0, 100)))).toBe(true);
      expect(ranged.wholeReads).toBe(0);
    }
  });
});
