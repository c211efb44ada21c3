import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber } from "../fill/day";
import { ADMIN, addSite, call, CLEAR_OF_MIDNIGHT_MS, clearOfLocalMidnight, publishTitle, siteBody } from "./fixtures";

/**
 * An IXP site backs its embedded children wherever they are: a child in another country than the IXP's
 * own misses to it on the titles licensed there, so the IXP plans on the titles licensed in any of its
 * children's countries, not only its own. Driven through the admin API's run of a site's fill cycle.
 */

// Seeds a site's last days and plans from them: never across a local midnight.
beforeAll(() => clearOfLocalMidnight(), CLEAR_OF_MIDNIGHT_MS + 10_000);

const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));
const YEAR = "2020-01-01T00:00:00.000Z";

describe("an IXP site with a child in another country", () => {
  it("plans the titles licensed only in its child's country, from the child's history", async () => {
    const added = await addSite(
      siteBody("polder-bru", {
        name: "Polder Glas Brussels",
        tier: "embedded",
        isp: "polder-glas",
        parent: "ixp-ams",
        region: "eu",
        country: "BE",
        lat: 50.85,
        lon: 4.35,
        timeZone: "Europe/Brussels",
      }),
    );
    expect(added.status, await added.clone().text()).toBe(201);
    await publishTitle("bx-belgian-only", { licences: [{ country: "BE", availableFrom: YEAR }] });
    await publishTitle("bx-dutch", { licences: [{ country: "NL", availableFrom: YEAR }] });
    await publishTitle("bx-unlicensed-here", { licences: [{ country: "US", availableFrom: YEAR }] });
    const today = dayNumber(Date.now(), "Europe/Brussels");
    for (let d = today - 14; d < today; d++) {
      await site("polder-bru").recordViews(d, "bx-belgian-only", { plays: 10, bytes: 5e9 });
      await site("polder-ams").recordViews(d, "bx-dutch", { plays: 10, bytes: 5e9 });
    }

    const res = await call("/admin/sites/ixp-ams/fill-cycle", { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body: "{}" });
    expect(res.status).toBe(200);
    const { cycle } = await site("ixp-ams").lastCycle();
    const predicted = new Map(cycle?.predictions.map((p) => [p.titleId, p.bytes]));
    expect(predicted.get("bx-dutch")).toBeGreaterThan(0);
    expect(predicted.get("bx-belgian-only")).toBeGreaterThan(0);
    // Licensed in none of the countries it serves: not the IXP's to plan.
    expect(predicted.has("bx-unlicensed-here")).toBe(false);
  });

  it("leaves an embedded site on its own country's titles", async () => {
    const res = await call("/admin/sites/polder-ams/fill-cycle", { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body: "{}" });
    expect(res.status).toBe(200);
    const { cycle } = await site("polder-ams").lastCycle();
    const ids = cycle?.predictions.map((p) => p.titleId) ?? [];
    expect(ids).toContain("bx-dutch");
    expect(ids).not.toContain("bx-belgian-only");
  });
});
