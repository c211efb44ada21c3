/**
 * The web player on a phone-width window (390 × 844) in real headless Chromium against the real
 * Worker: the playback readings (OCA, bitrate, buffer…) sit under the video, not over it (drawn over a
 * 200 px-tall picture they hid nearly all of it); before any play the QoE event list says it has none
 * yet (it was a blank strip), and loading the page logs no error. When the network goes, the viewer is
 * told in words (sign-in without an answer read as "no dev sign-in"; playback waiting on the network
 * showed nothing for 90 s and more).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { CHROMIUM, CI, launchChromium, warnIfSkipped } from "./chromium";
import { pollUntil } from "./sdk-harness";

warnIfSkipped("player-page-phone");

let stack: LocalStack;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

describe.skipIf(!CHROMIUM && !CI)("the web player on a phone", () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium("player-page-phone");
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("says there are no events yet, then shows the playback readings under the video, leaving the picture clear", async () => {
    const page = await browser!.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    page.on("pageerror", (e) => console.error("[player-page-phone] page error:", e.message));
    const consoleErrors: string[] = [];
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    await page.goto(`${stack.worker.url}/?geo=lumen-nyc`);
    await page.waitForFunction(() => (window as unknown as { __player?: { ready: boolean } }).__player?.ready === true, null, { timeout: 30_000 });
    // Loading the page logs no error (it asked for a /favicon.ico there is none of: a 404).
    await page.waitForLoadState("networkidle");
    expect(consoleErrors).toEqual([]);
    expect(await page.$eval("#events", (el) => getComputedStyle(el, "::before").content)).toBe('"None yet: press play on a title."');
    await page.click('button.play[data-title="orbit-city"]');
    await pollUntil(
      () => page.evaluate(() => (window as unknown as { __player: { state(): { currentTime: number } } }).__player.state().currentTime > 0.3),
      30_000,
      "Orbit City to play",
    );
    await page.waitForSelector("#overlay:not([hidden])");
    const boxes = await page.evaluate(() => {
      const v = document.querySelector("#video")!.getBoundingClientRect();
      const o = document.querySelector("#overlay")!.getBoundingClientRect();
      return { videoBottom: v.bottom, videoHeight: v.height, videoWidth: v.width, overlayTop: o.top, overlayHeight: o.height };
    });
    // The picture keeps its 16:9 box across the window, and the readings start below it.
    expect(boxes.videoHeight).toBeCloseTo((boxes.videoWidth * 9) / 16, 0);
    expect(boxes.overlayHeight).toBeGreaterThan(0);
    expect(boxes.overlayTop).toBeGreaterThanOrEqual(boxes.videoBottom);
    expect(await page.locator('#overlay [data-k="oca"]').textContent()).toMatch(/^lumen-nyc-\d$/);
    await page.close();
  });

  it("says the video service cannot be reached when sign-in gets no answer, not that the deployment has no dev sign-in", async () => {
    const page = await browser!.context.newPage();
    // The one request the network loses (injected in the browser: the Worker must keep serving the page itself).
    await page.route("**/v1/dev/token", (r) => r.abort("internetdisconnected"));
    await page.goto(`${stack.worker.url}/?geo=lumen-nyc`);
    await page.waitForSelector("#error:not([hidden])", { timeout: 30_000 });
    expect(await page.locator("#error").textContent()).toMatch(/^Cannot reach the video service at http:\/\/127\.0\.0\.1:\d+: check the connection/);
    await page.close();
  });

  it("tells the viewer it is reconnecting while playback waits on the network, and stops saying so once it plays on", async () => {
    const page = await browser!.context.newPage();
    await page.goto(`${stack.worker.url}/?geo=lumen-nyc`);
    await page.waitForFunction(() => (window as unknown as { __player?: { ready: boolean } }).__player?.ready === true, null, { timeout: 30_000 });
    await page.click('button.play[data-title="orbit-city"]');
    await pollUntil(
      () => page.evaluate(() => (window as unknown as { __player: { state(): { currentTime: number } } }).__player.state().currentTime > 0.3),
      30_000,
      "Orbit City to play",
    );
    expect(await page.locator("#notice").isHidden()).toBe(true);
    // Every OCA and steering request lost from now on (injected in the browser, as a dropped connection is).
    const lose = (r: import("playwright-core").Route) => r.abort("internetdisconnected");
    await page.route("**/oca/**", lose);
    await page.route("**/v1/steering/**", lose);
    await page.waitForSelector("#notice:not([hidden])", { timeout: 90_000 });
    expect(await page.locator("#notice").textContent()).toMatch(/^Reconnecting: the video has waited \d+ s for the network/);
    await page.unroute("**/oca/**", lose);
    await page.unroute("**/v1/steering/**", lose);
    await page.waitForSelector("#notice", { state: "hidden", timeout: 90_000 });
    await page.close();
  }, 200_000);
});
