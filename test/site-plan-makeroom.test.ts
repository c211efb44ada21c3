import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { OcaSite } from "../durable-objects/oca-site";
import { openPlan, publishTitle } from "./fixtures";
import { planWithoutAlarm, siteObject } from "./site-fill";

/** RPC and the alarm dispatch prototype methods: the slow licence read goes on the prototype. */
const proto = OcaSite.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
const real = { lastLicensedDay: proto.lastLicensedDay };
afterEach(() => {
  proto.lastLicensedDay = real.lastLicensedDay;
});

describe("making room while a new plan arrives", () => {
  it("does not evict a title the new plan keeps", async () => {
    const SITE = "rheinnet-ber";
    const OCA = "rheinnet-ber-1";
    const old = await publishTitle("mr-old");
    const fresh = await publishTitle("mr-fresh");
    const size = (t: typeof old) => Object.values(t.files).reduce((s, f) => s + f.byteLength, 0);
    expect(await siteObject(SITE).fillTitle(OCA, "mr-old")).toMatchObject({ ok: true, done: true });
    const used = (await siteObject(SITE).describe()).ocas.find((o) => o.ocaId === OCA)!.usedBytes;
    // Room for one file of the newcomer only once `mr-old` goes.
    await siteObject(SITE).setCapacity(OCA, used + Math.floor(size(fresh) / 4));
    await planWithoutAlarm(SITE, { [OCA]: ["mr-fresh"] });
    // While the fill asks D1 which unplanned titles are on their last licensed day, the next cycle's
    // plan arrives: it keeps `mr-old` and no longer wants `mr-fresh`.
    let freshBefore: number | undefined;
    proto.lastLicensedDay = async function (this: OcaSite) {
      freshBefore = (await this.describe()).ocas.find((o) => o.ocaId === OCA)!.titles.find((t) => t.titleId === "mr-fresh")?.readyFiles ?? 0;
      await this.applyPlan(openPlan({ [OCA]: ["mr-old"] }));
      return real.lastLicensedDay.apply(this, []);
    };
    await runInDurableObject(siteObject(SITE), (_o, state) => state.storage.setAlarm(Date.now()));
    await runDurableObjectAlarm(siteObject(SITE));
    expect((await siteObject(SITE).lastCycle()).plan).toEqual({ [OCA]: ["mr-old"] });
    const o = (await siteObject(SITE).describe()).ocas.find((x) => x.ocaId === OCA)!;
    expect(o.titles.find((t) => t.titleId === "mr-old")).toMatchObject({ complete: true });
    // The files of `mr-fresh` copied while it was planned stay (unplanned, first to go when room is
    // needed); none is copied after the plan that dropped it.
    expect(freshBefore).toBeDefined();
    expect(o.titles.find((t) => t.titleId === "mr-fresh")?.readyFiles ?? 0).toBe(freshBefore);
  });
});
