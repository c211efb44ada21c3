import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../workers/index";
import { type D1Fault, fault, faultyDb } from "./faulty-d1";
import { ADMIN, publishTitle } from "./fixtures";

/**
 * Admin reads that go straight to D1 (the topology's summary, a title's versions) while D1 is out, as D1
 * says it is (its retryable errors): the documented 503 `catalogue_unavailable` with a Retry-After that
 * an operator's script waits on, not a 500 "internal error" that reads as a bug. A query's own fault
 * stays a 500.
 */

async function adminGet(path: string, f: D1Fault): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://cdn.test${path}`, { headers: ADMIN }), { ...env, DB: faultyDb(f) }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("admin reads while D1 is out", () => {
  it("answer 503 catalogue_unavailable with a Retry-After when D1 says it cannot serve now", async () => {
    await publishTitle("admin-d1-down");
    for (const message of ["D1_ERROR: Network connection lost.", "D1_ERROR: D1 DB is overloaded. Requests queued for too long."]) {
      for (const path of ["/admin/topology", "/admin/titles/admin-d1-down"]) {
        const res = await adminGet(path, fault("down", message));
        expect(res.status, `${path}: ${message}`).toBe(503);
        expect(res.headers.get("Retry-After")).toBe("5");
        expect(await res.json()).toMatchObject({ error: { code: "catalogue_unavailable", message: expect.stringContaining("D1") } });
      }
    }
  });

  it("keep a query's own fault a 500 internal error (a bug, not an outage)", async () => {
    const res = await adminGet("/admin/topology", fault("down", "D1_ERROR: no such column: nope: SQLITE_ERROR"));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: "internal", message: "internal error" } });
  });

  it("answer as before once D1 is back", async () => {
    const res = await adminGet("/admin/titles/admin-d1-down", fault("up"));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ title: { id: "admin-d1-down", name: "Fixture admin-d1-down" } });
  });
});
