import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, addSite, call, fill, memberToken, pressPlay, publishTitle, siteBody, type PlayResponse } from "./fixtures";

/**
 * Odd but valid topology changes are taken and run on (an OCA of one byte, sites at the poles and on
 * either side of the antimeridian); bad ones are a 400 in the one JSON shape naming the field, and
 * change nothing.
 */

const json = { ...ADMIN, "Content-Type": "application/json" };
const post = (path: string, body?: unknown) => call(path, { method: "POST", headers: json, body: body === undefined ? undefined : JSON.stringify(body) });
type ErrorBody = { error: { code: string; message: string; details?: { issues: Array<{ path: string; message: string }> } } };
const topology = async () => (await (await call("/admin/topology", { headers: ADMIN })).json()) as { version: number; sites: Array<{ id: string }> };

/** A 400 `invalid_request` whose issues name `field`, and no change stored. */
async function refusedNaming(res: Response, field: string, before: number): Promise<void> {
  expect(res.status).toBe(400);
  const body = (await res.json()) as ErrorBody;
  expect(body.error.code).toBe("invalid_request");
  expect(body.error.details?.issues.map((i) => i.path)).toContain(field);
  expect((await topology()).version).toBe(before);
}

const TITLE = "odd-title";
beforeAll(async () => {
  await publishTitle(TITLE);
});

describe("odd but valid topology changes", () => {
  it("an OCA of one byte joins, and is refused a copy it cannot hold (not a 5xx)", async () => {
    const tiny = { id: "odd-tiny-1", capacityBytes: 1, throughputBps: 1 };
    expect((await addSite(siteBody("odd-tiny", { ocas: [tiny] }))).status).toBe(201);
    const res = await fill([{ siteId: "odd-tiny", ocaId: "odd-tiny-1", titleIds: [TITLE] }]);
    expect(res.status).toBeLessThan(500);
    const body = (await res.json()) as { results: Array<{ ok: boolean; code?: string }> };
    expect(body.results[0]).toMatchObject({ ok: false, code: "insufficient_capacity" });
  });

  it("sites at the poles are taken; a client near the antimeridian is steered to the site across it, the nearest", async () => {
    expect((await addSite(siteBody("odd-north", { lat: 90, lon: 0 }))).status).toBe(201);
    expect((await addSite(siteBody("odd-south", { lat: -90, lon: -180 }))).status).toBe(201);
    expect((await addSite(siteBody("odd-east", { lat: -17.7, lon: 179.9 }))).status).toBe(201);
    expect((await addSite(siteBody("odd-west", { lat: -17.7, lon: -150 }))).status).toBe(201);
    expect((await fill([{ siteId: "odd-east", ocaId: "odd-east-1", titleIds: [TITLE] }])).status).toBe(200);
    expect((await fill([{ siteId: "odd-west", ocaId: "odd-west-1", titleIds: [TITLE] }])).status).toBe(200);
    const p = (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, "asn=65000;country=US;lat=-17.7;lon=-179.9")).json()) as PlayResponse;
    expect(p.ocas[0]).toMatchObject({ siteId: "odd-east", ocaId: "odd-east-1" });
    expect(p.ocas[0].distanceKm).toBeLessThan(50);
  });
});

describe("bad topology changes", () => {
  it("a country code in lower case, a site with no OCA, coordinates off the globe: 400 naming the field", async () => {
    const before = (await topology()).version;
    await refusedNaming(await addSite(siteBody("odd-bad-1", { country: "us" })), "country", before);
    await refusedNaming(await addSite(siteBody("odd-bad-2", { ocas: [] })), "ocas", before);
    await refusedNaming(await addSite(siteBody("odd-bad-3", { lat: 90.01 })), "lat", before);
    await refusedNaming(await addSite(siteBody("odd-bad-4", { lon: -180.5 })), "lon", before);
    await refusedNaming(
      await addSite(siteBody("odd-bad-5", { ocas: [{ id: "odd-bad-5-1", capacityBytes: 1.5, throughputBps: 1 }] })),
      "ocas.0.capacityBytes",
      before,
    );
    await refusedNaming(await post("/admin/topology/sites/odd-tiny/ocas/odd-tiny-1", { throughputBps: 0 }), "throughputBps", before);
  });

  it("a site's or an ISP's name with control characters, or blank: 400 naming the name", async () => {
    const before = (await topology()).version;
    for (const name of ["Boston\u0000", "Boston\nFake log line", "\u001b[31mBoston", "   "]) {
      await refusedNaming(await addSite(siteBody("odd-name", { name })), "name", before);
      await refusedNaming(await post("/admin/topology/isps", { id: "odd-name-isp", name, asns: [65400] }), "name", before);
      await refusedNaming(await post("/admin/topology/isps/lumen-fiber", { name }), "name", before);
    }
    // A name in any script, with spaces and punctuation, is a name.
    expect((await addSite(siteBody("odd-name", { name: "Zürich – Hauptbahnhof (北口)" }))).status).toBe(201);
  });
});
