import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";

/** Debian's Chromium (never a downloaded browser); null when not installed. */
export const CHROMIUM =
  spawnSync("sh", ["-c", "command -v chromium || command -v chromium-browser"], { encoding: "utf8" }).stdout.trim().split("\n")[0] || null;
export const CI = !!process.env.CI;

/** Headless flags for this machine's closed network, and autoplay without a gesture. */
export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];

/** Warns when a Chromium test will be skipped (only outside CI: under CI it must run). */
export function warnIfSkipped(tag: string): void {
  if (!CHROMIUM && !CI) console.warn(`[${tag}] SKIPPED: no \`chromium\` on PATH (apt-get install -y chromium); under CI this test fails instead.`);
}

/** Launches Debian's Chromium through playwright-core with a fresh profile; `close()` removes it. */
export async function launchChromium(tag: string): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!CHROMIUM) throw new Error("CI=true but `chromium` is not installed: .ci/run installs Debian's chromium when missing");
  const { chromium } = await import("playwright-core");
  const profileDir = await mkdtemp(path.join(tmpdir(), `vcdn-${tag}-`));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      await rm(profileDir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens the operator dashboard at `baseUrl` with the admin token and waits for its first overview; in
 * `timeZone` (an IANA zone) rather than the machine's when given.
 */
export async function openOpsDashboard(context: BrowserContext, baseUrl: string, adminToken: string, timeZone?: string): Promise<Page> {
  const page = await context.newPage();
  if (timeZone) await (await context.newCDPSession(page)).send("Emulation.setTimezoneOverride", { timezoneId: timeZone });
  page.on("pageerror", (e) => console.error("[ops] page error:", e.message));
  await page.goto(`${baseUrl}/ops/`);
  await page.fill("#token", adminToken);
  await page.click("#save");
  await page.waitForSelector("body[data-loaded=true]", { timeout: 20_000 });
  return page;
}
