import { describe, expect, it } from "vitest";
import { PlaySession } from "../client/session";
import { fakePlay, probeRecordingClient } from "./client-fixtures";

// A steering manifest's PATHWAY-PRIORITY comes off the network. The OCAs are scripted (a fetch that
// answers every probe at once, recording which OCA it was asked for): what is under test is the
// ranking the session makes of the list, not the transport.

describe("a steering manifest that names an OCA more than once", () => {
  it("ranks, hands to the player and re-probes each OCA once", async () => {
    const asked: string[] = [];
    const client = probeRecordingClient(asked);
    const s = new PlaySession(client, fakePlay(["a", "b", "c"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
    await s.reprobe(true);
    s.applySteering({ VERSION: 1, TTL: 10, "PATHWAY-PRIORITY": ["a", "b", "b", "a", "b", "c"] });
    expect(s.selector.serverPriority).toEqual(["a", "b", "c"]);
    // Each OCA once; their order also weighs the probes' measurements, which the scripted OCAs (answering
    // at once) leave to the machine's scheduling.
    expect([...s.pathwayPriority()].sort()).toEqual(["a", "b", "c"]);
    asked.length = 0;
    await s.reprobe();
    expect(asked.sort()).toEqual(["a", "b", "c"]);
    await s.close();
  });
});
