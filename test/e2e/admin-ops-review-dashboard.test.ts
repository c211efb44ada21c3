/**
 * The operator dashboard (/ops) in real headless Chromium against the real Worker: the bytes-served
 * chart names a site it could not read (its bytes are missing, not zero); a fault field being typed
 * into no longer holds every card as it was (health changes show while the field keeps its focus and
 * what is typed); and a refused token takes the chart's figures away with the cards.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { topology } from "../../workers/shared/topology";
import { CHROMIUM, CI, launchChromium, openOpsDashboard, warnIfSkipped } from "./chromium";
import { admin, setHealth } from "./sdk-harness";

warnIfSkipped("ops-review");

let stack: LocalStack;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
let page: Page;

/** Cuts a site's object off (the chaos switch), or puts it back. */
async function setUnreachable(siteId: string, unreachable: boolean): Promise<void> {
  const r = await admin(stack, "POST", `/admin/sites/${siteId}/chaos`, { unreachable });
  if (r.status !== 200) throw new Error(`chaos ${siteId} ${unreachable}: ${r.status} ${JSON.stringify(r.json)}`);
}

describe.skipIf(!CHROMIUM && !CI)("the operator dashboard's figures in headless Chromium", () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium("ops-review");
    page = await openOpsDashboard(browser.context, stack.worker.url, stack.adminToken);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("says above the chart which site it could not read, and stops saying so once the site answers", async () => {
    expect(await page.locator("#offload-coverage").isVisible()).toBe(false);
    await setUnreachable("polder-ams", true);
    try {
      await page.waitForFunction(() => /polder-ams/.test(document.querySelector("#offload-coverage")?.textContent ?? ""), null, { timeout: 15_000 });
      expect(await page.locator("#offload-coverage").isVisible()).toBe(true);
      expect(await page.textContent("#offload-coverage")).toBe(
        `1 of ${topology.sites.length} sites could not be read (polder-ams): their bytes are not in the chart or the table, which show the other ${topology.sites.length - 1}.`,
      );
    } finally {
      await setUnreachable("polder-ams", false);
    }
    await page.waitForFunction(() => (document.querySelector("#offload-coverage") as HTMLElement | null)?.hidden === true, null, { timeout: 15_000 });
  });

  it("keeps drawing the cards while a fault field is being typed into, the field keeping its focus and what is typed", async () => {
    const field = 'tr[data-oca="polder-ams-1"] input[data-fault="errorRate"]';
    await page.click(field);
    await page.keyboard.press("Control+A");
    await page.keyboard.type("2");
    await setHealth(stack, "polder-ams", "polder-ams-2", "drained");
    try {
      // Another OCA's health, changed through the API, shows while the field is still being typed into.
      await page.waitForFunction(() => document.querySelector('tr[data-oca="polder-ams-2"] .health')?.textContent === "drained", null, {
        timeout: 15_000,
      });
      expect(await page.evaluate((sel) => document.activeElement === document.querySelector(sel), field)).toBe(true);
      await page.keyboard.type("5");
      expect(await page.inputValue(field)).toBe("25");
    } finally {
      await setHealth(stack, "polder-ams", "polder-ams-2", "healthy");
      await page.fill(field, "0");
      await page.locator("#site-filter").focus();
    }
  });

  it("takes the chart's table away with the cards once the admin token is refused", async () => {
    expect(await page.locator("#offload-table tr").count()).toBeGreaterThan(0);
    await page.fill("#token", "not-the-token");
    await page.click("#save");
    await page.waitForFunction(() => /unauthorized/.test(document.querySelector("#error")?.textContent ?? ""), null, { timeout: 15_000 });
    expect(await page.locator("#sites article[data-site]").count()).toBe(0);
    expect(await page.locator("#offload-table tr").count()).toBe(0);
  });
});
