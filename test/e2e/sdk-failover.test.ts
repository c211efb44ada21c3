/**
 * The SDK against the real Worker (wrangler dev): headless playback with the segment fetcher, the
 * serving OCA failed mid-stream through the admin API, and an OCA loaded past its throughput limit.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createClient, devToken, type PlaySession, SegmentFetcher, type FetcherState } from "../../client/index";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { failoverPlacement, GEO_NYC, pollUntil, recordClientBench, sessionEvents, setHealth, setThroughput, waitForStatus } from "./sdk-harness";

let stack: LocalStack;
const restore: Array<() => Promise<void>> = [];
const figures: Record<string, unknown> = {};

beforeAll(async () => {
  stack = await startLocalStack(failoverPlacement);
});

afterEach(async () => {
  while (restore.length) await restore.pop()!();
});

afterAll(async () => {
  if (Object.keys(figures).length) await recordClientBench("sdk", figures);
  await stack?.stop();
});

async function newClient(memberId: string) {
  const token = await devToken(stack.worker.url, memberId, "premium");
  return createClient({ baseUrl: stack.worker.url, token, geo: GEO_NYC });
}

/** Stall time (ms) from `since` on, counting a stall still going on at `end`. */
function stallMsSince(st: FetcherState, since: number): number {
  return st.stalls.filter((s) => s.startedAt + s.durationMs >= since).reduce((sum, s) => sum + s.durationMs, 0);
}

describe("SDK: probe, pick, fail over (Node, headless segment fetcher)", () => {
  it("probes every ranked OCA and starts on a healthy one within a second", async () => {
    const client = await newClient("sdk-probe");
    const session = await client.play("orbit-city", { reprobeIntervalMs: 0 });
    try {
      expect(session.ocas.map((o) => o.siteId)).toEqual(["lumen-nyc", "lumen-nyc", "ixp-nyc", "origin"]);
      expect(session.probes).toHaveLength(session.ocas.length);
      expect(session.probes.every((p) => p.ok && p.status === 206 && (p.bytes ?? 0) > 0)).toBe(true);
      // Equal probes on loopback: the steering order decides.
      expect(session.current.siteId).toBe("lumen-nyc");
      const st = await new SegmentFetcher(session, { targetBufferS: 30, maxPlayS: 2 }).run();
      expect(st.errors).toEqual([]);
      // Target 1 s on loopback (reported in bench/out/client.json); asserted loosely for busy CI machines.
      expect(st.startupMs).toBeLessThan(3000);
      figures.startupMs = Math.round(st.startupMs!);
    } finally {
      await session.close();
    }
  });

  it("fails over mid-stream when the serving OCA is failed: playback continues, no fatal error, oca_switch reported", async () => {
    const client = await newClient("sdk-failover");
    // Failover here is the data plane's 503 on a segment: no steering polls or re-probes that could
    // notice the failure first (those paths have their own tests).
    const session: PlaySession = await client.play("sintel-sunrise", { flushIntervalMs: 1000, pollSteering: false, reprobeIntervalMs: 0 });
    const fetcher = new SegmentFetcher(session, { targetBufferS: 8 });
    const run = fetcher.run();
    await pollUntil(() => fetcher.state.phase === "playing" && fetcher.state.positionS >= 3, 30_000, "3 s of playback");
    const victim = session.current;
    restore.push(async () => {
      await setHealth(stack, victim.siteId, victim.ocaId, "healthy");
      await waitForStatus(`${victim.url}video/avc-240p/init.mp4`, 206);
    });
    const failedAt = session.now();
    const positionAtFailure = fetcher.state.positionS;
    await setHealth(stack, victim.siteId, victim.ocaId, "failed");
    const st = await run;

    // Played to the end with no fatal error, after moving to another OCA with the same token.
    expect(st.errors).toEqual([]);
    expect(st.phase).toBe("ended");
    expect(st.positionS).toBeCloseTo(24, 0);
    expect(positionAtFailure).toBeLessThan(20);
    const sw = session.switches.find((s) => s.from.ocaId === victim.ocaId);
    expect(sw, "an OCA switch away from the failed OCA").toBeDefined();
    expect(sw!.reason).toMatch(/^http_503 /);
    expect(sw!.to.ocaId).not.toBe(victim.ocaId);
    // The next OCA in steering order: the failed one's peer in the same embedded site.
    expect(sw!.to.siteId).toBe("lumen-nyc");
    // The failed OCA answered 503; everything after the switch came from elsewhere.
    expect(st.downloads.some((d) => d.ocaId === victim.ocaId && d.status === 503)).toBe(true);
    const after = st.downloads.filter((d) => d.at > sw!.at && d.status < 300);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((d) => d.servedBy !== `${victim.siteId}/${victim.ocaId}`)).toBe(true);
    const stallMs = stallMsSince(st, failedAt);
    expect(stallMs).toBeLessThan(2000);
    const topAgain = st.segmentLog.find((s) => s.at >= sw!.at && s.top);
    expect(topAgain, "back at the top rung after the failover").toBeDefined();
    const topAgainMs = topAgain!.at - sw!.at;
    expect(topAgainMs).toBeLessThan(10_000);

    // The QoE events reached the control plane: start, the OCA switch, bytes, stop.
    const events = await pollUntil(
      async () => {
        const ev = await sessionEvents(stack, session.sessionId);
        return ev.some((e) => e.type === "stop") ? ev : null;
      },
      15_000,
      "the stop event at the server",
    );
    const types = events.map((e) => e.type);
    expect(types).toContain("start");
    const sv = events.find((e) => e.type === "oca_switch");
    expect(sv).toMatchObject({ fromOcaId: victim.ocaId, ocaId: sw!.to.ocaId });
    expect(sv!.reason).toMatch(/http_503/);
    expect(events.find((e) => e.type === "start")!.startupMs).toBeGreaterThan(0);
    expect(events.reduce((s, e) => s + (e.bytes ?? 0), 0)).toBe(st.bytes);
    expect(types).not.toContain("error");
    figures.failover = {
      title: "sintel-sunrise",
      failedOca: `${victim.siteId}/${victim.ocaId}`,
      to: `${sw!.to.siteId}/${sw!.to.ocaId}`,
      positionAtFailureS: Math.round(positionAtFailure * 100) / 100,
      detectMs: Math.round(sw!.at - failedAt),
      stallMs: Math.round(stallMs),
      backToTopRungMs: Math.round(topAgainMs),
      fatalErrors: st.errors.length,
      startupMs: Math.round(st.startupMs!),
    };
    console.log("[sdk] failover", JSON.stringify(figures.failover));
  });

  it("re-ranks when the serving OCA is loaded past its throughput limit: steering moves it back, the SDK follows", async () => {
    const client = await newClient("sdk-load");
    const session = await client.play("orbit-city", { flushIntervalMs: 1000, steeringTtlBoundsS: [1, 5] });
    // A long stream (the title on a loop) so the load builds up while we watch.
    const fetcher = new SegmentFetcher(session, { targetBufferS: 8, loop: true, maxPlayS: 120 });
    const run = fetcher.run();
    try {
      await pollUntil(() => fetcher.state.phase === "playing", 30_000, "playback to start");
      const loaded = session.current;
      restore.push(() => setThroughput(stack, loaded.siteId, loaded.ocaId, null));
      // This session's ~3 Mbps alone is several times a 500 kbps limit.
      await setThroughput(stack, loaded.siteId, loaded.ocaId, 500_000);
      const loadedAt = session.now();
      const sw = await pollUntil(() => session.switches.find((s) => s.from.ocaId === loaded.ocaId), 60_000, "the SDK to leave the loaded OCA");
      expect(sw.reason).toBe("steering");
      // Steering put the loaded OCA behind the others, without removing it (it is healthy).
      const prio = session.selector.serverPriority!;
      expect(prio).toContain(loaded.ocaId);
      expect(prio.indexOf(sw.to.ocaId)).toBeLessThan(prio.indexOf(loaded.ocaId));
      await pollUntil(() => fetcher.state.servedBy === `${sw.to.siteId}/${sw.to.ocaId}`, 20_000, "media from the new OCA");
      fetcher.stop();
      const st = await run;
      expect(st.errors).toEqual([]);
      expect(st.stalls.every((s) => s.durationMs < 2000)).toBe(true);
      const events = await pollUntil(
        async () => {
          const ev = await sessionEvents(stack, session.sessionId);
          return ev.some((e) => e.type === "oca_switch" && e.reason === "steering") ? ev : null;
        },
        15_000,
        "the steering oca_switch at the server",
      );
      expect(events.find((e) => e.type === "oca_switch")).toMatchObject({ fromOcaId: loaded.ocaId, ocaId: sw.to.ocaId, reason: "steering" });
      figures.load = {
        loadedOca: `${loaded.siteId}/${loaded.ocaId}`,
        to: `${sw.to.siteId}/${sw.to.ocaId}`,
        reRankMs: Math.round(sw.at - loadedAt),
        stalls: st.stalls.length,
      };
      console.log("[sdk] load re-rank", JSON.stringify(figures.load));
    } finally {
      fetcher.stop();
      await run;
    }
  });

  it("takes a new play session when every OCA of its list has failed, and plays on from its position", async () => {
    const token = await devToken(stack.worker.url, "sdk-renew-all-failed", "premium");
    // Every request under the first session's token fails once armed, as if all its OCAs were gone.
    let dead: string | null = null;
    const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      if (dead && url.includes(`/${dead}/`)) return new Response("gone", { status: 503 });
      return fetch(input, init);
    }) as typeof fetch;
    const client = createClient({ baseUrl: stack.worker.url, token, geo: GEO_NYC, fetch: fetchImpl });
    const session = await client.play("sintel-sunrise", { flushIntervalMs: 1000, pollSteering: false, reprobeIntervalMs: 0 });
    const first = session.sessionId;
    const fetcher = new SegmentFetcher(session, { targetBufferS: 4 });
    const run = fetcher.run();
    await pollUntil(() => fetcher.state.phase === "playing" && fetcher.state.positionS >= 3, 30_000, "3 s of playback");
    const positionAtFailure = fetcher.state.positionS;
    dead = session.play.ocas[0].url.split("/")[6];
    const st = await run;
    expect(st.errors).toEqual([]);
    expect(st.phase).toBe("ended");
    expect(st.positionS).toBeCloseTo(24, 0);
    expect(positionAtFailure).toBeLessThan(20);
    expect(session.renewals).toHaveLength(1);
    expect(session.renewals[0].reason).toMatch(/^no OCA left after http_503/);
    expect(session.sessionId).not.toBe(first);
    // Everything after the renewal came under the new token.
    const renewedAt = session.renewals[0].at;
    expect(st.downloads.filter((d) => d.at > renewedAt && d.status === 200).length).toBeGreaterThan(0);
    // The old session was stopped (its stream slot freed), the new one started.
    const old = await pollUntil(
      async () => {
        const ev = await sessionEvents(stack, first);
        return ev.some((e) => e.type === "stop") ? ev : null;
      },
      15_000,
      "the old session's stop",
    );
    expect(old.find((e) => e.type === "stop")!.reason).toMatch(/^renewing: no OCA left/);
    await session.close();
  });

  it("takes a new play session a minute before its token expires, without a pause", async () => {
    const token = await devToken(stack.worker.url, "sdk-renew-expiry", "premium");
    // The first play's answer says its token expires in 30 s (the one thing changed: a 6 h token cannot
    // be waited out here), so the session renews as soon as playback starts; the renewed one's is as sent.
    let plays = 0;
    const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const res = await fetch(input, init);
      if (!String(input).endsWith("/v1/play") || plays++ > 0 || res.status !== 200) return res;
      const body = (await res.json()) as { expiresInS: number };
      return Response.json({ ...body, expiresInS: 30 });
    }) as typeof fetch;
    const client = createClient({ baseUrl: stack.worker.url, token, geo: GEO_NYC, fetch: fetchImpl });
    const session = await client.play("orbit-city", { flushIntervalMs: 1000, pollSteering: false, reprobeIntervalMs: 0 });
    const first = session.sessionId;
    const st = await new SegmentFetcher(session, { targetBufferS: 8 }).run();
    expect(st.errors).toEqual([]);
    expect(st.phase).toBe("ended");
    expect(session.renewals.map((r) => r.reason)).toEqual(["token_expiring"]);
    expect(session.sessionId).not.toBe(first);
    expect(st.stalls.reduce((s, x) => s + x.durationMs, 0)).toBeLessThan(1000);
    await session.close();
  });
});
