import { describe, expect, it } from "vitest";
import { ADMIN, addSite, call, siteBody } from "./fixtures";

/**
 * Two operators changing the live topology at the same moment, and an operator retrying a change whose
 * answer was lost: each change is a read-modify-write of one versioned document, redone on the newer
 * version when another change stored first, so neither is refused for the other's sake and each takes a
 * version of its own; a retire asked again answers as the retire it repeats.
 */

const json = { ...ADMIN, "Content-Type": "application/json" };
const post = (path: string, body?: unknown) => call(path, { method: "POST", headers: json, body: body === undefined ? undefined : JSON.stringify(body) });
const retire = (siteId: string, ocaId: string) => post(`/admin/topology/sites/${siteId}/ocas/${ocaId}/retire`);

interface Topo {
  version: number;
  sites: Array<{ id: string; ocas: Array<{ id: string }> }>;
  isps: Array<{ id: string; asns: number[] }>;
  retired: Array<{ siteId: string; ocaId: string; at: string }>;
}
const topology = async () => (await (await call("/admin/topology", { headers: ADMIN })).json()) as Topo;
const threeOcas = (siteId: string) => [1, 2, 3].map((i) => ({ id: `${siteId}-${i}`, capacityBytes: 1e8, throughputBps: 1e9 }));

describe("two topology changes at once", () => {
  it("both land: two sites added at the same moment are both in the topology, at consecutive versions", async () => {
    const before = (await topology()).version;
    const answers = await Promise.all([addSite(siteBody("both-a")), addSite(siteBody("both-b")), addSite(siteBody("both-c"))]);
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201]);
    const versions = await Promise.all(answers.map(async (r) => ((await r.json()) as { version: number }).version));
    expect([...versions].sort((a, b) => a - b)).toEqual([before + 1, before + 2, before + 3]);
    const after = await topology();
    expect(after.version).toBe(before + 3);
    expect(after.sites.map((s) => s.id)).toEqual(expect.arrayContaining(["both-a", "both-b", "both-c"]));
  });

  it("an OCA added and another resized at the same moment at one site: both changes stand", async () => {
    expect((await addSite(siteBody("both-d"))).status).toBe(201);
    const [added, resized] = await Promise.all([
      post("/admin/topology/sites/both-d/ocas", { id: "both-d-2", capacityBytes: 1, throughputBps: 1 }),
      post("/admin/topology/sites/both-d/ocas/both-d-1", { capacityBytes: 7 }),
    ]);
    expect([added.status, resized.status]).toEqual([201, 200]);
    const site = (await (await call("/admin/topology", { headers: ADMIN })).json()) as {
      sites: Array<{ id: string; ocas: Array<{ id: string; capacityBytes: number }> }>;
    };
    expect(site.sites.find((s) => s.id === "both-d")?.ocas.map((o) => [o.id, o.capacityBytes])).toEqual([
      ["both-d-1", 7],
      ["both-d-2", 1],
    ]);
  });

  it("two ISPs claiming one ASN at once: one is added, the other is told whose ASN it is (409 duplicate_asn), not to retry", async () => {
    const answers = await Promise.all([
      post("/admin/topology/isps", { id: "both-isp-1", name: "One", asns: [65123] }),
      post("/admin/topology/isps", { id: "both-isp-2", name: "Two", asns: [65123] }),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    const refused = answers.find((r) => r.status === 409)!;
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("duplicate_asn");
    expect((await topology()).isps.filter((i) => i.asns.includes(65123))).toHaveLength(1);
  });
});

describe("a retire asked again", () => {
  it("after its answer was lost: 200 with the first retire's time, the OCA retired once, no new version", async () => {
    expect((await addSite(siteBody("again-a", { ocas: threeOcas("again-a") }))).status).toBe(201);
    const first = await retire("again-a", "again-a-2");
    expect(first.status).toBe(200);
    const done = (await first.json()) as { version: number; retiredAt: string };
    const retry = await retire("again-a", "again-a-2");
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ siteId: "again-a", ocaId: "again-a-2", retiredAt: done.retiredAt, version: done.version, alreadyRetired: true });
    const after = await topology();
    expect(after.version).toBe(done.version);
    expect(after.retired.filter((r) => r.ocaId === "again-a-2")).toHaveLength(1);
    expect(after.sites.find((s) => s.id === "again-a")?.ocas.map((o) => o.id)).toEqual(["again-a-1", "again-a-3"]);
    // An OCA the site never had is still unknown.
    expect((await retire("again-a", "again-a-9")).status).toBe(404);
  });

  it("while the first is still running (a client's timeout): both answer 200 with one retire, its peers untouched", async () => {
    expect((await addSite(siteBody("again-b", { ocas: threeOcas("again-b") }))).status).toBe(201);
    const answers = await Promise.all([retire("again-b", "again-b-2"), retire("again-b", "again-b-2")]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    const bodies = (await Promise.all(answers.map((r) => r.json()))) as Array<{ retiredAt: string }>;
    expect(bodies[0].retiredAt).toBe(bodies[1].retiredAt);
    const after = await topology();
    expect(after.retired.filter((r) => r.ocaId === "again-b-2")).toHaveLength(1);
    const site = (await (await call("/admin/sites/again-b", { headers: ADMIN })).json()) as { ocas: Array<{ ocaId: string; health: string }> };
    expect(site.ocas.map((o) => [o.ocaId, o.health])).toEqual([
      ["again-b-1", "healthy"],
      ["again-b-3", "healthy"],
    ]);
  });
});
