import { describe, expect, it } from "vitest";
import { activeTitleIdsOf, httpRefused, SdkError, stoppedHoldingOf } from "../client/errors";
import { viewerMessage } from "../client/player/viewer-message";

// What the web player tells a viewer, for the errors an SDK session ends with.

describe("the web player's message to the viewer", () => {
  it("says a refused play means the plan's streams are in use elsewhere, with the codes for support", () => {
    const err = new SdkError("PLAY_REQUEST_FAILED", {
      status: 409,
      apiCode: "too_many_streams",
      detail: "409 too_many_streams: plan basic allows 1 stream(s)",
    });
    expect(viewerMessage(err)).toBe(
      "Your plan's streams are all in use on other screens. Stop one there, then press play again. (error 2001 too_many_streams)",
    );
  });

  it("names what plays on the other screens, by the catalogue's names, when the refusal lists them", () => {
    const names = new Map([
      ["orbit-city", "Orbit City"],
      ["signal-test", "Signal Test"],
    ]);
    const refused = (activeTitleIds: string[]) =>
      viewerMessage(new SdkError("PLAY_REQUEST_FAILED", { status: 409, apiCode: "too_many_streams", activeTitleIds }), (id) => names.get(id));
    expect(refused(["orbit-city"])).toBe(
      "Your plan's streams are all in use on other screens, where Orbit City is playing. Stop one there, then press play again. (error 2001 too_many_streams)",
    );
    expect(refused(["orbit-city", "signal-test", "orbit-city"])).toMatch(/, where Orbit City and Signal Test are playing\. /);
    // A title the page does not list (not licensed here, say) is named by its id.
    expect(refused(["orbit-city", "signal-test", "night-run"])).toMatch(/, where Orbit City, Signal Test and night-run are playing\. /);
  });

  it("keeps only well-formed title ids from a refusal's details, a few at most", () => {
    const details = {
      active: [
        { sessionId: "a", titleId: "orbit-city" },
        { titleId: "<img src=x onerror=alert(1)>" },
        { titleId: 42 },
        null,
        { titleId: "orbit-city" },
        ...Array.from({ length: 20 }, (_, i) => ({ titleId: `t-${i}` })),
      ],
    };
    expect(activeTitleIdsOf(details)).toEqual(["orbit-city", "t-0", "t-1", "t-2", "t-3", "t-4", "t-5", "t-6"]);
    expect(activeTitleIdsOf({ active: "orbit-city" })).toBeUndefined();
    expect(activeTitleIdsOf(null)).toBeUndefined();
    expect(activeTitleIdsOf({ active: [{ titleId: "" }] })).toBeUndefined();
  });

  it("tells a viewer whose handovers are spent to wait, for as long as the refusal says, rather than to stop a screen", () => {
    const held = (retryAfterS?: number) =>
      viewerMessage(
        new SdkError("PLAY_REQUEST_FAILED", { status: 409, apiCode: "too_many_streams", stoppedHolding: 1, retryAfterS, activeTitleIds: ["orbit-city"] }),
      );
    expect(held(90)).toBe(
      "Streams were started and stopped many times this hour, so one stopped moments ago still holds its place. Wait 90 seconds, then press play again. (error 2001 too_many_streams)",
    );
    expect(held(300)).toMatch(/ Wait 5 minutes, then press play again\. /);
    expect(held(undefined)).toMatch(/ Wait 90 seconds, /);
  });

  it("keeps a refusal's held stops only as counts of the API's range", () => {
    expect(stoppedHoldingOf({ stoppedHolding: 2, retryAfterS: 90 })).toEqual({ stoppedHolding: 2, retryAfterS: 90 });
    expect(stoppedHoldingOf({ stoppedHolding: 1, retryAfterS: 89.2 })).toEqual({ stoppedHolding: 1, retryAfterS: 90 });
    for (const details of [
      null,
      { active: [] },
      { stoppedHolding: 0, retryAfterS: 90 },
      { stoppedHolding: 1.5, retryAfterS: 90 },
      { stoppedHolding: "1", retryAfterS: 90 },
      { stoppedHolding: 1e9, retryAfterS: 90 },
      { stoppedHolding: 1, retryAfterS: Number.POSITIVE_INFINITY },
      { stoppedHolding: 1, retryAfterS: -5 },
      { stoppedHolding: 1, retryAfterS: 86_400 },
    ])
      expect(stoppedHoldingOf(details), JSON.stringify(details)).toBeUndefined();
  });

  it("says playback stopped because another screen took the plan's stream when an OCA refuses mid-stream", () => {
    const err = httpRefused(
      "oca-1",
      "https://x/oca/s/o/t/title/video/seg-3.m4s",
      409,
      JSON.stringify({ error: { code: "too_many_streams", message: "m" } }),
      "video/seg-3.m4s",
    );
    expect(viewerMessage(err)).toMatch(/^Playback stopped: your plan's streams are in use on other screens\. .* \(error 3001 too_many_streams\)$/);
  });

  it("explains licence, release, take-down and rate refusals in a viewer's words", () => {
    const play = (status: number, apiCode: string) => viewerMessage(new SdkError("PLAY_REQUEST_FAILED", { status, apiCode }));
    expect(play(451, "not_licensed")).toBe("This title is not available in your country. Choose another title from the catalogue. (error 2001 not_licensed)");
    expect(play(403, "not_released")).toMatch(/^This title is not out yet\./);
    expect(play(410, "taken_down")).toMatch(/^This title is no longer available\./);
    expect(play(429, "rate_limited")).toMatch(/^Too many plays in a short time\./);
    expect(play(401, "unauthorized")).toMatch(/Reload the page/);
  });

  it("falls back on the SDK's own reason when the API gave no code it knows, and never shows a raw body", () => {
    expect(viewerMessage(new SdkError("ALL_OCAS_FAILED", { detail: "no OCA left after http_503" }))).toBe(
      "No server could deliver this video just now. Press play to try again. (error 1006)",
    );
    expect(viewerMessage(new SdkError("PLAY_REQUEST_FAILED", { status: 503, apiCode: "catalogue_unavailable" }))).toMatch(
      /^The service could not start this video just now\./,
    );
    expect(viewerMessage(new SdkError("PLAY_REQUEST_FAILED", { detail: "TypeError: Failed to fetch" }))).toMatch(/^The service could not start/);
    expect(viewerMessage(httpRefused("o", "u", 418, "<html>teapot</html>", "video/seg-1.m4s"))).toBe(
      "Playback stopped: the server refused the video. (error 3001)",
    );
    expect(viewerMessage(new SdkError("PLAYER_ERROR", { detail: "mediaError/bufferAppendError" }))).toMatch(/could not be played on this device/);
    expect(viewerMessage(new Error("boom"))).toBe("Something went wrong: boom");
  });
});
