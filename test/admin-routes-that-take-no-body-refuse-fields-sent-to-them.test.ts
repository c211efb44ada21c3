import { describe, expect, it } from "vitest";
import { ADMIN, addSite, call, publishTitle, siteBody } from "./fixtures";

/**
 * A takedown, an eviction, a freed stream and an OCA's retire take no body: their target is the path.
 * A script that sends one with `{"dryRun":true}` (or any other field) must get a 400 naming it, as a
 * misspelt field of a body is, not the change made as if it were absent. No body, or `{}`, still passes.
 */

const JSON_ADMIN = { ...ADMIN, "Content-Type": "application/json" };
type ErrorBody = { error: { code: string; message: string } };

async function expectRefused(res: Response, name: string): Promise<void> {
  expect(res.status).toBe(400);
  const err = ((await res.json()) as ErrorBody).error;
  expect(err.code).toBe("invalid_request");
  expect(err.message).toContain(name);
}

const takenDownAt = async (titleId: string) =>
  ((await (await call(`/admin/titles/${titleId}`, { headers: ADMIN })).json()) as { title: { taken_down_at: number | null } }).title.taken_down_at;

describe("an admin route that takes no body", () => {
  it("refuses a takedown sent with a field, and the title stays up; with {} it is taken down", async () => {
    await publishTitle("body-kept-up", { segmentBytes: 1024 });
    await expectRefused(await call("/admin/titles/body-kept-up", { method: "DELETE", headers: JSON_ADMIN, body: '{"dryRun":true}' }), "dryRun");
    await expectRefused(await call("/admin/titles/body-kept-up", { method: "DELETE", headers: JSON_ADMIN, body: "[1]" }), "no body");
    expect(await takenDownAt("body-kept-up")).toBeNull();
    expect((await call("/admin/titles/body-kept-up", { method: "DELETE", headers: JSON_ADMIN, body: " {} " })).status).toBe(200);
    expect(await takenDownAt("body-kept-up")).not.toBeNull();
  });

  it("refuses an OCA's retire sent with a field, and the OCA stays; without a body it is retired", async () => {
    const ocas = ["body-site-1", "body-site-2"].map((id) => ({ id, capacityBytes: 100_000_000, throughputBps: 1_000_000_000 }));
    expect((await addSite(siteBody("body-site", { ocas }))).status).toBe(201);
    const retire = "/admin/topology/sites/body-site/ocas/body-site-2/retire";
    await expectRefused(await call(retire, { method: "POST", headers: JSON_ADMIN, body: '{"dryRun":true}' }), "dryRun");
    const ocasNow = async () =>
      ((await (await call("/admin/topology", { headers: ADMIN })).json()) as { sites: Array<{ id: string; ocas: Array<{ id: string }> }> }).sites
        .find((s) => s.id === "body-site")
        ?.ocas.map((o) => o.id);
    expect(await ocasNow()).toEqual(["body-site-1", "body-site-2"]);
    expect((await call(retire, { method: "POST", headers: ADMIN })).status).toBe(200);
    expect(await ocasNow()).toEqual(["body-site-1"]);
  });

  it("refuses an eviction and a freed stream sent with a field", async () => {
    await publishTitle("body-evict", { segmentBytes: 1024 });
    await expectRefused(
      await call("/admin/sites/lumen-nyc/ocas/lumen-nyc-1/titles/body-evict", { method: "DELETE", headers: JSON_ADMIN, body: '{"keep":1}' }),
      "keep",
    );
    await expectRefused(
      await call(`/admin/members/body-member/streams/${crypto.randomUUID()}`, { method: "DELETE", headers: JSON_ADMIN, body: '{"all":true}' }),
      "all",
    );
    expect((await call("/admin/sites/lumen-nyc/ocas/lumen-nyc-1/titles/body-evict", { method: "DELETE", headers: ADMIN })).status).toBe(200);
  });
});
