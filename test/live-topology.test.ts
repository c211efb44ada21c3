import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * The live topology: sites and OCAs are added, resized and retired through the admin API, validated,
 * with no redeploy; the control plane, the data plane and the site objects all run on the new version
 * (CATALOGUE_TTL_S is 0 under test, so at once; deployed, within 2 × CATALOGUE_TTL_S).
 */

const TITLE = "topology-title";
const BOSTON = "asn=64500;country=US;lat=42.36;lon=-71.06";
const json = { ...ADMIN, "Content-Type": "application/json" };
const post = (path: string, body?: unknown) => call(path, { method: "POST", headers: json, body: body === undefined ? undefined : JSON.stringify(body) });
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

const bostonSite = {
  id: "lumen-bos",
  name: "Lumen Fiber Boston",
  tier: "embedded",
  region: "na",
  isp: "lumen-fiber",
  parent: "ixp-nyc",
  country: "US",
  lat: 42.36,
  lon: -71.06,
  timeZone: "America/New_York",
  ocas: [{ id: "lumen-bos-1", capacityBytes: 400_000_000, throughputBps: 10_000_000_000 }],
};

const play = async (geo: string) => (await (await pressPlay(await memberToken("premium"), { titleId: TITLE }, geo)).json()) as PlayResponse;

beforeAll(async () => {
  await publishTitle(TITLE);
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }])).status).toBe(200);
});

describe("the live topology", () => {
  it("adds a site with its OCA, which is filled and steered to like any other, with no redeploy", async () => {
    const added = await post("/admin/topology/sites", bostonSite);
    expect(added.status).toBe(201);
    const { version } = (await added.json()) as { version: number };
    const topo = (await (await call("/admin/topology", { headers: ADMIN })).json()) as { version: number; sites: Array<{ id: string }> };
    expect(topo.version).toBe(version);
    expect(topo.sites.map((s) => s.id)).toContain("lumen-bos");
    // Its object runs on the new topology: it fills, and a Boston viewer of the ISP is sent there first.
    expect((await fill([{ siteId: "lumen-bos", ocaId: "lumen-bos-1", titleIds: [TITLE] }])).status).toBe(200);
    const p = await play(BOSTON);
    expect(p.ocas[0]).toMatchObject({ siteId: "lumen-bos", ocaId: "lumen-bos-1" });
    expect((await call(`${p.ocas[0].url}master.m3u8`)).status).toBe(200);
    // Another OCA joins the site.
    expect((await post("/admin/topology/sites/lumen-bos/ocas", { id: "lumen-bos-2", capacityBytes: 1e8, throughputBps: 1e9 })).status).toBe(201);
    const site = (await (await call("/admin/sites/lumen-bos", { headers: ADMIN })).json()) as { ocas: Array<{ ocaId: string }> };
    expect(site.ocas.map((o) => o.ocaId)).toEqual(["lumen-bos-1", "lumen-bos-2"]);
  });

  it("validates every change: unknown parents, regions and time zones, duplicate ids, bad bodies", async () => {
    const bad = async (body: unknown, status: number, code: string) => {
      const res = await post("/admin/topology/sites", body);
      expect(res.status).toBe(status);
      expect((await errorCode(res)).code).toBe(code);
    };
    await bad({ ...bostonSite, id: "x-1", ocas: [{ id: "x-1-1", capacityBytes: 1, throughputBps: 1 }], parent: "nowhere" }, 400, "invalid_topology");
    await bad({ ...bostonSite, id: "x-2", ocas: [{ id: "x-2-1", capacityBytes: 1, throughputBps: 1 }], region: "mars" }, 400, "invalid_topology");
    await bad({ ...bostonSite, id: "x-3", ocas: [{ id: "x-3-1", capacityBytes: 1, throughputBps: 1 }], timeZone: "Mars/Olympus" }, 400, "invalid_topology");
    await bad({ ...bostonSite, id: "x-4", ocas: [{ id: "lumen-nyc-1", capacityBytes: 1, throughputBps: 1 }] }, 409, "duplicate_id");
    await bad({ ...bostonSite, id: "__proto__" }, 400, "invalid_request");
    await bad({ ...bostonSite, ocas: [] }, 400, "invalid_request");
    // Nothing was stored by a refused change.
    const topo = (await (await call("/admin/topology", { headers: ADMIN })).json()) as { sites: Array<{ id: string }> };
    expect(topo.sites.map((s) => s.id).filter((id) => id.startsWith("x-"))).toEqual([]);
  });

  it("resizes an OCA's capacity and throughput, and the site runs on the new figures", async () => {
    const res = await post("/admin/topology/sites/lumen-nyc/ocas/lumen-nyc-2", { capacityBytes: 123_000_000, throughputBps: 2_000_000_000 });
    expect(res.status).toBe(200);
    const site = (await (await call("/admin/sites/lumen-nyc", { headers: ADMIN })).json()) as {
      ocas: Array<{ ocaId: string; capacityBytes: number; throughputBps: number }>;
    };
    expect(site.ocas.find((o) => o.ocaId === "lumen-nyc-2")).toMatchObject({ capacityBytes: 123_000_000, throughputBps: 2_000_000_000 });
    expect((await post("/admin/topology/sites/lumen-nyc/ocas/nope", { capacityBytes: 1 })).status).toBe(404);
  });

  it("retires an OCA: drained at once, never steered to again, its URLs gone, and no plan places anything on it", async () => {
    expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-2", titleIds: [TITLE] }])).status).toBe(200);
    const before = await play(GEO.lumenNyc);
    expect(before.ocas.map((o) => o.ocaId)).toContain("lumen-nyc-2");
    const retired = await post("/admin/topology/sites/lumen-nyc/ocas/lumen-nyc-2/retire");
    expect(retired.status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await play(GEO.lumenNyc)).ocas.map((o) => o.ocaId)).not.toContain("lumen-nyc-2");
    // A session that had it in its list no longer gets it from steering.
    const poll = (await (await call(before.steering.server)).json()) as { "PATHWAY-PRIORITY": string[] };
    expect(poll["PATHWAY-PRIORITY"]).not.toContain("lumen-nyc-2");
    const url = before.ocas.find((o) => o.ocaId === "lumen-nyc-2")!.url;
    expect((await call(`${url}master.m3u8`)).status).toBe(404);
    const topo = (await (await call("/admin/topology", { headers: ADMIN })).json()) as { retired: Array<{ ocaId: string }> };
    expect(topo.retired.map((r) => r.ocaId)).toContain("lumen-nyc-2");
    // The next fill cycle plans the site on its remaining OCAs only.
    expect((await post("/admin/sites/lumen-nyc/fill-cycle", {})).status).toBe(200);
    const plan = (await (await call("/admin/sites/lumen-nyc/plan", { headers: ADMIN })).json()) as { plan: Record<string, string[]> };
    expect(Object.keys(plan.plan)).not.toContain("lumen-nyc-2");
    // A site keeps at least one OCA.
    const last = await post("/admin/topology/sites/lakeshore-chi/ocas/lakeshore-chi-1/retire");
    expect(last.status).toBe(200);
    await post("/admin/topology/sites/lakeshore-chi/ocas/lakeshore-chi-2/retire");
    const refused = await post("/admin/topology/sites/lakeshore-chi/ocas/lakeshore-chi-3/retire");
    expect(refused.status).toBe(409);
    expect((await errorCode(refused)).code).toBe("last_oca");
  });

  it("keeps a site to 32 OCAs when they join one by one, as when it is added with them", async () => {
    const oca = (i: number) => ({ id: `bound-bos-${i}`, capacityBytes: 1e8, throughputBps: 1e9 });
    expect((await post("/admin/topology/sites", { ...bostonSite, id: "bound-bos", ocas: [oca(1)] })).status).toBe(201);
    for (let i = 2; i <= 32; i++) expect((await post("/admin/topology/sites/bound-bos/ocas", oca(i))).status, `OCA ${i}`).toBe(201);
    const over = await post("/admin/topology/sites/bound-bos/ocas", oca(33));
    expect(over.status).toBe(400);
    expect(await errorCode(over)).toMatchObject({ code: "invalid_topology", message: expect.stringMatching(/at most 32 OCAs/) });
    const topo = (await (await call("/admin/topology", { headers: ADMIN })).json()) as { sites: Array<{ id: string; ocas: unknown[] }> };
    expect(topo.sites.find((s) => s.id === "bound-bos")?.ocas).toHaveLength(32);
  });

  it("a retire refused after its drain gives the OCA back to the site's judgement as it stood, a failed one failed", async () => {
    const ocas = [1, 2].map((i) => ({ id: `undo-bos-${i}`, capacityBytes: 1e8, throughputBps: 1e9 }));
    expect((await post("/admin/topology/sites", { ...bostonSite, id: "undo-bos", ocas })).status).toBe(201);
    const stub = env.OCA_SITE.get(env.OCA_SITE.idFromName("undo-bos"));
    // The site judged undo-bos-1 failed by itself (its automatic state, as its signals would set it).
    await stub.describe();
    await runInDurableObject(stub, async (_o, state) => {
      state.storage.sql.exec(
        `INSERT OR REPLACE INTO oca_auto_health (oca_id, state, since, reason, better_since) VALUES (?, 'failed', ?, 'test: judged failed', NULL)`,
        "undo-bos-1",
        Date.now(),
      );
    });
    // What a refused retire does after its drain.
    expect((await stub.setHealth("undo-bos-1", "drained")).ok).toBe(true);
    expect((await stub.clearOperatorHealth("undo-bos-1")).ok).toBe(true);
    const site = (await (await call("/admin/sites/undo-bos", { headers: ADMIN })).json()) as {
      ocas: Array<{ ocaId: string; health: string; load: { healthBy: string } }>;
    };
    expect(site.ocas.find((o) => o.ocaId === "undo-bos-1")).toMatchObject({ health: "failed", load: { healthBy: "auto" } });
  });

  it("retiring a site's last two OCAs at once retires one and leaves the other in service, not drained", async () => {
    const ocas = [1, 2].map((i) => ({ id: `race-bos-${i}`, capacityBytes: 1e8, throughputBps: 1e9 }));
    expect((await post("/admin/topology/sites", { ...bostonSite, id: "race-bos", ocas })).status).toBe(201);
    const answers = await Promise.all(ocas.map((o) => post(`/admin/topology/sites/race-bos/ocas/${o.id}/retire`)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const site = (await (await call("/admin/sites/race-bos", { headers: ADMIN })).json()) as { ocas: Array<{ ocaId: string; health: string }> };
    expect(site.ocas).toHaveLength(1);
    expect(site.ocas[0].health).toBe("healthy");
  });
});
