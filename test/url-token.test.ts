import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseKeyRing, signUrlToken, verifyUrlToken, type KeyRing } from "../workers/shared/url-token";
import { forgeToken } from "./fixtures";

// Pure tests of the token format, run in workerd (its WebCrypto). Seeds are fixed so a failure replays.
const RING: KeyRing = new Map([
  ["k1", "test-url-key-one-0123456789"],
  ["k0", "test-url-key-old-0123456789"],
]);
const NOW = 1_800_000_000;
const FC = { seed: 8, numRuns: 300 };

const claims = fc.record({
  titleId: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
  sessionId: fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/),
  // Granted up to a day before NOW, expiring up to six days after it: within the longest session (a week).
  exp: fc.integer({ min: NOW + 1, max: NOW + 6 * 86_400 }),
  maxHeight: fc.integer({ min: 144, max: 4320 }),
  version: fc.integer({ min: 1, max: 999_999_999 }),
  home: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).filter((h) => !["__proto__", "constructor", "prototype"].includes(h)),
  country: fc.stringMatching(/^[A-Z]{2}$/),
  issuedAt: fc.integer({ min: (NOW - 86_400) * 1000, max: NOW * 1000 }),
  streams: fc.stringMatching(/^[0-9a-f]{64}$/),
});

const forge = (kid: string, key: string, titleId: string) => forgeToken(kid, key, titleId, "s-1", NOW + 3600);

describe("OCA URL tokens (pure)", () => {
  it("refuse key ids that name inherited properties, whatever key string an attacker guesses", async () => {
    const guesses = ["[object Object]", "function Object() { [native code] }", "function toString() { [native code] }", "undefined", "null"];
    for (const kid of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "prototype", "", "k".repeat(17)]) {
      for (const key of guesses) {
        const verdict = await verifyUrlToken(RING, await forge(kid, key, "t1"), "t1", NOW);
        expect(verdict, `${kid}/${key}`).toEqual({ ok: false, reason: "unknown_key" });
      }
    }
  });

  it("round-trip: every token signed with a ring key verifies to its own claims", async () => {
    await fc.assert(
      fc.asyncProperty(claims, fc.constantFrom("k1", "k0"), async (c, kid) => {
        const verdict = await verifyUrlToken(RING, await signUrlToken(RING, kid, c), c.titleId, NOW);
        expect(verdict).toEqual({ ok: true, claims: c });
      }),
      FC,
    );
  });

  it("tampering with any single character of a token makes it fail", async () => {
    const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.";
    await fc.assert(
      fc.asyncProperty(claims, fc.nat(), fc.constantFrom(...alphabet), async (c, at, ch) => {
        const token = await signUrlToken(RING, "k1", c);
        const i = at % token.length;
        fc.pre(token[i] !== ch);
        const tampered = token.slice(0, i) + ch + token.slice(i + 1);
        expect((await verifyUrlToken(RING, tampered, c.titleId, NOW)).ok).toBe(false);
      }),
      FC,
    );
  });

  it("no string that was not signed with a ring key verifies", async () => {
    const tokenish = fc
      .tuple(
        fc.constantFrom("v1", "v2", "v3", "v4", "v5", "V5", ""),
        fc.oneof(fc.constantFrom("k1", "k0", "__proto__", "constructor"), fc.string({ maxLength: 20 })),
        fc.stringMatching(/^[A-Za-z0-9-]{0,70}$/),
        fc.oneof(fc.stringMatching(/^\d{0,16}$/), fc.string({ maxLength: 16 })),
        fc.oneof(fc.stringMatching(/^\d{0,14}$/), fc.string({ maxLength: 14 })),
        fc.oneof(fc.stringMatching(/^\d{0,6}$/), fc.string({ maxLength: 6 })),
        fc.oneof(fc.stringMatching(/^\d{0,10}$/), fc.string({ maxLength: 10 })),
        fc.oneof(fc.constantFrom("lumen-nyc", "__proto__"), fc.stringMatching(/^[A-Za-z0-9_.-]{0,20}$/)),
        fc.oneof(fc.constantFrom("US", "us", "ZZ"), fc.string({ maxLength: 3 })),
        fc.oneof(fc.stringMatching(/^[0-9a-f]{62,66}$/), fc.string({ maxLength: 70 })),
        fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{40,46}$/), fc.string({ maxLength: 50 })),
      )
      .map((p) => p.join("."));
    await fc.assert(
      fc.asyncProperty(fc.oneof(tokenish, fc.string({ maxLength: 360 })), async (t) => {
        expect((await verifyUrlToken(RING, t, "t1", NOW)).ok).toBe(false);
      }),
      { ...FC, numRuns: 1000 },
    );
  });

  it("accept exactly one encoding of a set of claims: no leading zeros, no alternative MAC text", async () => {
    const c = {
      titleId: "t1",
      sessionId: "s-1",
      exp: NOW + 600,
      maxHeight: 720,
      version: 3,
      home: "lumen-nyc",
      country: "US",
      issuedAt: NOW * 1000 - 5,
      streams: "0a".repeat(32),
    };
    const token = await signUrlToken(RING, "k1", c);
    const [v, kid, sid, iat, exp, height, ver, home, country, streams, mac] = token.split(".");
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const variants = [
      [v, kid, sid, `0${iat}`, exp, height, ver, home, country, streams, mac],
      // Another issue time: a session granted before a licence stopped would pass for one granted after it.
      [v, kid, sid, String(Number(iat) + 10), exp, height, ver, home, country, streams, mac],
      [v, kid, sid, iat, `0${exp}`, height, ver, home, country, streams, mac],
      [v, kid, sid, iat, exp, `0${height}`, ver, home, country, streams, mac],
      [v, kid, sid, iat, exp, height, `0${ver}`, home, country, streams, mac],
      [v, kid, sid, iat, exp, height, "4", home, country, streams, mac],
      // Another home site: viewing history and CMCD would land at a site the signer did not choose.
      [v, kid, sid, iat, exp, height, ver, "ixp-nyc", country, streams, mac],
      // Another country, or the same spelt in lower case: a licence's end there would not stop the session.
      [v, kid, sid, iat, exp, height, ver, home, "DE", streams, mac],
      [v, kid, sid, iat, exp, height, ver, home, country.toLowerCase(), streams, mac],
      // Another member's object, or the same id spelt in capitals: activity would count for someone else.
      [v, kid, sid, iat, exp, height, ver, home, country, "0b".repeat(32), mac],
      [v, kid, sid, iat, exp, height, ver, home, country, streams.toUpperCase(), mac],
      // The format before it (no country, no issue time) and a version label that does not match the MAC text.
      ["v4", kid, sid, exp, height, ver, home, streams, mac],
      ["v4", kid, sid, iat, exp, height, ver, home, country, streams, mac],
      [v, kid, sid, iat, `+${exp}`, height, ver, home, country, streams, mac],
      [v, kid, sid, iat, exp, height, ver, home, country, streams, `${mac}=`],
      [v, kid, sid, iat, exp, height, ver, home, country, streams, `${mac}A`],
      // The 43rd character carries 4 bits of the MAC and 2 spare bits: setting a spare bit must not verify.
      [v, kid, sid, iat, exp, height, ver, home, country, streams, mac.slice(0, -1) + alphabet[alphabet.indexOf(mac.at(-1)!) | 1]],
      [v, kid.toUpperCase(), sid, iat, exp, height, ver, home, country, streams, mac],
    ].map((p) => p.join("."));
    for (const t of variants) {
      if (t === token) continue;
      expect((await verifyUrlToken(RING, t, "t1", NOW)).ok, t).toBe(false);
    }
    expect(await verifyUrlToken(RING, token, "t1", NOW)).toEqual({ ok: true, claims: c });
  });

  it("parse a key ring only from a JSON object of plain key ids to long secrets", () => {
    expect(parseKeyRing(undefined)).toMatchObject({ ok: false });
    expect(parseKeyRing("")).toMatchObject({ ok: false });
    expect(parseKeyRing("{")).toMatchObject({ ok: false, reason: "URL_SIGNING_KEYS is not JSON" });
    expect(parseKeyRing("[]")).toMatchObject({ ok: false });
    expect(parseKeyRing("{}")).toMatchObject({ ok: false, reason: "URL_SIGNING_KEYS holds no keys" });
    expect(parseKeyRing('{"k1":"short"}')).toMatchObject({ ok: false });
    expect(parseKeyRing('{"__proto__":"0123456789abcdef0123"}')).toMatchObject({ ok: false });
    expect(parseKeyRing('{"constructor":"0123456789abcdef0123"}')).toMatchObject({ ok: false });
    const good = parseKeyRing('{"k1":"0123456789abcdef0123","k2":"abcdef0123456789abcd"}');
    expect(good.ok && [...good.ring.keys()]).toEqual(["k1", "k2"]);
  });
});
