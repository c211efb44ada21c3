import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { PlaySession } from "../client/session";
import { fakePlay } from "./client-fixtures";

// Re-probes of an OCA that is out of the ranking for a lost probe. The OCAs are scripted (a fetch that
// answers every range at once, e's first probe with a 503, recording which OCA each probe asked), on the
// test's clock: what is under test is which OCAs a round asks, not the network.

describe("a re-probe round", () => {
  it("gives its last place in turn to an OCA out for a lost probe too, whose good probe brings it back before its penalty ends", async () => {
    let t = 1_000;
    const asked: string[] = [];
    let eFailed = false;
    const client = {
      fetch: async (url: string) => {
        const oca = new URL(url).pathname.split("/")[3];
        asked.push(oca);
        if (oca === "e" && !eFailed) {
          eFailed = true;
          return new Response("down", { status: 503 });
        }
        return new Response(new Uint8Array(1024), { status: 206 });
      },
      sendEvents: async () => {},
    } as unknown as VcdnClient;
    const s = new PlaySession(
      client,
      fakePlay(["a", "b", "c", "d", "e"]),
      { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 },
      undefined,
      {
        now: () => t,
      },
    );
    await s.reprobe(true);
    expect(s.selector.exclusion("e", t)).toBe("probe_failed");
    asked.length = 0;
    // Four rounds a second apart: well inside the lost probe's 30 s penalty.
    for (let round = 0; round < 4; round++) {
      t += 1_000;
      await s.reprobe();
    }
    expect(asked).toContain("e");
    expect(s.selector.exclusion("e", t)).toBeNull();
    expect(s.pathwayPriority()).toContain("e");
    await s.close();
  });
});
