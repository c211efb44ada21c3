/**
 * The web player opened with a member token in its address (`?token=<member JWT>`, how a deployment
 * without dev sign-in is opened): the page signs in with it and takes it out of the address, so it does
 * not stay in the browser's history or go out in Referer headers. Real headless Chromium, real Worker.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack, type LocalStack } from "../../r2-seed/local-stack";
import { CHROMIUM, CI, launchChromium, warnIfSkipped } from "./chromium";

warnIfSkipped("player-token-address");

let stack: LocalStack;
let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

describe.skipIf(!CHROMIUM && !CI)("the web player opened with a member token in its address", () => {
  beforeAll(async () => {
    stack = await startLocalStack();
    browser = await launchChromium("player-token-address");
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("signs in with it, lists the catalogue, and leaves no token in the address or the history", async () => {
    const res = await fetch(`${stack.worker.url}/v1/dev/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ memberId: "address-token", plan: "premium" }),
    });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const page = await browser!.context.newPage();
    await page.goto(`${stack.worker.url}/?token=${encodeURIComponent(token)}&geo=lumen-nyc`);
    await page.waitForFunction(() => (window as unknown as { __player?: { ready: boolean } }).__player?.ready === true, null, { timeout: 30_000 });
    expect(await page.locator("button.play").count()).toBeGreaterThan(0);
    const address = new URL(page.url());
    expect(address.searchParams.has("token")).toBe(false);
    expect(address.searchParams.get("geo")).toBe("lumen-nyc");
    expect(page.url()).not.toContain(token.slice(0, 20));
  });
});
