import { describe, expect, it } from "vitest";
import { MAX_SESSION_TTL_S } from "../shared/session-life";
import { MAX_SESSION_TOKEN, sessionPathways, signSessionToken, verifySessionToken } from "../workers/control/session-token";

/** The signed play session: it travels in a URL path, so it must fit MAX_SESSION_TOKEN whatever the ids. */

const long = (c: string) => c.repeat(64);

describe("a session token", () => {
  it("with every claim at its longest and 32 OCAs of 64-character ids fits, carrying as many pathways as fit", async () => {
    const ranked = Array.from({ length: 32 }, (_, i) => ({ siteId: `${i}`.padStart(64, "s"), ocaId: `${i}`.padStart(64, "o") }));
    const pw = sessionPathways(ranked);
    expect(pw.length).toBeGreaterThan(0);
    expect(pw.length).toBeLessThan(32);
    expect(pw).toEqual(ranked.slice(0, pw.length).map((o) => `${o.siteId}/${o.ocaId}`));
    const ring = new Map([["k1", "a-secret-of-enough-length"]]);
    const claims = {
      sid: crypto.randomUUID(),
      mid: long("m"),
      tid: long("t"),
      ver: 999_999_999,
      at: Date.now(),
      // The longest a session may live (10 digits, as any expiry before 2286).
      exp: Math.floor(Date.now() / 1000) + MAX_SESSION_TTL_S,
      cap: 99_999,
      c: "US",
      asn: 4_294_967_295,
      lat: -89.12345678901234,
      lon: -179.1234567890123,
      home: long("h"),
      top: 1e11,
      est: 1e15,
      pw,
    };
    const token = await signSessionToken(ring, "k1", claims);
    expect(token.length).toBeLessThanOrEqual(MAX_SESSION_TOKEN);
    const verdict = await verifySessionToken(ring, token, Math.floor(Date.now() / 1000));
    expect(verdict).toEqual({ ok: true, claims });
  });

  it("carries all 32 pathways of a topology with short ids, in play's order", () => {
    const ranked = Array.from({ length: 40 }, (_, i) => ({ siteId: `site-${i}`, ocaId: `site-${i}-1` }));
    expect(sessionPathways(ranked)).toEqual(ranked.slice(0, 32).map((o) => `${o.siteId}/${o.ocaId}`));
  });
});
