import { describe, expect, it } from "vitest";
import { ADMIN, call, memberToken } from "./fixtures";

/** Requests a careless or hostile client might send; none may cause a 5xx, each gets the JSON error shape. */
describe("client input never causes a 5xx", () => {
  it.each([
    ["POST", "/v1/play", "{", { "Content-Type": "application/json" }],
    ["POST", "/v1/play", '{"titleId":"a"}', { "Content-Type": "application/json", Authorization: "Bearer x.y.z" }],
    ["GET", "/v1/titles", undefined, { Authorization: "Basic Zm9vOmJhcg==" }],
    ["POST", "/v1/events", "null", { "Content-Type": "application/json", Authorization: "Bearer not-a-jwt" }],
    ["POST", "/v1/dev/token", '{"memberId":"","plan":"gold"}', { "Content-Type": "application/json" }],
    ["POST", "/v1/dev/token", "memberId=a&plan=basic", { "Content-Type": "application/x-www-form-urlencoded" }],
    ["GET", "/oca/lumen-nyc/lumen-nyc-1/x/y/master.m3u8", undefined, {}],
    ["GET", "/oca/lumen-nyc/lumen-nyc-1/v5.k1.s.1.1.1.1.ixp-nyc.US.0123abcd.AAAA/t/%ZZ", undefined, {}],
    ["GET", "/oca/%ZZ/%ZZ/%ZZ/%ZZ/%ZZ", undefined, {}],
    ["GET", "/oca/a", undefined, {}],
    ["GET", `/oca/lumen-nyc/lumen-nyc-1/${"a".repeat(5000)}/t/master.m3u8`, undefined, { Range: "bytes=99999999999999999999-" }],
    ["GET", "/v1/steering/garbage/t/steering.json", undefined, {}],
    ["GET", "/v1/steering/v5.k1.s.1.1.1.1.ixp-nyc.US.0123abcd.AAAA/..%2f/master.m3u8", undefined, {}],
    ["PUT", "/admin/origin/t/%E0%A4%A", "x", { ...ADMIN, "Content-Length": "1" }],
    ["PUT", "/admin/origin/t/../x", "x", { ...ADMIN, "Content-Length": "1" }],
    ["PUT", "/admin/titles/t", '{"name":1}', { ...ADMIN, "Content-Type": "application/json" }],
    ["POST", "/admin/fill", '{"placements":[{"siteId":"x","ocaId":"y","titleIds":["z"]}]}', { ...ADMIN, "Content-Type": "application/json" }],
    ["POST", "/admin/sites/lumen-nyc/ocas/lumen-nyc-1/capacity", "{}", { ...ADMIN, "Content-Type": "application/json" }],
    ["POST", "/admin/sites/lumen-nyc/fill-cycle", '{"fillRateBps":-1}', { ...ADMIN, "Content-Type": "application/json" }],
    ["GET", "/admin/sites/nope/plan", undefined, ADMIN],
    ["GET", "/admin/sites/__proto__", undefined, ADMIN],
    ["GET", "/admin/titles/constructor", undefined, ADMIN],
    ["GET", "/admin/sessions/not-a-uuid/events", undefined, ADMIN],
    ["DELETE", "/admin/sites/lumen-nyc/ocas/lumen-nyc-1/titles/toString", undefined, ADMIN],
    ["DELETE", "/v1/play", undefined, {}],
  ] as Array<[string, string, string | undefined, Record<string, string>]>)("%s %s", async (method, path, body, headers) => {
    const res = await call(path, { method, body, headers });
    expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
    expect(res.status, `${method} ${path}`).toBeLessThan(500);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(typeof json.error.code).toBe("string");
    expect(json.error.message.length).toBeGreaterThan(0);
  });

  it("answers a body that is not JSON with 400 invalid_request, the code the reference documents for 400", async () => {
    const json = { "Content-Type": "application/json" };
    const member = { ...json, Authorization: `Bearer ${await memberToken("basic")}` };
    for (const [method, path, headers] of [
      ["POST", "/v1/play", member],
      ["POST", "/v1/dev/token", json],
      ["PUT", "/admin/titles/t", { ...ADMIN, ...json }],
      ["POST", "/admin/topology/sites", { ...ADMIN, ...json }],
    ] as Array<[string, string, Record<string, string>]>) {
      const res = await call(path, { method, body: '{"titleId":', headers });
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe("invalid_request");
    }
  });

  it("answers a play body with the wrong types field by field", async () => {
    const token = await memberToken("basic");
    const res = await call("/v1/play", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ titleId: "", device: { codecs: "avc1", maxHeight: "tall" } }),
    });
    expect(res.status).toBe(400);
    const err = ((await res.json()) as { error: { details: { issues: Array<{ path: string }> } } }).error;
    expect(err.details.issues.map((i) => i.path).sort()).toEqual(["device.codecs", "device.maxHeight", "titleId"]);
  });
});
