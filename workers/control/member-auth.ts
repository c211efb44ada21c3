import { createMiddleware } from "hono/factory";
import { sign } from "hono/jwt";
import { ApiError } from "../shared/errors";
import { fromB64url, hmacKey, jsonOfBytes, macBytes } from "../shared/hmac";
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

/**
 * The secret that signed member tokens before the current one, while a rotation is under way
 * (MEMBER_JWT_SECRET_PREVIOUS): tokens it signed are still accepted, so changing the secret does not
 * sign every member out at once; new tokens are signed with the current one only. Ignored when shorter
 * than the current one's minimum.
 */
function previousSecretOf(env: Env): string | null {
  const s = env.MEMBER_JWT_SECRET_PREVIOUS;
  return s && s.length >= 16 ? s : null;
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

/** RFC 9110: a 401 names its scheme; RFC 6750: a token sent and refused is invalid_token. */
const CHALLENGE = 'Bearer realm="member"';
const refuse = (why: string) =>
  new ApiError(401, "unauthorized", `invalid member token: ${why}`, undefined, { "WWW-Authenticate": `${CHALLENGE}, error="invalid_token"` });

const bytesOf = new TextEncoder();
/** Header segments already found to say HS256 (issuers spell it one or two ways): checked once per isolate. */
const headersSeen = new Set<string>();
const HEADERS_SEEN_MAX = 16;

/** A JSON object encoded as a base64url segment, or null. */
function jsonSegment(segment: string): Record<string, unknown> | null {
  const bytes = fromB64url(segment);
  const v = bytes ? jsonOfBytes(bytes) : undefined;
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** Refuses a header other than HS256 (typ absent or JWT, no `crit`), as hono's verify does. */
function checkHeader(segment: string): void {
  if (headersSeen.has(segment)) return;
  const header = jsonSegment(segment);
  if (!header) throw refuse("malformed");
  if (header.alg !== ALG) throw refuse(`algorithm ${typeof header.alg === "string" ? header.alg.slice(0, 16) : "missing"} is not ${ALG}`);
  if (header.typ !== undefined && (typeof header.typ !== "string" || header.typ.toLowerCase().replace(/^application\//, "") !== "jwt"))
    throw refuse("not a JWT (typ)");
  if ("crit" in header) throw refuse("critical header extensions are not supported");
  if (headersSeen.size < HEADERS_SEEN_MAX) headersSeen.add(segment);
}

const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * How far a member token's `nbf`/`iat` may lie ahead of this clock: the team's login service signs
 * them with its own clock, and one a few seconds ahead would refuse every play right after a login.
 * `exp` gets none: a token is never honoured past the end its issuer gave it.
 */
export const CLOCK_SKEW_S = 60;

/**
 * Verifies a member token: HS256 only, signature, `exp` required and in the future, `nbf`/`iat`
 * not in the future (by more than CLOCK_SKEW_S), `iss`/`aud` when configured, and a plain member id with a known plan. Each
 * segment is decoded once and the signature checked with the isolate's key: every play pays for it.
 */
export async function verifyMemberToken(env: Env, token: string): Promise<Member> {
  const secret = secretOf(env);
  if (token.length > MAX_TOKEN_LENGTH) throw refuse("too long");
  const parts = token.split(".");
  if (parts.length !== 3) throw refuse("malformed");
  const [headerPart, payloadPart, macPart] = parts;
  checkHeader(headerPart);
  const mac = macBytes(macPart);
  const signed = bytesOf.encode(`${headerPart}.${payloadPart}`);
  const previous = previousSecretOf(env);
  if (
    !mac ||
    !(
      (await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, signed)) ||
      (previous !== null && (await crypto.subtle.verify("HMAC", await hmacKey(previous), mac, signed)))
    )
  ) {
    throw refuse("bad signature");
  }
  const payload = jsonSegment(payloadPart);
  if (!payload) throw refuse("malformed");
  const now = Math.floor(Date.now() / 1000);
  if (!isTime(payload.exp)) throw refuse("no expiry (exp)");
  if (payload.exp <= now) throw refuse("expired");
  if (payload.nbf !== undefined && (!isTime(payload.nbf) || payload.nbf > now + CLOCK_SKEW_S)) throw refuse("not valid yet (nbf)");
  if (payload.iat !== undefined && (!isTime(payload.iat) || payload.iat > now + CLOCK_SKEW_S)) throw refuse("issued in the future (iat)");
  const { iss, aud } = claimsOf(env);
  if (iss !== undefined && payload.iss !== iss) throw refuse("wrong issuer");
  if (aud !== undefined && !(Array.isArray(payload.aud) ? payload.aud : [payload.aud]).includes(aud)) throw refuse("wrong audience");
  const { sub, plan } = payload;
  if (typeof sub !== "string" || !isMemberId(sub)) throw refuse("no valid member id (sub)");
  if (typeof plan !== "string" || !(PLAN_IDS as readonly string[]).includes(plan)) throw refuse("no known plan");
  return { id: sub, plan: plan as PlanId };
}

/** Requires `Authorization: Bearer <member token>`; sets c.var.member. */
export const requireMember = createMiddleware<MemberVars>(async (c, next) => {
  const auth = c.req.header("Authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(auth);
  if (!m) throw new ApiError(401, "unauthorized", "missing member token (Authorization: Bearer ...)", undefined, { "WWW-Authenticate": CHALLENGE });
  c.set("member", await verifyMemberToken(c.env, m[1]));
  await next();
});
