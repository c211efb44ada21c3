import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { localHour } from "../fill/day";
import { OcaSite } from "../durable-objects/oca-site";
import { CRON_REGION_CONCURRENCY, runScheduledFill } from "../workers/control/fill-cycle";
import { topology } from "../workers/shared/topology";

/**
 * The hourly cron runs regions at once (a bounded pool): one invocation has 15 minutes of wall time, and
 * a site at a time let a region's hanging sites (each up to its timeout) hold up every region after it.
 * Within a region the IXP site still plans before its children.
 */

const HOUR = 3_600_000;
const NEW_YORK = "America/New_York";
/** RPC dispatches prototype methods, so faults and notes go on the prototype. */
const proto = OcaSite.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
const real = { applyPlan: proto.applyPlan, ocaSettings: proto.ocaSettings };
const nameOf = (self: unknown) => (self as { ctx: DurableObjectState }).ctx.id.name ?? "?";

/** 02:00 in New York `days` days from now (08:00 in Berlin and Amsterdam: every region but the west coast's plans). */
function newYork2am(days: number): number {
  let t = Date.now() + days * 86_400_000;
  t -= t % HOUR;
  while (localHour(t, NEW_YORK) !== 2) t += HOUR;
  return t;
}

/** Notes each site's plan as it is applied, ms after `start`; sites in `hang` never answer their OCA settings. */
function watch(hang: Set<string>): { applied: Array<{ site: string; afterMs: number }>; start: number } {
  const seen = { applied: [] as Array<{ site: string; afterMs: number }>, start: Date.now() };
  proto.applyPlan = async function (this: unknown, ...a: unknown[]) {
    const out = await real.applyPlan.apply(this, a);
    seen.applied.push({ site: nameOf(this), afterMs: Date.now() - seen.start });
    return out;
  };
  proto.ocaSettings = function (this: unknown, ...a: unknown[]) {
    if (hang.has(nameOf(this))) return new Promise(() => {});
    return real.ocaSettings.apply(this, a);
  };
  return seen;
}

afterEach(() => {
  proto.applyPlan = real.applyPlan;
  proto.ocaSettings = real.ocaSettings;
});

describe("the hourly cron's regions", () => {
  it("plans another region while one hangs, and its IXP site before its children", async () => {
    expect(CRON_REGION_CONCURRENCY).toBeGreaterThan(1);
    // Wide against a loaded machine: Europe plans in well under a second here, New York hangs for 2 × this.
    const timeoutMs = 5_000;
    // New York's region is the first in the cron's order; its IXP site and its New York child hang.
    const seen = watch(new Set(["ixp-nyc", "lumen-nyc"]));
    const reports = await runScheduledFill(env, newYork2am(5), { siteTimeoutMs: timeoutMs });
    const total = Date.now() - seen.start;

    for (const id of ["ixp-nyc", "lumen-nyc"])
      expect(reports.find((r) => r.siteId === id)).toMatchObject({ ran: false, reason: expect.stringMatching(/timed out/) });
    const europe = ["ixp-fra", "rheinnet-ber", "rheinnet-muc", "ixp-ams", "polder-ams"];
    for (const id of europe)
      expect(
        reports.find((r) => r.siteId === id),
        id,
      ).toMatchObject({ ran: true });
    // Europe's plans did not wait for New York's two timeouts (10 s, one after the other), nor one of them.
    const at = (id: string) => seen.applied.find((a) => a.site === id)?.afterMs ?? Number.POSITIVE_INFINITY;
    for (const id of europe) expect(at(id), id).toBeLessThan(timeoutMs);
    expect(total).toBeGreaterThanOrEqual(2 * timeoutMs);
    // The IXP site's plan is applied before any of its children's.
    for (const ixp of ["ixp-fra", "ixp-ams"])
      for (const child of topology.sites.filter((s) => s.parent === ixp)) expect(at(ixp), `${ixp} before ${child.id}`).toBeLessThan(at(child.id));
  }, 60_000);

  it("holds no more regions in flight than its bound: one at a time, the next region waits for the hanging one", async () => {
    const timeoutMs = 1_000;
    const seen = watch(new Set(["ixp-nyc"]));
    await runScheduledFill(env, newYork2am(7), { siteTimeoutMs: timeoutMs, regionConcurrency: 1 });
    const fra = seen.applied.find((a) => a.site === "ixp-fra");
    expect(fra).toBeDefined();
    expect(fra?.afterMs).toBeGreaterThanOrEqual(timeoutMs);
  }, 60_000);

  it("reports every site once, in the regions' order, each IXP site before its children", async () => {
    const reports = await runScheduledFill(env, newYork2am(9));
    const ids = reports.map((r) => r.siteId);
    expect([...ids].sort()).toEqual(topology.sites.map((s) => s.id).sort());
    for (const s of topology.sites.filter((x) => x.parent)) expect(ids.indexOf(s.parent as string), s.id).toBeLessThan(ids.indexOf(s.id));
    // A region's sites are reported together: each child right after its IXP site or a sibling.
    for (const s of topology.sites.filter((x) => x.parent)) {
      const before = topology.sites.find((x) => x.id === ids[ids.indexOf(s.id) - 1]);
      expect(before?.id === s.parent || before?.parent === s.parent, s.id).toBe(true);
    }
  }, 60_000);
});
