/**
 * The web player in real headless Chromium against the real Worker, when the title being watched is
 * taken down: the viewer is told playback stopped, that pressing play again will not help and what to
 * do instead, and the catalogue stops offering the title (here and on a screen that listed it before).
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { CHROMIUM, CI, launchChromium, warnIfSkipped } from "./chromium";
import { admin, pollUntil } from "./sdk-harness";

warnIfSkipped("player-taken-down");

let stack: LocalStack;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

const state = (page: Page) =>
  page.evaluate(() => (window as unknown as { __player: { state(): unknown } }).__player.state()) as Promise<{ currentTime: number; titleId: string | null }>;

async function openPlayer(memberId: string): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("[player-taken-down] page error:", e.message));
  await page.addInitScript((id) => localStorage.setItem("vcdn-member", id), memberId);
  await page.goto(`${stack.worker.url}/?geo=lumen-nyc&buffer=4`);
  await page.waitForFunction(() => (window as unknown as { __player?: { ready: boolean } }).__player?.ready === true, null, { timeout: 30_000 });
  return page;
}

/** The message the page shows the viewer, once it shows one. */
const messageShown = (page: Page, what: string) =>
  pollUntil(async () => ((await page.locator("#error").isVisible()) ? page.locator("#error").textContent() : null), 30_000, what);

const offered = (page: Page, titleId: string) => page.locator(`button.play[data-title="${titleId}"]`).count();

describe.skipIf(!CHROMIUM && !CI)("web player when the title is taken down", () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium("player-taken-down");
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("says playback stopped and to choose another title, and no longer offers the title", async () => {
    const memberId = `taken-down-${Date.now().toString(36)}`;
    const tv = await openPlayer(memberId);
    // Another screen of the member listed the catalogue before the take-down.
    const laptop = await openPlayer(memberId);
    await tv.click('button.play[data-title="orbit-city"]');
    await pollUntil(async () => (await state(tv)).currentTime > 0.3, 30_000, "Orbit City to play");
    const down = await admin(stack, "DELETE", "/admin/titles/orbit-city");
    expect(down.status).toBe(200);

    // Mid-play: the OCA refuses the next files (410 taken_down).
    expect(await messageShown(tv, "the message mid-play")).toBe(
      "Playback stopped: this title is no longer available. Choose another title from the catalogue. (error 3001 taken_down)",
    );
    expect(await offered(tv, "orbit-city")).toBe(0);
    // Another title plays, as the message says.
    await tv.click('button.play[data-title="sintel-sunrise"]');
    await pollUntil(async () => (await state(tv)).currentTime > 0.3, 30_000, "Sintel Sunrise to play");
    expect(await tv.locator("#error").isVisible()).toBe(false);

    // The other screen's list still had it: its play is refused (410), and the title leaves its list.
    expect(await offered(laptop, "orbit-city")).toBe(1);
    await laptop.click('button.play[data-title="orbit-city"]');
    expect(await messageShown(laptop, "the message at play")).toBe(
      "This title is no longer available. Choose another title from the catalogue. (error 2001 taken_down)",
    );
    expect(await offered(laptop, "orbit-city")).toBe(0);
    expect((await state(laptop)).titleId).toBeNull();
    await tv.close();
    await laptop.close();
  });
});
