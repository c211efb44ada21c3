import { describe, expect, it } from "vitest";
import { siteView } from "../workers/shared/site-link";
import { siteStubsEnv } from "./history-watch";

/**
 * A site whose view is marked stale goes behind its tier's other sites in every steering answer (and
 * every play's list), so every session of the isolate whose nearest site it is moves. One failed call
 * (a blip the circuit breaker itself forgives: it opens after two) marked the site stale and moved them
 * for a sync interval, then back.
 */

/** `env` whose site objects fail `edgeSync` while `down.on`. */
function flakyEnv(down: { on: boolean }): Env {
  return siteStubsEnv(
    (stub) =>
      new Proxy(stub, {
        get(target, prop) {
          if (prop === "edgeSync" && down.on) return () => Promise.reject(new Error("injected: the site did not answer"));
          if (prop === "id" || prop === "name" || typeof prop !== "string") return Reflect.get(target, prop);
          return (...args: unknown[]) => (target as unknown as Record<string, (...a: unknown[]) => unknown>)[prop](...args);
        },
      }),
  );
}

const waits: Promise<unknown>[] = [];
const waitUntil = (p: Promise<unknown>) => {
  waits.push(p.catch(() => {}));
};
const settle = async () => {
  await Promise.all(waits.splice(0));
};
/** Past the link's sync interval, so the next look makes a call. */
const nextInterval = () => new Promise((r) => setTimeout(r, 1_100));

describe("a site link after a failed call", () => {
  it("keeps the site's view unmarked after one failed call, and marks it stale after two in a row", async () => {
    const SITE = "rheinnet-muc";
    const down = { on: false };
    const env = flakyEnv(down);
    const first = await siteView(env, SITE, waitUntil, { awaitRefresh: true });
    await settle();
    expect(first.view?.siteId).toBe(SITE);
    expect(first.stale).toBe(false);

    down.on = true;
    await nextInterval();
    await siteView(env, SITE, waitUntil);
    await settle();
    const oneBlip = await siteView(env, SITE, waitUntil);
    expect(oneBlip.view?.siteId).toBe(SITE);
    expect(oneBlip.stale).toBe(false);

    await nextInterval();
    await siteView(env, SITE, waitUntil);
    await settle();
    expect((await siteView(env, SITE, waitUntil)).stale).toBe(true);

    // Back: the next call clears it.
    down.on = false;
    await new Promise((r) => setTimeout(r, 2_100));
    await siteView(env, SITE, waitUntil, { awaitRefresh: true });
    await settle();
    await nextInterval();
    await siteView(env, SITE, waitUntil, { awaitRefresh: true });
    await settle();
    expect((await siteView(env, SITE, waitUntil)).stale).toBe(false);
  }, 30_000);
});
