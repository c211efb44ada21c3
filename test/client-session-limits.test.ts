import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { SdkError } from "../client/errors";
import { type PlayOptions, PlaySession } from "../client/session";
import { ApiCallError, type PlayResponse } from "../client/types";
import { fakePlay } from "./client-fixtures";

// Defects a viewer would hit in a session's lifetime, each driven without a network: scripted OCAs
// and control plane.

const QUIET: PlayOptions = { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 };

function harness(requestPlay: () => Promise<PlayResponse>) {
  const asked = { plays: 0 };
  const client = {
    fetch: async () => new Response(new Uint8Array(1024), { status: 206 }),
    requestPlay: async () => {
      asked.plays++;
      return requestPlay();
    },
    sendEvents: async () => {},
  } as unknown as VcdnClient;
  return { client, asked };
}

describe("a session closed while it renews", () => {
  it("ends the renewal's wait between tries at once (its timer cleared), and fires nothing after stopped", async () => {
    // The control plane is busy: a 503 asking for 5 s, well inside the renewal's 20 s of tries.
    const { client, asked } = harness(async () => {
      throw new ApiCallError(503, "unavailable", "busy", undefined, 5);
    });
    const s = new PlaySession(client, fakePlay(["a", "b"]), QUIET);
    const seen: string[] = [];
    s.on("error", (e) => seen.push(`error ${e.errorName}`));
    s.on("stopped", () => seen.push("stopped"));
    const renewal = s.renew("every_oca_failed");
    for (let i = 0; i < 100 && asked.plays === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(asked.plays).toBe(1);
    const t0 = Date.now();
    await s.close("user");
    expect(await renewal).toBe(false);
    // Before: the renewal slept its 5 s out after the close, then said RENEWAL_FAILED after `stopped`.
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(asked.plays).toBe(1);
    expect(seen).toEqual(["stopped"]);
  });
});

describe("timer options", () => {
  const MAX = 2_147_483_647;
  // Timers keep at most 2^31-1 ms: a longer delay fires at once (Node, browsers), so a re-probe
  // interval of a month probed every millisecond and a long steering timeout abandoned every poll.
  const BAD: Array<[string, Record<string, unknown>, string]> = [
    ["re-probe interval past what timers keep", { reprobeIntervalMs: MAX + 1 }, "reprobeIntervalMs"],
    ["steering timeout of Infinity", { steeringTimeoutMs: Number.POSITIVE_INFINITY }, "steeringTimeoutMs"],
    ["steering timeout past what timers keep", { steeringTimeoutMs: 2 ** 40 }, "steeringTimeoutMs"],
    ["TTL bounds past what timers keep", { steeringTtlBoundsS: [1, 1e9] }, "steeringTtlBoundsS"],
    ["probe timeout past what timers keep", { probe: { timeoutMs: MAX + 1 } }, "probe.timeoutMs"],
    // Not a time, but as broken: "Range: bytes=0-1535.5" is no range an OCA can serve, so every probe failed.
    ["fractional probe size", { probe: { bytes: 1536.5 } }, "probe.bytes"],
  ];

  it.each(BAD)("are refused by configure() and play() alike: %s", async (_name, bad, key) => {
    const { client, asked } = harness(async () => fakePlay(["a", "b"]));
    const s = new PlaySession(client, fakePlay(["a", "b"]), QUIET);
    const r = s.configure(bad);
    await s.close();
    expect(r.rejected.map((x) => x.key)).toEqual([key]);
    const got = await PlaySession.start(client, "t", { ...QUIET, ...bad } as PlayOptions).catch((e: unknown) => e);
    if (got instanceof PlaySession) await got.close();
    expect(got).toBeInstanceOf(SdkError);
    expect((got as SdkError).message).toBe(`5001 INVALID_OPTION: ${key}: ${r.rejected[0].reason}`);
    expect(asked.plays).toBe(0);
  });

  it("at their largest and a flush interval of a day are taken", async () => {
    const { client } = harness(async () => fakePlay(["a", "b"]));
    const s = await PlaySession.start(client, "t", { ...QUIET, flushIntervalMs: 86_400_000, steeringTimeoutMs: MAX, probe: { timeoutMs: 2_000, bytes: 4096 } });
    expect(s.configure({ reprobeIntervalMs: MAX, steeringTtlBoundsS: [0, 2_147_483] }).rejected).toEqual([]);
    await expect(PlaySession.start(client, "t", { ...QUIET, flushIntervalMs: 0 })).rejects.toThrow("5001 INVALID_OPTION: flushIntervalMs: ");
    await s.close();
  });
});
