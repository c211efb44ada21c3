import { describe, expect, it } from "vitest";
import { ADMIN, call, publishTitle, siteBody } from "./fixtures";

/**
 * What an operator (or a script) may send the admin API by mistake: a body not declared JSON, a field
 * misspelt, a title id that names nothing, thousands of unknown ids. Each is a clear 4xx in the one
 * error shape, and nothing changes.
 */

const SITE = "lumen-nyc";
const OCA = "lumen-nyc-1";
const FAULT = `/admin/sites/${SITE}/ocas/${OCA}/fault`;
const JSON_ADMIN = { ...ADMIN, "Content-Type": "application/json" };
type ErrorBody = { error: { code: string; message: string; details?: unknown } };

async function faultNow(): Promise<unknown> {
  const state = (await (await call(`/admin/sites/${SITE}?titles=0&misses=0`, { headers: ADMIN })).json()) as {
    ocas: Array<{ ocaId: string; load: { fault?: unknown } }>;
  };
  return state.ocas.find((o) => o.ocaId === OCA)?.load.fault ?? null;
}

describe("admin bodies an operator sends by mistake", () => {
  it("refuses a body not declared JSON with 415, and the fault switch set before stands", async () => {
    expect((await call(FAULT, { method: "POST", headers: JSON_ADMIN, body: '{"errorRate":0.5}' })).status).toBe(200);
    try {
      // curl -d sends form-encoded; fetch with a string body sends text/plain: both were read as {} and cleared the fault.
      for (const type of ["application/x-www-form-urlencoded", "text/plain;charset=UTF-8", undefined]) {
        const headers: Record<string, string> = { ...ADMIN, ...(type ? { "Content-Type": type } : {}) };
        const res = await call(FAULT, { method: "POST", headers, body: '{"errorRate":0.7}' });
        expect(res.status, String(type)).toBe(415);
        expect(((await res.json()) as ErrorBody).error.code).toBe("unsupported_media_type");
      }
      expect(await faultNow()).toMatchObject({ errorRate: 0.5 });
      // Run with every default instead of the body's (here an invalid rate, which must be refused, not ignored).
      const cycle = await call(`/admin/sites/${SITE}/fill-cycle`, {
        method: "POST",
        headers: { ...ADMIN, "Content-Type": "text/plain" },
        body: '{"fillRateBps":-1}',
      });
      expect(cycle.status).toBe(415);
      // A JSON type with parameters, or a +json suffix, is JSON.
      const charset = await call(FAULT, {
        method: "POST",
        headers: { ...ADMIN, "Content-Type": "application/json; charset=utf-8" },
        body: '{"errorRate":0.25}',
      });
      expect(charset.status).toBe(200);
      expect(await faultNow()).toMatchObject({ errorRate: 0.25 });
    } finally {
      await call(FAULT, { method: "POST", headers: JSON_ADMIN, body: "{}" });
    }
  });

  it("refuses a misspelt or unknown field with 400 naming it, instead of dropping it and acting on the defaults", async () => {
    expect((await call(FAULT, { method: "POST", headers: JSON_ADMIN, body: '{"errorRate":0.5}' })).status).toBe(200);
    try {
      const typo = await call(FAULT, { method: "POST", headers: JSON_ADMIN, body: '{"errorrate":0.7}' });
      expect(typo.status).toBe(400);
      const err = ((await typo.json()) as ErrorBody).error;
      expect(err.code).toBe("invalid_request");
      expect(err.message).toContain("errorrate");
      expect(await faultNow()).toMatchObject({ errorRate: 0.5 });
    } finally {
      await call(FAULT, { method: "POST", headers: JSON_ADMIN, body: "{}" });
    }
    const refused: Array<[string, unknown]> = [
      [`/admin/sites/${SITE}/ocas/${OCA}/health`, { health: "healthy", force: true }],
      [`/admin/sites/${SITE}/fill-cycle`, { fillRateBPS: 1000 }],
      [`/admin/sites/${SITE}/ocas/${OCA}/capacity`, { capacityBytes: 1, throughput: 5 }],
      [`/admin/sites/${SITE}/chaos`, { unreachable: false, __proto__x: 1 }],
      ["/admin/fill", { placements: [{ siteId: SITE, ocaId: OCA, titleIds: ["x"], titleID: ["y"] }] }],
      ["/admin/topology/sites", siteBody("review-typo", { fillwindow: { startHour: 1, endHour: 5 } })],
      ["/admin/topology/sites", siteBody("review-typo", { fillWindow: { startHour: 1, endHour: 5, endMinute: 30 } })],
      [`/admin/topology/sites/${SITE}/ocas`, { id: "review-typo-1", capacityBytes: 1, throughputBps: 1, tier: "ssd" }],
      ["/admin/topology/isps", { id: "review-isp", name: "x", asns: [64999], asn: 1 }],
    ];
    for (const [path, body] of refused) {
      const res = await call(path, { method: "POST", headers: JSON_ADMIN, body: JSON.stringify(body) });
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as ErrorBody).error.code, path).toBe("invalid_request");
    }
    const topology = (await (await call("/admin/topology", { headers: ADMIN })).json()) as { sites: Array<{ id: string }>; isps: Array<{ id: string }> };
    expect(topology.sites.map((s) => s.id)).not.toContain("review-typo");
    expect(topology.isps.map((i) => i.id)).not.toContain("review-isp");
  });

  it("answers the eviction of a title the catalogue never had with 404 unknown_title; a known one not held evicts nothing, twice", async () => {
    const unknown = await call(`/admin/sites/${SITE}/ocas/${OCA}/titles/review-never-was`, { method: "DELETE", headers: ADMIN });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ErrorBody).error.code).toBe("unknown_title");
    await publishTitle("review-known", { segmentBytes: 1024 });
    for (let i = 0; i < 2; i++) {
      const res = await call(`/admin/sites/${SITE}/ocas/${OCA}/titles/review-known`, { method: "DELETE", headers: ADMIN });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ titleId: "review-known", evicted: { files: 0, bytes: 0 } });
    }
  });

  it("names a few of thousands of unknown titles of a fill, not every one in its message", async () => {
    const placements = Array.from({ length: 20 }, (_, p) => ({
      siteId: SITE,
      ocaId: OCA,
      titleIds: Array.from({ length: 100 }, (_, i) => `review-missing-${p}-${i}-${"x".repeat(40)}`),
    }));
    const res = await call("/admin/fill", { method: "POST", headers: JSON_ADMIN, body: JSON.stringify({ placements }) });
    expect(res.status).toBe(404);
    const err = ((await res.json()) as ErrorBody & { error: { details: { missing: number; titleIds: string[] } } }).error;
    expect(err.code).toBe("unknown_title");
    expect(err.message.length).toBeLessThan(600);
    expect(err.message).toContain("1995 more");
    expect(err.details.missing).toBe(2000);
    expect(err.details.titleIds).toHaveLength(100);
  });

  it("refuses a query number that is not plain decimal digits, and a query parameter it does not know", async () => {
    const refused = [
      `/admin/sites/${SITE}?titles=`,
      `/admin/sites/${SITE}?misses=0x5`,
      `/admin/sites/${SITE}/views?limit=1e1`,
      `/admin/sites/${SITE}/views?days=+3`,
      `/admin/sites/${SITE}/views?days=%203`,
      `/admin/sites/${SITE}/ocas/${OCA}/titles?limit=Infinity`,
      "/admin/origin/review-known?limit=0b11",
      "/admin/ops/overview?days=14&days=1",
      // Misspelt: the window was the default 14 days, and the operator read it as 3.
      `/admin/sites/${SITE}/views?day=3`,
      "/admin/ops/overview?dyas=3",
      `/admin/sites/${SITE}/ocas/${OCA}/titles?curosr=abc`,
      "/admin/sessions/3f0c6b3e-1111-4222-8333-444455556666/events?siteId=lumen-nyc",
    ];
    for (const path of refused) {
      const res = await call(path, { headers: ADMIN });
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as ErrorBody).error.code, path).toBe("invalid_request");
    }
    const views = (await (await call(`/admin/sites/${SITE}/views?days=3&limit=10`, { headers: ADMIN })).json()) as { fromDay: number; toDay: number };
    expect(views.toDay - views.fromDay).toBe(2);
    const state = await call(`/admin/sites/${SITE}?titles=0&misses=007`, { headers: ADMIN });
    expect(state.status).toBe(200);
  });

  it("refuses a title registration with a misspelt field before origin is asked", async () => {
    const sha256 = "0".repeat(64);
    const registration = {
      name: "Typo",
      durationS: 8,
      liveMinCopy: 2,
      renditions: [{ id: "avc-240p", kind: "video", codec: "avc1.64001e", width: 426, height: 240, bandwidth: 400000 }],
      files: [{ path: "master.m3u8", bytes: 1, sha256 }],
      licences: [{ country: "US", availableFrom: "2020-01-01T00:00:00.000Z" }],
    };
    const res = await call("/admin/titles/review-typo", { method: "PUT", headers: JSON_ADMIN, body: JSON.stringify(registration) });
    expect(res.status).toBe(400);
    const err = ((await res.json()) as ErrorBody).error;
    expect(err.code).toBe("invalid_request");
    expect(err.message).toContain("liveMinCopy");
  });

  it("refuses a misspelt field inside a licence, a rendition or a file, naming it (a licence's end was dropped, leaving it open-ended)", async () => {
    const sha256 = "0".repeat(64);
    const base = {
      name: "Nested typo",
      durationS: 8,
      renditions: [
        { id: "avc-240p", kind: "video", codec: "avc1.64001e", width: 426, height: 240, bandwidth: 400000, frameRate: 25, averageBandwidth: 300000 },
      ],
      files: [{ path: "master.m3u8", bytes: 1, sha256 }],
      licences: [{ country: "US", availableFrom: "2020-01-01T00:00:00.000Z", availableUntil: "2030-01-01T00:00:00.000Z" }],
    };
    const typos = [
      { licences: [{ country: "US", availableFrom: "2020-01-01T00:00:00.000Z", availableUntill: "2021-01-01T00:00:00.000Z" }], field: "availableUntill" },
      { renditions: [{ ...base.renditions[0], bandwith: 1 }], field: "bandwith" },
      { files: [{ ...base.files[0], sha265: sha256 }], field: "sha265" },
    ];
    for (const { field, ...typo } of typos) {
      const res = await call("/admin/titles/review-nested-typo", { method: "PUT", headers: JSON_ADMIN, body: JSON.stringify({ ...base, ...typo }) });
      expect(res.status, field).toBe(400);
      const err = ((await res.json()) as ErrorBody).error;
      expect(err.code).toBe("invalid_request");
      expect(err.message).toContain(field);
    }
  });
});
