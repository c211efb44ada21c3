import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, fill, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * A new ISP joins with no redeploy: an operator adds it with the ASNs its clients come from, then its
 * embedded site, and its clients are steered there first; when it announces another ASN, the list is
 * changed in place. An ASN names one ISP (it is how a client's ISP is known). CATALOGUE_TTL_S is 0
 * under test, so the planes run on each change at once.
 */

const TITLE = "isp-join-title";
const json = { ...ADMIN, "Content-Type": "application/json" };
const post = (path: string, body: unknown) => call(path, { method: "POST", headers: json, body: JSON.stringify(body) });
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;
const play = async (geo: string) => (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, geo)).json()) as PlayResponse;

const harborSite = {
  id: "harbor-bos",
  name: "Harbor Cable Boston",
  tier: "embedded",
  region: "na",
  isp: "harbor-cable",
  parent: "ixp-nyc",
  country: "US",
  lat: 42.36,
  lon: -71.06,
  timeZone: "America/New_York",
  ocas: [{ id: "harbor-bos-1", capacityBytes: 400_000_000, throughputBps: 10_000_000_000 }],
};

beforeAll(async () => {
  await publishTitle(TITLE);
});

describe("an ISP joining the live topology", () => {
  it("is added with its ASNs, then its embedded site, and its clients are steered there first", async () => {
    // Before the ISP exists, its site is refused.
    const early = await post("/admin/topology/sites", harborSite);
    expect(early.status).toBe(400);
    expect((await errorOf(early)).message).toMatch(/needs a known isp/);

    const added = await post("/admin/topology/isps", { id: "harbor-cable", name: "Harbor Cable", asns: [64600, 64600, 64601] });
    expect(added.status).toBe(201);
    expect(((await added.json()) as { isp: unknown }).isp).toEqual({ id: "harbor-cable", name: "Harbor Cable", asns: [64600, 64601] });
    const topo = (await (await call("/admin/topology", { headers: ADMIN })).json()) as { isps: Array<{ id: string; asns: number[] }> };
    expect(topo.isps.find((i) => i.id === "harbor-cable")?.asns).toEqual([64600, 64601]);

    expect((await post("/admin/topology/sites", harborSite)).status).toBe(201);
    expect((await fill([{ siteId: "harbor-bos", ocaId: "harbor-bos-1", titleIds: [TITLE] }])).status).toBe(200);
    const p = await play("asn=64601;country=US;lat=42.36;lon=-71.06");
    expect(p.ocas[0]).toMatchObject({ siteId: "harbor-bos", ocaId: "harbor-bos-1", tier: "embedded" });
  });

  it("takes a new ASN of the ISP in place, and its clients come to its site from then on", async () => {
    const before = await play("asn=64602;country=US;lat=42.36;lon=-71.06");
    expect(before.ocas[0].siteId).not.toBe("harbor-bos");
    const changed = await post("/admin/topology/isps/harbor-cable", { asns: [64600, 64601, 64602] });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as { isp: { asns: number[] } }).isp.asns).toEqual([64600, 64601, 64602]);
    const after = await play("asn=64602;country=US;lat=42.36;lon=-71.06");
    expect(after.ocas[0]).toMatchObject({ siteId: "harbor-bos", tier: "embedded" });
  });

  it("refuses an ASN another ISP has, an ISP id taken, an unknown ISP and bad bodies, changing nothing", async () => {
    const version = async () => ((await (await call("/admin/topology", { headers: ADMIN })).json()) as { version: number }).version;
    const v0 = await version();
    const taken = await post("/admin/topology/isps", { id: "copycat", name: "Copycat", asns: [64500] });
    expect(taken.status).toBe(409);
    expect(await errorOf(taken)).toMatchObject({ code: "duplicate_asn", message: expect.stringMatching(/AS64500 is ISP lumen-fiber's/) });
    const moved = await post("/admin/topology/isps/harbor-cable", { asns: [64600, 64500] });
    expect(moved.status).toBe(409);
    expect((await errorOf(moved)).code).toBe("duplicate_asn");
    const again = await post("/admin/topology/isps", { id: "harbor-cable", name: "Harbor again", asns: [64700] });
    expect(again.status).toBe(409);
    expect((await errorOf(again)).code).toBe("duplicate_id");
    const unknown = await post("/admin/topology/isps/nobody", { name: "Nobody" });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe("unknown_isp");
    for (const body of [
      { id: "no-asns", name: "No ASNs", asns: [] },
      { id: "asn-zero", name: "Zero", asns: [0] },
      { id: "asn-big", name: "Big", asns: [4_294_967_295] },
      { id: "asn-float", name: "Float", asns: [64700.5] },
      { id: "__proto__", name: "Proto", asns: [64701] },
      { id: "many", name: "Many", asns: Array.from({ length: 257 }, (_, i) => 70_000 + i) },
    ]) {
      const res = await post("/admin/topology/isps", body);
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(400);
    }
    expect((await post("/admin/topology/isps/harbor-cable", {})).status).toBe(400);
    expect(await version()).toBe(v0);
  });
});
