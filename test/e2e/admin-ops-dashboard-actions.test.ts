/**
 * What the dashboard's controls tell the operator, in real headless Chromium against the real Worker:
 * a control the admin API refuses says so, and keeps saying so across the refreshes that follow (the
 * page redraws every 5 s); a fill cycle that outlasts a refresh shows it is running, cannot be started
 * twice, and shows what it ran when it ends.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { CHROMIUM, CI, launchChromium, openOpsDashboard, warnIfSkipped } from "./chromium";

warnIfSkipped("ops-actions");

let stack: LocalStack;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

const openDashboard = (): Promise<Page> => openOpsDashboard(context, stack.worker.url, stack.adminToken);

/** Resolves with the next overview the page loads (a refresh, once drawn). */
async function nextRefresh(page: Page): Promise<void> {
  await page.waitForResponse((r) => r.url().includes("/admin/ops/overview"), { timeout: 12_000 });
  await page.waitForTimeout(300);
}

const errorShown = (page: Page) =>
  page.evaluate(() => {
    const el = document.querySelector("#error") as HTMLElement;
    return el.hidden ? null : el.textContent;
  });

describe.skipIf(!CHROMIUM && !CI)("the dashboard's controls in headless Chromium", () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium("ops-actions");
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("keeps a refused control's error on screen across the refreshes that follow, until a control succeeds", async () => {
    const page = await openDashboard();
    const row = 'tr[data-oca="lumen-nyc-2"]';
    // 40 s of added latency is past the API's 30 s: the fault switch is refused (400), nothing is set.
    await page.fill(`${row} input[data-fault="addedLatencyMs"]`, "40000");
    const refused = page.waitForResponse((r) => r.url().endsWith("/ocas/lumen-nyc-2/fault"));
    await page.click(`${row} button[data-action="fault"]`);
    expect((await refused).status()).toBe(400);
    // The refresh the control asks for, and the next periodic one, leave the error where it is.
    await nextRefresh(page);
    expect(await errorShown(page)).toMatch(/fault failed: invalid_request/);
    await nextRefresh(page);
    expect(await errorShown(page)).toMatch(/fault failed: invalid_request/);
    expect(await page.locator(`${row} .fault`).count()).toBe(0);
    // A control that succeeds clears it.
    await page.click(`${row} button[data-action="clear-fault"]`);
    await page.waitForFunction(() => (document.querySelector("#error") as HTMLElement).hidden);
    await page.close();
  });

  it("refuses an error rate past 100 % on the page, sending nothing, rather than setting 100 %", async () => {
    const page = await openDashboard();
    const row = 'tr[data-oca="lumen-nyc-2"]';
    let sent = 0;
    page.on("request", (r) => {
      if (r.url().endsWith("/ocas/lumen-nyc-2/fault")) sent++;
    });
    await page.fill(`${row} input[data-fault="errorRate"]`, "150");
    await page.click(`${row} button[data-action="fault"]`);
    await page.waitForFunction(() => !(document.querySelector("#error") as HTMLElement).hidden);
    expect(await errorShown(page)).toMatch(/fault failed: error rate must be 0–100 %, not 150 %/);
    // The refresh that follows the control shows the OCA as it was: no fault set, none asked for.
    await nextRefresh(page);
    expect(sent).toBe(0);
    expect(await page.locator(`${row} .fault`).count()).toBe(0);
    await page.close();
  });

  it("shows a fill cycle that outlasts a refresh as running, with no second start, then what it ran", async () => {
    const page = await openDashboard();
    let started = 0;
    // The site's fill cycle takes 8 s here: longer than the page's 5 s between refreshes.
    await page.route("**/admin/sites/lumen-nyc/fill-cycle", async (route) => {
      started++;
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      await route.continue();
    });
    const card = 'article[data-site="lumen-nyc"]';
    await page.click(`${card} button[data-action="fill-cycle"]`);
    // A refresh redraws the card while the cycle runs: it still says so, and cannot be started again.
    await nextRefresh(page);
    expect(await page.textContent(`${card} [data-fill-result]`)).toMatch(/running/);
    expect(await page.isDisabled(`${card} button[data-action="fill-cycle"]`)).toBe(true);
    await page.click(`${card} button[data-action="fill-cycle"]`, { force: true }).catch(() => {});
    // Its answer shows in the card on the page, not in one a refresh has replaced.
    await page.waitForFunction((sel) => /ran:/.test(document.querySelector(`${sel} [data-fill-result]`)?.textContent ?? ""), card, { timeout: 20_000 });
    expect(await page.isDisabled(`${card} button[data-action="fill-cycle"]`)).toBe(false);
    // And it stays after the next refresh redraws the card.
    await nextRefresh(page);
    expect(await page.textContent(`${card} [data-fill-result]`)).toMatch(/ran:/);
    expect(started).toBe(1);
    await page.close();
  });
});
