import { describe, expect, it } from "vitest";
import { SingleFlight } from "../workers/shared/single-flight";

/**
 * Work one request starts for the whole isolate (a site sync, a catalogue or topology look): one run at
 * a time, its promise only ever the starter's (another request awaiting it can be failed by workerd
 * with a bare 500), and a run whose request was cut off, which never settles, stops blocking the next.
 */
describe("a single-flight run of isolate-wide work", () => {
  it("starts one run at a time and hands its promise to the starter alone", async () => {
    const flight = new SingleFlight(1_000);
    let release = () => {};
    let runs = 0;
    const work = () => {
      runs++;
      return new Promise<void>((r) => (release = r));
    };
    const first = flight.start(work, 0);
    expect(first).toBeInstanceOf(Promise);
    expect(flight.busy(10)).toBe(true);
    // A second request while the first runs gets nothing to wait on.
    expect(flight.start(work, 10)).toBeNull();
    expect(runs).toBe(1);
    release();
    await first;
    expect(flight.busy()).toBe(false);
    const second = flight.start(work);
    expect(second).toBeInstanceOf(Promise);
    expect(runs).toBe(2);
    release();
    await second;
  });

  it("stops counting a run that has not settled after its stale time; that run's late end does not free the next", async () => {
    const flight = new SingleFlight(1_000);
    let releaseOld = () => {};
    const old = flight.start(() => new Promise<void>((r) => (releaseOld = r)), 0);
    expect(old).not.toBeNull();
    expect(flight.busy(999)).toBe(true);
    expect(flight.start(async () => {}, 999)).toBeNull();
    expect(flight.busy(1_000)).toBe(false);
    let releaseNext = () => {};
    const next = flight.start(() => new Promise<void>((r) => (releaseNext = r)), 1_000);
    expect(next).not.toBeNull();
    releaseOld();
    await old;
    expect(flight.busy(1_001)).toBe(true);
    releaseNext();
    await next;
    expect(flight.busy(1_001)).toBe(false);
  });

  it("reads a staleness that depends on state at each check (a site's sync interval)", () => {
    let intervalMs = 1_000;
    const flight = new SingleFlight(() => intervalMs + 3_000);
    flight.start(() => new Promise<void>(() => {}), 0);
    expect(flight.busy(3_999)).toBe(true);
    expect(flight.busy(4_000)).toBe(false);
    // The site asked for 10 s: the same cut-off run counts as running for as long as a flush may wait.
    intervalMs = 10_000;
    expect(flight.busy(12_999)).toBe(true);
    expect(flight.busy(13_000)).toBe(false);
  });

  it("is free again after a run that fails, and the failure reaches the starter", async () => {
    const flight = new SingleFlight(1_000);
    await expect(flight.start(async () => Promise.reject(new Error("site unreachable")))).rejects.toThrow("site unreachable");
    expect(flight.busy()).toBe(false);
    expect(flight.start(async () => {})).not.toBeNull();
  });

  it("hands a run started behind a response to the starter's waitUntil alone", async () => {
    const flight = new SingleFlight(1_000);
    const kept: Promise<unknown>[] = [];
    const others: Promise<unknown>[] = [];
    let release = () => {};
    flight.startBehind(
      () => new Promise<void>((r) => (release = r)),
      (p) => kept.push(p),
    );
    flight.startBehind(
      async () => {},
      (p) => others.push(p),
    );
    expect(kept).toHaveLength(1);
    expect(others).toHaveLength(0);
    release();
    await kept[0];
    expect(flight.busy()).toBe(false);
  });
});
