import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { CLOCK_SKEW_S } from "../workers/control/member-auth";
import worker from "../workers/index";

// Member tokens are checked on every member route; POST /v1/events with an empty body answers 400
// once the token is accepted and 401 when it is not, so it tells the two apart without a title.
const SECRET = env.MEMBER_JWT_SECRET!;
const now = () => Math.floor(Date.now() / 1000);

async function events(token: string, overrides: Partial<Env> = {}): Promise<{ status: number; code: string }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request("http://cdn.test/v1/events", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "CF-Connecting-IP": "192.0.2.77" },
      body: "{}",
    }),
    { ...env, ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
}

const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const ACCEPTED = { status: 400, code: "invalid_request" };
const REFUSED = { status: 401, code: "unauthorized" };

describe("member tokens", () => {
  it("signed with the secret before a rotation are accepted while MEMBER_JWT_SECRET_PREVIOUS names it, and refused after", async () => {
    const OLD = "the-secret-before-the-rotation-0123456789";
    const token = await sign({ sub: "jwt-rotated", plan: "standard", exp: now() + 60 }, OLD, "HS256");
    expect(await events(token, { MEMBER_JWT_SECRET_PREVIOUS: OLD })).toEqual(ACCEPTED);
    // Tokens of the current secret still go through, and a forged one through neither.
    expect(await events(await sign({ sub: "jwt-rotated", plan: "standard", exp: now() + 60 }, SECRET, "HS256"), { MEMBER_JWT_SECRET_PREVIOUS: OLD })).toEqual(
      ACCEPTED,
    );
    expect(
      await events(await sign({ sub: "jwt-rotated", plan: "standard", exp: now() + 60 }, "another-secret-altogether-0123456789", "HS256"), {
        MEMBER_JWT_SECRET_PREVIOUS: OLD,
      }),
    ).toEqual(REFUSED);
    // Once the rotation is over (the previous secret removed), or with one too short to be a secret.
    expect(await events(token)).toEqual(REFUSED);
    expect(
      await events(await sign({ sub: "jwt-rotated", plan: "standard", exp: now() + 60 }, "short", "HS256"), { MEMBER_JWT_SECRET_PREVIOUS: "short" }),
    ).toEqual(REFUSED);
  });

  it("are accepted when HS256-signed with an expiry, a member id and a known plan", async () => {
    expect(await events(await sign({ sub: "jwt-ok", plan: "basic", exp: now() + 60 }, SECRET, "HS256"))).toEqual(ACCEPTED);
  });

  it("are refused without an expiry, or once expired", async () => {
    expect(await events(await sign({ sub: "jwt-1", plan: "basic" }, SECRET, "HS256"))).toEqual(REFUSED);
    expect(await events(await sign({ sub: "jwt-1", plan: "basic", exp: now() - 1 }, SECRET, "HS256"))).toEqual(REFUSED);
    expect(await events(await sign({ sub: "jwt-1", plan: "basic", exp: "soon" } as never, SECRET, "HS256"))).toEqual(REFUSED);
  });

  it("are refused with alg none or any algorithm other than HS256", async () => {
    const payload = b64url(JSON.stringify({ sub: "jwt-2", plan: "premium", exp: now() + 60 }));
    expect(await events(`${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.`)).toEqual(REFUSED);
    expect(await events(`${b64url(JSON.stringify({ alg: "none" }))}.${payload}.x`)).toEqual(REFUSED);
    expect(await events(await sign({ sub: "jwt-2", plan: "premium", exp: now() + 60 }, SECRET, "HS512"))).toEqual(REFUSED);
    expect(await events(await sign({ sub: "jwt-2", plan: "premium", exp: now() + 60 }, SECRET, "HS384"))).toEqual(REFUSED);
  });

  it("are refused when not yet valid (nbf) or issued in the future (iat), and accepted once both are past", async () => {
    const base = { sub: "jwt-7", plan: "basic", exp: now() + 600 };
    expect(await events(await sign({ ...base, nbf: now() + 120 }, SECRET, "HS256"))).toEqual(REFUSED);
    expect(await events(await sign({ ...base, iat: now() + 120 }, SECRET, "HS256"))).toEqual(REFUSED);
    expect(await events(await sign({ ...base, nbf: "soon" } as never, SECRET, "HS256"))).toEqual(REFUSED);
    expect(await events(await sign({ ...base, nbf: now() - 5, iat: now() - 5 }, SECRET, "HS256"))).toEqual(ACCEPTED);
  });

  it("are accepted when the issuer's clock runs up to a minute ahead (nbf and iat a few seconds in the future), but never past exp", async () => {
    const base = { sub: "jwt-skew", plan: "basic", exp: now() + 600 };
    expect(await events(await sign({ ...base, nbf: now() + 20, iat: now() + 20 }, SECRET, "HS256"))).toEqual(ACCEPTED);
    expect(await events(await sign({ ...base, iat: now() + CLOCK_SKEW_S - 5 }, SECRET, "HS256"))).toEqual(ACCEPTED);
    expect(await events(await sign({ ...base, iat: now() + CLOCK_SKEW_S + 30 }, SECRET, "HS256"))).toEqual(REFUSED);
    expect(await events(await sign({ ...base, exp: now() - 1 }, SECRET, "HS256"))).toEqual(REFUSED);
  });

  it("are refused with a critical header extension, another typ, or a mangled segment, and accepted with typ application/jwt", async () => {
    const payload = b64url(JSON.stringify({ sub: "jwt-8", plan: "basic", exp: now() + 60 }));
    const signed = async (header: object) => {
      const h = b64url(JSON.stringify(header));
      const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${h}.${payload}`)));
      return `${h}.${payload}.${b64url(String.fromCharCode(...mac))}`;
    };
    expect(await events(await signed({ alg: "HS256", typ: "JWT" }))).toEqual(ACCEPTED);
    expect(await events(await signed({ alg: "HS256", typ: "application/jwt" }))).toEqual(ACCEPTED);
    expect(await events(await signed({ alg: "HS256", crit: ["exp"] }))).toEqual(REFUSED);
    expect(await events(await signed({ alg: "HS256", typ: "JOSE+JSON" }))).toEqual(REFUSED);
    const good = await signed({ alg: "HS256" });
    expect(await events(good)).toEqual(ACCEPTED);
    const [h, p, m] = good.split(".");
    expect(await events(`${h}.${p}.${m}.x`)).toEqual(REFUSED);
    expect(await events(`${h}.${p}!.${m}`)).toEqual(REFUSED);
    expect(await events(`${h}.${p}.${m.slice(0, -1)}${m.endsWith("A") ? "B" : "A"}`)).toEqual(REFUSED);
    expect(await events(`${h}.${b64url(JSON.stringify({ sub: "jwt-8", plan: "premium", exp: now() + 60 }))}.${m}`)).toEqual(REFUSED);
  });

  it("are refused with another secret, an unknown plan, an inherited member id, or when over-long", async () => {
    expect(await events(await sign({ sub: "jwt-3", plan: "basic", exp: now() + 60 }, "another-secret-0123456789", "HS256"))).toEqual(REFUSED);
    expect(await events(await sign({ sub: "jwt-3", plan: "gold", exp: now() + 60 }, SECRET, "HS256"))).toEqual(REFUSED);
    expect(await events(await sign({ sub: "__proto__", plan: "basic", exp: now() + 60 }, SECRET, "HS256"))).toEqual(REFUSED);
    expect(await events(await sign({ sub: "jwt-3", plan: "basic", exp: now() + 60, pad: "x".repeat(5000) }, SECRET, "HS256"))).toEqual(REFUSED);
  });

  it("must carry the configured issuer and audience when MEMBER_JWT_ISSUER / MEMBER_JWT_AUDIENCE are set", async () => {
    const cfg = { MEMBER_JWT_ISSUER: "https://auth.example", MEMBER_JWT_AUDIENCE: "vcdn" };
    const base = { sub: "jwt-4", plan: "standard", exp: now() + 60 };
    expect(await events(await sign({ ...base, iss: "https://auth.example", aud: "vcdn" }, SECRET, "HS256"), cfg)).toEqual(ACCEPTED);
    expect(await events(await sign({ ...base, iss: "https://auth.example", aud: ["other", "vcdn"] }, SECRET, "HS256"), cfg)).toEqual(ACCEPTED);
    expect(await events(await sign(base, SECRET, "HS256"), cfg)).toEqual(REFUSED);
    expect(await events(await sign({ ...base, aud: "vcdn" }, SECRET, "HS256"), cfg)).toEqual(REFUSED);
    expect(await events(await sign({ ...base, iss: "https://auth.example" }, SECRET, "HS256"), cfg)).toEqual(REFUSED);
    expect(await events(await sign({ ...base, iss: "https://evil.example", aud: "vcdn" }, SECRET, "HS256"), cfg)).toEqual(REFUSED);
    expect(await events(await sign({ ...base, iss: "https://auth.example", aud: "other" }, SECRET, "HS256"), cfg)).toEqual(REFUSED);
  });

  it("signed by the dev route carry the configured issuer and audience", async () => {
    const cfg = { MEMBER_JWT_ISSUER: "https://auth.example", MEMBER_JWT_AUDIENCE: "vcdn" };
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request("http://cdn.test/v1/dev/token", {
        method: "POST",
        headers: { "Content-Type": "application/json", "CF-Connecting-IP": "192.0.2.78" },
        body: JSON.stringify({ memberId: "jwt-5", plan: "basic" }),
      }),
      { ...env, ...cfg },
      ctx,
    );
    const { token } = (await res.json()) as { token: string };
    expect(await events(token, cfg)).toEqual(ACCEPTED);
    expect(await events(token, { MEMBER_JWT_ISSUER: "https://other.example" })).toEqual(REFUSED);
  });

  it("cannot be checked without MEMBER_JWT_SECRET: 503 not_configured", async () => {
    expect(await events(await sign({ sub: "jwt-6", plan: "basic", exp: now() + 60 }, SECRET, "HS256"), { MEMBER_JWT_SECRET: undefined })).toEqual({
      status: 503,
      code: "not_configured",
    });
  });
});
