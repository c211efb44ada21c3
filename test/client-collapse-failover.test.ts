import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { PlaySession } from "../client/session";
import { fakePlay } from "./client-fixtures";

// A throughput collapse on every OCA in turn: what a viewer whose own link has become slower than the
// lowest rung sees. The OCAs are scripted (a fetch that answers every probe at once) and the clock is
// the test's: what is under test is where the session moves, not the network.

function harness() {
  let t = 1_000;
  const client = {
    fetch: async () => new Response(new Uint8Array(1024), { status: 206 }),
    sendEvents: async () => {},
  } as unknown as VcdnClient;
  const s = new PlaySession(client, fakePlay(["a", "b"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 }, undefined, {
    now: () => t,
  });
  /** Two segment downloads at 200 kbit/s from the current OCA, where the lowest rung needs 1 Mbit/s. */
  const twoSlowSegments = () => {
    for (let i = 0; i < 2; i++) s.noteDownload(s.current.ocaId, 100_000, 4_000, 1_000_000);
  };
  return { s, twoSlowSegments, advance: (ms: number) => (t += ms) };
}

describe("a throughput collapse on every OCA of the list", () => {
  it("moves once, then stays rather than hop between OCAs in the penalty box, and goes back once a penalty ends", async () => {
    const { s, twoSlowSegments, advance } = harness();
    expect(s.current.ocaId).toBe("a");
    twoSlowSegments(); // t = 1 s: a collapses (out until 21 s)
    expect(s.current.ocaId).toBe("b");
    advance(8_000);
    twoSlowSegments(); // t = 9 s: b collapses too (out until 29 s); a is still in the box
    advance(8_000);
    twoSlowSegments(); // t = 17 s
    // A re-probe round while both are in the box: no move either.
    await s.reprobe();
    expect(s.switches.map((x) => x.to.ocaId)).toEqual(["b"]);
    expect(s.current.ocaId).toBe("b");
    // a's penalty has ended (21 s), b's has not (29 s): the next round leaves b for a.
    advance(6_000);
    await s.reprobe();
    expect(s.current.ocaId).toBe("a");
    expect(s.switches.at(-1)?.reason).toBe("throughput_collapse");
    await s.close();
  });
});
