import { beforeAll, describe, expect, it } from "vitest";
import { topology } from "../workers/shared/topology";
import { SERVED_BURST_BYTES, SERVED_RATE_BPS } from "../workers/edge/served-ceiling";
import { ADMIN, call, fill, GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * The dashboard's one read, GET /admin/ops/overview: every site with its OCAs, fill window, misses,
 * and the bytes served per day by where they came from: an embedded site's own copy, and origin
 * (through the origin pathway, counted at the client's home site).
 */

const HELD = "ops-held";
const UNHELD = "ops-unheld";
const BIG = "ops-big";
const BIG_SEG = "video/avc-480p/seg-00001.m4s";
const BIG_BYTES = 8 * 1024 * 1024;

interface Overview {
  sites: Array<{
    siteId: string;
    tier: string;
    reachable: boolean;
    ocas: Array<{ ocaId: string; health: string; healthBy: string; throughputBps: number; capacityBytes: number }>;
    fill: { window: { startHour: number; endHour: number; open: boolean } };
    misses: { content: { count: number }; health: { count: number } };
    syncs: { isolates: number; everyMs: number };
    served: Array<{ day: number; source: string; bytes: number }>;
  }>;
}

const overview = async () => (await (await call("/admin/ops/overview", { headers: ADMIN })).json()) as Overview;
const servedAt = (o: Overview, siteId: string, source: string) =>
  o.sites
    .find((s) => s.siteId === siteId)!
    .served.filter((r) => r.source === source)
    .reduce((n, r) => n + r.bytes, 0);

async function watch(titleId: string): Promise<{ p: PlayResponse; bytes: number }> {
  const p = (await (await pressPlay(await memberToken("premium"), { titleId }, GEO.lumenNyc)).json()) as PlayResponse;
  const res = await call(`${p.ocas[0].url}master.m3u8`, { geo: GEO.lumenNyc });
  expect(res.status).toBe(200);
  return { p, bytes: (await res.arrayBuffer()).byteLength };
}

beforeAll(async () => {
  await publishTitle(HELD);
  await publishTitle(UNHELD);
  await publishTitle(BIG, { segmentBytes: BIG_BYTES });
  expect((await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [HELD, BIG] }])).status).toBe(200);
});

describe("the operator overview", () => {
  it("lists every site with its tier, OCAs, fill window and misses", async () => {
    const o = await overview();
    expect(o.sites.map((s) => s.siteId).sort()).toEqual(topology.sites.map((s) => s.id).sort());
    const lumen = o.sites.find((s) => s.siteId === "lumen-nyc")!;
    expect(lumen).toMatchObject({ tier: "embedded", reachable: true });
    expect(lumen.ocas.map((x) => x.ocaId)).toEqual(["lumen-nyc-1", "lumen-nyc-2"]);
    expect(lumen.ocas[0]).toMatchObject({ health: "healthy", healthBy: "auto" });
    expect(lumen.fill.window).toMatchObject({ startHour: expect.any(Number), endHour: expect.any(Number), open: expect.any(Boolean) });
    expect(lumen.misses.content.count).toBeGreaterThanOrEqual(0);
    expect((await call("/admin/ops/overview")).status).toBe(401);
  });

  it("counts bytes served from an embedded site's own copy, and origin-pathway bytes at the client's home site", async () => {
    const before = await overview();
    const held = await watch(HELD);
    expect(held.p.ocas[0].ocaId).toBe("lumen-nyc-1");
    const unheld = await watch(UNHELD);
    expect(unheld.p.ocas[0].ocaId).toBe(topology.origin.id);
    let after = before;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await overview();
      if (servedAt(after, "lumen-nyc", "origin") > servedAt(before, "lumen-nyc", "origin")) break;
    }
    expect(servedAt(after, "lumen-nyc", "embedded") - servedAt(before, "lumen-nyc", "embedded")).toBe(held.bytes);
    expect(servedAt(after, "lumen-nyc", "origin") - servedAt(before, "lumen-nyc", "origin")).toBe(unheld.bytes);
    // The bytes came in this isolate's syncs: the site counts it among the isolates feeding it, at the one-second interval.
    const lumen = after.sites.find((s) => s.siteId === "lumen-nyc")!;
    expect(lumen.syncs.isolates).toBeGreaterThanOrEqual(1);
    expect(lumen.syncs.everyMs).toBe(1000);
  });

  it("holds a session's counted bytes to its ceiling: a file asked for and dropped over and over counts no more than the burst and the refill", async () => {
    const p = (await (await pressPlay(await memberToken("premium"), { titleId: BIG }, GEO.lumenNyc)).json()) as PlayResponse;
    expect(p.ocas[0].ocaId).toBe("lumen-nyc-1");
    const before = servedAt(await overview(), "lumen-nyc", "embedded");
    const started = Date.now();
    const asked = 48;
    for (let i = 0; i < asked; i++) {
      const res = await call(`${p.ocas[0].url}${BIG_SEG}`, { geo: GEO.lumenNyc });
      expect(res.headers.get("Content-Length")).toBe(String(BIG_BYTES));
      await res.body!.cancel();
    }
    const ceiling = SERVED_BURST_BYTES + ((Date.now() - started) / 1000) * (SERVED_RATE_BPS / 8);
    expect(asked * BIG_BYTES).toBeGreaterThan(ceiling + BIG_BYTES);
    let counted = 0;
    for (let i = 0; i < 30 && counted < SERVED_BURST_BYTES; i++) {
      await new Promise((r) => setTimeout(r, 100));
      counted = servedAt(await overview(), "lumen-nyc", "embedded") - before;
    }
    expect(counted).toBeGreaterThanOrEqual(SERVED_BURST_BYTES);
    expect(counted).toBeLessThanOrEqual(ceiling);
  });
});
