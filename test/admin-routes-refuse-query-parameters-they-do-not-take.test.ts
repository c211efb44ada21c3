import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { siteStub } from "../workers/shared/site-link";
import { ADMIN, addSite, call, publishTitle, siteBody } from "./fixtures";

/**
 * An operator's script that adds `?dryRun=1` (or `?force=false`, or a misspelt filter) to an admin route
 * that takes no query parameters must get a 400 naming it, not the change done as if it were absent: a
 * title taken down, an OCA retired, a site cut off. The routes with a query (the paged lists) already
 * refuse one they do not know; these are the rest.
 */

const JSON_ADMIN = { ...ADMIN, "Content-Type": "application/json" };
type ErrorBody = { error: { code: string; message: string; details?: { issues?: Array<{ path: string; message: string }> } } };

async function expectRefused(res: Response, name: string): Promise<void> {
  expect(res.status).toBe(400);
  const err = ((await res.json()) as ErrorBody).error;
  expect(err.code).toBe("invalid_request");
  expect(err.message).toContain(name);
}

describe("an admin route that takes no query parameters", () => {
  it("refuses a takedown sent with ?dryRun=1, and the title stays up", async () => {
    await publishTitle("query-kept-up", { segmentBytes: 1024 });
    await expectRefused(await call("/admin/titles/query-kept-up?dryRun=1", { method: "DELETE", headers: ADMIN }), "dryRun");
    const title = (await (await call("/admin/titles/query-kept-up", { headers: ADMIN })).json()) as { title: { taken_down_at: number | null } };
    expect(title.title.taken_down_at).toBeNull();
  });

  it("refuses an OCA's retire and a site's chaos switch sent with a query, and neither changes", async () => {
    const ocas = ["query-site-1", "query-site-2"].map((id) => ({ id, capacityBytes: 100_000_000, throughputBps: 1_000_000_000 }));
    expect((await addSite(siteBody("query-site", { ocas }))).status).toBe(201);
    await expectRefused(await call("/admin/topology/sites/query-site/ocas/query-site-2/retire?dryRun=true", { method: "POST", headers: ADMIN }), "dryRun");
    await expectRefused(
      await call("/admin/sites/query-site/chaos?preview=1", { method: "POST", headers: JSON_ADMIN, body: JSON.stringify({ unreachable: true }) }),
      "preview",
    );
    const topology = (await (await call("/admin/topology", { headers: ADMIN })).json()) as { sites: Array<{ id: string; ocas: Array<{ id: string }> }> };
    expect(topology.sites.find((s) => s.id === "query-site")?.ocas.map((o) => o.id)).toEqual(["query-site-1", "query-site-2"]);
    // An unreachable site's object refuses steering: this one still answers.
    expect((await siteStub(env, "query-site").steeringView()).siteId).toBe("query-site");
  });

  it("refuses a query on the reads that take none, as the paged reads refuse one they do not know", async () => {
    await publishTitle("query-read", { segmentBytes: 1024 });
    await expectRefused(await call("/admin/titles/query-read?fields=files", { headers: ADMIN }), "fields");
    await expectRefused(await call("/admin/members/query-member/streams?active=1", { headers: ADMIN }), "active");
    await expectRefused(await call("/admin/topology?site=lumen-nyc", { headers: ADMIN }), "site");
    // The same reads without a query answer as before.
    expect((await call("/admin/titles/query-read", { headers: ADMIN })).status).toBe(200);
    expect((await call("/admin/members/query-member/streams", { headers: ADMIN })).status).toBe(200);
    expect((await call("/admin/topology", { headers: ADMIN })).status).toBe(200);
  });
});
