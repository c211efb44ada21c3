import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../workers/index";
import { GEO, memberToken, publishTitle } from "./fixtures";

/**
 * `GET /v1/titles` lists what the viewer can play at the moment of the request: a licence that ends
 * leaves the list, and one that starts joins it, at that moment, as play answers it, even while the
 * isolate's browse list is fresh (CATALOGUE_TTL_S here a minute, so no reload comes between).
 */

type Page = { total: number; titles: Array<{ id: string }> };

async function browse(ttl: string): Promise<Page> {
  const ctx = createExecutionContext();
  const headers = new Headers({ Authorization: `Bearer ${await memberToken("premium")}`, "X-Client-Geo": GEO.rheinnetBerlin });
  const res = await worker.fetch(new Request("http://cdn.test/v1/titles?limit=200", { headers }), { ...env, CATALOGUE_TTL_S: ttl }, ctx);
  await waitOnExecutionContext(ctx);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

const ids = (p: Page) => p.titles.map((t) => t.id);

describe("the browse list of a country", () => {
  it("drops a title when its licence there ends and adds one when its licence starts, within the list's freshness", async () => {
    const year = "2020-01-01T00:00:00.000Z";
    const at = Date.now() + 2_000;
    await publishTitle("bm-ending", {
      licences: [
        { country: "DE", availableFrom: year, availableUntil: new Date(at).toISOString() },
        { country: "US", availableFrom: year },
      ],
    });
    await publishTitle("bm-starting", { licences: [{ country: "DE", availableFrom: new Date(at).toISOString() }] });

    const before = await browse("60");
    expect(ids(before)).toContain("bm-ending");
    expect(ids(before)).not.toContain("bm-starting");

    await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now() + 50)));
    const after = await browse("60");
    expect(ids(after)).not.toContain("bm-ending");
    expect(ids(after)).toContain("bm-starting");
    expect(after.total).toBe(after.titles.length);
    expect(after.total).toBe(before.total);
  });
});
