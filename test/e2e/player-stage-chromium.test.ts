/**
 * The web player's stage as a viewer sees it, in real headless Chromium against the real Worker: what
 * "Now playing", the track selectors and Stop say once nothing plays, the viewer's subtitle language
 * carried to the next title, play buttons named by their title, and a phone-width window.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { CHROMIUM, CI, launchChromium, warnIfSkipped } from "./chromium";
import { pollUntil } from "./sdk-harness";

warnIfSkipped("player-stage");

interface PlayerState {
  titleId: string | null;
  phase: string;
  currentTime: number;
  audioLang: string | null;
  subtitleLang: string | null;
  subtitleCues: number;
}

let stack: LocalStack;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

const state = (page: Page) => page.evaluate(() => (window as unknown as { __player: { state(): unknown } }).__player.state()) as Promise<PlayerState>;

/** Opens the player; with `memberId`, the dev sign-in uses that member (pages sharing it are one member's screens). */
async function openPlayer(query: string, memberId?: string, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  if (memberId) await page.addInitScript((id) => localStorage.setItem("vcdn-member", id), memberId);
  page.on("pageerror", (e) => console.error("[player-stage] page error:", e.message));
  await page.goto(`${stack.worker.url}/?${query}`);
  await page.waitForFunction(() => (window as unknown as { __player?: { ready: boolean } }).__player?.ready === true, null, { timeout: 30_000 });
  return page;
}

const playing = (page: Page, what: string) => pollUntil(async () => (await state(page)).currentTime > 0.3, 30_000, what);

/** What the stage under the video shows: the title named, the tracks offered, whether Stop can be pressed. */
const stage = (page: Page) =>
  page.evaluate(() => ({
    nowPlaying: document.querySelector("#now-playing")!.textContent,
    audioOptions: (document.querySelector("#audio") as HTMLSelectElement).options.length,
    audioDisabled: (document.querySelector("#audio") as HTMLSelectElement).disabled,
    subtitleOptions: (document.querySelector("#subs") as HTMLSelectElement).options.length,
    subtitlesDisabled: (document.querySelector("#subs") as HTMLSelectElement).disabled,
    stopDisabled: (document.querySelector("#stop") as HTMLButtonElement).disabled,
  }));

/** Whether the element is wholly inside the window as scrolled now. */
const inView = (page: Page, selector: string) =>
  page.$eval(selector, (el) => {
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight;
  });

describe.skipIf(!CHROMIUM && !CI)("the web player's stage in headless Chromium", () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium("player-stage");
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("names what plays by its title, and after Stop names nothing and offers no tracks and no second stop", async () => {
    const page = await openPlayer("geo=lumen-nyc&buffer=8");
    expect(await stage(page)).toMatchObject({ nowPlaying: "–", audioDisabled: true, subtitlesDisabled: true, stopDisabled: true });
    await page.click('button.play[data-title="orbit-city"]');
    await playing(page, "Orbit City to play");
    await pollUntil(async () => (await stage(page)).subtitleOptions > 1, 10_000, "the subtitle tracks to be offered");
    expect(await stage(page)).toMatchObject({ nowPlaying: "Orbit City", audioDisabled: false, subtitlesDisabled: false, stopDisabled: false });
    await page.click("#stop");
    await pollUntil(async () => (await state(page)).phase === "idle", 5_000, "the player to stop");
    expect(await stage(page)).toEqual({
      nowPlaying: "–",
      audioOptions: 0,
      audioDisabled: true,
      subtitleOptions: 0,
      subtitlesDisabled: true,
      stopDisabled: true,
    });
    await page.close();
  });

  it("names no title as playing when the play is refused", async () => {
    const memberId = `stage-refused-${Date.now().toString(36)}`;
    const tv = await openPlayer("geo=lumen-nyc&buffer=8&plan=basic", memberId);
    await tv.click('button.play[data-title="sintel-sunrise"]');
    await playing(tv, "the first screen to play");
    const tablet = await openPlayer("geo=lumen-nyc&buffer=8&plan=basic", memberId);
    await tablet.click('button.play[data-title="orbit-city"]');
    await pollUntil(() => tablet.locator("#error").isVisible(), 15_000, "the refusal's message");
    expect(await stage(tablet)).toMatchObject({ nowPlaying: "–", stopDisabled: true });
    await tv.close();
    await tablet.close();
  });

  it("keeps the viewer's subtitle language on the next title, as it keeps the audio language", async () => {
    const page = await openPlayer("geo=lumen-nyc&buffer=8");
    await page.click('button.play[data-title="orbit-city"]');
    await playing(page, "Orbit City to play");
    await pollUntil(async () => (await stage(page)).subtitleOptions > 1, 10_000, "the subtitle tracks to be offered");
    await page.selectOption("#audio", "es");
    await page.selectOption("#subs", "es");
    await pollUntil(async () => (await state(page)).subtitleCues > 0, 15_000, "Spanish subtitles on Orbit City");
    await page.click('button.play[data-title="signal-test"]');
    await pollUntil(async () => (await state(page)).titleId === "signal-test", 5_000, "Signal Test to be pressed");
    await playing(page, "Signal Test to play");
    const s = await pollUntil(
      async () => {
        const s = await state(page);
        return s.audioLang === "es" && s.subtitleLang === "es" && s.subtitleCues > 0 ? s : null;
      },
      15_000,
      "Spanish audio and Spanish subtitles on Signal Test",
    );
    expect(s.subtitleLang).toBe("es");
    expect(await page.$eval("#subs", (el) => (el as HTMLSelectElement).value)).toBe("es");
    expect(await page.$eval("#audio", (el) => (el as HTMLSelectElement).value)).toBe("es");
    await page.close();
  });

  it("names every play button by its title, for a viewer who cannot see the card it sits in", async () => {
    const page = await openPlayer("geo=lumen-nyc");
    for (const name of ["Orbit City", "Signal Test", "Sintel Sunrise"]) {
      expect(await page.getByRole("button", { name: `Play ${name}`, exact: true }).count()).toBe(1);
    }
    await page.close();
  });

  it("on a phone-width window, brings the video into view when a title low in the list is pressed, and keeps a refusal's message in view", async () => {
    const phone = { width: 375, height: 740 };
    const page = await openPlayer("geo=lumen-nyc&buffer=8", undefined, phone);
    const last = 'button.play[data-title="sintel-sunrise"]';
    await page.locator(last).scrollIntoViewIfNeeded();
    expect(await inView(page, "#video")).toBe(false);
    await page.click(last);
    await playing(page, "Sintel Sunrise to play on the phone");
    expect(await inView(page, "#video")).toBe(true);
    await page.close();

    const memberId = `stage-phone-${Date.now().toString(36)}`;
    const tv = await openPlayer("geo=lumen-nyc&buffer=8&plan=basic", memberId);
    await tv.click('button.play[data-title="orbit-city"]');
    await playing(tv, "the first screen to play");
    const second = await openPlayer("geo=lumen-nyc&buffer=8&plan=basic", memberId, phone);
    await second.locator(last).scrollIntoViewIfNeeded();
    await second.click(last);
    await pollUntil(() => second.locator("#error").isVisible(), 15_000, "the refusal's message");
    expect(await inView(second, "#error")).toBe(true);
    await tv.close();
    await second.close();
  });
});
