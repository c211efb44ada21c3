import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, addSite, call, fill, memberToken, pressPlay, publishTitle, siteBody, type FixtureTitle, type PlayResponse } from "./fixtures";

/**
 * Topology changes while traffic and the fill go on: an OCA retired while a fill copies to it keeps no
 * copy, row or listing whichever finishes first, and is never offered; an OCA whose capacity shrinks
 * below what it holds keeps serving the sessions on it, and the next plan takes titles off it.
 */

const json = { ...ADMIN, "Content-Type": "application/json" };
const post = (path: string, body?: unknown) => call(path, { method: "POST", headers: json, body: body === undefined ? undefined : JSON.stringify(body) });
const stub = (siteId: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(siteId));
const BOSTON = "asn=64500;country=US;lat=42.36;lon=-71.06";
const SEGMENT = "video/avc-240p/seg-00001.m4s";
const siteAt = (id: string) =>
  siteBody(id, {
    tier: "embedded",
    isp: "lumen-fiber",
    parent: "ixp-nyc",
    lat: 42.36,
    lon: -71.06,
    ocas: [1, 2].map((i) => ({ id: `${id}-${i}`, capacityBytes: 100_000_000, throughputBps: 1_000_000_000 })),
  });
const play = async () => (await (await pressPlay(await memberToken("premium"), { titleId: title.titleId }, BOSTON)).json()) as PlayResponse;

let title: FixtureTitle;
beforeAll(async () => {
  title = await publishTitle("rdf-title");
});

describe("topology changes during traffic and fill", () => {
  it("an OCA retired while a fill copies to it keeps no holding or listing, and no play is offered it", async () => {
    const S = "rdf-a";
    expect((await addSite(siteAt(S))).status).toBe(201);
    const [filled, retired] = await Promise.all([
      fill([{ siteId: S, ocaId: `${S}-2`, titleIds: [title.titleId] }]),
      post(`/admin/topology/sites/${S}/ocas/${S}-2/retire`),
    ]);
    expect(retired.status).toBe(200);
    // The fill either finished first (its copy then went with the retire) or was refused the retired OCA.
    expect([200, 409]).toContain(filled.status);
    const held = await runInDurableObject(
      stub(S),
      (_o, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM holdings WHERE oca_id = ?`, `${S}-2`).one().n,
    );
    expect(held).toBe(0);
    const listed = await env.DB.prepare(`SELECT COUNT(*) AS n FROM oca_titles WHERE oca_id = ?`).bind(`${S}-2`).first<{ n: number }>();
    expect(listed?.n).toBe(0);
    expect((await play()).ocas.map((o) => o.ocaId)).not.toContain(`${S}-2`);
  });

  it("an OCA resized below what it holds serves the session on it; the next plan takes the title off, the session's files stay", async () => {
    const S = "rdf-b";
    expect((await addSite(siteAt(S))).status).toBe(201);
    expect((await fill([{ siteId: S, ocaId: `${S}-1`, titleIds: [title.titleId] }])).status).toBe(200);
    const before = await play();
    const url = before.ocas.find((o) => o.ocaId === `${S}-1`)?.url;
    expect(url).toBeDefined();
    expect((await post(`/admin/topology/sites/${S}/ocas/${S}-1`, { capacityBytes: 1 })).status).toBe(200);
    expect((await call(`${url}${SEGMENT}`)).status).toBe(200);
    const cycle = (await (await post(`/admin/sites/${S}/fill-cycle`, {})).json()) as { removes: number };
    expect(cycle.removes).toBe(1);
    expect((await call(`${url}${SEGMENT}`)).status).toBe(200);
  });
});
