/**
 * The operator dashboard's site filter in real headless Chromium against the real Worker with the demo
 * topology: typing a filter shows only the matching sites (with their regions' headings only) and says
 * how many, at once and without asking the API; "only sites that need attention" shows the site whose
 * OCA an operator drained through the admin API; both survive the 5-second refreshes; it says so in
 * words when nothing matches; a fill cycle's answer and a fault field being typed into outlive filtering
 * and refreshes; and on a phone the toolbar fits the window.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { topology } from "../../workers/shared/topology";
import { CHROMIUM, CI, launchChromium, openOpsDashboard, warnIfSkipped } from "./chromium";
import { setHealth } from "./sdk-harness";

warnIfSkipped("ops-filter");

let stack: LocalStack;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
let page: Page;

const shownSites = () => page.$$eval("#sites article[data-site]", (els) => els.map((e) => (e as HTMLElement).dataset.site));
const shownRegions = () => page.$$eval("#sites .region", (els) => els.map((e) => (e as HTMLElement).dataset.region));
const summary = () => page.textContent("#sites-summary");
const updated = () => page.textContent("#updated");

/** Waits for the next refresh to have drawn (#updated names a later second). */
async function nextRefresh(): Promise<void> {
  const before = await updated();
  await page.waitForFunction((b) => document.querySelector("#updated")?.textContent !== b, before, { timeout: 15_000 });
}

const TOTAL = topology.sites.length;

describe.skipIf(!CHROMIUM && !CI)("the operator dashboard's site filter in headless Chromium", () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium("ops-filter");
    page = await openOpsDashboard(browser.context, stack.worker.url, stack.adminToken);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("names its controls, and with no filter shows every site and says how many", async () => {
    expect(await page.getByRole("searchbox", { name: /filter sites/i }).count()).toBe(1);
    expect(await page.getByRole("checkbox", { name: "Only sites that need attention" }).count()).toBe(1);
    expect(new Set(await shownSites())).toEqual(new Set(topology.sites.map((s) => s.id)));
    expect(await summary()).toMatch(new RegExp(`^${TOTAL} sites · (none needs|\\d+ needs?) attention · showing all$`));
  });

  it("shows only the sites the filter matches, by ISP, OCA id and name, with their regions' headings only", async () => {
    await page.fill("#site-filter", "RheinNet");
    expect(await shownSites()).toEqual(["rheinnet-ber", "rheinnet-muc"]);
    expect(await shownRegions()).toEqual(["eu"]);
    expect(await summary()).toMatch(new RegExp(`^${TOTAL} sites · .* attention · showing 2$`));

    await page.fill("#site-filter", "lakeshore-chi-3");
    expect(await shownSites()).toEqual(["lakeshore-chi"]);
    // An IXP and its embedded children, both shown: the children follow it.
    await page.fill("#site-filter", "new york");
    expect(await shownSites()).toEqual(["ixp-nyc", "lumen-nyc"]);
    expect(await shownRegions()).toEqual(["na"]);
    // Words each match somewhere.
    await page.fill("#site-filter", "lumen york");
    expect(await shownSites()).toEqual(["lumen-nyc"]);
  });

  it("draws again in the same moment the filter changes, from the last overview (no call of the API)", async () => {
    // Read in the same task as the input event: no answer from the Worker could have come in between.
    const drawn = await page.evaluate(() => {
      const input = document.querySelector("#site-filter") as HTMLInputElement;
      input.value = "polder";
      input.dispatchEvent(new Event("input", { bubbles: true }));
      return {
        sites: Array.from(document.querySelectorAll<HTMLElement>("#sites article[data-site]"), (e) => e.dataset.site),
        summary: document.querySelector("#sites-summary")?.textContent,
      };
    });
    expect(drawn.sites).toEqual(["polder-ams"]);
    expect(drawn.summary).toMatch(/ · showing 1$/);
  });

  it("says so in words when no site matches", async () => {
    await page.fill("#site-filter", "xyz");
    expect(await shownSites()).toEqual([]);
    expect(await shownRegions()).toEqual([]);
    expect(await page.textContent("#sites")).toBe("No site matches “xyz”.");
    expect(await summary()).toMatch(/ · showing 0$/);
    // Escape empties the filter: every site again.
    await page.press("#site-filter", "Escape");
    expect(await shownSites()).toHaveLength(TOTAL);
  });

  it("shows only the sites that need attention: an OCA drained through the admin API puts its site there", async () => {
    await page.fill("#site-filter", "");
    await page.check("#attention-only");
    // The demo stack starts calm: every site reachable, healthy, its fill without errors or parked files.
    expect(await shownSites()).toEqual([]);
    expect(await page.textContent("#sites")).toBe("No site needs attention.");
    expect(await summary()).toBe(`${TOTAL} sites · none needs attention · showing 0`);

    await setHealth(stack, "polder-ams", "polder-ams-2", "drained");
    try {
      // The overview reads the operator's state as it is: "drained", which is not "healthy".
      await page.waitForFunction(() => document.querySelector('tr[data-oca="polder-ams-2"] .health')?.textContent === "drained", null, {
        timeout: 15_000,
      });
      expect(await shownSites()).toEqual(["polder-ams"]);
      expect(await shownRegions()).toEqual(["eu"]);
      expect(await summary()).toBe(`${TOTAL} sites · 1 needs attention · showing 1`);
      // The text filter narrows the attention list further.
      await page.fill("#site-filter", "rheinnet");
      expect(await page.textContent("#sites")).toBe("No site that needs attention matches “rheinnet”.");
      await page.fill("#site-filter", "amsterdam");
      expect(await shownSites()).toEqual(["polder-ams"]);

      // Both survive the refreshes that redraw the sites every 5 s.
      await nextRefresh();
      await nextRefresh();
      expect(await page.inputValue("#site-filter")).toBe("amsterdam");
      expect(await page.isChecked("#attention-only")).toBe(true);
      expect(await shownSites()).toEqual(["polder-ams"]);
      expect(await summary()).toBe(`${TOTAL} sites · 1 needs attention · showing 1`);

      // Restored, it no longer needs attention: the refresh takes it away from the list.
      await page.click('tr[data-oca="polder-ams-2"] button[data-action="healthy"]');
      await page.waitForFunction(() => document.querySelectorAll("#sites article[data-site]").length === 0, null, { timeout: 15_000 });
      expect(await page.textContent("#sites")).toBe("No site that needs attention matches “amsterdam”.");
    } finally {
      await setHealth(stack, "polder-ams", "polder-ams-2", "healthy");
      await page.uncheck("#attention-only");
    }
  });

  it("keeps a fault field being typed into across refreshes, and a fill cycle's answer across filtering", async () => {
    await page.fill("#site-filter", "polder-ams");
    expect(await shownSites()).toEqual(["polder-ams"]);
    const field = 'tr[data-oca="polder-ams-1"] input[data-fault="errorRate"]';
    await page.fill(field, "35");
    await nextRefresh();
    expect(await page.inputValue(field)).toBe("35");
    await page.fill(field, "0");

    await page.click('article[data-site="polder-ams"] button[data-action="fill-cycle"]');
    await page.waitForFunction(
      () => /ran:|did not run:/.test(document.querySelector('article[data-site="polder-ams"] [data-fill-result]')?.textContent ?? ""),
      null,
      {
        timeout: 60_000,
      },
    );
    const answer = await page.textContent('article[data-site="polder-ams"] [data-fill-result]');
    await page.fill("#site-filter", "xyz");
    await page.fill("#site-filter", "polder");
    expect(await page.textContent('article[data-site="polder-ams"] [data-fill-result]')).toBe(answer);
    await page.fill("#site-filter", "");
  });

  it("fits the toolbar in a phone's width, the filter across it", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.fill("#site-filter", "lumen");
    const fit = await page.evaluate(() => {
      const doc = document.documentElement;
      const box = (sel: string) => (document.querySelector(sel) as HTMLElement).getBoundingClientRect();
      const section = box("#sites-toolbar");
      return {
        scrolls: doc.scrollWidth > doc.clientWidth,
        filter: box("#site-filter"),
        checkbox: box("#attention-only"),
        summary: box("#sites-summary"),
        section: { left: section.left, right: section.right },
      };
    });
    expect(fit.scrolls).toBe(false);
    for (const b of [fit.filter, fit.checkbox, fit.summary]) {
      expect(b.left).toBeGreaterThanOrEqual(fit.section.left - 0.5);
      expect(b.right).toBeLessThanOrEqual(fit.section.right + 0.5);
    }
    // The filter spans the toolbar, large enough to type into with a thumb.
    expect(fit.filter.width).toBeGreaterThan((fit.section.right - fit.section.left) * 0.95);
    expect(fit.filter.height).toBeGreaterThanOrEqual(32);
    expect(new Set(await shownSites())).toEqual(new Set(["lumen-nyc", "lumen-lax"]));
    expect(await summary()).toMatch(/ · showing 2$/);
  });

  it("does not draw the sites again from the last overview once the admin token is refused", async () => {
    await page.fill("#site-filter", "");
    expect(await shownSites()).not.toEqual([]);
    await page.fill("#token", "not-the-token");
    await page.click("#save");
    await page.waitForFunction(() => /unauthorized/.test(document.querySelector("#error")?.textContent ?? ""), null, { timeout: 15_000 });
    expect(await shownSites()).toEqual([]);
    // Filtering reads the overview it was last given: that of a token now refused must stay away.
    await page.fill("#site-filter", "lumen");
    await page.uncheck("#attention-only");
    expect(await shownSites()).toEqual([]);
    expect(await summary()).toBe("");
  });
});
