import { describe, expect, it } from "vitest";
import { PlaySession } from "../client/session";
import { REPROBE_OCAS } from "../shared/probe-pace";
import { fakePlay, probeRecordingClient } from "./client-fixtures";

// The SDK's re-probes, against OCAs that answer every range at once (scripted: what is under test is
// which OCAs a round asks, not the network).

describe("a playing session's re-probes", () => {
  it("ask the current OCA, the next of its ranking and one of the rest in turn, not every OCA of a long list", async () => {
    const asked: string[] = [];
    const client = probeRecordingClient(asked);
    const s = new PlaySession(client, fakePlay(["a", "b", "c", "d", "e", "f"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
    await s.reprobe(true);
    // The first round probes them all, to pick.
    expect(asked.sort()).toEqual(["a", "b", "c", "d", "e", "f"]);
    asked.length = 0;
    // The round's order as it starts: its own measurements may reorder the ranking (the scripted OCAs
    // answer at once, so a busy machine's scheduling decides which looks faster).
    const current = s.current.ocaId;
    const ranked = s.pathwayPriority().slice(0, REPROBE_OCAS - 1);
    await s.reprobe();
    expect(asked).toHaveLength(REPROBE_OCAS);
    expect(asked[0]).toBe(current);
    expect(asked.slice(0, REPROBE_OCAS - 1)).toEqual(ranked);
    // The last place goes to the rest in turn: within a few rounds every OCA is measured again.
    const seen = new Set(asked);
    for (let round = 0; round < 6; round++) {
      asked.length = 0;
      await s.reprobe();
      for (const id of asked) seen.add(id);
    }
    expect([...seen].sort()).toEqual(["a", "b", "c", "d", "e", "f"]);
    asked.length = 0;
    await s.reprobe();
    // An OCA in the hard-failure penalty box is not asked; the next of the ranking is.
    const second = asked[1];
    s.reportFailure(second, "http_503 video/v1/seg-00001.m4s");
    asked.length = 0;
    await s.reprobe();
    expect(asked).toHaveLength(REPROBE_OCAS);
    expect(asked).not.toContain(second);
    await s.close();
  });
});
