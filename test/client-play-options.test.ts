import { describe, expect, it } from "vitest";
import { VcdnClient } from "../client/api";
import { SdkError } from "../client/errors";
import { type PlayOptions, PlaySession } from "../client/session";
import type { FetchInit } from "../client/types";
import { fakePlay } from "./client-fixtures";

// play()'s options are checked as configure() checks them (one check for both): an option configure
// refuses is refused by play() too, before any play request, with the same error. The control plane
// and the OCAs are one scripted fetch: what is under test is what play() accepts, not the network.

/** A client whose play requests answer a two-OCA play, probes a 1 KiB range at once, events 202. */
function scripted() {
  const plays: string[] = [];
  const probes: Array<{ url: string; range?: string }> = [];
  const fetch = async (url: string, init?: FetchInit) => {
    if (url.endsWith("/v1/play")) {
      plays.push(url);
      return new Response(JSON.stringify(fakePlay(["a", "b"])), { status: 200, headers: { "Content-Type": "application/json" } });
    }
    if (url.endsWith("/v1/events")) return new Response("{}", { status: 202 });
    probes.push({ url, range: init?.headers?.Range });
    return new Response(new Uint8Array(1024), { status: 206 });
  };
  const client = new VcdnClient({ baseUrl: "https://cp.test", token: "t", fetch });
  return { client, plays, probes };
}

/** Options that keep a session quiet (no timers firing during a test). */
const QUIET: PlayOptions = { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 };

/** Options configure() refuses, each with the key it names. */
const BAD: Array<[string, Record<string, unknown>, string]> = [
  ["collapse streak of 0", { selector: { collapseSamples: 0 } }, "selector.collapseSamples"],
  ["fractional confirmations", { selector: { switchConfirmations: 1.5 } }, "selector.switchConfirmations"],
  ["switch margin of 1", { selector: { switchMargin: 1 } }, "selector.switchMargin"],
  ["negative dwell", { selector: { minDwellMs: -1 } }, "selector.minDwellMs"],
  ["NaN penalty", { selector: { failPenaltyMs: Number.NaN } }, "selector.failPenaltyMs"],
  ["unknown selector parameter", { selector: { nope: 3 } }, "selector.nope"],
  ["selector not an object", { selector: "fast" }, "selector"],
  ["negative re-probe interval", { reprobeIntervalMs: -1 }, "reprobeIntervalMs"],
  ["NaN re-probe interval", { reprobeIntervalMs: Number.NaN }, "reprobeIntervalMs"],
  ["re-probe interval as a string", { reprobeIntervalMs: "10000" }, "reprobeIntervalMs"],
  ["steering timeout of 0", { steeringTimeoutMs: 0 }, "steeringTimeoutMs"],
  ["TTL bounds min > max", { steeringTtlBoundsS: [5, 1] }, "steeringTtlBoundsS"],
  ["TTL bounds of one", { steeringTtlBoundsS: [1] }, "steeringTtlBoundsS"],
  ["CMCD mode unknown", { cmcd: "always" }, "cmcd"],
  ["probe of 0 bytes", { probe: { bytes: 0 } }, "probe.bytes"],
  ["negative probe timeout", { probe: { timeoutMs: -5 } }, "probe.timeoutMs"],
  ["probe path climbing out", { probe: { path: "../secret" } }, "probe.path"],
  ["unknown probe option", { probe: { sneaky: 1 } }, "probe.sneaky"],
  ["probe not an object", { probe: 5 }, "probe"],
];

/** configure()'s verdict on `options` on a quiet session: its one rejection. */
function configureRejects(options: Record<string, unknown>): { key: string; reason: string } {
  const s = new PlaySession(scripted().client, fakePlay(["a", "b"]), QUIET);
  const errors: SdkError[] = [];
  s.on("error", (e) => errors.push(e));
  const r = s.configure(options);
  void s.close();
  expect(r.rejected).toHaveLength(1);
  expect(errors.map((e) => e.message)).toEqual([`5001 INVALID_OPTION: ${r.rejected[0].key}: ${r.rejected[0].reason}`]);
  return r.rejected[0];
}

describe("play() options", () => {
  it.each(BAD)("refuses what configure() refuses, with configure()'s error, before any play request: %s", async (_name, bad, key) => {
    const refused = configureRejects(bad);
    expect(refused.key).toBe(key);
    const { client, plays, probes } = scripted();
    const got = await client.play("t", { ...QUIET, ...bad } as PlayOptions).catch((e: unknown) => e);
    if (got instanceof PlaySession) await got.close();
    expect(got).toBeInstanceOf(SdkError);
    expect(got).toMatchObject({ code: 5001, errorName: "INVALID_OPTION", category: "config", message: `5001 INVALID_OPTION: ${key}: ${refused.reason}` });
    // No stream slot taken, no OCA probed.
    expect(plays).toEqual([]);
    expect(probes).toEqual([]);
    // The session's constructor (the players' own sessions) checks the same way.
    expect(() => new PlaySession(client, fakePlay(["a", "b"]), { ...QUIET, ...bad } as PlayOptions)).toThrow(`5001 INVALID_OPTION: ${key}: ${refused.reason}`);
  });

  it("names every refused option at once, and refuses unknown options and bad play-time ones configure() does not take", async () => {
    const { client, plays } = scripted();
    const got = await client
      .play("t", {
        ...QUIET,
        selector: { collapseSamples: 0, switchMargin: 1 },
        colour: "red",
        pollSteering: "no",
        steeringProtocol: "smooth",
      } as unknown as PlayOptions)
      .catch((e: unknown) => e);
    if (got instanceof PlaySession) await got.close();
    expect(got).toBeInstanceOf(SdkError);
    const detail = (got as SdkError).data.detail ?? "";
    for (const key of ["selector.collapseSamples", "selector.switchMargin", "colour", "pollSteering", "steeringProtocol"]) expect(detail).toContain(`${key}: `);
    expect(plays).toEqual([]);
    // A device field the server does not take (it would refuse the play with 400) is an option error, before any play.
    const typo = await client.play("t", { ...QUIET, device: { codecs: ["avc1"], maxheight: 480 } } as unknown as PlayOptions).catch((e: unknown) => e);
    if (typo instanceof PlaySession) await typo.close();
    expect(typo).toMatchObject({ errorName: "INVALID_OPTION", data: { detail: 'device: expected { codecs, maxHeight }, not "maxheight"' } });
    expect(plays).toEqual([]);
    // configure() refuses the play-time ones whatever their value (they applied at play time).
    expect(configureRejects({ pollSteering: false }).reason).toBe("unknown option (or one that only applies at play time)");
  });

  it("applies valid options (undefined ones keep their defaults) and copies them: configure() never changes the caller's object", async () => {
    const { client, probes } = scripted();
    const opts: PlayOptions = {
      ...QUIET,
      steeringTimeoutMs: undefined,
      selector: { collapseSamples: 3, minDwellMs: 0, switchMargin: undefined },
      probe: { bytes: 4096, path: "video/v1/seg-00002.m4s" },
      cmcd: false,
    };
    const s = await client.play("t", opts);
    expect(s.selector.params).toMatchObject({ collapseSamples: 3, minDwellMs: 0, switchMargin: 0.3 });
    expect(s.cmcdMode).toBeNull();
    expect(probes.map((p) => [new URL(p.url).pathname, p.range])).toEqual([
      ["/oca/s/a/t/1/video/v1/seg-00002.m4s", "bytes=0-4095"],
      ["/oca/s/b/t/1/video/v1/seg-00002.m4s", "bytes=0-4095"],
    ]);
    expect(s.configure({ selector: { collapseSamples: 4 }, probe: { bytes: 8192 } }).rejected).toEqual([]);
    expect(s.selector.params.collapseSamples).toBe(4);
    expect(opts.selector).toEqual({ collapseSamples: 3, minDwellMs: 0, switchMargin: undefined });
    expect(opts.probe).toEqual({ bytes: 4096, path: "video/v1/seg-00002.m4s" });
    await s.close();
  });

  it("a collapse streak of 0 no longer makes the session fail over on every download", async () => {
    const { client, plays } = scripted();
    const got = await client.play("t", { ...QUIET, selector: { collapseSamples: 0 } }).catch((e: unknown) => e);
    if (got instanceof PlaySession) {
      // Before the fix: the session took it, and a download far above what the lowest rung needs
      // (4 Mbit/s against 1 Mbit/s) counted as a collapse and moved it to the next OCA.
      const from = got.current.ocaId;
      got.noteDownload(from, 500_000, 1_000, 1_000_000);
      const moved = got.switches.map((sw) => sw.reason);
      await got.close();
      expect(moved).toEqual([]);
    }
    expect(got).toMatchObject({ errorName: "INVALID_OPTION", data: { detail: "selector.collapseSamples: expected a whole number >= 1" } });
    expect(plays).toEqual([]);
  });
});
