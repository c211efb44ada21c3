import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { PlaySession } from "../client/session";
import type { FetchInit } from "../client/types";
import { fakePlay } from "./client-fixtures";

// A session's probes end with it: a probe still out when the session closes is aborted then, not left
// running until its 2 s timeout. The OCAs are scripted to never answer (what is under test is when the
// requests end, not the network).

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

/** A client whose OCAs never answer a probe; `open` counts the probe requests not yet aborted. */
function silentOcas() {
  const state = { started: 0, aborted: 0 };
  const client = {
    fetch: (_url: string, init?: FetchInit) =>
      new Promise<Response>((_, reject) => {
        state.started++;
        const signal = init?.signal;
        const abort = () => {
          state.aborted++;
          reject(new DOMException("aborted", "AbortError"));
        };
        if (signal?.aborted) abort();
        else signal?.addEventListener("abort", abort);
      }),
    sendEvents: async () => {},
  } as unknown as VcdnClient;
  return { client, state };
}

describe("a session's probes", () => {
  it("are aborted when the session closes, not 2 s later at their timeout", async () => {
    const { client, state } = silentOcas();
    const s = new PlaySession(client, fakePlay(["a", "b", "c"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 3_600_000 });
    let done = false;
    const round = s.reprobe(true).then(() => {
      done = true;
    });
    await tick();
    expect(state).toEqual({ started: 3, aborted: 0 });
    await s.close();
    await tick();
    expect(state.aborted).toBe(3);
    expect(done).toBe(true);
    await round;
    // A round asked for after the close sends nothing that outlives it either.
    await s.reprobe();
    expect(state.aborted).toBe(state.started);
  });
});
