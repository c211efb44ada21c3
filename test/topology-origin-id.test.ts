import { describe, expect, it } from "vitest";
import { ADMIN, addSite, call, siteBody } from "./fixtures";

/**
 * The origin's id is a pathway of its own ("origin/origin" in every session): the data plane serves it
 * from origin whatever the topology says, and clients' reports of it failing are never a site's. A site
 * by that name would take its reports and shadow it in the admin API, so the topology refuses one.
 */

describe("a site named like the origin", () => {
  it("is refused with 409 duplicate_id, and nothing is stored", async () => {
    const topo = (await (await call("/admin/topology", { headers: ADMIN })).json()) as { origin: { id: string } };
    const originId = topo.origin.id;
    const res = await addSite(siteBody(originId, { name: "A site named like the origin", ocas: [{ id: "shadow-1", capacityBytes: 1e8, throughputBps: 1e9 }] }));
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("duplicate_id");
    const after = (await (await call("/admin/topology", { headers: ADMIN })).json()) as { sites: Array<{ id: string }> };
    expect(after.sites.map((s) => s.id)).not.toContain(originId);
  });
});
