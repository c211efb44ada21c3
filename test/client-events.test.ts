import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { ERROR_CODES, ErrorCategory, SdkError } from "../client/errors";
import { SessionEvents, type SessionEventMap } from "../client/events";
import { PlaySession } from "../client/session";
import { ApiCallError, type FetchLike, type PlayResponse, type QoeEvent } from "../client/types";
import { fakePlay } from "./client-fixtures";

// The SDK's public event and error surface, driven without a network: what is under test is what
// the session tells its listeners and the control plane, not the transport.

function harness(requestPlay: () => Promise<PlayResponse> = async () => fakePlay(["a", "b"])) {
  const sent: QoeEvent[][] = [];
  const fetch: FetchLike = async () => {
    throw new TypeError("no network in this test");
  };
  const client = { fetch, requestPlay, sendEvents: async (_p: unknown, events: QoeEvent[]) => void sent.push(events) } as unknown as VcdnClient;
  const s = new PlaySession(client, fakePlay(["a", "b"]), { flushIntervalMs: 3_600_000, pollSteering: false, reprobeIntervalMs: 0 });
  const fired: Array<[string, unknown]> = [];
  for (const name of Object.values(SessionEvents)) s.on(name, (d) => fired.push([name, d]));
  return { s, sent, fired, client };
}

describe("session events", () => {
  it("on, off and once deliver what they promise", () => {
    const { s } = harness();
    const seen: string[] = [];
    const each = (d: SessionEventMap["stopped"]) => seen.push(`each:${d.reason}`);
    s.on(SessionEvents.STOPPED, each);
    s.once(SessionEvents.STOPPED, (d) => seen.push(`once:${d.reason}`));
    (s as unknown as { fire: (e: string, d: unknown) => void }).fire("stopped", { reason: "x" });
    (s as unknown as { fire: (e: string, d: unknown) => void }).fire("stopped", { reason: "y" });
    s.off(SessionEvents.STOPPED, each);
    (s as unknown as { fire: (e: string, d: unknown) => void }).fire("stopped", { reason: "z" });
    expect(seen).toEqual(["each:x", "once:x", "each:y"]);
  });

  it("a failover fires a recoverable error with the OCA and status, then the switch and the failover", async () => {
    const { s, fired, sent } = harness();
    expect(s.reportFailure("a", "http_503 video/v1/seg-00001.m4s")?.ocaId).toBe("b");
    const names = fired.map(([n]) => n);
    expect(names).toEqual(["error", "ocaSwitch", "failover"]);
    const err = fired[0][1] as SdkError;
    expect(err).toBeInstanceOf(SdkError);
    expect(err).toMatchObject({ code: 1001, errorName: "OCA_HTTP_ERROR", category: "network", severity: "recoverable", data: { ocaId: "a", status: 503 } });
    expect(fired[2][1]).toMatchObject({ from: { ocaId: "a" }, to: { ocaId: "b" }, reason: "http_503 video/v1/seg-00001.m4s" });
    await s.reporter.flush();
    expect(fired.some(([n, d]) => n === "qoeBatchSent" && (d as { events: number }).events === 1)).toBe(true);
    expect(sent.flat().map((e) => e.type)).toEqual(["oca_switch"]);
    await s.close();
  });

  it("a fatal error reports its code to the control plane, stops the session and fires stopped once", async () => {
    const { s, fired, sent } = harness();
    await s.fail(new SdkError("ALL_OCAS_FAILED", { ocaId: "b", detail: "no OCA left after http_503 on b" }));
    await s.fail(new SdkError("ALL_OCAS_FAILED")); // already stopped: nothing more
    const events = sent.flat();
    expect(events.map((e) => e.type)).toEqual(["error", "stop"]);
    expect(events[0].reason).toBe("1006 ALL_OCAS_FAILED: no OCA left after http_503 on b");
    expect(fired.filter(([n]) => n === "stopped")).toEqual([["stopped", { reason: "error" }]]);
    expect((fired.find(([n]) => n === "error")![1] as SdkError).fatal).toBe(true);
  });

  it("a refused play request is a fatal session error carrying the control plane's code", async () => {
    const { client } = harness(async () => {
      throw new ApiCallError(409, "too_many_streams", "the plan allows 2 streams");
    });
    const err = await PlaySession.start(client, "t").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdkError);
    expect(err).toMatchObject({ code: 2001, severity: "fatal", data: { status: 409, apiCode: "too_many_streams" } });
  });
});

describe("the error codes", () => {
  it("are unique, and each code's thousands say its category", () => {
    const rows = Object.entries(ERROR_CODES);
    expect(new Set(rows.map(([, [code]]) => code)).size).toBe(rows.length);
    const byThousand: Record<number, string> = {
      1: ErrorCategory.NETWORK,
      2: ErrorCategory.SESSION,
      3: ErrorCategory.MEDIA,
      4: ErrorCategory.STEERING,
      5: ErrorCategory.CONFIG,
    };
    for (const [name, [code, category]] of rows) expect(byThousand[Math.floor(code / 1000)], name).toBe(category);
  });
});

describe("configure()", () => {
  it("applies what is valid and reports what it rejected, as recoverable errors", async () => {
    const { s, fired } = harness();
    const r = s.configure({
      reprobeIntervalMs: 5000,
      steeringTtlBoundsS: [5, 1],
      probe: { bytes: 131072, sneaky: 1 },
      selector: { minDwellMs: 5000, nope: 3 },
      colour: "red",
      steeringTimeoutMs: -1,
    });
    expect(r.applied.sort()).toEqual(["probe.bytes", "reprobeIntervalMs", "selector.minDwellMs"]);
    expect(r.rejected.map((x) => x.key).sort()).toEqual(["colour", "probe.sneaky", "selector.nope", "steeringTimeoutMs", "steeringTtlBoundsS"]);
    expect(s.selector.params.minDwellMs).toBe(5000);
    const errors = fired.filter(([n]) => n === "error").map(([, e]) => e as SdkError);
    expect(errors).toHaveLength(5);
    expect(errors.every((e) => e.code === 5001 && e.severity === "recoverable")).toBe(true);
    expect(s.configure({ ["__proto__" as string]: { polluted: true } }).rejected).toHaveLength(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await s.close();
  });
});
