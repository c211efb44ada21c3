import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../workers/index";

/**
 * A short ADMIN_TOKEN could be guessed within the failed tokens an address may send (and addresses are
 * many). Like MEMBER_JWT_SECRET and the URL signing keys, it must be at least 16 characters, or the
 * API stays off.
 */

async function topology(token: string, adminToken: string | undefined): Promise<{ status: number; code?: string; text: string }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request("http://cdn.test/admin/topology", { headers: { Authorization: `Bearer ${token}` } }),
    { ...env, ADMIN_TOKEN: adminToken },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, code: res.ok ? undefined : (JSON.parse(text) as { error: { code: string } }).error.code, text };
}

describe("the admin API's bearer token", () => {
  it("is refused as configuration when shorter than 16 characters, even to a caller who sends it, and never echoed", async () => {
    for (const short of ["x", "admin", "123456789012345"]) {
      const r = await topology(short, short);
      expect(r, short).toMatchObject({ status: 503, code: "not_configured" });
      expect(r.text).not.toContain(`"${short}"`);
    }
    expect(await topology("anything", undefined)).toMatchObject({ status: 503, code: "not_configured" });
  });

  it("works at 16 characters and more, and refuses any other token with 401", async () => {
    const token = "0123456789abcdef";
    expect((await topology(token, token)).status).toBe(200);
    expect(await topology(`${token}x`, token)).toMatchObject({ status: 401, code: "unauthorized" });
  });
});
