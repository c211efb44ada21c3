import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fill, publishTitle } from "./fixtures";
import { siteObject } from "./site-fill";

/**
 * What a site tells the planner it holds (its `current`): where copies' bytes are, which is not where
 * viewers are sent (steering lists only copies checked complete). A complete copy whose older
 * version's stale file is still being removed (a prune cut off, or under way when the cron reads) is
 * held, as is a copy whose fill is part-way; a copy being evicted is not.
 */

const SITE = "polder-ams";
const OCA = "polder-ams-1";

/** Adds a row of `state` for a file of `titleId` that no version of it lists any more. */
const strayRow = (titleId: string, path: string, state: "evicting" | "filling") =>
  runInDurableObject(siteObject(SITE), async (_o, s) => {
    s.storage.sql.exec(
      `INSERT INTO holdings (oca_id, title_id, path, sha256, bytes, state, source, updated_at) VALUES (?, ?, ?, 'a1b2c3d4e5f6a7b8', 10, ?, NULL, 0)`,
      OCA,
      titleId,
      path,
      state,
    );
  });

const listedOn = async (titleId: string) =>
  (await env.DB.prepare(`SELECT oca_id FROM oca_titles WHERE site_id = ? AND title_id = ?`).bind(SITE, titleId).all<{ oca_id: string }>()).results.map(
    (r) => r.oca_id,
  );

describe("the titles a site tells the planner it holds", () => {
  it("counts a complete copy while a stale file of it is being removed, and one whose fill is part-way", async () => {
    await publishTitle("held-pruning");
    await publishTitle("held-filling");
    expect((await fill([{ siteId: SITE, ocaId: OCA, titleIds: ["held-pruning", "held-filling"] }])).status).toBe(200);
    // Served: the steering view lists both.
    expect(await listedOn("held-pruning")).toEqual([OCA]);
    // A stale file of an older version half-removed; a file of a new version being copied.
    await strayRow("held-pruning", "video/avc-240p/seg-old.m4s", "evicting");
    await strayRow("held-filling", "video/avc-240p/seg-new.m4s", "filling");
    const held = (await siteObject(SITE).holdingsByOca())[OCA];
    expect(held).toContain("held-pruning");
    expect(held).toContain("held-filling");
  });

  it("does not count a copy being evicted", async () => {
    await publishTitle("held-evicting");
    expect((await fill([{ siteId: SITE, ocaId: OCA, titleIds: ["held-evicting"] }])).status).toBe(200);
    await runInDurableObject(siteObject(SITE), async (_o, s) => {
      s.storage.sql.exec(`UPDATE holdings SET state = 'evicting' WHERE oca_id = ? AND title_id = 'held-evicting'`, OCA);
    });
    expect((await siteObject(SITE).holdingsByOca())[OCA]).not.toContain("held-evicting");
  });
});
