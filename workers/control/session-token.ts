import { z } from "zod";
import { countryCodeSchema, isSafeId, isMemberId } from "../../shared/ids";
import { b64url, fromB64url, hmacKey, jsonOfBytes, macBytes } from "../shared/hmac";
import { expiredAt, isKid, withinLongestSession, type KeyRing } from "../shared/url-token";

/**
 * The play session, signed and carried by the client instead of stored: everything steering and
 * the events route need later (member, title and version, cap, location, home site, pathways,
 * viewing caps, expiry). So `POST /v1/play` writes nothing to a database and a steering poll or a
 * QoE batch reads nothing to find its session. Signed with the URL-signing key ring.
 *
 * Format: s1.{kid}.{base64url(JSON claims)}.{base64url(mac)}, mac = HMAC-SHA256("s1|kid|payload").
 */

export const sessionClaimsSchema = z
  .object({
    /** session id */
    sid: z.uuid(),
    /** member id */
    mid: z.string().refine(isMemberId),
    /** title id and version */
    tid: z.string().refine(isSafeId),
    ver: z.number().int().min(1).max(999_999_999),
    /** created (ms) and expiry (s, as the URL token) */
    at: z.number().int().positive(),
    exp: z.number().int().positive(),
    /** height cap */
    cap: z.number().int().min(1).max(99_999),
    /** client location as play saw it */
    c: countryCodeSchema.nullable(),
    asn: z.number().int().min(0).max(4_294_967_295).nullable(),
    lat: z.number().min(-90).max(90).nullable(),
    lon: z.number().min(-180).max(180).nullable(),
    /** home site: whose viewing history the session counts in */
    home: z.string().refine(isSafeId),
    /** top allowed bitrate (bits/s) and the bytes of a full watch at it: the caps of its reports */
    top: z.number().int().min(0).max(1e11),
    est: z.number().int().min(0).max(1e15),
    /** pathways (OCAs) the session was given, "site/oca", in play's order */
    pw: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}\/[A-Za-z0-9_-]{1,64}$/)).max(32),
  })
  .strict()
  // No session outlives the longest one after its play, whatever signed it: the URL tokens steering signs take its expiry.
  .refine((c) => withinLongestSession(c.at, c.exp), { message: "a session lives at most MAX_SESSION_TTL_S after its play", path: ["exp"] });

export type SessionClaims = z.infer<typeof sessionClaimsSchema>;

/** A session token is at most this long (it travels in a URL path). */
export const MAX_SESSION_TOKEN = 2048;

/**
 * Characters of pathways a session carries at most: with every other claim at its longest, the token
 * stays within MAX_SESSION_TOKEN whatever the lengths of the topology's site and OCA ids.
 */
export const PATHWAYS_MAX_CHARS = 900;

/** Play's ranked OCAs as the session's pathways ("site/oca"), in order: at most 32, as many as fit. */
export function sessionPathways(ranked: ReadonlyArray<{ siteId: string; ocaId: string }>): string[] {
  const pw: string[] = [];
  let chars = 0;
  for (const o of ranked) {
    const p = `${o.siteId}/${o.ocaId}`;
    chars += p.length + 3; // its quotes and comma in the JSON
    if (pw.length === 32 || chars > PATHWAYS_MAX_CHARS) break;
    pw.push(p);
  }
  return pw;
}

const message = (kid: string, payload: string) => new TextEncoder().encode(`s1|${kid}|${payload}`);

/** Signs session claims with the ring's key `kid`. */
export async function signSessionToken(ring: KeyRing, kid: string, claims: SessionClaims): Promise<string> {
  const secret = isKid(kid) ? ring.get(kid) : undefined;
  if (secret === undefined) throw new Error(`session signing key ${kid} is not configured`);
  const payload = b64url(new TextEncoder().encode(JSON.stringify(sessionClaimsSchema.parse(claims))));
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), message(kid, payload));
  const token = `s1.${kid}.${payload}.${b64url(mac)}`;
  if (token.length > MAX_SESSION_TOKEN) throw new Error("session token too long");
  return token;
}

export type SessionVerdict = { ok: true; claims: SessionClaims } | { ok: false; reason: "malformed" | "unknown_key" | "bad_signature" | "expired" };

/** Verifies a session token at `nowS` (seconds): signature first, then the claims' shape, then expiry. */
export async function verifySessionToken(ring: KeyRing, token: string, nowS: number): Promise<SessionVerdict> {
  if (token.length > MAX_SESSION_TOKEN) return { ok: false, reason: "malformed" };
  const parts = token.split(".");
  if (parts.length !== 4 || parts[0] !== "s1") return { ok: false, reason: "malformed" };
  const [, kid, payload, macRaw] = parts;
  const secret = isKid(kid) ? ring.get(kid) : undefined;
  if (secret === undefined) return { ok: false, reason: "unknown_key" };
  const mac = macBytes(macRaw);
  const raw = fromB64url(payload);
  if (!mac || !raw || b64url(raw) !== payload) return { ok: false, reason: "malformed" };
  if (!(await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, message(kid, payload)))) return { ok: false, reason: "bad_signature" };
  const claims = sessionClaimsSchema.safeParse(jsonOfBytes(raw));
  if (!claims.success) return { ok: false, reason: "malformed" };
  if (expiredAt(claims.data.exp, nowS)) return { ok: false, reason: "expired" };
  return { ok: true, claims: claims.data };
}
