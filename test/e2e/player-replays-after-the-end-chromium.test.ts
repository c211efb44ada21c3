/**
 * The web player in real headless Chromium against the real Worker, when a viewer watches a title to
 * its end and presses play again. The end stops the session (its stream is freed at once), and an OCA
 * refuses a stopped session's files once its 30 s of grace are over: the replay must take a session
 * of its own, not stall where the buffer runs out.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { CHROMIUM, CI, launchChromium, warnIfSkipped } from "./chromium";
import { admin, pollUntil, sessionEvents } from "./sdk-harness";

warnIfSkipped("player-replay");

interface PlayerState {
  phase: string;
  sessionId: string | null;
  currentTime: number;
  duration: number;
  fatalErrors: string[];
  lastError: string | null;
}

let stack: LocalStack;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

const state = (page: Page) => page.evaluate(() => (window as unknown as { __player: { state(): unknown } }).__player.state()) as Promise<PlayerState>;

/** The member's streams as its object counts them (session ids). */
async function streamsOf(memberId: string): Promise<string[]> {
  const r = await admin(stack, "GET", `/admin/members/${memberId}/streams`);
  return (r.json as { streams: Array<{ sessionId: string }> }).streams.map((s) => s.sessionId);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!CHROMIUM && !CI)("web player played to the end and played again", () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium("player-replay");
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("ends cleanly at the end, and a replay a while later plays the whole title again under a new session", async () => {
    const memberId = `replay-${Date.now().toString(36)}`;
    const page = await context.newPage();
    page.on("pageerror", (e) => console.error("[player-replay] page error:", e.message));
    await page.addInitScript((id) => localStorage.setItem("vcdn-member", id), memberId);
    // A small forward buffer: after a jump to the end, the middle of the title is not buffered.
    await page.goto(`${stack.worker.url}/?geo=lumen-nyc&buffer=4&plan=basic`);
    await page.waitForFunction(() => (window as unknown as { __player?: { ready: boolean } }).__player?.ready === true, null, { timeout: 30_000 });
    await page.click('button.play[data-title="sintel-sunrise"]');
    await pollUntil(async () => (await state(page)).currentTime > 0.3, 30_000, "the title to play");
    const first = await state(page);
    // The viewer drags the playhead to the very end: the video ends, the session says stop and frees the stream.
    await page.evaluate(() => {
      const v = document.querySelector("video")!;
      v.currentTime = v.duration - 0.1;
    });
    await pollUntil(async () => (await state(page)).phase === "ended", 15_000, "the title to end");
    expect(await page.evaluate(() => document.querySelector("video")!.ended)).toBe(true);
    await pollUntil(async () => ((await sessionEvents(stack, first.sessionId!)).some((e) => e.type === "stop") ? true : null), 15_000, "the stop");
    expect(await streamsOf(memberId)).toEqual([]);

    // A while later (past the stopped session's grace), play again with the video's own play button.
    await sleep(32_000);
    // (The replay's new load interrupts this play() call, as it would the native button's; the page plays on.)
    await page.evaluate(() => {
      void document
        .querySelector("video")!
        .play()
        .catch(() => {});
    });
    const again = await pollUntil(
      async () => {
        const s = await state(page);
        return s.currentTime > 14 || s.fatalErrors.length || s.lastError ? s : null;
      },
      40_000,
      "the replay to play past the part still buffered",
    );
    expect(again.fatalErrors).toEqual([]);
    expect(again.lastError).toBeNull();
    expect(again.phase).toBe("playing");
    expect(again.sessionId).not.toBe(first.sessionId);
    // The replay holds the member's stream, as any play does (a one-stream plan counts it).
    expect(await streamsOf(memberId)).toEqual([again.sessionId]);
    await page.close();
  });
});
