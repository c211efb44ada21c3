import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, fill, publishTitle, tierKey, type FixtureTitle } from "./fixtures";
import { originKey } from "../shared/file-keys";
import { fillPlacements } from "../workers/control/admin/fill-placements";

interface SiteState {
  site: { id: string; tier: string };
  ocas: Array<{
    ocaId: string;
    capacityBytes: number;
    usedBytes: number;
    health: string;
    titles: Array<{ titleId: string; files: number; bytes: number; readyFiles: number; complete: boolean }>;
  }>;
  fills: { files: number; bytes: number; bySource: Record<"peer" | "parent" | "origin", { files: number; bytes: number }> };
}
interface FillResponse {
  ok: boolean;
  results: Array<{
    ok: boolean;
    siteId: string;
    ocaId: string;
    titleId: string;
    copied?: number;
    skipped?: number;
    bytes?: number;
    bySource?: Record<string, number>;
    code?: string;
    message?: string;
  }>;
}

const state = async (siteId: string) => (await (await call(`/admin/sites/${siteId}`, { headers: ADMIN })).json()) as SiteState;
const titleBytes = (t: FixtureTitle) => Object.values(t.files).reduce((s, b) => s + b.byteLength, 0);
const fileCount = (t: FixtureTitle) => Object.keys(t.files).length;

let t: FixtureTitle;
beforeAll(async () => {
  t = await publishTitle("fill-title");
});

describe("the OcaSite Durable Object", () => {
  it("describes its OCAs with capacity, health and nothing held before any fill", async () => {
    const s = await state("polder-ams");
    expect(s.site).toMatchObject({ id: "polder-ams", tier: "embedded" });
    expect(s.ocas.map((o) => [o.ocaId, o.capacityBytes, o.usedBytes, o.health, o.titles.length])).toEqual([
      ["polder-ams-1", 400000000, 0, "healthy", 0],
      ["polder-ams-2", 400000000, 0, "healthy", 0],
    ]);
  });

  it("copies a title from origin into an OCA byte for byte, and then from a peer OCA of the same site", async () => {
    let res = (await (await fill([{ siteId: "polder-ams", ocaId: "polder-ams-1", titleIds: ["fill-title"] }])).json()) as FillResponse;
    expect(res.results[0]).toMatchObject({
      ok: true,
      copied: fileCount(t),
      skipped: 0,
      bytes: titleBytes(t),
      bySource: { peer: 0, parent: 0, origin: fileCount(t) },
    });
    for (const [path, bytes] of Object.entries(t.files)) {
      const obj = await env.TIER_EU.get(tierKey("polder-ams", "polder-ams-1", t, path));
      expect(new Uint8Array(await obj!.arrayBuffer()), path).toEqual(bytes);
    }
    res = (await (await fill([{ siteId: "polder-ams", ocaId: "polder-ams-2", titleIds: ["fill-title"] }])).json()) as FillResponse;
    expect(res.results[0]).toMatchObject({ ok: true, bySource: { peer: fileCount(t), parent: 0, origin: 0 } });
    const s = await state("polder-ams");
    expect(s.ocas.map((o) => o.usedBytes)).toEqual([titleBytes(t), titleBytes(t)]);
    expect(s.ocas[0].titles).toEqual([
      { titleId: "fill-title", files: fileCount(t), bytes: titleBytes(t), readyFiles: fileCount(t), complete: true, planned: false },
    ]);
    expect(s.fills.bySource.peer.files).toBe(fileCount(t));
    expect(s.fills.bySource.origin.files).toBe(fileCount(t));
  });

  it("copies from the parent IXP site when it holds the title and no peer does", async () => {
    await fill([{ siteId: "ixp-fra", ocaId: "ixp-fra-2", titleIds: ["fill-title"] }]);
    const res = (await (await fill([{ siteId: "rheinnet-muc", ocaId: "rheinnet-muc-1", titleIds: ["fill-title"] }])).json()) as FillResponse;
    expect(res.results[0]).toMatchObject({ ok: true, bySource: { peer: 0, parent: fileCount(t), origin: 0 } });
  });

  it("skips files already held, so a repeated fill copies nothing", async () => {
    const res = (await (await fill([{ siteId: "polder-ams", ocaId: "polder-ams-1", titleIds: ["fill-title"] }])).json()) as FillResponse;
    expect(res.results[0]).toMatchObject({ ok: true, copied: 0, skipped: fileCount(t) });
  });

  it("refuses a fill that would exceed the OCA's capacity, with 409, and holds nothing of it", async () => {
    const cap = await call("/admin/sites/rheinnet-ber/ocas/rheinnet-ber-2/capacity", {
      method: "POST",
      headers: { ...ADMIN, "Content-Type": "application/json" },
      body: JSON.stringify({ capacityBytes: titleBytes(t) - 1 }),
    });
    expect(cap.status).toBe(200);
    const res = await fill([{ siteId: "rheinnet-ber", ocaId: "rheinnet-ber-2", titleIds: ["fill-title"] }]);
    expect(res.status).toBe(409);
    const body = (await res.json()) as FillResponse;
    expect(body.results[0]).toMatchObject({ ok: false, code: "insufficient_capacity" });
    const s = await state("rheinnet-ber");
    expect(s.ocas.find((o) => o.ocaId === "rheinnet-ber-2")).toMatchObject({ capacityBytes: titleBytes(t) - 1, usedBytes: 0, titles: [] });
  });

  it("verifies checksums: a corrupted origin file fails the copy and is not counted as held", async () => {
    const bad = await publishTitle("corrupt-title");
    const path = "video/avc-240p/seg-00001.m4s";
    const corrupted = new Uint8Array(bad.files[path]);
    corrupted[100] ^= 0xff; // same size, different bytes
    await env.ORIGIN.put(originKey("corrupt-title", path, bad.sha[path]), corrupted);
    const res = await fill([{ siteId: "rheinnet-ber", ocaId: "rheinnet-ber-1", titleIds: ["corrupt-title"] }]);
    expect(res.status).toBe(409);
    expect(((await res.json()) as FillResponse).results[0]).toMatchObject({ ok: false, code: "copy_failed" });
    expect(await env.TIER_EU.head(tierKey("rheinnet-ber", "rheinnet-ber-1", bad, path))).toBeNull();
    const held = (await state("rheinnet-ber")).ocas.find((o) => o.ocaId === "rheinnet-ber-1")!.titles.find((x) => x.titleId === "corrupt-title");
    expect(held?.complete ?? false).toBe(false);
    const view = await env.DB.prepare(`SELECT COUNT(*) AS n FROM oca_titles WHERE oca_id = 'rheinnet-ber-1' AND title_id = 'corrupt-title'`).first<{
      n: number;
    }>();
    expect(view!.n).toBe(0);
  });

  it("evicts a title: the bytes go and the steering view forgets it", async () => {
    const res = await call("/admin/sites/polder-ams/ocas/polder-ams-2/titles/fill-title", { method: "DELETE", headers: ADMIN });
    expect(await res.json()).toMatchObject({ evicted: { files: fileCount(t), bytes: titleBytes(t) } });
    expect(await env.TIER_EU.head(tierKey("polder-ams", "polder-ams-2", t, "master.m3u8"))).toBeNull();
    const view = await env.DB.prepare(`SELECT oca_id FROM oca_titles WHERE title_id = 'fill-title' AND site_id = 'polder-ams'`).all<{ oca_id: string }>();
    expect(view.results.map((r) => r.oca_id)).toEqual(["polder-ams-1"]);
  });

  it("answers unknown sites, OCAs and titles with 404 and bad bodies with 400", async () => {
    expect((await call("/admin/sites/nowhere", { headers: ADMIN })).status).toBe(404);
    expect((await fill([{ siteId: "polder-ams", ocaId: "nope", titleIds: ["fill-title"] }])).status).toBe(404);
    expect((await fill([{ siteId: "polder-ams", ocaId: "polder-ams-1", titleIds: ["no-such-title"] }])).status).toBe(404);
    const res = await call("/admin/fill", { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body: '{"placements":[]}' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
  });

  it("keeps the admin API behind the bearer secret", async () => {
    expect((await call("/admin/topology")).status).toBe(401);
    expect((await call("/admin/topology", { headers: { Authorization: "Bearer wrong" } })).status).toBe(401);
    const topo = (await (await call("/admin/topology", { headers: ADMIN })).json()) as {
      sites: Array<{ id: string; tier: string; ocas: unknown[] }>;
      isps: unknown[];
    };
    expect(topo.sites.filter((s) => s.tier === "ixp").length).toBeGreaterThanOrEqual(2);
    expect(topo.sites.filter((s) => s.tier === "embedded").length).toBeGreaterThanOrEqual(4);
    expect(topo.isps.length).toBeGreaterThanOrEqual(2);
  });
});

describe("a fill larger than one call of the site object", () => {
  const listed = async (ocaId: string, titleId: string) =>
    (await env.DB.prepare(`SELECT COUNT(*) AS n FROM oca_titles WHERE oca_id = ? AND title_id = ?`).bind(ocaId, titleId).first<{ n: number }>())!.n;
  const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName("lakeshore-chi"));

  it("copies its share of files per call and lists the title only after the call that copies the last", async () => {
    const big = await publishTitle("fill-chunks");
    const n = fileCount(big);
    expect(n).toBeGreaterThan(4);
    const first = await site().fillTitle("lakeshore-chi-1", "fill-chunks", 2);
    expect(first).toMatchObject({ ok: true, done: false, copied: 2, skipped: 0, remaining: n - 2 });
    expect(await listed("lakeshore-chi-1", "fill-chunks")).toBe(0);
    let calls = 1;
    let last = first;
    while (last.ok && !last.done) {
      last = await site().fillTitle("lakeshore-chi-1", "fill-chunks", 2);
      calls++;
    }
    expect(last).toMatchObject({ ok: true, done: true, remaining: 0 });
    expect(calls).toBe(Math.ceil(n / 2));
    expect(await listed("lakeshore-chi-1", "fill-chunks")).toBe(1);
    for (const [path, bytes] of Object.entries(big.files)) {
      const obj = await env.TIER_NA.get(tierKey("lakeshore-chi", "lakeshore-chi-1", big, path));
      expect(new Uint8Array(await obj!.arrayBuffer()), path).toEqual(bytes);
    }
  });

  it("is summed over its calls by the admin route (FILL_FILES_PER_CALL is 3 in the tests)", async () => {
    const big = await publishTitle("fill-chunks-route");
    const res = (await (await fill([{ siteId: "lakeshore-chi", ocaId: "lakeshore-chi-2", titleIds: ["fill-chunks-route"] }])).json()) as FillResponse;
    expect(fileCount(big)).toBeGreaterThan(3);
    expect(res.results[0]).toMatchObject({ ok: true, done: true, copied: fileCount(big), skipped: 0, bytes: titleBytes(big) });
    expect(await listed("lakeshore-chi-2", "fill-chunks-route")).toBe(1);
  });

  it("stops at the request's budget with 202 and what it copied, and the same request carries on", async () => {
    const big = await publishTitle("fill-chunks-budget");
    const pairs = [{ siteId: "lakeshore-chi", ocaId: "lakeshore-chi-1", titleId: "fill-chunks-budget" }];
    const cut = await fillPlacements(env, pairs, { calls: 1, ms: 60_000 });
    expect(cut).toMatchObject({ ok: false, status: 202, results: [{ ok: false, done: false, code: "incomplete", copied: 3 }] });
    expect(await listed("lakeshore-chi-1", "fill-chunks-budget")).toBe(0);
    const rest = await fillPlacements(env, pairs);
    expect(rest).toMatchObject({ ok: true, status: 200, results: [{ ok: true, done: true, copied: fileCount(big) - 3, skipped: 3 }] });
    expect(await listed("lakeshore-chi-1", "fill-chunks-budget")).toBe(1);
  });

  it("stops a title whose copies vanish between calls (no_progress) and reports a failing site object per title, going on with the rest", async () => {
    await publishTitle("fill-chunks-odd");
    // The site object's answers are replaced on its prototype (RPC dispatches prototype methods), for one OCA each.
    const { OcaSite } = await import("../durable-objects/oca-site");
    const proto = OcaSite.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const real = proto.fillTitle;
    proto.fillTitle = async function (this: unknown, ocaId: unknown, ...rest: unknown[]) {
      if (ocaId === "lakeshore-chi-1")
        return {
          ok: true,
          done: false,
          ocaId,
          titleId: "fill-chunks-odd",
          copied: 3,
          skipped: 0,
          remaining: 5,
          bytes: 30,
          bySource: { peer: 0, parent: 0, origin: 3 },
        };
      if (ocaId === "lakeshore-chi-2") throw new Error("injected: object reset");
      return real.apply(this, [ocaId, ...rest]);
    };
    try {
      const r = await fillPlacements(env, [
        { siteId: "lakeshore-chi", ocaId: "lakeshore-chi-1", titleId: "fill-chunks-odd" },
        { siteId: "lakeshore-chi", ocaId: "lakeshore-chi-2", titleId: "fill-chunks-odd" },
        { siteId: "lakeshore-chi", ocaId: "lakeshore-chi-3", titleId: "fill-chunks-odd" },
      ]);
      expect(r.status).toBe(409);
      expect(r.results.map((x) => [x.ocaId, x.ok, "code" in x ? x.code : null])).toEqual([
        ["lakeshore-chi-1", false, "no_progress"],
        ["lakeshore-chi-2", false, "site_error"],
        ["lakeshore-chi-3", true, null],
      ]);
      // Three calls on the first: the second and third copied and left as many as the first, so a fourth would not help.
      expect(r.results[0]).toMatchObject({ copied: 9 });
    } finally {
      proto.fillTitle = real;
    }
  });
});

describe("origin uploads", () => {
  it("reject a body whose SHA-256 does not match, and keep nothing", async () => {
    const res = await call("/admin/origin/upload-title/a.vtt", {
      method: "PUT",
      headers: { ...ADMIN, "X-Content-SHA256": "0".repeat(64), "Content-Length": "6" },
      body: "WEBVTT",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("checksum_mismatch");
    expect(await env.ORIGIN.head(originKey("upload-title", "a.vtt", "0".repeat(64)))).toBeNull();
  });

  it("refuse to register a title whose files are not in origin", async () => {
    const res = await call("/admin/titles/ghost", {
      method: "PUT",
      headers: { ...ADMIN, "Content-Type": "application/json" },
      body: JSON.stringify({
        name: "Ghost",
        durationS: 1,
        renditions: [{ id: "avc-240p", kind: "video", codec: "avc1.64001e", height: 240, bandwidth: 1 }],
        files: [{ path: "master.m3u8", bytes: 10, sha256: "a".repeat(64) }],
        licences: [],
      }),
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: "files_not_in_origin", details: { paths: ["master.m3u8"] } } });
  });
});
