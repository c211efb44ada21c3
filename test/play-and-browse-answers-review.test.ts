import { beforeAll, describe, expect, it } from "vitest";
import { call, GEO, memberToken, patternBytes, pressPlay, publishTitle } from "./fixtures";

/**
 * An attacker's and an operator's review of what a viewer's app asks of the control plane: the play
 * request taken only as documented, per-member answers kept by no shared cache, the browse page's
 * limit read as written, and a poster shown only for a title a browse list could show.
 */

type ErrorBody = { error: { code: string; message: string; details?: { issues?: Array<{ path: string; message: string }> } } };

const TITLE = "review-play";
let member: string;

/** A JPEG's first bytes, then a pattern. */
const jpeg = (n: number, seed: number) => {
  const bytes = patternBytes(n, seed);
  bytes.set([0xff, 0xd8, 0xff, 0xe0]);
  return bytes;
};

beforeAll(async () => {
  await publishTitle(TITLE);
  member = await memberToken("premium");
});

describe("POST /v1/play", () => {
  it("refuses a field it does not take, at the top or in device, with 400 naming it (a misspelt cap is not dropped)", async () => {
    for (const body of [
      { titleId: TITLE, device: { codecs: ["avc1", "mp4a"], maxheight: 480 } },
      { titleId: TITLE, maxHeight: 4320 },
      { titleId: TITLE, plan: "premium", device: { codecs: ["avc1", "mp4a"], maxHeight: 720 } },
    ]) {
      const res = await pressPlay(await memberToken("basic"), body, GEO.lumenNyc);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = ((await res.json()) as ErrorBody).error;
      expect(err.code).toBe("invalid_request");
      expect(err.message).toMatch(/maxheight|maxHeight|plan/);
    }
    // JSON.parse makes "__proto__" an own key: refused as any other field, never merged into the request.
    const res = await call("/v1/play", {
      method: "POST",
      headers: { Authorization: `Bearer ${member}`, "Content-Type": "application/json" },
      body: `{"titleId":"${TITLE}","__proto__":{"device":{"maxHeight":4320}}}`,
      geo: GEO.lumenNyc,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toContain("__proto__");
  });

  it("refuses reserved and non-ASCII title ids and out-of-range numbers with 400, never a 5xx", async () => {
    for (const body of [
      { titleId: "__proto__" },
      { titleId: "constructor" },
      { titleId: "tïtle" },
      { titleId: TITLE, device: { codecs: ["avc1"], maxHeight: 1e308 } },
      { titleId: TITLE, device: { codecs: ["avc1"], maxHeight: 720.5 } },
    ]) {
      const res = await pressPlay(member, body, GEO.lumenNyc);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as ErrorBody).error.code).toBe("invalid_request");
    }
  });

  it("answers a signed session with Cache-Control: no-store, and its cap from the plan, not the device", async () => {
    const res = await pressPlay(await memberToken("basic"), { titleId: TITLE, device: { codecs: ["avc1", "mp4a"], maxHeight: 2160 } }, GEO.lumenNyc);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const p = (await res.json()) as { maxHeight: number; ocas: unknown[]; sessionId: string };
    // The basic plan's cap (480p in the seed's plans), whatever the device claims.
    expect(p.maxHeight).toBe(480);
    expect(p.ocas.length).toBeGreaterThan(0);
    expect(p.ocas.length).toBeLessThanOrEqual(10);
  });
});

describe("GET /v1/titles", () => {
  it("answers with Cache-Control: private, no-store (one member's page, behind its token)", async () => {
    const res = await call("/v1/titles?limit=5", { headers: { Authorization: `Bearer ${member}` }, geo: GEO.lumenNyc });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("private, no-store");
  });

  it("reads limit as decimal digits only: 1e1, 0x10, a blank and a fraction are 400, not another page size", async () => {
    for (const limit of ["1e1", "0x10", "%205", "2.0", ""]) {
      const res = await call(`/v1/titles?limit=${limit}`, { headers: { Authorization: `Bearer ${member}` }, geo: GEO.lumenNyc });
      expect(res.status, `limit=${limit}`).toBe(400);
      expect(((await res.json()) as ErrorBody).error.code).toBe("invalid_request");
    }
    const ok = await call("/v1/titles?limit=1", { headers: { Authorization: `Bearer ${member}` }, geo: GEO.lumenNyc });
    expect(((await ok.json()) as { titles: unknown[] }).titles.length).toBe(1);
  });
});

describe("GET /v1/titles/{id}/poster/{version}", () => {
  it("says nosniff: the API's own origin serves it, so a browser takes it only as its image type", async () => {
    const t = await publishTitle("review-poster", { change: { "poster.jpg": jpeg(3000, 5) }, register: { poster: "poster.jpg" } });
    for (const method of ["GET", "HEAD"]) {
      const res = await call(`/v1/titles/review-poster/poster/${t.version}`, { method });
      expect(res.status, method).toBe(200);
      expect(res.headers.get("Content-Type")).toBe("image/jpeg");
      expect(res.headers.get("X-Content-Type-Options"), method).toBe("nosniff");
      await res.arrayBuffer();
    }
  });

  it("is 404 for a title not launched yet, as for an unknown one: an embargoed title's artwork is not public", async () => {
    const later = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const t = await publishTitle("review-embargo", { availableFrom: later, change: { "poster.jpg": jpeg(3000, 6) }, register: { poster: "poster.jpg" } });
    const res = await call(`/v1/titles/review-embargo/poster/${t.version}`);
    expect(res.status).toBe(404);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(((await res.json()) as ErrorBody).error.code).toBe("unknown_title");
    // Play refuses it the same way it always did: 403 not_released.
    const play = await pressPlay(member, { titleId: "review-embargo" }, GEO.lumenNyc);
    expect(play.status).toBe(403);
    expect(((await play.json()) as ErrorBody).error.code).toBe("not_released");
  });

  it("is 404 once the title's every licence has ended (taken down for new plays and sessions alike)", async () => {
    const t = await publishTitle("review-lapsed", {
      licences: [{ country: "US", availableFrom: "2020-01-01T00:00:00.000Z", availableUntil: "2021-01-01T00:00:00.000Z" }],
      change: { "poster.jpg": jpeg(3000, 7) },
      register: { poster: "poster.jpg" },
    });
    const res = await call(`/v1/titles/review-lapsed/poster/${t.version}`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error.code).toBe("unknown_title");
  });
});

describe("POST /v1/play with a body not declared JSON", () => {
  it("is 415 unsupported_media_type saying so, not a 400 about a missing titleId", async () => {
    for (const type of ["text/plain;charset=UTF-8", "application/x-www-form-urlencoded"]) {
      const res = await call("/v1/play", {
        method: "POST",
        headers: { Authorization: `Bearer ${member}`, "Content-Type": type },
        body: JSON.stringify({ titleId: TITLE }),
        geo: GEO.lumenNyc,
      });
      expect(res.status, type).toBe(415);
      expect(((await res.json()) as ErrorBody).error.code).toBe("unsupported_media_type");
    }
  });
});
