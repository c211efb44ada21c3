import { describe, expect, it } from "vitest";
import { ADMIN, call, fill, publishTitle } from "./fixtures";

/**
 * A manual fill's placements are checked whole before any copy: its site and OCA ids by the one id rule
 * (as in the path of every other admin route), and each (site, OCA, title) once. Listed twice, a pair was
 * copied twice over and reported twice, and a request of 20,000 copies of one pair spent its budget of
 * site object calls on nothing.
 */

type ErrorBody = { error: { code: string; message: string; details?: { issues?: Array<{ path: string }> } } };

describe("a manual fill's placements", () => {
  it("refuses a site or OCA id that breaks the id rule with 400 naming the field", async () => {
    await publishTitle("placement-ids", { segmentBytes: 1024 });
    for (const [siteId, ocaId, field] of [
      ["lumen nyc", "lumen-nyc-1", "placements.0.siteId"],
      ["__proto__", "lumen-nyc-1", "placements.0.siteId"],
      ["lumen-nyc", "lumen-nyc-1/..", "placements.0.ocaId"],
    ]) {
      const res = await fill([{ siteId, ocaId, titleIds: ["placement-ids"] }]);
      expect(res.status, siteId).toBe(400);
      const err = ((await res.json()) as ErrorBody).error;
      expect(err.code).toBe("invalid_request");
      expect(err.details?.issues?.map((i) => i.path)).toContain(field);
    }
  });

  it("refuses a title listed twice on the same OCA, and copies nothing", async () => {
    await publishTitle("placement-twice", { segmentBytes: 1024 });
    for (const placements of [
      [{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: ["placement-twice", "placement-twice"] }],
      [
        { siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: ["placement-twice"] },
        { siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: ["placement-twice"] },
      ],
    ]) {
      const res = await fill(placements);
      expect(res.status).toBe(400);
      const err = ((await res.json()) as ErrorBody).error;
      expect(err).toMatchObject({ code: "duplicate_placement" });
      expect(err.message).toContain("lumen-nyc/lumen-nyc-1");
    }
    const page = (await (await call("/admin/sites/lumen-nyc/ocas/lumen-nyc-1/titles", { headers: ADMIN })).json()) as { titles: Array<{ titleId: string }> };
    expect(page.titles.map((t) => t.titleId)).not.toContain("placement-twice");
    // Listed once, it is copied.
    const ok = await fill([{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: ["placement-twice"] }]);
    expect(ok.status).toBe(200);
  });
});
