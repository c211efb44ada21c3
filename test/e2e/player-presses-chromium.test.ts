/**
 * The web player in real headless Chromium against the real Worker, when the viewer presses again
 * before a play request has answered: another title (a double click, a change of mind) or stop. Only
 * what was pressed last may play, and a session nobody watches must not hold one of the member's
 * streams (it would keep probing, renew itself, and on a one-stream plan refuse the viewer's next play).
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { CHROMIUM, CI, launchChromium, warnIfSkipped } from "./chromium";
import { admin, failoverPlacement, pollUntil } from "./sdk-harness";

warnIfSkipped("player-presses");

interface PlayerApi {
  __player: {
    ready: boolean;
    play(titleId: string): Promise<void>;
    stop(): Promise<void>;
    state(): { phase: string; sessionId: string | null; titleId: string | null; currentTime: number; lastError: string | null };
  };
}

let stack: LocalStack;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

/** Opens the player for a member of its own (premium: both plays are granted, so nothing but the page can stop one). */
async function openPlayer(memberId: string): Promise<Page> {
  const page = await context.newPage();
  await page.addInitScript((id) => localStorage.setItem("vcdn-member", id), memberId);
  page.on("pageerror", (e) => console.error("[player] page error:", e.message));
  await page.goto(`${stack.worker.url}/?geo=lumen-nyc&buffer=8`);
  await page.waitForFunction(() => (window as unknown as Partial<PlayerApi>).__player?.ready === true, null, { timeout: 30_000 });
  return page;
}

const state = (page: Page) => page.evaluate(() => (window as unknown as PlayerApi).__player.state());

/** The member's streams as its object counts them (session ids). */
async function streamsOf(memberId: string): Promise<string[]> {
  const r = await admin(stack, "GET", `/admin/members/${memberId}/streams`);
  return (r.json as { streams: Array<{ sessionId: string }> }).streams.map((s) => s.sessionId);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!CHROMIUM && !CI)("web player pressed again before its play request answered", () => {
  beforeAll(async () => {
    stack = await startLocalStack(failoverPlacement);
    browser = await launchChromium("player-presses");
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("plays only the title pressed last, and the member holds that one stream alone", async () => {
    const memberId = `presses-two-${Date.now().toString(36)}`;
    const page = await openPlayer(memberId);
    // Two presses in a row: the second before the first play request has answered.
    await page.evaluate(() => {
      const p = (window as unknown as PlayerApi).__player;
      void p.play("sintel-sunrise");
      return p.play("orbit-city");
    });
    await pollUntil(async () => (await state(page)).currentTime > 0.5, 30_000, "the title pressed last to play");
    const s = await state(page);
    expect(s.titleId).toBe("orbit-city");
    expect(s.lastError).toBeNull();
    // The first press's session was stopped, not left running beside it.
    await sleep(3_000);
    expect(await streamsOf(memberId)).toEqual([s.sessionId]);
    await page.close();
  });

  it("plays nothing when stop is pressed while the play request is out, and holds none of the member's streams", async () => {
    const memberId = `presses-stop-${Date.now().toString(36)}`;
    const page = await openPlayer(memberId);
    await page.evaluate(() => {
      const p = (window as unknown as PlayerApi).__player;
      void p.play("sintel-sunrise");
      return p.stop();
    });
    await sleep(5_000);
    const s = await state(page);
    expect(s.phase).toBe("idle");
    expect(s.currentTime).toBe(0);
    expect(await streamsOf(memberId)).toEqual([]);
    await page.close();
  });
});
