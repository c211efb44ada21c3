import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN, addSite, call, siteBody } from "./fixtures";

/**
 * Retiring an OCA drains it at its site's object first. When that object cannot be asked (it throws),
 * the retire answers 503 `site_unreachable` with Retry-After, as re-adding a retired OCA does, and the
 * topology is left as it was.
 */

const json = { ...ADMIN, "Content-Type": "application/json" };
const retire = (siteId: string, ocaId: string) => call(`/admin/topology/sites/${siteId}/ocas/${ocaId}/retire`, { method: "POST", headers: json });

interface Topo {
  sites: Array<{ id: string; ocas: Array<{ id: string }> }>;
  retired: Array<{ siteId: string; ocaId: string }>;
}
const topology = async () => (await (await call("/admin/topology", { headers: ADMIN })).json()) as Topo;

/** Makes one site object's `method` fail (a rejected promise from inside) while `run` runs; RPC dispatches prototype methods. */
async function failingAt(siteId: string, method: "describe" | "setHealth", run: () => Promise<void>): Promise<void> {
  const { OcaSite } = await import("../durable-objects/oca-site");
  const proto = OcaSite.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const real = proto[method];
  proto[method] = async function (this: unknown, ...a: unknown[]) {
    if ((this as { ctx: DurableObjectState }).ctx.id.name === siteId) throw new Error(`injected: ${method} unavailable`);
    return real.apply(this, a);
  };
  try {
    await run();
  } finally {
    proto[method] = real;
  }
}

afterEach(() => vi.restoreAllMocks());

describe("retiring an OCA whose site object cannot be asked", () => {
  for (const method of ["describe", "setHealth"] as const) {
    it(`answers 503 site_unreachable with Retry-After when ${method} fails, changes nothing, logs it; a retry retires`, async () => {
      const siteId = `retire-down-${method.toLowerCase()}`;
      const ocas = [1, 2].map((i) => ({ id: `${siteId}-${i}`, capacityBytes: 1e8, throughputBps: 1e9 }));
      expect((await addSite(siteBody(siteId, { ocas }))).status).toBe(201);
      const ocaId = `${siteId}-2`;
      const before = await topology();
      const errors = vi.spyOn(console, "error");

      await failingAt(siteId, method, async () => {
        const res = await retire(siteId, ocaId);
        expect(res.status).toBe(503);
        expect(res.headers.get("Retry-After")).toBe("5");
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe("site_unreachable");
        expect(body.error.message).toMatch(new RegExp(`${siteId}.*drain.*${ocaId}.*retry`));
      });

      expect(errors).toHaveBeenCalledWith(expect.stringContaining("retire"), expect.objectContaining({ message: expect.stringContaining("injected") }));
      const after = await topology();
      expect(after.sites.find((s) => s.id === siteId)?.ocas.map((o) => o.id)).toEqual([`${siteId}-1`, ocaId]);
      expect(after.retired).toEqual(before.retired);

      // Once the object answers again, the retire goes through.
      expect((await retire(siteId, ocaId)).status).toBe(200);
      expect((await topology()).sites.find((s) => s.id === siteId)?.ocas.map((o) => o.id)).toEqual([`${siteId}-1`]);
    });
  }
});
