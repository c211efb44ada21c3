import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { localHour } from "../fill/day";
import { OcaSite } from "../durable-objects/oca-site";
import { runFillCycle, runScheduledFill } from "../workers/control/fill-cycle";
import { openPlan, publishTitle } from "./fixtures";
import { siteObject } from "./site-fill";

/**
 * Fill cycles can overlap: a cron run the next hour while a cycle it gave up on is still reading, an
 * operator's run-now during the cron. The site keeps the plan of the cycle that started last, whichever
 * finishes last, and a cycle the cron reported as failed applies nothing when it finishes late.
 */

const HOUR = 3_600_000;
/** RPC dispatches prototype methods, so the slow read and the notes go on the prototype. */
const proto = OcaSite.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
const real = { applyPlan: proto.applyPlan, ocaSettings: proto.ocaSettings };
const nameOf = (self: unknown) => (self as { ctx: DurableObjectState }).ctx.id.name ?? "?";

afterEach(() => {
  proto.applyPlan = real.applyPlan;
  proto.ocaSettings = real.ocaSettings;
});

const planOf = async (siteId: string) => (await siteObject(siteId).lastCycle()).plan;

describe("overlapping fill cycles", () => {
  it("refuse a plan from a cycle that started before the plan the site holds, changing nothing", async () => {
    const SITE = "rheinnet-ber";
    const OCA = "rheinnet-ber-1";
    await Promise.all(["ov-newer", "ov-older"].map((id) => publishTitle(id)));
    const t = Date.now();
    const newer = await siteObject(SITE).applyPlan({ ...openPlan({ [OCA]: ["ov-newer"] }), startedAt: t });
    expect(newer).toMatchObject({ applied: true });
    const cycleBefore = (await siteObject(SITE).lastCycle()).cycle;

    const older = await siteObject(SITE).applyPlan({ ...openPlan({ [OCA]: ["ov-older"] }), day: 1, startedAt: t - 1 });
    expect(older).toEqual({ applied: false, reason: "newer_plan_applied" });
    expect(await planOf(SITE)).toEqual({ [OCA]: ["ov-newer"] });
    const after = await siteObject(SITE).lastCycle();
    expect(after.cycle).toEqual(cycleBefore);
    expect(after.day).toBe(openPlan({}).day);

    // A cycle that started at the same instant or later replaces it.
    expect(await siteObject(SITE).applyPlan({ ...openPlan({ [OCA]: ["ov-older"] }), startedAt: t })).toMatchObject({ applied: true });
    expect(await planOf(SITE)).toEqual({ [OCA]: ["ov-older"] });
  });

  it("report an operator's run dropped when a cycle that started after it applied its plan first", async () => {
    const SITE = "rheinnet-muc";
    const OCA = "rheinnet-muc-1";
    await publishTitle("ov-later");
    // A cycle that started a minute from now (on another isolate whose clock is ahead, say) applied its plan.
    await siteObject(SITE).applyPlan({ ...openPlan({ [OCA]: ["ov-later"] }), startedAt: Date.now() + 60_000 });
    const report = await runFillCycle(env, SITE, Date.now(), { force: true });
    expect(report).toMatchObject({ siteId: SITE, ran: false, reason: expect.stringMatching(/started later/) });
    expect(await planOf(SITE)).toEqual({ [OCA]: ["ov-later"] });
  });

  it("apply nothing from a cycle the cron gave up on when it finishes late", async () => {
    const SITE = "polder-ams";
    const before = await siteObject(SITE).lastCycle();
    const outcomes: Array<{ site: string; out: unknown }> = [];
    proto.applyPlan = async function (this: unknown, ...a: unknown[]) {
      const out = await real.applyPlan.apply(this, a);
      outcomes.push({ site: nameOf(this), out });
      return out;
    };
    // Amsterdam's site reads its OCAs' settings slowly: its cycle outlives the cron's timeout for it.
    proto.ocaSettings = async function (this: unknown, ...a: unknown[]) {
      if (nameOf(this) === SITE) await new Promise((r) => setTimeout(r, 2_500));
      return real.ocaSettings.apply(this, a);
    };
    // 08:00 in Amsterdam, inside its fill window, days ahead so that no plan exists for its day.
    let t = Date.now() + 20 * 86_400_000;
    t -= t % HOUR;
    while (localHour(t, "Europe/Amsterdam") !== 3) t += HOUR;
    const reports = await runScheduledFill(env, t, { siteTimeoutMs: 1_000 });
    expect(reports.find((r) => r.siteId === SITE)).toMatchObject({ ran: false, reason: expect.stringMatching(/timed out/) });

    // The abandoned cycle goes on in the background and reaches the site after its timeout.
    for (let i = 0; i < 200 && !outcomes.some((o) => o.site === SITE); i++) await new Promise((r) => setTimeout(r, 50));
    expect(outcomes.find((o) => o.site === SITE)?.out).toEqual({ applied: false, reason: "past_its_deadline" });
    const after = await siteObject(SITE).lastCycle();
    expect(after.day).toBe(before.day);
    expect(after.cycle).toEqual(before.cycle);
  }, 60_000);
});
