import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { steeringTable } from "../workers/shared/steering-table";
import { ADMIN, call } from "./fixtures";

/**
 * The site's rows in the D1 steering view (`oca_status`): steering weighs a row's time against an
 * isolate's live view, the newer winning. So a row must never say a stale health at a fresh time, and
 * a write of an older moment (writes run behind answers) must not replace a newer one.
 */

const SITE = "polder-ams";
const OCA = "polder-ams-1";
const row = () =>
  env.DB.prepare(`SELECT health, load, updated_at FROM oca_status WHERE oca_id = ?`).bind(OCA).first<{ health: string; load: number; updated_at: number }>();
const live = (health: "healthy" | "failed" | "drained") => [{ ocaId: OCA, health, load: 0.25, sessions: 3 }] as never;

describe("the steering view's status rows", () => {
  it("carry the site's health with each load write, so a health write lost to a D1 error is mended by the next one", async () => {
    // An operator fails the OCA: the site's object takes it, and its write to D1 is lost (put back as it was).
    expect(
      (
        await call(`/admin/sites/${SITE}/ocas/${OCA}/health`, {
          method: "POST",
          headers: { ...ADMIN, "Content-Type": "application/json" },
          body: JSON.stringify({ health: "failed" }),
        })
      ).status,
    ).toBe(200);
    await env.DB.prepare(`UPDATE oca_status SET health = 'healthy', updated_at = updated_at - 60000 WHERE oca_id = ?`).bind(OCA).run();
    // The site's next load publication, of its live state (the OCA failed).
    const at = Date.now();
    await steeringTable.setLoad(env.DB, SITE, live("failed"), at);
    expect(await row()).toEqual({ health: "failed", load: 0.25, updated_at: at });
  });

  it("keep the newer of two writes that land out of order", async () => {
    const t = Date.now() + 10_000;
    await steeringTable.setHealth(env.DB, SITE, OCA, "drained", t);
    // A load publication read before the drain, landing after it.
    await steeringTable.setLoad(env.DB, SITE, live("healthy"), t - 500);
    expect((await row())?.health).toBe("drained");
    await steeringTable.setHealth(env.DB, SITE, OCA, "healthy", t - 100);
    expect(await row()).toMatchObject({ health: "drained", updated_at: t });
    await steeringTable.setLoad(env.DB, SITE, live("healthy"), t + 1);
    expect(await row()).toMatchObject({ health: "healthy", updated_at: t + 1 });
  });
});
