import { describe, expect, it } from "vitest";
import { ADMIN, addSite, call, siteBody } from "./fixtures";

/**
 * OCA ids are pathway ids and the steering view keys an OCA's listings and status by its id alone:
 * an id retired from one site may come back to that site (it starts empty), never join another while
 * the old site's clean-up may still delete the view's rows of that id.
 */

const json = { ...ADMIN, "Content-Type": "application/json" };
const post = (path: string, body?: unknown) => call(path, { method: "POST", headers: json, body: body === undefined ? undefined : JSON.stringify(body) });
const error = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

describe("an OCA id retired from one site", () => {
  it("is refused with 409 duplicate_id when it joins another site, as an OCA or with a new site; its own site takes it back", async () => {
    const ocas = [1, 2].map((i) => ({ id: `move-a-${i}`, capacityBytes: 1e8, throughputBps: 1e9 }));
    expect((await addSite(siteBody("move-a", { ocas }))).status).toBe(201);
    expect((await addSite(siteBody("move-b"))).status).toBe(201);
    expect((await post("/admin/topology/sites/move-a/ocas/move-a-2/retire")).status).toBe(200);

    const joined = await post("/admin/topology/sites/move-b/ocas", { id: "move-a-2", capacityBytes: 1e8, throughputBps: 1e9 });
    expect(joined.status).toBe(409);
    expect(await error(joined)).toMatchObject({ code: "duplicate_id", message: expect.stringContaining("move-a") });
    const withSite = await addSite(siteBody("move-c", { ocas: [{ id: "move-a-2", capacityBytes: 1e8, throughputBps: 1e9 }] }));
    expect(withSite.status).toBe(409);
    expect((await error(withSite)).code).toBe("duplicate_id");

    const topo = (await (await call("/admin/topology", { headers: ADMIN })).json()) as { sites: Array<{ id: string; ocas: Array<{ id: string }> }> };
    expect(topo.sites.map((s) => s.id)).not.toContain("move-c");
    expect(topo.sites.find((s) => s.id === "move-b")?.ocas.map((o) => o.id)).toEqual(["move-b-1"]);
    // Back in the site it was retired from, it joins (empty).
    expect((await post("/admin/topology/sites/move-a/ocas", { id: "move-a-2", capacityBytes: 1e8, throughputBps: 1e9 })).status).toBe(201);
  });
});
