import { fromCmcdHeaders, fromCmcdQuery } from "@svta/cml-cmcd";
import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import type { CmcdMode } from "../client/cmcd";
import { SegmentFetcher } from "../client/fetcher";
import { PlaySession } from "../client/session";
import type { FetchLike } from "../client/types";
import { fakeAnswer, fakePlay } from "./client-fixtures";

const ok = (body: string | Uint8Array) => fakeAnswer(200, body, { "X-OCA": "s/a" });

// CMCD on the SDK's own requests, read back with @svta/cml-cmcd's decoder (what an OCA or a CDN log
// parser does). The OCA is a scripted fetch serving a 5-segment title of 1 s segments; one segment
// arrives late on purpose, so the headless player stalls once.

const MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\nvideo/v1/index.m3u8\n";
const INDEX = `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MAP:URI="init.mp4"\n${[1, 2, 3, 4, 5].map((i) => `#EXTINF:1,\nseg-0000${i}.m4s\n`).join("")}#EXT-X-ENDLIST\n`;
const LATE = "seg-00003.m4s";

interface Sent {
  path: string;
  cmcd: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Plays the title headless with CMCD in `mode`; returns every request as sent. */
async function play(mode: CmcdMode | false): Promise<{ sent: Sent[]; stalls: number; session: PlaySession }> {
  const sent: Sent[] = [];
  const fetch: FetchLike = async (url, init) => {
    const u = new URL(url);
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const path = u.pathname.replace(/^\/oca\/s\/a\/t\/1\//, "");
    sent.push({ path, cmcd: { ...fromCmcdQuery(u.searchParams), ...fromCmcdHeaders(headers) }, headers });
    if (path === "master.m3u8") return ok(MASTER);
    if (path === "video/v1/index.m3u8") return ok(INDEX);
    if (path.endsWith(LATE)) await new Promise((r) => setTimeout(r, 2_500));
    return ok(new Uint8Array(path.endsWith(".m4s") ? 40_000 : 500));
  };
  const client = { fetch, sendEvents: async () => {}, requestPlay: async () => fakePlay(["a"]) } as unknown as VcdnClient;
  const session = new PlaySession(client, fakePlay(["a"]), { flushIntervalMs: 3_600_000, reprobeIntervalMs: 0, pollSteering: false, cmcd: mode });
  const st = await new SegmentFetcher(session, { targetBufferS: 1.5, tickMs: 20 }).run();
  expect(st.phase).toBe("ended");
  return { sent, stalls: st.stalls.length, session };
}

const segs = (sent: Sent[]) => sent.filter((s) => s.path.endsWith(".m4s"));

describe("the SDK's CMCD", () => {
  it("names the session, title, object, rung, buffer and throughput on every request, and flags the start-up", async () => {
    const { sent } = await play("query");
    expect(sent.map((s) => s.path)).toEqual([
      "master.m3u8",
      "video/v1/index.m3u8",
      "video/v1/init.mp4",
      ...[1, 2, 3, 4, 5].map((i) => `video/v1/seg-0000${i}.m4s`),
    ]);
    for (const s of sent) expect(s.cmcd, s.path).toMatchObject({ sid: "sess", cid: "t", sf: "h", st: "v" });
    expect(sent[0].cmcd.ot).toBe("m");
    expect(sent[2].cmcd).toMatchObject({ ot: "i", br: 3000 });
    const [first, second] = segs(sent);
    expect(first.cmcd).toMatchObject({ ot: "v", br: 3000, tb: 3000, d: 1000, bl: 0, su: true });
    // Once the first segment played in, the next request says how much is buffered and what throughput was measured.
    expect(second.cmcd.su).toBeUndefined();
    expect(second.cmcd.bl).toBeGreaterThan(0);
    expect(second.cmcd.bl as number).toBeLessThanOrEqual(1000);
    expect((second.cmcd.bl as number) % 100).toBe(0);
    expect(second.cmcd.mtp).toBeGreaterThan(0);
    expect((second.cmcd.mtp as number) % 100).toBe(0);
  }, 20_000);

  it("flags a stall (bs) on the next video request after it, once", async () => {
    const { sent, stalls } = await play("query");
    expect(stalls).toBe(1);
    const flags = segs(sent).map((s) => [s.path.slice(-13), s.cmcd.bs === true, s.cmcd.su === true]);
    // The late segment (3) was requested before the stall; segment 4, requested while stalled, carries it.
    expect(flags).toEqual([
      ["seg-00001.m4s", false, true],
      ["seg-00002.m4s", false, false],
      ["seg-00003.m4s", false, false],
      ["seg-00004.m4s", true, true],
      ["seg-00005.m4s", false, false],
    ]);
  }, 20_000);

  it("sends the same keys as CMCD-* headers in header mode, and nothing when turned off", async () => {
    const headers = await play("headers");
    for (const s of headers.sent) {
      expect(s.path).not.toContain("CMCD");
      expect(
        Object.keys(s.headers).some((h) => h.startsWith("CMCD-")),
        s.path,
      ).toBe(true);
      expect(s.cmcd).toMatchObject({ sid: "sess", cid: "t" });
    }
    const off = await play(false);
    for (const s of off.sent) expect(s.cmcd, s.path).toEqual({});
    expect(off.session.configure({ cmcd: "sometimes" }).rejected).toEqual([{ key: "cmcd", reason: 'expected "query", "headers" or false' }]);
    expect(off.session.configure({ cmcd: "headers" }).applied).toEqual(["cmcd"]);
    expect(off.session.cmcdMode).toBe("headers");
  }, 30_000);
});
