/**
 * The operator dashboard on a phone-width window (390 × 844) in real headless Chromium against the
 * real Worker: a window narrowed after the page loaded does not scroll sideways (the chart, drawn at the
 * wide window's width, stretched the whole page); each OCA's figures and controls fit its site's card (they sat off its right edge, in a
 * tall squeezed column), and when the Worker stops while an operator reads a site far down the page,
 * the message that the overview cannot be loaded is on screen where they are (it was at the top of the
 * page only, so the stale figures they read looked current). Loading the page logs no error.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { CHROMIUM, CI, launchChromium, openOpsDashboard, warnIfSkipped } from "./chromium";

warnIfSkipped("ops-ui-phone");

let stack: LocalStack;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
let page: Page;
const consoleErrors: string[] = [];

describe.skipIf(!CHROMIUM && !CI)("the operator dashboard on a phone", () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium("ops-ui-phone");
    browser.context.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page = await openOpsDashboard(browser.context, stack.worker.url, stack.adminToken);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("does not scroll sideways when the window is narrowed after loading, and logged no error loading", async () => {
    // It asked for a /favicon.ico there is none of: a 404.
    await page.waitForLoadState("networkidle");
    expect(consoleErrors).toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    const width = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    expect(width.scroll).toBe(width.client);
    // The chart is drawn again at the narrow window's width (it kept the wide one's, scrolling in its box).
    await page.waitForFunction(
      () => {
        const box = document.querySelector("#offload-chart") as HTMLElement;
        return box.scrollWidth <= box.clientWidth;
      },
      null,
      { timeout: 5_000 },
    );
  });

  it("fits every OCA's figures and controls in its site's card", async () => {
    // Opened on the phone this time (the admin token is kept for the tab).
    await page.reload();
    await page.waitForSelector("body[data-loaded=true]", { timeout: 20_000 });
    const cards = await page.$$eval("#sites article.site:not(.unreachable)", (els) =>
      els.map((card) => {
        const box = card.getBoundingClientRect();
        const buttons = Array.from(card.querySelectorAll("tr[data-oca] button"), (b) => b.getBoundingClientRect());
        return {
          site: (card as HTMLElement).dataset.site,
          scrolls: card.scrollWidth > card.clientWidth,
          buttons: buttons.length,
          outside: buttons.filter((b) => b.left < box.left || b.right > box.right).length,
        };
      }),
    );
    expect(cards.length).toBeGreaterThan(0);
    for (const c of cards) {
      expect(c.buttons, c.site).toBeGreaterThan(0);
      expect({ site: c.site, scrolls: c.scrolls, outside: c.outside }).toEqual({ site: c.site, scrolls: false, outside: 0 });
    }
    // Each control names its OCA to a screen reader (every button read "Drain", "Fail"), and counts read as words.
    const oca = await page.locator("tr[data-oca]").first().getAttribute("data-oca");
    expect(await page.getByRole("button", { name: `Drain ${oca}` }).count()).toBe(1);
    expect(await page.getByRole("button", { name: `Clear the fault switch of ${oca}` }).count()).toBe(1);
    expect(await page.locator("#sites").textContent()).not.toMatch(/\b1 (titles|sessions|files)\b/);
  });

  it("keeps the load error in view of an operator scrolled down to the last site when the Worker stops", async () => {
    await page.locator("#sites article[data-site]").last().scrollIntoViewIfNeeded();
    expect(await page.evaluate(() => scrollY)).toBeGreaterThan(2_000);
    await stack.worker.stop();
    // The next refresh (every 5 s) fails.
    await page.waitForSelector("#error:not([hidden])", { timeout: 30_000 });
    expect(await page.locator("#error").textContent()).toMatch(/^Cannot load the overview: /);
    const box = await page.locator("#error").evaluate((el) => {
      const r = el.getBoundingClientRect();
      return { top: r.top, bottom: r.bottom, innerHeight };
    });
    expect(box.top).toBeGreaterThanOrEqual(0);
    expect(box.bottom).toBeLessThanOrEqual(box.innerHeight);
    // In words an operator acts on (it read "Failed to fetch"), the figures greyed as stale.
    expect(await page.locator("#error").textContent()).toMatch(/cannot reach the Worker at http:\/\/127\.0\.0\.1:\d+ \(is it running\?\)/);
    expect(await page.evaluate(() => document.body.classList.contains("stale"))).toBe(true);
  });
});
