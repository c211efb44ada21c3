import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../workers/index";

/**
 * Who is refused how: 503 while ADMIN_TOKEN is unset (the API is off, not the caller wrong), 401 for a
 * missing or wrong bearer token, carrying the `WWW-Authenticate: Bearer` challenge RFC 9110 requires of
 * a 401 (with error="invalid_token" once a token was sent, RFC 6750). A token is read from the
 * Authorization header only: one in the query string (kept in logs and browser history) is not a token.
 */

const ADMIN = "0f3a9c27b5e1d8460f3a9c27b5e1d846";

async function call(path: string, headers: Record<string, string>, adminToken: string | null = ADMIN): Promise<Response> {
  const ctx = createExecutionContext();
  // Each call from its own address, so the failed-token limit of one test never refuses another's.
  const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
  const res = await worker.fetch(
    new Request(`http://cdn.test${path}`, { headers: { "CF-Connecting-IP": ip, ...headers } }),
    { ...env, ADMIN_TOKEN: adminToken ?? undefined },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("the admin API's refusals", () => {
  it("answers 401 with a Bearer challenge without a token, and invalid_token with a wrong one", async () => {
    const none = await call("/admin/topology", {});
    expect(none.status).toBe(401);
    expect(none.headers.get("WWW-Authenticate")).toBe('Bearer realm="admin"');
    const wrong = await call("/admin/topology", { Authorization: `Bearer ${ADMIN}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("WWW-Authenticate")).toBe('Bearer realm="admin", error="invalid_token"');
    expect((await call("/admin/topology", { Authorization: `Bearer ${ADMIN}` })).status).toBe(200);
  });

  it("never takes the token from the query string", async () => {
    for (const q of ["token", "access_token", "admin_token"]) {
      const res = await call(`/admin/topology?${q}=${ADMIN}`, {});
      expect(res.status, q).toBe(401);
    }
  });

  it("answers 503 not_configured, with no challenge, while ADMIN_TOKEN is unset", async () => {
    const res = await call("/admin/topology", { Authorization: `Bearer ${ADMIN}` }, null);
    expect(res.status).toBe(503);
    expect(res.headers.get("WWW-Authenticate")).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_configured");
  });
});

describe("the member API's refusals", () => {
  it("answers 401 with a Bearer challenge, invalid_token once a token was sent", async () => {
    const none = await call("/v1/titles", {});
    expect(none.status).toBe(401);
    expect(none.headers.get("WWW-Authenticate")).toBe('Bearer realm="member"');
    const bad = await call("/v1/titles", { Authorization: "Bearer a.b.c" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("WWW-Authenticate")).toBe('Bearer realm="member", error="invalid_token"');
  });
});
