import { createMiddleware } from "hono/factory";
import { sign, verify } from "hono/jwt";
import { ApiError } from "../shared/errors";

export const PLAN_IDS = ["basic", "standard", "premium"] as const;
export type PlanId = (typeof PLAN_IDS)[number];

export interface Member {
  id: string;
  plan: PlanId;
}

export type MemberVars = { Variables: { member: Member }; Bindings: Env };

function secretOf(env: Env): string {
  const s = env.MEMBER_JWT_SECRET;
  if (!s || s.length < 16) throw new ApiError(503, "not_configured", "MEMBER_JWT_SECRET is not configured");
  return s;
}

/** Signs a member token (HS256) that carries the member's plan. */
export async function signMemberToken(env: Env, member: Member, ttlS = 86400): Promise<{ token: string; exp: number }> {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + ttlS;
  return { token: await sign({ sub: member.id, plan: member.plan, iat: now, exp }, secretOf(env), "HS256"), exp };
}

/** Requires `Authorization: Bearer <member token>`; sets c.var.member. */
export const requireMember = createMiddleware<MemberVars>(async (c, next) => {
  const auth = c.req.header("Authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(auth);
  if (!m) throw new ApiError(401, "unauthorized", "missing member token (Authorization: Bearer ...)");
  let payload: Record<string, unknown>;
  try {
    payload = await verify(m[1], secretOf(c.env), "HS256");
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(401, "unauthorized", "invalid or expired member token");
  }
  const plan = payload.plan;
  if (typeof payload.sub !== "string" || !PLAN_IDS.includes(plan as PlanId)) {
    throw new ApiError(401, "unauthorized", "member token lacks a member id or a known plan");
  }
  c.set("member", { id: payload.sub, plan: plan as PlanId });
  await next();
});
