import { describe, expect, it } from "vitest";
import { MAX_SESSION_TTL_S } from "../shared/session-life";
import { signSessionToken, verifySessionToken, type SessionClaims } from "../workers/control/session-token";
import { b64url } from "../workers/shared/hmac";
import { signUrlToken, verifyUrlToken, type KeyRing, type UrlTokenClaims } from "../workers/shared/url-token";
import { forgeToken } from "./fixtures";

/**
 * Signed tokens fail closed on time: none lives longer than the longest session after it was granted
 * (whatever signed it), and a clock that is not a number expires every token rather than none.
 * Pure tests, run in workerd (its WebCrypto).
 */

const SECRET = "test-url-key-one-0123456789";
const RING: KeyRing = new Map([["k1", SECRET]]);
const NOW = 1_800_000_000;
const STREAMS = "0a".repeat(32);

const urlClaims = (exp: number): UrlTokenClaims => ({
  titleId: "t1",
  sessionId: "s-1",
  exp,
  maxHeight: 720,
  version: 3,
  home: "lumen-nyc",
  country: "US",
  issuedAt: NOW * 1000,
  streams: STREAMS,
});

const sessionClaims = (exp: number): SessionClaims => ({
  sid: "6f1c1b2e-8d9a-4c3b-9e2f-1a2b3c4d5e6f",
  mid: "ada",
  tid: "t1",
  ver: 3,
  at: NOW * 1000,
  exp,
  cap: 720,
  c: "US",
  asn: 64500,
  lat: 40.7,
  lon: -74,
  home: "lumen-nyc",
  top: 5_000_000,
  est: 1_000_000_000,
  pw: ["lumen-nyc/lumen-nyc-1"],
});

/** A session token signed with the ring's secret by hand: what a signer without the lifetime check would hand out. */
async function handSignedSession(claims: SessionClaims): Promise<string> {
  const payload = b64url(new TextEncoder().encode(JSON.stringify(claims)));
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`s1|k1|${payload}`));
  return `s1.k1.${payload}.${b64url(mac)}`;
}

describe("an OCA URL token", () => {
  it("is expired, never valid, when the clock it is checked against is not a finite number", async () => {
    const token = await signUrlToken(RING, "k1", urlClaims(NOW + 600));
    expect((await verifyUrlToken(RING, token, "t1", NOW)).ok).toBe(true);
    for (const now of [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]) {
      expect(await verifyUrlToken(RING, token, "t1", now), String(now)).toEqual({ ok: false, reason: "expired" });
    }
  });

  it("lives at most the longest session after its grant: a genuinely signed one that says longer is refused", async () => {
    const longest = NOW + MAX_SESSION_TTL_S;
    // The longest a play can sign verifies.
    expect((await verifyUrlToken(RING, await signUrlToken(RING, "k1", urlClaims(longest)), "t1", NOW)).ok).toBe(true);
    // A second more, or centuries more, is refused by the verifier whoever signed it...
    for (const exp of [longest + 1, NOW + 10 * 365 * 86_400, 999_999_999_999]) {
      const token = await forgeToken("k1", SECRET, "t1", "s-1", exp, 1, "ixp-nyc", STREAMS, "US", NOW * 1000);
      expect(await verifyUrlToken(RING, token, "t1", NOW), String(exp)).toEqual({ ok: false, reason: "malformed" });
      // ...and never signed.
      await expect(signUrlToken(RING, "k1", urlClaims(exp))).rejects.toThrow("out of range");
    }
  });

  it("is never signed with an expiry or height cap the verifier would refuse as malformed", async () => {
    await expect(signUrlToken(RING, "k1", { ...urlClaims(NOW + 600), maxHeight: 100_000 })).rejects.toThrow("out of range");
  });
});

describe("a session token", () => {
  it("is expired, never valid, when the clock it is checked against is not a finite number", async () => {
    const token = await signSessionToken(RING, "k1", sessionClaims(NOW + 600));
    expect((await verifySessionToken(RING, token, NOW)).ok).toBe(true);
    for (const now of [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]) {
      expect(await verifySessionToken(RING, token, now), String(now)).toEqual({ ok: false, reason: "expired" });
    }
  });

  it("lives at most the longest session after its grant: a genuinely signed one that says longer is refused", async () => {
    const longest = NOW + MAX_SESSION_TTL_S;
    expect((await verifySessionToken(RING, await signSessionToken(RING, "k1", sessionClaims(longest)), NOW)).ok).toBe(true);
    for (const exp of [longest + 1, NOW + 10 * 365 * 86_400, Number.MAX_SAFE_INTEGER]) {
      expect(await verifySessionToken(RING, await handSignedSession(sessionClaims(exp)), NOW), String(exp)).toEqual({ ok: false, reason: "malformed" });
      await expect(signSessionToken(RING, "k1", sessionClaims(exp))).rejects.toThrow();
    }
  });
});
