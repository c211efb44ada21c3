import type Hls from "hls.js";
import { describe, expect, it } from "vitest";
import type { VcdnClient } from "../../client/api";
import type { SdkError } from "../../client/errors";
import { SessionEvents } from "../../client/events";
import { PlayerMonitor } from "../../client/player/monitor";
import { viewerMessage } from "../../client/player/viewer-message";
import { PlaySession } from "../../client/session";
import type { PlayResponse } from "../../client/types";

// The web player's monitor turning hls.js's fatal errors into the session's error, and so into what
// the viewer reads: driven with stand-ins for the <video> element and hls.js (what is under test is
// the mapping, not hls.js's own error handling).

const client = {
  fetch: async () => {
    throw new Error("unused");
  },
  sendEvents: async () => {},
} as unknown as VcdnClient;

/** A play response with two OCAs of a made-up site and one rendition. */
const play = {
  sessionId: "sess",
  titleId: "t",
  sessionToken: "tok",
  expiresAt: new Date(Date.now() + 6 * 3600_000).toISOString(),
  ocas: ["a", "b"].map((ocaId, i) => ({ rank: i + 1, siteId: "s", ocaId, tier: "embedded", url: `https://cdn.test/oca/s/${ocaId}/t/1/` })),
  renditions: { video: [{ id: "v1", bandwidth: 3_000_000, width: 1280, height: 720, codecs: "avc1" }], audio: [], subtitles: [] },
} as unknown as PlayResponse;

const HlsClass = {
  Events: {
    FRAG_CHANGED: "hlsFragChanged",
    ERROR: "hlsError",
    MANIFEST_PARSED: "hlsManifestParsed",
    FRAG_LOADED: "hlsFragLoaded",
    FRAG_BUFFERED: "hlsFragBuffered",
  },
  ErrorTypes: { NETWORK_ERROR: "networkError", MEDIA_ERROR: "mediaError", OTHER_ERROR: "otherError" },
} as unknown as typeof Hls;

/** The session's fatal error after hls.js raised `error` as fatal. */
async function fatalFrom(error: { type: string; details: string; response?: { code: number; text: string } }): Promise<SdkError | undefined> {
  const s = new PlaySession(client, play, { reprobeIntervalMs: 0, pollSteering: false, flushIntervalMs: 60_000 });
  const listeners = new Map<string, (event: string, data: unknown) => void>();
  const hls = {
    on: (event: string, fn: (event: string, data: unknown) => void) => listeners.set(event, fn),
    off: (event: string) => listeners.delete(event),
    levels: [],
    recoverMediaError: () => {},
  } as unknown as Hls;
  const video = { addEventListener: () => {}, removeEventListener: () => {}, currentTime: 0 } as unknown as HTMLVideoElement;
  const monitor = new PlayerMonitor(video, hls, s, HlsClass);
  let fatal: SdkError | undefined;
  s.on(SessionEvents.ERROR, (e) => {
    if (e.fatal) fatal = e;
  });
  listeners.get("hlsError")?.("hlsError", { fatal: true, ...error });
  monitor.dispose();
  await s.close();
  return fatal;
}

describe("the web player when hls.js gives up on a download", () => {
  it("tells the viewer no server could deliver the video (every OCA failed), not that the device cannot play it", async () => {
    const err = await fatalFrom({ type: "networkError", details: "fragLoadError", response: { code: 503, text: "Service Unavailable" } });
    expect(err?.errorName).toBe("ALL_OCAS_FAILED");
    expect(viewerMessage(err)).toMatch(/^No server could deliver this video just now\. Press play to try again\./);
  });

  it("says the same when no OCA answered at all (the timeouts and network errors the loader failed over)", async () => {
    const err = await fatalFrom({ type: "networkError", details: "fragLoadTimeOut" });
    expect(err?.errorName).toBe("ALL_OCAS_FAILED");
  });

  it("still says the device cannot play the video for a media error", async () => {
    const err = await fatalFrom({ type: "otherError", details: "internalException" });
    expect(err?.errorName).toBe("PLAYER_ERROR");
    expect(viewerMessage(err)).toMatch(/could not be played on this device/);
  });
});
