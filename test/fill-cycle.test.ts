import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber, localDayStart, localHour } from "../fill/day";
import {
  ADMIN,
  call,
  CLEAR_OF_MIDNIGHT_MS,
  clearOfLocalMidnight,
  memberToken,
  pressPlay,
  publishTitle,
  tierKey,
  type FixtureTitle,
  type PlayResponse,
  cron,
} from "./fixtures";

// Seeds a site's "today" and reads it back: never across a local midnight.
beforeAll(() => clearOfLocalMidnight(), CLEAR_OF_MIDNIGHT_MS + 10_000);

const CHICAGO = "America/Chicago";
const site = (id: string) => env.OCA_SITE.get(env.OCA_SITE.idFromName(id));
const json = async <T>(res: Response) => (await res.json()) as T;

/** The next instant (on the hour, after now) when `timeZone`'s local hour is `hour`: keeps fill windows in the future. */
function nextLocalHour(timeZone: string, hour: number, from = Date.now()): number {
  let t = from - (from % 3_600_000) + 3_600_000;
  while (localHour(t, timeZone) !== hour) t += 3_600_000;
  return t;
}

/** Runs a site's alarms until its fill queue is empty (or a bound is hit). */
async function drainFill(siteId: string, maxRuns = 200): Promise<number> {
  let runs = 0;
  while (runs < maxRuns && (await runDurableObjectAlarm(site(siteId)))) runs++;
  return runs;
}

/** `days` days of history ending yesterday (site-local), `bytesPerDay` per title. */
async function seedHistory(siteId: string, timeZone: string, at: number, perTitle: Record<string, number>, days = 14): Promise<void> {
  const today = dayNumber(at, timeZone);
  for (let d = today - days; d < today; d++) {
    for (const [titleId, bytes] of Object.entries(perTitle)) await site(siteId).recordViews(d, titleId, { plays: 10, bytes });
  }
}

interface SiteState {
  ocas: Array<{
    ocaId: string;
    capacityBytes: number;
    usedBytes: number;
    titles: Array<{ titleId: string; files: number; bytes: number; readyFiles: number; complete: boolean; planned: boolean }>;
  }>;
  misses: unknown[];
  progress: { pending: Array<{ files: number }>; done: Record<"peer" | "parent" | "origin", { files: number; bytes: number }>; lastError: string | null };
}
const state = async (siteId: string) => json<SiteState>(await call(`/admin/sites/${siteId}`, { headers: ADMIN }));
const completeTitles = (s: SiteState, ocaId: string) =>
  s.ocas
    .find((o) => o.ocaId === ocaId)!
    .titles.filter((t) => t.complete)
    .map((t) => t.titleId)
    .sort();

let hot: FixtureTitle, warm: FixtureTitle, cold: FixtureTitle;
const fileCount = (t: FixtureTitle) => Object.keys(t.files).length;
const bytesOf = (t: FixtureTitle) => Object.values(t.files).reduce((s, b) => s + b.byteLength, 0);

beforeAll(async () => {
  hot = await publishTitle("pp-hot");
  warm = await publishTitle("pp-warm");
  cold = await publishTitle("pp-cold");
});

describe("the hourly cron", () => {
  it("plans and fills a site when its local window opens, and not outside it", async () => {
    const at = nextLocalHour(CHICAGO, 2);
    await seedHistory("lakeshore-chi", CHICAGO, at, { "pp-hot": 5e9, "pp-warm": 1e9 });
    await cron(at - 3_600_000); // 01:00 in Chicago: window closed
    expect(await site("lakeshore-chi").plannedDay()).toBeNull();
    await cron(at); // 02:00: window opens
    expect(await site("lakeshore-chi").plannedDay()).toBe(dayNumber(at, CHICAGO) + 1);
    // The parent IXP (New York) planned the region's titles too; the site waits for it, then copies from it.
    await drainFill("ixp-nyc");
    await drainFill("lakeshore-chi");
    const s = await state("lakeshore-chi");
    const held = new Set(s.ocas.flatMap((o) => o.titles.filter((t) => t.complete).map((t) => t.titleId)));
    expect(held.has("pp-hot")).toBe(true);
    expect(held.has("pp-warm")).toBe(true);
    expect(held.has("pp-cold")).toBe(false); // no demand, not worth the space
    expect(s.progress.pending).toEqual([]);
  });

  it("opens every site's window at its own local hour: not at 01:00 local, at 02:00 local", async () => {
    const { topology } = await import("../workers/shared/topology");
    const checks = topology.sites.flatMap((s) => {
      // Two days out, so no earlier test's cron has touched these local days. Each hour is looked up on
      // the local clock, not added: across a clock change 48 h or 1 h later is another local hour.
      const closed = nextLocalHour(s.timeZone, 1, Date.now() + 2 * 86_400_000);
      return [
        { at: closed, site: s, open: false },
        { at: nextLocalHour(s.timeZone, 2, closed), site: s, open: true },
      ];
    });
    // In time order, so no earlier cron can have opened the same local day's window.
    const times = [...new Set(checks.map((c) => c.at))].sort((a, b) => a - b);
    for (const at of times) {
      await cron(at);
      for (const c of checks.filter((x) => x.at === at)) {
        const tomorrow = dayNumber(at, c.site.timeZone) + 1;
        const planned = await site(c.site.id).plannedDay();
        if (c.open) expect(planned, `${c.site.id} at 02:00 ${c.site.timeZone}`).toBe(tomorrow);
        else expect(planned, `${c.site.id} at 01:00 ${c.site.timeZone}`).not.toBe(tomorrow);
      }
    }
  });

  it("does no harm when it runs twice in the same window", async () => {
    const at = nextLocalHour(CHICAGO, 3);
    await seedHistory("lakeshore-chi", CHICAGO, at, { "pp-hot": 5e9 });
    await cron(at);
    await drainFill("ixp-nyc");
    await drainFill("lakeshore-chi");
    const before = await state("lakeshore-chi");
    const plan = await json<{ cycle: { at: string } }>(await call("/admin/sites/lakeshore-chi/plan", { headers: ADMIN }));
    await cron(at + 60_000);
    expect(await runDurableObjectAlarm(site("lakeshore-chi"))).toBe(false);
    const after = await state("lakeshore-chi");
    expect(after.ocas).toEqual(before.ocas);
    expect((await json<{ cycle: { at: string } }>(await call("/admin/sites/lakeshore-chi/plan", { headers: ADMIN }))).cycle.at).toBe(plan.cycle.at);
  });

  it("plans nothing when the site's own history cannot be read, and plans the next hour once it can", async () => {
    const { runScheduledFill, runFillCycle } = await import("../workers/control/fill-cycle");
    // Seven days out, so no other test's cron planned that day.
    const at = nextLocalHour(CHICAGO, 2, Date.now() + 7 * 86_400_000);
    const targetDay = dayNumber(at, CHICAGO) + 1;
    await seedHistory("lakeshore-chi", CHICAGO, at, { "pp-hot": 5e9 });
    // RPC dispatches prototype methods, so the fault goes on the prototype, for one site's object.
    const { OcaSite } = await import("../durable-objects/oca-site");
    const proto = OcaSite.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const realHistory = proto.history;
    proto.history = async function (this: unknown, ...a: unknown[]) {
      if ((this as { ctx: DurableObjectState }).ctx.id.name === "lakeshore-chi") throw new Error("injected: history unavailable");
      return realHistory.apply(this, a);
    };
    let reports: Awaited<ReturnType<typeof runScheduledFill>>;
    let forced: Awaited<ReturnType<typeof runFillCycle>>;
    try {
      reports = await runScheduledFill(env, at);
      // An operator's run plans anyway, from the region, rather than leave the site on a stale plan
      // (for another day than the cron's, so the cron's next hour below still finds its day unplanned).
      forced = await runFillCycle(env, "lakeshore-chi", at + 86_400_000, { force: true });
    } finally {
      proto.history = realHistory;
    }
    expect(forced).toMatchObject({ ran: true });
    // Not planned from its region alone, nor marked planned for the day.
    expect(reports.find((r) => r.siteId === "lakeshore-chi")).toMatchObject({ ran: false, reason: expect.stringMatching(/own viewing history/) });
    expect(await site("lakeshore-chi").plannedDay()).not.toBe(targetDay);
    // The next hour's cron reads it and plans.
    await cron(at + 3_600_000);
    expect(await site("lakeshore-chi").plannedDay()).toBe(targetDay);
  });
});

describe("filling a site", () => {
  it("copies from the parent IXP when it holds the file, and from a peer OCA once one has it", async () => {
    const at = Date.now();
    // A title no earlier cycle has placed anywhere, with demand big enough that it needs every OCA
    // of the site for its evening peak.
    const peak = await publishTitle("pp-peak");
    await seedHistory("lumen-nyc", "America/New_York", at, { "pp-peak": 60e12 });
    const ixp = await json<{ ran: boolean }>(
      await call("/admin/sites/ixp-nyc/fill-cycle", { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body: "{}" }),
    );
    expect(ixp.ran).toBe(true);
    await drainFill("ixp-nyc");
    const report = await json<{ ran: boolean; replicas: Record<string, number> }>(
      await call("/admin/sites/lumen-nyc/fill-cycle", {
        method: "POST",
        headers: { ...ADMIN, "Content-Type": "application/json" },
        body: JSON.stringify({ peerWaitMs: 3_600_000, parentWaitMs: 0 }),
      }),
    );
    expect(report, JSON.stringify(report)).toMatchObject({ replicas: { "pp-peak": 2 } });
    await drainFill("lumen-nyc");
    const s = await state("lumen-nyc");
    expect(completeTitles(s, "lumen-nyc-1")).toContain("pp-peak");
    expect(completeTitles(s, "lumen-nyc-2")).toContain("pp-peak");
    // One OCA filled from the parent (which holds the region's catalogue); the other waited for its
    // peer instead of going up again.
    expect(s.progress.done.parent.files).toBeGreaterThanOrEqual(fileCount(peak));
    expect(s.progress.done.peer.files).toBeGreaterThanOrEqual(fileCount(peak));
    expect(s.progress.done.origin.files).toBe(0);
  });

  it("falls back to origin when neither a peer nor a parent has the file", async () => {
    // Published after the parent's last plan, so the parent does not hold it yet.
    const fresh = await publishTitle("pp-fresh");
    await seedHistory("polder-ams", "Europe/Amsterdam", Date.now(), { "pp-fresh": 2e9 });
    await call("/admin/sites/polder-ams/fill-cycle", { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body: "{}" });
    await drainFill("polder-ams");
    const s = await state("polder-ams");
    expect(s.progress.done).toMatchObject({ peer: { files: 0 }, parent: { files: 0 } });
    expect(s.progress.done.origin.files).toBeGreaterThanOrEqual(fileCount(fresh));
  });

  it("never exceeds an OCA's capacity: the plan keeps what fits and leaves the rest", async () => {
    for (const o of ["rheinnet-ber-1", "rheinnet-ber-2"]) {
      await call(`/admin/sites/rheinnet-ber/ocas/${o}/capacity`, {
        method: "POST",
        headers: { ...ADMIN, "Content-Type": "application/json" },
        body: JSON.stringify({ capacityBytes: Math.round(bytesOf(hot) * 1.5) }),
      });
    }
    await seedHistory("rheinnet-ber", "Europe/Berlin", Date.now(), { "pp-hot": 9e9, "pp-warm": 5e9, "pp-cold": 1e9 });
    // No waiting for a parent that plans the region's catalogue but has not filled it: this test is about capacity.
    const body = JSON.stringify({ peerWaitMs: 0, parentWaitMs: 0 });
    await call("/admin/sites/rheinnet-ber/fill-cycle", { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body });
    await drainFill("rheinnet-ber");
    const s = await state("rheinnet-ber");
    for (const o of s.ocas) expect(o.usedBytes).toBeLessThanOrEqual(o.capacityBytes);
    const held = new Set(s.ocas.flatMap((o) => o.titles.filter((t) => t.complete).map((t) => t.titleId)));
    expect([...held].sort()).toEqual(["pp-hot", "pp-warm"]); // one title per OCA fits; the two most valuable win
  });

  it("keeps to the per-OCA fill rate: a slow budget copies a little per alarm", async () => {
    await seedHistory("rheinnet-muc", "Europe/Berlin", Date.now(), { "pp-warm": 2e9 });
    const report = await json<{ queuedFiles: number }>(
      await call("/admin/sites/rheinnet-muc/fill-cycle", {
        method: "POST",
        headers: { ...ADMIN, "Content-Type": "application/json" },
        // 4 KiB/s, and no waiting for a parent that plans the region's catalogue but has not filled it.
        body: JSON.stringify({ fillRateBps: 8 * 4096, peerWaitMs: 0, parentWaitMs: 0 }),
      }),
    );
    await runDurableObjectAlarm(site("rheinnet-muc"));
    const s = await state("rheinnet-muc");
    // From the parent (which holds the region's catalogue) or origin: the budget is the same.
    const { parent, origin } = s.progress.done;
    const done = { files: parent.files + origin.files, bytes: parent.bytes + origin.bytes };
    const largest = Math.max(...Object.values(warm.files).map((b) => b.byteLength));
    // A file starts only while budget is left, so at most one file overshoots the 4 KiB of this tick.
    expect(done.files).toBeGreaterThanOrEqual(1);
    expect(done.bytes).toBeLessThan(4096 + largest);
    expect(s.progress.pending.reduce((n, p) => n + p.files, 0)).toBe(report.queuedFiles - done.files);
    // With the budget spent and no time passed, the next alarm copies nothing more.
    await runDurableObjectAlarm(site("rheinnet-muc"));
    const after = (await state("rheinnet-muc")).progress.done;
    expect(after.parent.files + after.origin.files).toBeLessThanOrEqual(done.files + 1);
  });

  it("resumes an interrupted fill without a corrupt or half-counted copy", async () => {
    await seedHistory("lumen-lax", "America/Los_Angeles", Date.now(), { "pp-cold": 3e9 });
    // No waiting for a parent that may plan the title too: this test is about the resume.
    const body = JSON.stringify({ peerWaitMs: 0, parentWaitMs: 0 });
    await call("/admin/sites/lumen-lax/fill-cycle", { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body });
    // Crash in the middle of a copy: a 'filling' row and a truncated object, as a restart would leave them.
    const path = "video/avc-720p/seg-00001.m4s";
    const oca = (await site("lumen-lax").lastCycle()).plan;
    const ocaId = Object.keys(oca).find((o) => oca[o].includes("pp-cold"))!;
    await env.TIER_NA.put(tierKey("lumen-lax", ocaId, cold, path), cold.files[path].slice(0, 100));
    await runInDurableObject(site("lumen-lax"), async (_instance, st) => {
      st.storage.sql.exec(
        `INSERT OR REPLACE INTO holdings (oca_id, title_id, path, bytes, sha256, state, source, updated_at) VALUES (?, 'pp-cold', ?, ?, ?, 'filling', NULL, 0)`,
        ocaId,
        path,
        cold.files[path].byteLength,
        cold.sha[path],
      );
    });
    const mid = await state("lumen-lax");
    expect(mid.ocas.find((o) => o.ocaId === ocaId)!.titles.find((t) => t.titleId === "pp-cold")?.complete ?? false).toBe(false);
    await drainFill("lumen-lax");
    for (const [p, bytes] of Object.entries(cold.files)) {
      const obj = await env.TIER_NA.get(tierKey("lumen-lax", ocaId, cold, p));
      expect(new Uint8Array(await obj!.arrayBuffer()), p).toEqual(bytes);
    }
    const s = await state("lumen-lax");
    expect(completeTitles(s, ocaId)).toContain("pp-cold");
    // Counted once, in full: the truncated copy was neither kept nor added on top.
    const held = s.ocas.find((o) => o.ocaId === ocaId)!;
    expect(held.titles.find((t) => t.titleId === "pp-cold")).toMatchObject({ bytes: bytesOf(cold), files: fileCount(cold), readyFiles: fileCount(cold) });
    expect(held.usedBytes).toBe(held.titles.reduce((sum, t) => sum + t.bytes, 0));
  });
});

describe("regional history", () => {
  it("lends a site with no history of its own, in a thin region, its country's demand", async () => {
    // Lumen Los Angeles and its IXP (San Jose) have seen nothing; New York, same country, has.
    await seedHistory("lumen-nyc", "America/New_York", Date.now(), { "pp-warm": 3e9 });
    const res = await json<{ predictions: Array<{ titleId: string; bytes: number; basis: string }> }>(
      await call("/admin/sites/lumen-lax/predictions", { headers: ADMIN }),
    );
    const warm = res.predictions.find((p) => p.titleId === "pp-warm");
    expect(warm?.bytes ?? 0).toBeGreaterThan(0);
    expect(warm?.basis).toBe("regional");
  });

  it("weighs only titles the plan may hold in deciding a region is thin: views of a title taken down do not hide the country's demand", async () => {
    // San Jose's region saw plenty, but of a title since taken down; Lumen Los Angeles itself nothing.
    await publishTitle("pp-gone");
    await publishTitle("pp-national");
    await seedHistory("ixp-sjc", "America/Los_Angeles", Date.now(), { "pp-gone": 30e9 }); // 420 GB in 14 days: past the 200 GB thin mark
    expect((await call("/admin/titles/pp-gone", { method: "DELETE", headers: ADMIN })).status).toBe(200);
    await seedHistory("lumen-nyc", "America/New_York", Date.now(), { "pp-national": 3e9 });
    const res = await json<{ predictions: Array<{ titleId: string; bytes: number; basis: string }> }>(
      await call("/admin/sites/lumen-lax/predictions", { headers: ADMIN }),
    );
    expect(res.predictions.some((p) => p.titleId === "pp-gone")).toBe(false);
    const national = res.predictions.find((p) => p.titleId === "pp-national");
    expect(national?.bytes ?? 0).toBeGreaterThan(0);
    expect(national?.basis).toBe("regional");
  });
});

describe("the history a plan rests on", () => {
  it("is complete days only: today's first hours neither collapse every title nor read as a shift of the whole mix", async () => {
    // Two weeks of a steady mix up to yesterday (a little day-to-day wobble, as real days have; enough
    // bytes that the site's own history is not blended with its region's),
    // then, hours into today, a few early plays of a title nobody watched before.
    // Titles out for months, so none of them is read as a launch.
    const since = { availableFrom: new Date(Date.now() - 90 * 86_400_000).toISOString() };
    await publishTitle("pp-staple", since);
    await publishTitle("pp-side", since);
    await publishTitle("pp-sleeper", since);
    const today = dayNumber(Date.now(), "Europe/Berlin");
    for (let d = today - 14; d < today; d++) {
      await site("rheinnet-muc").recordViews(d, "pp-staple", { plays: 10, bytes: 15e9 * (1 + 0.05 * Math.sin(d - today)) });
      await site("rheinnet-muc").recordViews(d, "pp-side", { plays: 10, bytes: 3e9 * (1 + 0.05 * Math.cos(d - today)) });
    }
    await site("rheinnet-muc").recordViews(today, "pp-sleeper", { plays: 2, bytes: 2e8 });
    const res = await json<{ targetDay: number; predictions: Array<{ titleId: string; bytes: number }> }>(
      await call("/admin/sites/rheinnet-muc/predictions", { headers: ADMIN }),
    );
    expect(res.targetDay).toBe(today + 1);
    const staple = res.predictions.find((p) => p.titleId === "pp-staple")!;
    expect(staple.bytes).toBeGreaterThan(13.5e9);
    expect(staple.bytes).toBeLessThan(16.5e9);
    expect(res.predictions.find((p) => p.titleId === "pp-side")!.bytes).toBeGreaterThan(1e9); // thin here: blended with its region
    // Today's plays count tomorrow night, once the day is whole.
    expect(res.predictions.find((p) => p.titleId === "pp-sleeper")?.bytes ?? 0).toBe(0);
  });
});

describe("after a fill", () => {
  it("steers only to ready copies, so the data plane never misses", async () => {
    const at = nextLocalHour(CHICAGO, 4);
    await seedHistory("lakeshore-chi", CHICAGO, at, { "pp-hot": 5e9, "pp-warm": 4e9 });
    await cron(at);
    await drainFill("ixp-nyc");
    await drainFill("lakeshore-chi");
    for (const title of [hot, warm]) {
      const p = await json<PlayResponse>(
        await pressPlay(await memberToken("premium"), { titleId: title.titleId }, "asn=64510;country=US;lat=41.88;lon=-87.63"),
      );
      const first = p.ocas[0];
      expect(first.siteId).toBe("lakeshore-chi");
      for (const path of Object.keys(title.files).filter((f) => !f.startsWith("video/avc-720p/index"))) {
        const res = await call(`${first.url}${path}`);
        expect(res.status, path).toBe(200);
        expect(res.headers.get("X-OCA-Source"), path).toBe("local");
      }
    }
    expect((await state("lakeshore-chi")).misses).toEqual([]);
  });
});

describe("launch and liveness", () => {
  it("prepositions a title launching soon but refuses to play it until the launch, then plays it", async () => {
    const launch = Date.now() + 4_000;
    await publishTitle("pp-launch", { availableFrom: new Date(launch).toISOString() });
    const report = await json<{ predictions: Array<{ titleId: string; basis: string }> }>(
      await call("/admin/sites/lumen-nyc/fill-cycle", { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body: "{}" }),
    );
    expect(report.predictions.find((p) => p.titleId === "pp-launch")?.basis).toBe("release");
    await drainFill("lumen-nyc");
    const s = await state("lumen-nyc");
    expect(s.ocas.some((o) => o.titles.some((t) => t.titleId === "pp-launch" && t.complete))).toBe(true);
    const before = await pressPlay(await memberToken("premium"), { titleId: "pp-launch" }, "asn=64500;country=US;lat=40.71;lon=-74.0");
    expect(before.status).toBe(403);
    expect((await json<{ error: { code: string } }>(before)).error.code).toBe("not_released");
    await new Promise((r) => setTimeout(r, Math.max(0, launch - Date.now() + 50)));
    const after = await pressPlay(await memberToken("premium"), { titleId: "pp-launch" }, "asn=64500;country=US;lat=40.71;lon=-74.0");
    expect(after.status).toBe(200);
    expect((await json<PlayResponse>(after)).ocas[0].siteId).toBe("lumen-nyc");
  });

  it("steers a region's clients to its copies only once enough copies exist there", async () => {
    await publishTitle("pp-live", {});
    await call("/admin/titles/pp-live", { headers: ADMIN }); // exists
    // Re-register with a liveness threshold of 2 copies per region.
    const reg = await env.DB.prepare(`UPDATE titles SET live_min_copies = 2 WHERE id = 'pp-live'`).run();
    expect(reg.success).toBe(true);
    const fill = (ocaId: string, siteId: string) =>
      call("/admin/fill", {
        method: "POST",
        headers: { ...ADMIN, "Content-Type": "application/json" },
        body: JSON.stringify({ placements: [{ siteId, ocaId, titleIds: ["pp-live"] }] }),
      });
    await fill("lumen-nyc-1", "lumen-nyc");
    const sites = async () =>
      (await json<PlayResponse>(await pressPlay(await memberToken("premium"), { titleId: "pp-live" }, "asn=64500;country=US;lat=40.71;lon=-74.0"))).ocas.map(
        (o) => o.siteId,
      );
    expect(await sites()).toEqual(["origin"]);
    await fill("ixp-nyc-1", "ixp-nyc");
    expect(await sites()).toEqual(["lumen-nyc", "ixp-nyc", "origin"]);
  });

  it("treats a licence that starts after the title's release as its launch in that country", async () => {
    // Five days out, so no other test's cron planned that day; released worldwide three months before,
    // licensed in the US only from the day the cycle plans for, with no history there yet.
    const at = nextLocalHour(CHICAGO, 2, Date.now() + 5 * 86_400_000);
    const targetDay = dayNumber(at, CHICAGO) + 1;
    await publishTitle("pp-licensed-late", {
      availableFrom: new Date(at - 90 * 86_400_000).toISOString(),
      licences: [{ country: "US", availableFrom: new Date(localDayStart(targetDay, CHICAGO)).toISOString() }],
    });
    await seedHistory("lakeshore-chi", CHICAGO, at, { "pp-hot": 5e9 });
    await cron(at);
    const { cycle, plan } = await site("lakeshore-chi").lastCycle();
    expect(cycle?.targetDay).toBe(targetDay);
    expect(cycle?.predictions.find((p) => p.titleId === "pp-licensed-late")).toMatchObject({ basis: "release", bytes: expect.any(Number) });
    expect(Object.values(plan).flat()).toContain("pp-licensed-late");
  });
});

describe("an operator's run now", () => {
  it("takes an empty body declared JSON as no body (every default), as curl -X POST -H 'Content-Type: application/json' sends it", async () => {
    const run = (body?: string) =>
      call("/admin/sites/ixp-ams/fill-cycle", {
        method: "POST",
        headers: { ...ADMIN, "Content-Type": "application/json" },
        ...(body === undefined ? {} : { body }),
      });
    for (const body of [undefined, "", " \n"]) {
      const res = await run(body);
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(await json<{ ran: boolean }>(res), JSON.stringify(body)).toMatchObject({ ran: true });
    }
    // A body that is there and not JSON is still refused, not run with the defaults.
    const bad = await run("{");
    expect(bad.status).toBe(400);
    expect((await json<{ error: { code: string } }>(bad)).error.code).toBe("invalid_request");
  });
});

describe("viewing history", () => {
  it("counts plays at the client's home site and bytes from the client's reports", async () => {
    const token = await memberToken("premium", "viewer-1");
    const p = await json<PlayResponse>(await pressPlay(token, { titleId: "pp-warm" }, "asn=64530;country=NL;lat=52.37;lon=4.90"));
    const res = await call("/v1/events", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        sessionId: p.sessionId,
        sessionToken: p.sessionToken,
        batchId: "batch-0001",
        events: [
          { type: "start", startupMs: 420 },
          { type: "progress", bytes: 1_000_000 },
          { type: "stop", bytes: 234_567 },
        ],
      }),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 3, bytes: 1_234_567 });
    const today = dayNumber(Date.now(), "Europe/Amsterdam");
    let views: Array<{ day: number; titleId: string; plays: number; bytes: number; estBytes: number }> = [];
    // The play rides the site's next batched sync (within a second); the report goes straight there.
    for (let i = 0; i < 100 && !views.some((v) => v.bytes > 0 && v.plays > 0); i++) {
      views = await site("polder-ams").views(today, today);
      await new Promise((r) => setTimeout(r, 20));
    }
    // The session reported, so it counts as what it reported: its play estimate left the day's figure.
    expect(views).toEqual([{ day: today, titleId: "pp-warm", plays: 1, bytes: 1_234_567, estBytes: 0 }]);
  });

  it("refuses events for another member's session, under another session's token, or with a forged token", async () => {
    const owner = await memberToken("premium", "owner");
    const other = await memberToken("premium", "other");
    const p = await json<PlayResponse>(await pressPlay(owner, { titleId: "pp-warm" }, "asn=64530;country=NL;lat=52.37;lon=4.90"));
    const post = async (token: string, sessionId: string, sessionToken = p.sessionToken) => {
      const res = await call("/v1/events", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ sessionId, sessionToken, batchId: crypto.randomUUID(), events: [{ type: "start" }] }),
      });
      return { status: res.status, message: ((await res.json()) as { error?: { message: string } }).error?.message };
    };
    expect(await post(other, p.sessionId)).toEqual({ status: 403, message: "this session belongs to another member" });
    expect(await post(owner, crypto.randomUUID())).toEqual({ status: 403, message: "the session token is for another session" });
    // One character of the signed claims changed: the signature no longer matches.
    const [v, kid, payload, mac] = p.sessionToken.split(".");
    const tampered = `${v}.${kid}.${payload.slice(0, 10)}${payload[10] === "A" ? "B" : "A"}${payload.slice(11)}.${mac}`;
    expect(await post(owner, p.sessionId, tampered)).toMatchObject({ status: 403, message: expect.stringMatching(/bad_signature|malformed/) });
    expect((await post(owner, "not-a-uuid")).status).toBe(400);
  });
});
