import { beforeAll, describe, expect, it } from "vitest";
import { VcdnClient } from "../client/api";
import { SegmentFetcher } from "../client/fetcher";
import { PlaySession } from "../client/session";
import type { FetchLike } from "../client/types";
import { SERVED_BURST_BYTES, SERVED_RATE_BPS } from "../workers/edge/served-ceiling";
import { ADMIN, call, fill, GEO, memberToken, publishTitle } from "./fixtures";

/**
 * The SDK on the Worker itself, with its session past its served ceiling (workers/edge/served-ceiling.ts).
 * The ceiling bounds what the session's bytes count toward (the OCA's load, its site's and the session's
 * figures), never what it is sent: past it a file is still 200, whole, at full speed, with no
 * Retry-After. So the SDK has nothing to step down from: it plays on, on the top rung, on its OCA, with
 * no failover and no error. (A download that does arrive slowly, whatever the cause, lowers the next
 * segment's rung: test/client-slow-segment-switches-down.test.ts.)
 */

const TITLE = "ceiling-sdk-title";
const BIG_BYTES = 8 * 1024 * 1024;
const TOP = "video/avc-720p/seg-00001.m4s";
const fetch = ((url: string, init?: RequestInit) => call(url, init)) as unknown as FetchLike;

interface Overview {
  sites: Array<{ siteId: string; served: Array<{ source: string; bytes: number }> }>;
}
/** Bytes the overview counts as served by lumen-nyc from its own copies. */
const servedAtLumen = async () => {
  const o = (await (await call("/admin/ops/overview", { headers: ADMIN })).json()) as Overview;
  return o.sites
    .find((s) => s.siteId === "lumen-nyc")!
    .served.filter((r) => r.source === "embedded")
    .reduce((n, r) => n + r.bytes, 0);
};

beforeAll(async () => {
  // The fixture's master names an audio playlist its files lack: the SDK's player loads it.
  const audio = '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4,\nseg-00001.m4s\n#EXT-X-ENDLIST\n';
  await publishTitle(TITLE, { segmentBytes: BIG_BYTES, change: { "audio/aac-en/index.m3u8": new TextEncoder().encode(audio) } });
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
});

describe("a session past its served ceiling", () => {
  it("is served as before, and the SDK plays on at the top rung on its OCA: no error, no failover, no step down", async () => {
    const client = new VcdnClient({ baseUrl: "http://cdn.test", token: await memberToken("premium"), geo: GEO.lumenNyc, fetch });
    const session = await PlaySession.start(client, TITLE, { pollSteering: false, reprobeIntervalMs: 0, flushIntervalMs: 60_000, cmcd: false });
    expect(session.current.ocaId).toBe("lumen-nyc-1");
    const failovers: string[] = [];
    session.on("failover", ({ from, reason }) => failovers.push(`${from.ocaId}: ${reason}`));
    const before = await servedAtLumen();
    const started = Date.now();

    // The session spends its burst as an aborting client would: top-rung segments asked for and dropped.
    const dropped = Math.ceil(SERVED_BURST_BYTES / BIG_BYTES) + 16;
    for (let i = 0; i < dropped; i++) {
      const res = await call(`${session.current.url}${TOP}`, { geo: GEO.lumenNyc });
      expect(res.status).toBe(200);
      await res.body!.cancel();
    }
    // Past the ceiling: the same file, whole, with nothing that says "slow down".
    const past = await call(`${session.current.url}${TOP}`, { geo: GEO.lumenNyc });
    expect(past.status).toBe(200);
    expect(past.headers.get("Retry-After")).toBeNull();
    expect((await past.arrayBuffer()).byteLength).toBe(BIG_BYTES);

    // The SDK's own player, until it has three segments: each on the top rung, from the session's OCA.
    const fetcher = new SegmentFetcher(session, { loop: true, targetBufferS: 60, tickMs: 20 });
    const run = fetcher.run();
    for (let i = 0; i < 600 && fetcher.state.segments < 3 && fetcher.state.phase !== "failed"; i++) await new Promise((r) => setTimeout(r, 50));
    fetcher.stop();
    const st = await run;
    expect(st.errors).toEqual([]);
    expect(failovers).toEqual([]);
    expect(st.segmentLog.length).toBeGreaterThanOrEqual(3);
    expect(st.segmentLog.every((s) => s.top && s.ocaId === "lumen-nyc-1")).toBe(true);
    expect(st.bitrateSwitches).toEqual([]);
    expect(st.downloads.every((d) => d.status === 200 || d.status === 206)).toBe(true);

    // And the session was over its ceiling: far more sent than counted.
    const sent = (dropped + 1 + st.segmentLog.length) * BIG_BYTES;
    const ceiling = SERVED_BURST_BYTES + ((Date.now() - started) / 1000) * (SERVED_RATE_BPS / 8);
    expect(sent).toBeGreaterThan(ceiling + BIG_BYTES);
    let counted = 0;
    for (let i = 0; i < 30 && counted < SERVED_BURST_BYTES; i++) {
      await new Promise((r) => setTimeout(r, 100));
      counted = (await servedAtLumen()) - before;
    }
    expect(counted).toBeGreaterThanOrEqual(SERVED_BURST_BYTES);
    expect(counted).toBeLessThanOrEqual(ceiling);
  });
});
