import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../workers/index";

/**
 * A bearer token carries no whitespace, so an ADMIN_TOKEN set with some (a trailing newline from
 * `echo token | …`, a passphrase of words) matched no request: the operator's right token was a 401,
 * counted as a failed guess until their address was refused. It is a configuration error, said as one.
 */

async function topology(sent: string, adminToken: string): Promise<{ status: number; code?: string; message?: string }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request("http://cdn.test/admin/topology", { headers: { Authorization: `Bearer ${sent}` } }),
    { ...env, ADMIN_TOKEN: adminToken },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  if (res.ok) return { status: res.status };
  const { error } = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, code: error.code, message: error.message };
}

describe("an ADMIN_TOKEN holding whitespace", () => {
  it("disables the admin API with 503 not_configured saying why, whatever the caller sends", async () => {
    for (const configured of ["0123456789abcdef\n", " 0123456789abcdef", "correct horse battery staple"]) {
      const r = await topology(configured.trim().split(" ")[0], configured);
      expect(r, JSON.stringify(configured)).toMatchObject({ status: 503, code: "not_configured" });
      expect(r.message).toContain("whitespace");
      expect(r.message).not.toContain(configured.trim());
    }
  });

  it("is not confused with a token of the same characters without it, which works", async () => {
    expect((await topology("0123456789abcdef", "0123456789abcdef")).status).toBe(200);
  });
});
