/**
 * The operator dashboard (/ops) in real headless Chromium against the real Worker with the demo
 * catalogue: it asks for the admin token, shows every site with its tier and each OCA's health, the
 * bytes-served chart (uPlot), fill and misses, drives the admin API from its controls, and picks up a
 * change made elsewhere on its own.
 */
import { tmpdir } from "node:os";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { topology } from "../../workers/shared/topology";
import { CHROMIUM, CI, launchChromium, openOpsDashboard, warnIfSkipped } from "./chromium";
import { ocaHealthOf, setFault, setHealth, watchAtLumenNyc } from "./sdk-harness";

warnIfSkipped("ops");

let stack: LocalStack;
let context: BrowserContext;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

const healthText = (page: Page, ocaId: string) => page.textContent(`tr[data-oca="${ocaId}"] .health`);

/** Opens the dashboard with the admin token; in `timeZone` (an IANA zone) rather than the machine's when given. */
const openDashboard = (timeZone?: string): Promise<Page> => openOpsDashboard(context, stack.worker.url, stack.adminToken, timeZone);

describe.skipIf(!CHROMIUM && !CI)("the operator dashboard in headless Chromium", () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium("ops");
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("refuses to show anything without the admin token", async () => {
    const page = await context.newPage();
    await page.goto(`${stack.worker.url}/ops/`);
    await page.fill("#token", "not-the-token");
    await page.click("#save");
    await page.waitForFunction(
      () => !(document.querySelector("#error") as HTMLElement).hidden && /unauthorized/.test(document.querySelector("#error")!.textContent ?? ""),
    );
    expect(await page.$$("[data-site]")).toHaveLength(0);
    // It says what to do, not only the API's code.
    expect(await page.locator("#error").textContent()).toContain("the admin token was refused (unauthorized): enter the ADMIN_TOKEN that npm start printed");
    await page.close();
  });

  it("shows every site with its tier, every OCA with its health and why, fill, misses and the bytes-served chart", async () => {
    // Some viewing first, so today's bytes by source have something in them.
    await watchAtLumenNyc(stack, "ops-viewer");
    const page = await openDashboard();
    const shown = await page.$$eval("[data-site]", (els) => els.map((e) => e.getAttribute("data-site")));
    expect(new Set(shown)).toEqual(new Set(topology.sites.map((s) => s.id)));
    const lumen = page.locator('article[data-site="lumen-nyc"]');
    expect(await lumen.locator(".tier").textContent()).toMatch(/embedded/);
    expect(await healthText(page, "lumen-nyc-1")).toBe("healthy");
    expect(await lumen.locator('tr[data-oca="lumen-nyc-1"] .reason').textContent()).not.toBe("");
    // The demo seeding filled lumen-nyc-1: its titles and storage show.
    expect(Number(await lumen.locator('tr[data-oca="lumen-nyc-1"] .titles').textContent())).toBeGreaterThan(0);
    expect(await lumen.locator("[data-fill]").textContent()).toMatch(/fill window \d+:00–\d+:00 local, (open|closed)/);
    expect(await lumen.locator("[data-misses]").textContent()).toMatch(/content \d+/);
    // The chart is drawn by uPlot (a canvas with its legend).
    await page.waitForSelector("#offload-chart .uplot canvas");
    expect(await page.textContent("#offload-chart .u-legend")).toMatch(/embedded/);
    // Today's row: the segments came from the embedded site's own copy.
    await page.waitForFunction(() => (document.querySelectorAll("#offload-table tr").length ?? 0) > 1, null, { timeout: 12_000 });
    const today = await page.$$eval("#offload-table tr:last-child td", (tds) => tds.map((td) => td.textContent));
    expect(Number.parseFloat(today[1] ?? "0")).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(tmpdir(), "vcdn-ops.png"), fullPage: true });
    await page.close();
  });

  it("names the chart's days as the table does, in UTC, in a browser west of UTC", async () => {
    // Bytes by source were served today (the test above); a day is a UTC day, whose midnight is the
    // evening before in Los Angeles.
    const page = await openDashboard("America/Los_Angeles");
    expect(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)).toBe("America/Los_Angeles");
    await page.waitForSelector("#offload-chart .uplot canvas");
    await page.waitForFunction(() => (document.querySelectorAll("#offload-table tr").length ?? 0) > 1, null, { timeout: 12_000 });
    const lastDay = await page.textContent("#offload-table tr:last-child td");
    expect(lastDay).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // The cursor at the chart's right edge is on the last day's point: the legend names its day.
    const over = page.locator("#offload-chart .u-over");
    const box = await over.boundingBox();
    await over.hover({ position: { x: (box?.width ?? 2) - 2, y: (box?.height ?? 2) / 2 } });
    await expect.poll(() => page.textContent("#offload-chart .u-legend .u-series:first-child .u-value")).toBe(lastDay);
    await page.close();
  });

  it("drains and restores an OCA, and sets and clears a fault switch, through its controls", async () => {
    const page = await openDashboard();
    await page.click('tr[data-oca="lumen-nyc-2"] button[data-action="drained"]');
    await page.waitForFunction(() => document.querySelector('tr[data-oca="lumen-nyc-2"] .health')?.textContent === "drained");
    expect(await ocaHealthOf(stack, "lumen-nyc", "lumen-nyc-2")).toMatchObject({ health: "drained", by: "operator" });
    await page.click('tr[data-oca="lumen-nyc-2"] button[data-action="healthy"]');
    await page.waitForFunction(() => document.querySelector('tr[data-oca="lumen-nyc-2"] .health')?.textContent === "healthy");

    await page.fill('tr[data-oca="lumen-nyc-2"] input[data-fault="addedLatencyMs"]', "250");
    await page.click('tr[data-oca="lumen-nyc-2"] button[data-action="fault"]');
    await page.waitForFunction(() => /\+250 ms/.test(document.querySelector('tr[data-oca="lumen-nyc-2"] .fault')?.textContent ?? ""));
    await page.click('tr[data-oca="lumen-nyc-2"] button[data-action="clear-fault"]');
    await page.waitForFunction(() => !document.querySelector('tr[data-oca="lumen-nyc-2"] .fault'));
    // A throughput cap set through the API survives the dashboard's error and latency controls.
    await setFault(stack, "lumen-nyc", "lumen-nyc-2", { throughputBps: 8_000_000 });
    await page.waitForFunction(() => /cap/.test(document.querySelector('tr[data-oca="lumen-nyc-2"] .fault')?.textContent ?? ""), null, { timeout: 12_000 });
    await page.fill('tr[data-oca="lumen-nyc-2"] input[data-fault="addedLatencyMs"]', "100");
    await page.click('tr[data-oca="lumen-nyc-2"] button[data-action="fault"]');
    await page.waitForFunction(() => /\+100 ms/.test(document.querySelector('tr[data-oca="lumen-nyc-2"] .fault')?.textContent ?? ""));
    expect(await page.textContent('tr[data-oca="lumen-nyc-2"] .fault')).toMatch(/\+100 ms, 8\.0\sMb\/s cap/);
    await page.click('tr[data-oca="lumen-nyc-2"] button[data-action="clear-fault"]');
    await page.waitForFunction(() => !document.querySelector('tr[data-oca="lumen-nyc-2"] .fault'));

    await page.click('article[data-site="lumen-nyc"] button[data-action="fill-cycle"]');
    await page.waitForFunction(() => /ran:/.test(document.querySelector('article[data-site="lumen-nyc"] [data-fill-result]')?.textContent ?? ""));
    await page.close();
  });

  it("refreshes by itself: a change made through the API shows within seconds", async () => {
    const page = await openDashboard();
    await setHealth(stack, "lumen-nyc", "lumen-nyc-1", "failed");
    try {
      await page.waitForFunction(() => document.querySelector('tr[data-oca="lumen-nyc-1"] .health')?.textContent === "failed", null, { timeout: 12_000 });
    } finally {
      await setHealth(stack, "lumen-nyc", "lumen-nyc-1", "healthy");
      await page.close();
    }
  });
});
