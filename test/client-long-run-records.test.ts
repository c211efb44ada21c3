import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { SegmentFetcher } from "../client/fetcher";
import { PlaySession } from "../client/session";
import { fakePlay } from "./client-fixtures";

// What a session and the headless player keep of a long run. The OCA is scripted (a fetch that answers
// playlists and segments at once, on a clock that stands still): what is under test is how much the
// records hold, not the network.

const MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\nvideo/v1/index.m3u8\n";
const MEDIA = `#EXTM3U\n#EXT-X-TARGETDURATION:4\n${Array.from({ length: 10 }, (_, i) => `#EXTINF:4.0,\nseg-${i + 1}.m4s\n`).join("")}#EXT-X-ENDLIST\n`;

describe("a long run's records", () => {
  it("keep the headless player's latest 10,000 segments, not one more for every segment of a loop that plays for days", async () => {
    let fetcher: SegmentFetcher | null = null;
    let segments = 0;
    const client = {
      fetch: async (url: string) => {
        if (url.includes("master.m3u8")) return new Response(MASTER);
        if (url.includes(".m3u8")) return new Response(MEDIA);
        if (++segments === 10_050) fetcher?.stop();
        return new Response(new Uint8Array(1000));
      },
      sendEvents: async () => {},
    } as unknown as VcdnClient;
    const s = new PlaySession(client, fakePlay(["a"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000, cmcd: false }, undefined, {
      now: () => 1_000,
    });
    fetcher = new SegmentFetcher(s, { loop: true, targetBufferS: 1e9 });
    const st = await fetcher.run();
    expect(st.segments).toBe(10_050);
    expect(st.segmentLog).toHaveLength(10_000);
    // The latest are kept: the last entry is the last segment.
    expect(st.segmentLog.at(-1)?.index).toBe(10_049);
  }, 60_000);

  it("keep a session's latest 1,000 OCA moves", async () => {
    const client = { fetch: async () => new Response(""), sendEvents: async () => {} } as unknown as VcdnClient;
    const s = new PlaySession(client, fakePlay(["a", "b"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
    for (let i = 0; i < 1_050; i++) s.switchTo(s.current.ocaId === "a" ? "b" : "a", `steering ${i}`);
    expect(s.switches).toHaveLength(1_000);
    expect(s.switches.at(-1)?.reason).toBe("steering 1049");
    await s.close();
  });
});
