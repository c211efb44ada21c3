import { describe, expect, it } from "vitest";
import { inWindow } from "../workers/control/fill-cycle";
import { ADMIN, addSite, call, siteBody } from "./fixtures";

/**
 * A site's fill window is [startHour, endHour) local: a window that starts and ends on the same hour
 * never opens, so the hourly cron would never plan or fill that site. The topology refuses it rather
 * than store a site that silently never fills.
 */

const site = (id: string, fillWindow: { startHour: number; endHour: number }) => siteBody(id, { name: "Window test IXP", fillWindow });

describe("a site's fill window", () => {
  it("that starts and ends on the same hour (never open) is refused with 400, and nothing is stored", async () => {
    // As the cron reads it, such a window is open at no hour of the day.
    expect(Array.from({ length: 24 }, (_, h) => inWindow(h, { startHour: 3, endHour: 3 })).some(Boolean)).toBe(false);
    const res = await addSite(site("window-never", { startHour: 3, endHour: 3 }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.message).toMatch(/fillWindow/);
    const topo = (await (await call("/admin/topology", { headers: ADMIN })).json()) as { sites: Array<{ id: string }> };
    expect(topo.sites.map((s) => s.id)).not.toContain("window-never");
  });

  it("that wraps midnight or spans part of a day is accepted", async () => {
    for (const [id, w] of [
      ["window-wraps", { startHour: 22, endHour: 6 }],
      ["window-day", { startHour: 2, endHour: 14 }],
    ] as const) {
      const res = await addSite(site(id, w));
      expect(res.status).toBe(201);
    }
  });
});
