import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { PlaySession } from "../client/session";
import { fakePlay } from "./client-fixtures";

// The hysteresis before leaving a working OCA for one that measures better. The OCAs are scripted (a
// fetch that answers every probe at once, OCA a's headers late while `slowA` is set, on the test's
// clock): what is under test is when the session moves, not the network.

function harness() {
  let t = 1_000;
  const state = { slowA: false };
  const client = {
    fetch: async (url: string) => {
      // The probe's clock reads the time before and after this call: a's answer takes 6 s.
      if (state.slowA && new URL(url).pathname.split("/")[3] === "a") t += 6_000;
      return new Response(new Uint8Array(1024), { status: 206 });
    },
    sendEvents: async () => {},
  } as unknown as VcdnClient;
  const s = new PlaySession(client, fakePlay(["a", "b"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 }, undefined, {
    now: () => t,
  });
  return { s, state };
}

describe("the hysteresis before moving to a better OCA", () => {
  it("takes two probe rounds: a steering answer between them is not a second measurement", async () => {
    const { s, state } = harness();
    await s.reprobe(true);
    expect(s.current.ocaId).toBe("a");
    state.slowA = true;
    await s.reprobe(); // one slow round of a: b scores far better, once
    expect(s.current.ocaId).toBe("a");
    // The player's steering answer (same order) re-reads the same measurements: no move on one blip.
    s.applySteering({ VERSION: 1, TTL: 10, "PATHWAY-PRIORITY": ["a", "b"] });
    expect(s.current.ocaId).toBe("a");
    await s.reprobe(); // the second slow round in a row: now it moves
    expect(s.current.ocaId).toBe("b");
    expect(s.switches.map((x) => x.reason)).toEqual(["better_oca"]);
    await s.close();
  });

  it("still follows a steering answer that drops the current OCA at once", async () => {
    const { s } = harness();
    await s.reprobe(true);
    s.applySteering({ VERSION: 1, TTL: 10, "PATHWAY-PRIORITY": ["b"] });
    expect(s.current.ocaId).toBe("b");
    expect(s.switches.map((x) => x.reason)).toEqual(["steering"]);
    await s.close();
  });
});
