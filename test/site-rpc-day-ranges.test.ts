import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { checkDayRange } from "../durable-objects/site/served";
import { ADMIN, call } from "./fixtures";

/**
 * The site object's answers by day (bytes served per hour, demand per title per day) are arrays of a
 * day each: a range past what a site keeps (120 days) would run the object out of memory,
 * and the chaos switch's unreachable site must look so on the operators' dashboard too.
 */

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));

describe("a site's answers by day", () => {
  it("refuse a range past the 120 days a site keeps, or of days that are not whole, instead of building it", async () => {
    // The check each of them makes first (an RPC's rejection is reported by the test runner as unhandled,
    // so the refusals are asserted on the check itself; the answers within it through the object).
    expect(() => checkDayRange(0, 1e9)).toThrow(/at most 120/);
    expect(() => checkDayRange(20_000.5, 20_001)).toThrow(/whole days/);
    expect(() => checkDayRange(20_002, 20_000)).toThrow(RangeError);
    expect(() => checkDayRange(20_000, 20_119)).not.toThrow();
    const s = site("ixp-ams");
    expect(await s.servedByHour(20_000, 20_119)).toHaveLength(120);
    expect(await s.servedByHour(20_001, 20_000)).toEqual([]);
    expect(await s.history(20_000, 20_119)).toEqual({});
  });

  it("leave a site switched unreachable by the chaos switch unreachable on the dashboard's overview", async () => {
    const post = (body: unknown) =>
      call("/admin/sites/ixp-sjc/chaos", { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const overview = async () =>
      (
        (await (await call("/admin/ops/overview?days=2", { headers: ADMIN })).json()) as {
          sites: Array<{ siteId: string; unreachable?: string; error?: string }>;
        }
      ).sites.find((x) => x.siteId === "ixp-sjc");
    expect((await post({ unreachable: true })).status).toBe(200);
    try {
      const card = await overview();
      expect(JSON.stringify(card)).toMatch(/unreachable/);
    } finally {
      expect((await post({ unreachable: false })).status).toBe(200);
    }
    expect(JSON.stringify(await overview())).not.toMatch(/unreachable/);
  });
});
