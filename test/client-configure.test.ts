import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { belowFloors, PlaySession } from "../client/session";
import { fakePlay } from "./client-fixtures";

// session.configure() on a running session. The OCAs are scripted (a fetch that answers every probe at
// once and counts them): what is under test is what an option changes, not the network.

function harness(opts: ConstructorParameters<typeof PlaySession>[2] = {}) {
  const count = { probes: 0 };
  const client = {
    fetch: async () => {
      count.probes++;
      return new Response(new Uint8Array(1024), { status: 206 });
    },
    sendEvents: async () => {},
  } as unknown as VcdnClient;
  // Under the test hook: these cases re-probe every 20 ms (the floor is 1 s).
  const s = new PlaySession(client, fakePlay(["a", "b"]), belowFloors({ pollSteering: false, flushIntervalMs: 3_600_000, ...opts }));
  return { s, count };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("configure()", () => {
  it("refuses selector values that would make the session fail over on every download or never on measurements", async () => {
    const { s } = harness({ reprobeIntervalMs: 0 });
    const r = s.configure({ selector: { collapseSamples: 0, switchConfirmations: 1.5, switchMargin: 1, rankPenalty: 0.5 } });
    expect(r.applied).toEqual(["selector.rankPenalty"]);
    expect(r.rejected.map((x) => x.key).sort()).toEqual(["selector.collapseSamples", "selector.switchConfirmations", "selector.switchMargin"]);
    // A download well above what the lowest rung needs is no collapse: the session stays.
    s.noteDownload("a", 4_000_000, 1_000, 1_000_000);
    expect(s.current.ocaId).toBe("a");
    expect(s.switches).toEqual([]);
    await s.close();
  });

  it("starts re-probing at once when a session that had none (0) is given an interval, but not while paused", async () => {
    const { s, count } = harness({ reprobeIntervalMs: 0 });
    s.startBackground();
    await sleep(60);
    expect(count.probes).toBe(0);
    s.pause();
    expect(s.configure({ reprobeIntervalMs: 20 }).applied).toEqual(["reprobeIntervalMs"]);
    await sleep(100);
    expect(count.probes).toBe(0);
    s.resume();
    await sleep(100);
    expect(count.probes).toBeGreaterThan(0);
    s.configure({ reprobeIntervalMs: 0 });
    await sleep(20); // a round already under way may finish
    const at = count.probes;
    await sleep(100);
    expect(count.probes).toBe(at);
    s.configure({ reprobeIntervalMs: 20 });
    await sleep(100);
    expect(count.probes).toBeGreaterThan(at);
    await s.close();
  });
});
