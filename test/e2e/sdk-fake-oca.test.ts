/**
 * The SDK's failure handling against scripted OCAs (an in-process fake control plane and data plane
 * behind an injected fetch, no Worker): timeouts, throughput collapse, failed probes, hysteresis on
 * re-probes, every OCA down. Fast and deterministic enough to run on every change.
 */
import { describe, expect, it } from "vitest";
import { createClient, SegmentFetcher, type FetchInit, type FetchLike, type PlayResponse, type QoeEvent } from "../../client/index";
import { belowFloors } from "../../client/session";

const BASE = "http://fake.test";
const OCAS = ["a", "b", "c"] as const;
type OcaId = (typeof OCAS)[number];
const RUNGS = [
  { id: "v-low", bandwidth: 500_000, height: 240 },
  { id: "v-mid", bandwidth: 1_500_000, height: 480 },
  { id: "v-top", bandwidth: 3_000_000, height: 720 },
];
const SEGS = 6;
const SEG_S = 1;

interface Behaviour {
  /** The behaviours below apply to segments with index >= fromSeg, and only after this many segment requests. */
  afterRequests?: number;
  /** HTTP status for media (segments) with index >= fromSeg. */
  status?: number;
  /** Never answer media with index >= fromSeg (until aborted). */
  hang?: boolean;
  /** Delay (ms) before answering media with index >= fromSeg. */
  delayMs?: number;
  fromSeg?: number;
  /** Body of those answers (default "error"). */
  body?: string;
  /** Status and delay of probe requests (Range bytes=0-…). */
  probeStatus?: number;
  probeDelayMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function master(): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",LANGUAGE="en",NAME="English",DEFAULT=YES,URI="audio/a-en/index.m3u8"'];
  for (const r of RUNGS)
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${r.bandwidth},RESOLUTION=${(r.height * 16) / 9}x${r.height},AUDIO="aud"`, `video/${r.id}/index.m3u8`);
  return lines.join("\n") + "\n";
}

function media(): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", `#EXT-X-TARGETDURATION:${SEG_S}`, "#EXT-X-PLAYLIST-TYPE:VOD", '#EXT-X-MAP:URI="init.mp4"'];
  for (let i = 1; i <= SEGS; i++) lines.push(`#EXTINF:${SEG_S}.0,`, `seg-${String(i).padStart(5, "0")}.m4s`);
  return lines.concat("#EXT-X-ENDLIST").join("\n") + "\n";
}

/** A fake deployment: play, events, and three OCAs whose behaviour the test scripts. */
function fakeCdn(behaviour: Partial<Record<OcaId, Behaviour>> = {}) {
  const events: QoeEvent[] = [];
  const requests: Array<{ oca: string; path: string; status: number }> = [];
  let plays = 0;
  const segRequests: Record<string, number> = {};
  // A play response without Content Steering, client fields or expiresInS, as an older server sends: the SDK must not need them.
  const play: Omit<PlayResponse, "steering" | "client" | "version" | "expiresInS"> = {
    sessionId: "00000000-0000-4000-8000-000000000001",
    sessionToken: "s1.fake",
    titleId: "t",
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    maxHeight: 720,
    ocas: OCAS.map((id, i) => ({
      rank: i + 1,
      siteId: `site-${id}`,
      ocaId: id,
      tier: "embedded" as const,
      distanceKm: 1,
      load: 0,
      stale: false,
      url: `${BASE}/oca/site-${id}/${id}/tok/t/`,
    })),
    hls: `${BASE}/oca/site-a/a/tok/t/master.m3u8`,
    dash: `${BASE}/oca/site-a/a/tok/t/manifest.mpd`,
    renditions: {
      video: RUNGS.map((r) => ({ id: r.id, codec: "avc1.64001f", width: (r.height * 16) / 9, height: r.height, bandwidth: r.bandwidth })),
      audio: [],
      subtitles: [],
    },
  };
  const fetch: FetchLike = async (url: string, init?: FetchInit) => {
    const u = new URL(url);
    if (u.pathname === "/v1/play") {
      plays++;
      return new Response(JSON.stringify(play), { status: 200 }) as never;
    }
    if (u.pathname === "/v1/events") {
      events.push(...(JSON.parse(init!.body!) as { events: QoeEvent[] }).events);
      return new Response('{"accepted":1}', { status: 202 }) as never;
    }
    const m = /^\/oca\/site-(\w)\/(\w)\/tok\/t\/(.+)$/.exec(u.pathname);
    if (!m) return new Response("no", { status: 404 }) as never;
    const oca = m[2] as OcaId;
    const path = m[3];
    const b = behaviour[oca] ?? {};
    const isProbe = !!init?.headers?.Range;
    const seg = /seg-(\d+)\.m4s$/.exec(path);
    const index = seg ? Number(seg[1]) : 0;
    if (seg && !isProbe) segRequests[oca] = (segRequests[oca] ?? 0) + 1;
    const applies = !isProbe && seg && index >= (b.fromSeg ?? 1) && (segRequests[oca] ?? 0) > (b.afterRequests ?? 0);
    const answer = (status: number, body: BodyInit | null) => {
      requests.push({ oca, path, status });
      return new Response(body, { status, headers: { "X-OCA": `site-${oca}/${oca}` } }) as never;
    };
    if (isProbe) {
      if (b.probeDelayMs) await sleep(b.probeDelayMs);
      return answer(b.probeStatus ?? 206, b.probeStatus && b.probeStatus >= 400 ? "down" : new Uint8Array(65_536));
    }
    if (applies && b.hang) {
      requests.push({ oca, path, status: 0 });
      await new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    }
    if (applies && b.delayMs) await sleep(b.delayMs);
    if (applies && b.status) return answer(b.status, b.body ?? "error");
    if (path === "master.m3u8") return answer(200, master());
    if (path.endsWith("index.m3u8")) return answer(200, media());
    if (path.endsWith("init.mp4")) return answer(200, new Uint8Array(800));
    if (seg) {
      const rung = RUNGS.find((r) => path.includes(r.id));
      return answer(200, new Uint8Array(Math.round(((rung?.bandwidth ?? 96_000) * SEG_S) / 8)));
    }
    return answer(404, "no");
  };
  return { fetch, events, requests, plays: () => plays };
}

async function pollFor<T>(fn: () => T | undefined | null | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(50);
  }
}

function client(fake: ReturnType<typeof fakeCdn>) {
  return createClient({ baseUrl: BASE, token: "t", fetch: fake.fetch });
}

describe("SDK failure handling against scripted OCAs", () => {
  it("fails over on a timeout (an OCA that stops answering), with no new play request", async () => {
    const fake = fakeCdn({ a: { hang: true, fromSeg: 4 } });
    const session = await client(fake).play("t", belowFloors({ reprobeIntervalMs: 0, flushIntervalMs: 200 }));
    expect(session.current.ocaId).toBe("a");
    const st = await new SegmentFetcher(session, { targetBufferS: 2, requestTimeoutMs: 400 }).run();
    expect(st.errors).toEqual([]);
    expect(st.phase).toBe("ended");
    expect(session.switches[0]).toMatchObject({ from: { ocaId: "a" }, to: { ocaId: "b" } });
    expect(session.switches[0].reason).toMatch(/^timeout /);
    expect(fake.plays()).toBe(1);
    expect(fake.events.find((e) => e.type === "oca_switch")).toMatchObject({ fromOcaId: "a", ocaId: "b" });
  });

  it("fails over on HTTP 503 and keeps the failed OCA out for the rest of the play", async () => {
    const fake = fakeCdn({ a: { status: 503, fromSeg: 2 } });
    const session = await client(fake).play("t", { reprobeIntervalMs: 0 });
    const st = await new SegmentFetcher(session, { targetBufferS: 2 }).run();
    expect(st.errors).toEqual([]);
    expect(st.stalls.filter((s) => s.durationMs > 500)).toEqual([]);
    expect(fake.requests.filter((r) => r.oca === "a" && r.status === 503).length).toBeGreaterThanOrEqual(1);
    // After the switch nothing more is asked of "a".
    const firstFail = fake.requests.findIndex((r) => r.oca === "a" && r.status === 503);
    expect(fake.requests.slice(firstFail + 2).filter((r) => r.oca === "a")).toEqual([]);
  });

  it("moves away on a throughput collapse (downloads slower than the lowest rung)", async () => {
    // After 4 segments (video and audio), "a" needs 1.5 s per request: the ABR steps down, and at
    // the lowest rung (62.5 kB + audio in 1.5 s, under its 500 kbps) two such downloads are a collapse.
    const fake = fakeCdn({ a: { delayMs: 1500, afterRequests: 4 } });
    const session = await client(fake).play("t", { reprobeIntervalMs: 0 });
    const fetcher = new SegmentFetcher(session, { targetBufferS: 3, loop: true, maxPlayS: 30 });
    const run = fetcher.run();
    const sw = await pollFor(() => session.switches.find((s) => s.from.ocaId === "a"), 25_000);
    await pollFor(() => fetcher.state.servedBy === "site-b/b", 5000);
    fetcher.stop();
    const st = await run;
    expect(st.errors).toEqual([]);
    expect(sw?.reason).toMatch(/^throughput_collapse/);
    // The collapse also pulled the bitrate down before the move.
    expect(st.bitrateSwitches.some((b) => b.to < b.from)).toBe(true);
  });

  it("never picks an OCA whose probe failed, and prefers a clearly faster one over rank", async () => {
    // "b" answers its probe after 2.5 s: an expected 1.5 MB segment fetch far slower than "c"'s.
    const fake = fakeCdn({ a: { probeStatus: 500 }, b: { probeDelayMs: 2500 } });
    const session = await client(fake).play("t", { reprobeIntervalMs: 0, probe: { timeoutMs: 5000 } });
    expect(session.probes.find((p) => p.ocaId === "b")).toMatchObject({ ok: true });
    expect(session.probes.find((p) => p.ocaId === "a")).toMatchObject({ ok: false, status: 500 });
    expect(session.current.ocaId).toBe("c");
    await session.close();
  });

  it("re-probes and moves to a clearly better OCA only after consecutive rounds (hysteresis)", async () => {
    const behaviour: Partial<Record<OcaId, Behaviour>> = {};
    const fake = fakeCdn(behaviour);
    // Small slack so that a 700 ms TTFB counts as clearly worse for this short test.
    const session = await client(fake).play("t", belowFloors({ reprobeIntervalMs: 250, selector: { switchConfirmations: 2, minDwellMs: 0, slackMs: 100 } }));
    const fetcher = new SegmentFetcher(session, { targetBufferS: 2, loop: true, maxPlayS: 30 });
    const run = fetcher.run();
    await sleep(700);
    expect(session.switches).toEqual([]); // equal OCAs: no flapping
    // "a" turns slow: its probes now take 700 ms to the first byte (the behaviour is read per request).
    behaviour.a = { probeDelayMs: 700 };
    const armedAt = session.now();
    const sw = await pollFor(() => session.switches[0], 6000);
    fetcher.stop();
    const st = await run;
    expect(sw.from.ocaId).toBe("a");
    expect(sw.reason).toBe("better_oca");
    // Two probe rounds (250 ms apart, each ~700 ms on "a") before moving: not on the first.
    expect(sw.at - armedAt).toBeGreaterThan(900);
    expect(st.errors).toEqual([]);
  });

  it("stops at once with HTTP_REFUSED and the API's code when an OCA refuses the stream (409 too_many_streams): no failover, no new session", async () => {
    const refusal = JSON.stringify({
      error: { code: "too_many_streams", message: "this stream stopped or the member's other streams hold every slot of the plan" },
    });
    const fake = fakeCdn({ a: { status: 409, fromSeg: 3, body: refusal } });
    const session = await client(fake).play("t", { reprobeIntervalMs: 0 });
    const errors: unknown[] = [];
    session.on("error", (e) => errors.push(e));
    const st = await new SegmentFetcher(session, { targetBufferS: 2 }).run();
    expect(st.phase).toBe("failed");
    expect(errors.at(-1)).toMatchObject({
      code: 3001,
      errorName: "HTTP_REFUSED",
      severity: "fatal",
      data: { ocaId: "a", status: 409, apiCode: "too_many_streams" },
    });
    expect(fake.events.find((e) => e.type === "error")?.reason).toMatch(/^3001 HTTP_REFUSED: HTTP 409 on .*seg-00003\.m4s \(too_many_streams\)$/);
    expect(session.renewals).toHaveLength(0);
    expect(fake.requests.filter((r) => r.oca !== "a" && r.path.includes("seg-00003"))).toEqual([]);
  });

  it("takes one new play session when every OCA fails, and reports a fatal error when they fail again", async () => {
    const fake = fakeCdn({ a: { status: 503, fromSeg: 2 }, b: { status: 503, fromSeg: 2 }, c: { status: 500, fromSeg: 2 } });
    const session = await client(fake).play("t", { reprobeIntervalMs: 0 });
    const st = await new SegmentFetcher(session, { targetBufferS: 2 }).run();
    expect(st.phase).toBe("failed");
    expect(st.errors[0]).toMatch(/no OCA left/);
    expect(session.renewals).toHaveLength(1);
    expect(fake.events.map((e) => e.type)).toEqual(expect.arrayContaining(["start", "oca_switch", "error", "stop"]));
  });
});

describe("the headless fetcher when the edge refuses the session its token renewal stopped", () => {
  it("waits for the renewal and loads the file under the new session, rather than stopping as if another screen took the stream", async () => {
    const events: Array<{ sessionId: string; events: QoeEvent[] }> = [];
    let plays = 0;
    const refusals: string[] = [];
    // Session i's token Ti; the first expires 61 s after it starts, so its renewal is due 1 s in.
    const playOf = (i: number) => ({
      sessionId: `s${i}`,
      sessionToken: `st${i}`,
      titleId: "t",
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      expiresInS: i === 1 ? 61 : 3600,
      maxHeight: 720,
      ocas: [{ rank: 1, siteId: "site-a", ocaId: "a", tier: "embedded", distanceKm: 1, load: 0, stale: false, url: `${BASE}/oca/site-a/a/T${i}/t/` }],
      hls: "",
      dash: "",
      renditions: {
        video: RUNGS.map((r) => ({ id: r.id, codec: "avc1.64001f", width: (r.height * 16) / 9, height: r.height, bandwidth: r.bandwidth })),
        audio: [],
        subtitles: [],
      },
    });
    const stopped = (sessionId: string) => events.some((b) => b.sessionId === sessionId && b.events.some((e) => e.type === "stop"));
    const fetch: FetchLike = async (url: string, init?: FetchInit) => {
      const u = new URL(url);
      if (u.pathname === "/v1/play") {
        plays++;
        // The renewal's first three plays answer 503 (tried 1 s, 2 s, 4 s apart): the old session's files are refused meanwhile.
        if (plays >= 2 && plays <= 4)
          return new Response('{"error":{"code":"unavailable","message":"m"}}', { status: 503, headers: { "Retry-After": "1" } }) as never;
        return new Response(JSON.stringify(playOf(plays === 1 ? 1 : 2)), { status: 200 }) as never;
      }
      if (u.pathname === "/v1/events") {
        const b = JSON.parse(init!.body!) as { sessionId: string; events: QoeEvent[] };
        events.push({ sessionId: b.sessionId, events: b.events });
        return new Response('{"accepted":1}', { status: 202 }) as never;
      }
      const m = /^\/oca\/site-a\/a\/(T\d)\/t\/(.+)$/.exec(u.pathname);
      if (!m) return new Response("no", { status: 404 }) as never;
      const [, token, path] = m;
      // The edge refuses a stream its client stopped (once the stop's grace is over; here at once).
      if (token === "T1" && stopped("s1") && !init?.headers?.Range) {
        refusals.push(path);
        return new Response('{"error":{"code":"too_many_streams","message":"this stream stopped"}}', { status: 409 }) as never;
      }
      if (path === "master.m3u8") return new Response(master(), { status: 200 }) as never;
      if (path.endsWith("index.m3u8")) return new Response(media(), { status: 200 }) as never;
      return new Response(new Uint8Array(path.includes("seg-") ? 20_000 : 800), { status: 200 }) as never;
    };
    const session = await createClient({ baseUrl: BASE, token: "t", fetch }).play("t", { reprobeIntervalMs: 0, pollSteering: false });
    const fetcher = new SegmentFetcher(session, { targetBufferS: 2, loop: true });
    const run = fetcher.run();
    await pollFor(
      () =>
        fetcher.state.phase === "failed" ||
        (session.renewals.length === 1 && fetcher.state.downloads.some((d) => d.status === 200 && d.at > session.renewals[0].at)),
      20_000,
    );
    fetcher.stop();
    const st = await run;
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(st.errors).toEqual([]);
    expect(st.phase).toBe("stopped");
    expect(session.sessionId).toBe("s2");
    expect(events.flatMap((b) => b.events.filter((e) => e.type === "error"))).toEqual([]);
  }, 30_000);
});
