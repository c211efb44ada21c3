/**
 * The operator dashboard (/ops) read as an operator reads it, in real headless Chromium against the
 * real Worker: dates rather than day numbers, a fill cycle's answer in words, the chart's legend with
 * its unit, values that keep their unit on their line, text with enough contrast (also on a site that
 * cannot be reached), and a phone-width window.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { CHROMIUM, CI, launchChromium, openOpsDashboard, warnIfSkipped } from "./chromium";
import { pollUntil, watchAtLumenNyc } from "./sdk-harness";

warnIfSkipped("ops-readings");

let stack: LocalStack;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

const openDashboard = (): Promise<Page> => openOpsDashboard(context, stack.worker.url, stack.adminToken);

/**
 * The WCAG contrast ratio of an element's text against its card, as drawn: its colour, faded by its
 * own and its ancestors' opacity, over the card's background.
 */
const contrastOf = (page: Page, selector: string) =>
  page.$eval(selector, (el) => {
    const rgb = (css: string) => (css.match(/[\d.]+/g) ?? []).map(Number);
    let alpha = 1;
    for (let e: Element | null = el; e; e = e.parentElement) alpha *= Number(getComputedStyle(e).opacity);
    const card = el.closest("article")!;
    const [br, bg, bb] = rgb(getComputedStyle(card).backgroundColor);
    const [r, g, b] = rgb(getComputedStyle(el).color);
    const drawn = [r * alpha + br * (1 - alpha), g * alpha + bg * (1 - alpha), b * alpha + bb * (1 - alpha)];
    const lum = ([x, y, z]: number[]) => {
      const c = [x, y, z].map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const [hi, lo] = [lum(drawn), lum([br, bg, bb])].sort((a, b) => b - a);
    return (hi + 0.05) / (lo + 0.05);
  });

describe.skipIf(!CHROMIUM && !CI)("the operator dashboard, read by an operator, in headless Chromium", () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium("ops-readings");
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("says what a fill cycle did in words, and names tonight's plan by its date rather than a day number", async () => {
    const page = await openDashboard();
    const card = 'article[data-site="lumen-nyc"]';
    await page.click(`${card} button[data-action="fill-cycle"]`);
    const result = await pollUntil(
      async () => {
        const t = (await page.textContent(`${card} [data-fill-result]`)) ?? "";
        return /^(ran|did not run|failed):/.test(t) ? t : null;
      },
      60_000,
      "the fill cycle's answer",
    );
    expect(result).toMatch(
      /^ran: planned for \d{4}-\d{2}-\d{2} from \d+ titles? considered, \d+ cop(y|ies) to add, \d+ cop(y|ies) to remove; queued \d+ files? \(/,
    );
    expect(result).not.toMatch(/[{}"]/);
    const fill = await pollUntil(
      async () => {
        const t = (await page.textContent(`${card} [data-fill]`)) ?? "";
        return /plan for/.test(t) ? t : null;
      },
      15_000,
      "the plan to show in the card",
    );
    expect(fill).toMatch(/Tonight's fill: plan for \d{4}-\d{2}-\d{2}, \d+ placements/);
    expect(fill).not.toMatch(/day \d{5}/);
    await page.close();
  });

  it("shows the chart's shares in its legend with their unit, as the axis and the table do", async () => {
    await watchAtLumenNyc(stack, "ops-readings-viewer");
    const page = await openDashboard();
    await page.waitForFunction(() => document.querySelectorAll("#offload-table tr").length > 1, null, { timeout: 15_000 });
    const box = (await page.locator("#offload-chart .u-over").boundingBox())!;
    // The last day's points sit half a day in from the right end of the axis (7 days shown).
    const legend = await pollUntil(
      async () => {
        await page.mouse.move(box.x + 5, box.y + 5);
        await page.mouse.move(box.x + box.width * (6.5 / 7), box.y + box.height / 2, { steps: 4 });
        const t = (await page.textContent("#offload-chart .u-legend")) ?? "";
        return /embedded\s*[\d.]/.test(t) ? t : null;
      },
      10_000,
      "the legend to show the hovered day's shares",
    );
    expect(legend).toMatch(/embedded\s*\d+\.\d %/);
    expect(legend).toMatch(/IXP\s*\d+\.\d %/);
    expect(legend).toMatch(/origin\s*\d+\.\d %/);
    await page.close();
  });

  it("keeps every egress, throughput and storage figure on one line with its unit", async () => {
    const page = await openDashboard();
    const lines = await page.$$eval("tr[data-oca] .egress, tr[data-oca] .throughput, tr[data-oca] .used, tr[data-oca] .capacity", (els) =>
      els.map((e) => ({ text: e.textContent, lines: new Set(Array.from(e.getClientRects(), (r) => Math.round(r.top))).size })),
    );
    expect(lines.filter((l) => l.lines !== 1)).toEqual([]);
    expect(lines.length).toBeGreaterThan(4 * 10);
    await page.close();
  });

  it("writes a site's id, and why a site cannot be reached, legibly (contrast at least 4.5:1)", async () => {
    const page = await context.newPage();
    // lumen-nyc answers as a site whose object timed out would.
    await page.route("**/admin/ops/overview*", async (route) => {
      const res = await route.fetch();
      const overview = (await res.json()) as { sites: Array<Record<string, unknown> & { siteId: string; fill: { window: unknown } }> };
      overview.sites = overview.sites.map((s) =>
        s.siteId === "lumen-nyc"
          ? {
              siteId: s.siteId,
              name: s.name,
              tier: s.tier,
              region: s.region,
              isp: s.isp,
              parent: s.parent,
              reachable: false,
              error: "Error: site lumen-nyc: timed out",
              fill: { window: s.fill.window },
            }
          : s,
      );
      await route.fulfill({ response: res, json: overview });
    });
    await page.goto(`${stack.worker.url}/ops/`);
    await page.fill("#token", stack.adminToken);
    await page.click("#save");
    await page.waitForSelector("body[data-loaded=true]", { timeout: 20_000 });
    expect(await page.textContent('article[data-site="lumen-nyc"]')).toMatch(/unreachable: Error: site lumen-nyc: timed out/);
    expect(await contrastOf(page, 'article[data-site="lumen-nyc"] p')).toBeGreaterThanOrEqual(4.5);
    expect(await contrastOf(page, 'article[data-site="ixp-nyc"] header h4 .muted')).toBeGreaterThanOrEqual(4.5);
    await page.close();
  });

  it("fits a phone-width window without the page scrolling sideways", async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${stack.worker.url}/ops/`);
    await page.fill("#token", stack.adminToken);
    await page.click("#save");
    await page.waitForSelector("body[data-loaded=true]", { timeout: 20_000 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.close();
  });
});
