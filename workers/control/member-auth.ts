import { createMiddleware } from "hono/factory";
import { sign, verify } from "hono/jwt";
import { ApiError } from "../shared/errors";
import { hmacKey } from "../shared/hmac";
import { isMemberId } from "../../shared/ids";

import { PLAN_IDS, type PlanId } from "../../shared/plans";

export interface Member {
  id: string;
  plan: PlanId;
}

export type MemberVars = { Variables: { member: Member }; Bindings: Env };

/** Member tokens are HS256 and nothing else: `alg: none` and every other algorithm are refused. */
const ALG = "HS256";
/** A member token longer than this is refused before any decoding. */
const MAX_TOKEN_LENGTH = 4096;

function secretOf(env: Env): string {
  const s = env.MEMBER_JWT_SECRET;
  if (!s || s.length < 16) throw new ApiError(503, "not_configured", "MEMBER_JWT_SECRET is not configured");
  return s;
}

/** The issuer and audience member tokens must carry, when configured (MEMBER_JWT_ISSUER, MEMBER_JWT_AUDIENCE). */
function claimsOf(env: Env): { iss?: string; aud?: string } {
  return { ...(env.MEMBER_JWT_ISSUER ? { iss: env.MEMBER_JWT_ISSUER } : {}), ...(env.MEMBER_JWT_AUDIENCE ? { aud: env.MEMBER_JWT_AUDIENCE } : {}) };
}

/** Signs a member token (HS256) that carries the member's plan, an expiry, and the configured issuer and audience. */
export async function signMemberToken(env: Env, member: Member, ttlS = 86400): Promise<{ token: string; exp: number }> {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + ttlS;
  return { token: await sign({ sub: member.id, plan: member.plan, iat: now, exp, ...claimsOf(env) }, await hmacKey(secretOf(env)), ALG), exp };
}

const refuse = (why: string) => new ApiError(401, "unauthorized", `invalid member token: ${why}`);

/**
 * Verifies a member token: HS256 only, signature, `exp` required and in the future, `nbf`/`iat`
 * not in the future, `iss`/`aud` when configured, and a plain member id with a known plan.
 */
export async function verifyMemberToken(env: Env, token: string): Promise<Member> {
  const secret = secretOf(env);
  if (token.length > MAX_TOKEN_LENGTH) throw refuse("too long");
  let payload: Record<string, unknown>;
  try {
    // One decoding: hono checks the header's algorithm before the signature. The key is imported once
    // per isolate (hono would import it on every call).
    payload = await verify(token, await hmacKey(secret), { alg: ALG, ...claimsOf(env) });
  } catch (err) {
    const name = err instanceof Error ? err.name : "";
    if (name === "JwtAlgorithmMismatch") throw refuse(`algorithm is not ${ALG}`);
    if (name === "JwtTokenInvalid" || name === "JwtHeaderInvalid" || err instanceof SyntaxError) throw refuse("malformed");
    throw refuse("bad signature, expired, or wrong issuer or audience");
  }
  if (typeof payload.exp !== "number" || !Number.isFinite(payload.exp)) throw refuse("no expiry (exp)");
  const { sub, plan } = payload;
  if (typeof sub !== "string" || !isMemberId(sub)) throw refuse("no valid member id (sub)");
  if (typeof plan !== "string" || !(PLAN_IDS as readonly string[]).includes(plan)) throw refuse("no known plan");
  return { id: sub, plan: plan as PlanId };
}

/** Requires `Authorization: Bearer <member token>`; sets c.var.member. */
export const requireMember = createMiddleware<MemberVars>(async (c, next) => {
  const auth = c.req.header("Authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(auth);
  if (!m) throw new ApiError(401, "unauthorized", "missing member token (Authorization: Bearer ...)");
  c.set("member", await verifyMemberToken(c.env, m[1]));
  await next();
});
