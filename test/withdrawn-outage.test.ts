import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WITHDRAWN_KEY } from "../shared/file-keys";
import type { WithdrawnDoc } from "../shared/withdrawn";
import { withdrawnReason } from "../workers/edge/withdrawn";

/**
 * The data plane's copy of origin's withdrawn list while origin cannot be read. Origin's failure is
 * injected by an R2 binding whose reads throw (the local runtime's R2 cannot be taken down).
 */
describe("the withdrawn list while origin is unreadable", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps applying as last read, however long the outage: a takedown is not undone", async () => {
    const now = Date.now();
    const doc: WithdrawnDoc = { titles: [{ id: "outage-gone", at: now - 1000 }], licences: [], writtenAt: now };
    await env.ORIGIN.put(WITHDRAWN_KEY, JSON.stringify(doc));
    const waitUntil = () => {};
    expect(await withdrawnReason(env, "outage-gone", "US", now - 60_000, waitUntil, now)).toBe("taken_down");
    expect(await withdrawnReason(env, "outage-kept", "US", now - 60_000, waitUntil, now)).toBeNull();
    let reads = 0;
    const down = {
      ...env,
      ORIGIN: {
        get: async () => {
          reads++;
          throw new Error("injected: origin unreachable");
        },
      } as unknown as R2Bucket,
    };
    vi.useFakeTimers();
    for (const later of [60_000, 11 * 60_000, 6 * 3_600_000]) {
      vi.setSystemTime(now + later);
      expect(await withdrawnReason(down, "outage-gone", "US", now - 60_000, waitUntil, now + later)).toBe("taken_down");
      expect(await withdrawnReason(down, "outage-kept", "US", now - 60_000, waitUntil, now + later)).toBeNull();
    }
    // Each look tried origin again (tests read the list with no freshness window).
    expect(reads).toBe(6);
  });
});
