import { env } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { admin } from "../workers/control/admin/index";
import { errorResponse } from "../workers/shared/errors";
import { ADMIN } from "./fixtures";

/**
 * The admin API checks a site and an OCA against its isolate's topology, but the change is made by the
 * site's object, which runs on its own copy of the topology: for a few seconds after an OCA is added
 * (until the object's next look), or after one is retired (until the isolate's), the two disagree and
 * the object refuses (`ok: false`) an OCA it does not know. The operator must hear that the change was
 * not made, never get a 200 that reports a drain, a capacity of 0 or a cleared fault that did not happen.
 */

/** A site object that knows none of the site's OCAs (its topology is older or newer than the isolate's). */
const calls: string[] = [];
const unaware = {
  setHealth: async (ocaId: string) => (calls.push(`setHealth ${ocaId}`), { ok: false }),
  setCapacity: async (ocaId: string) => (calls.push(`setCapacity ${ocaId}`), { ok: false, capacityBytes: 0 }),
  setThroughput: async (ocaId: string) => (calls.push(`setThroughput ${ocaId}`), { ok: false, throughputBps: 0 }),
  setFault: async (ocaId: string) => (calls.push(`setFault ${ocaId}`), { ok: false, fault: null }),
};
const app = new Hono<{ Bindings: Env }>();
app.route("/admin", admin);
app.onError((err) => errorResponse(err));
const staleEnv = { ...env, OCA_SITE: { idFromName: (name: string) => name, get: () => unaware } } as unknown as Env;

const post = (path: string, body: unknown) =>
  app.request(path, { method: "POST", headers: { ...ADMIN, "Content-Type": "application/json" }, body: JSON.stringify(body) }, staleEnv);

async function refused(res: Response): Promise<{ code: string; message: string; details?: unknown }> {
  expect(res.status).toBe(404);
  const { error } = (await res.json()) as { error: { code: string; message: string; details?: unknown } };
  expect(error.code).toBe("unknown_oca");
  expect(error.message).toMatch(/site's object/);
  return error;
}

describe("a change the site's object refuses", () => {
  it("is not reported as made: an OCA's health, capacity and fault switch answer 404 unknown_oca", async () => {
    await refused(await post("/admin/sites/lumen-nyc/ocas/lumen-nyc-1/health", { health: "drained" }));
    await refused(await post("/admin/sites/lumen-nyc/ocas/lumen-nyc-1/capacity", { capacityBytes: 5e8 }));
    await refused(await post("/admin/sites/lumen-nyc/ocas/lumen-nyc-1/capacity", { throughputBps: 1e9 }));
    await refused(await post("/admin/sites/lumen-nyc/ocas/lumen-nyc-1/fault", { errorRate: 0.5 }));
  });

  it("names, for a whole site's health, which OCAs took it and which did not", async () => {
    const error = await refused(await post("/admin/sites/lumen-nyc/health", { health: "failed" }));
    expect(error.details).toEqual({ applied: [], refused: ["lumen-nyc-1", "lumen-nyc-2"] });
  });

  it("stops a capacity change at the first refusal rather than go on to the throughput", async () => {
    calls.length = 0;
    await refused(await post("/admin/sites/lumen-nyc/ocas/lumen-nyc-1/capacity", { capacityBytes: 5e8, throughputBps: 1e9 }));
    expect(calls).toEqual(["setCapacity lumen-nyc-1"]);
  });
});
