import type Hls from "hls.js";
import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../client/api";
import { attachSession } from "../client/player/hls-hook";
import { PlaySession } from "../client/session";
import { fakePlay } from "./client-fixtures";

// attachSession with a stand-in for hls.js: what is under test is what the hook does to the player
// when the app tears it down while the probes are still out (the web player's stop, or a press of
// another title), not hls.js itself. Chromium plays through it in test/e2e.

const client = {
  fetch: async () => {
    throw new Error("unused");
  },
  sendEvents: async () => {},
} as unknown as VcdnClient;

const HlsClass = { Events: { MANIFEST_PARSED: "hlsManifestParsed" } } as unknown as typeof Hls;

/** An hls.js stand-in: listeners, and what the hook asked of it. Once destroyed it has no levels, as hls.js. */
function fakeHls() {
  const listeners = new Map<string, (...args: unknown[]) => void>();
  const asked: string[] = [];
  let destroyed = false;
  const hls = {
    on: (event: string, fn: (...args: unknown[]) => void) => listeners.set(event, fn),
    off: (event: string) => listeners.delete(event),
    get levels() {
      return destroyed ? [] : [{ bitrate: 1_000_000 }, { bitrate: 3_000_000 }];
    },
    pathways: [] as string[],
    set bandwidthEstimate(_v: number) {
      asked.push("bandwidthEstimate");
    },
    set startLevel(v: number) {
      asked.push(`startLevel ${v}`);
    },
    startLoad: () => asked.push("startLoad"),
    destroy: () => {
      destroyed = true;
      listeners.clear();
    },
  };
  return { hls: hls as unknown as Hls & { destroy(): void }, listeners, asked };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe("a session attached to hls.js and unhooked before its probes finish", () => {
  it("does not start the destroyed player when the probes finish, nor ask it for a start rung", async () => {
    const s = new PlaySession(client, fakePlay(["a"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 60_000 });
    let probed = () => {};
    s.ready = new Promise<void>((r) => {
      probed = r;
    });
    const { hls, listeners, asked } = fakeHls();
    const chosen: number[][] = [];
    const unhook = attachSession(hls, s, HlsClass, (bitrates) => {
      chosen.push(bitrates);
      // As the web player's chooser: a ladder with no rung throws.
      if (!bitrates.length) throw new Error("chooseRung: empty ladder");
      return 0;
    });
    listeners.get("hlsManifestParsed")?.();
    // The viewer presses stop (or another title) while the probes are out.
    unhook();
    hls.destroy();
    probed();
    await tick();
    expect(asked).toEqual([]);
    expect(chosen).toEqual([]);
    await s.close();
  });

  it("does not steer a player destroyed between a switch and its steer a tick later", async () => {
    const s = new PlaySession(client, fakePlay(["a", "b"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 60_000 });
    const { hls } = fakeHls();
    const set: string[][] = [];
    // Two pathways, as a steered hls.js lists them; once destroyed, asking for them throws (its controllers are gone).
    let destroyed = false;
    const asked: string[] = [];
    Object.defineProperty(hls, "pathways", {
      get: () => {
        asked.push(destroyed ? "pathways after destroy" : "pathways");
        if (destroyed) throw new Error("hls.js destroyed");
        return ["a", "b"];
      },
    });
    Object.defineProperty(hls, "pathwayPriority", {
      set: (v: string[]) => {
        if (destroyed) throw new Error("hls.js destroyed");
        set.push(v);
      },
    });
    const unhook = attachSession(hls, s, HlsClass, () => 0);
    // The session moves (a failure), then the app tears the player down before the steer runs.
    s.reportFailure("a", "http_503");
    unhook();
    destroyed = true;
    await tick();
    expect(set).toEqual([]);
    expect(asked).toEqual([]);
    await s.close();
  });

  it("still starts the player on the probed pick when it stays attached", async () => {
    const s = new PlaySession(client, fakePlay(["a"]), { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 60_000 });
    const { hls, listeners, asked } = fakeHls();
    const unhook = attachSession(hls, s, HlsClass, () => 1);
    listeners.get("hlsManifestParsed")?.();
    await tick();
    expect(asked).toEqual(["startLevel 1", "startLoad"]);
    unhook();
    await s.close();
  });
});
