import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { dayNumber } from "../fill/day";
import { findSite } from "../workers/shared/topology";
import { ADMIN, call, fill, publishTitle } from "./fixtures";

/**
 * The lists of a site's state for operators run to the catalogue's size (an OCA's titles, its misses,
 * 90 days of viewing history per title): each answer lists a bounded page, says how many there are, and
 * pages on by a cursor to the whole list with nothing twice.
 */

const SITE = "rheinnet-muc";
const OCA = "rheinnet-muc-1";
const TITLES = ["lists-a", "lists-b", "lists-c"];
const site = () => env.OCA_SITE.get(env.OCA_SITE.idFromName(SITE));
const json = async <T>(path: string) => {
  const res = await call(path, { headers: ADMIN });
  return { status: res.status, body: (await res.json()) as T };
};

type SiteBody = {
  ocas: Array<{ ocaId: string; titles: Array<{ titleId: string; complete: boolean }>; titlesTotal: number; titlesCursor?: string }>;
  misses: Array<{ titleId: string; count: number }>;
  missesTotal: number;
};

beforeAll(async () => {
  for (const t of TITLES) await publishTitle(t);
  expect((await fill([{ siteId: SITE, ocaId: OCA, titleIds: TITLES }])).status).toBe(200);
  // Misses and viewing history written into the site's own tables (what syncs would write over days).
  const today = dayNumber(Date.now(), findSite(SITE)!.timeZone);
  await runInDurableObject(site(), async (_o, state) => {
    const sql = state.storage.sql;
    for (const [i, t] of TITLES.entries())
      sql.exec(`INSERT INTO misses (oca_id, title_id, kind, count, bytes) VALUES (?, ?, 'content', ?, 0)`, OCA, t, 10 * (i + 1));
    for (let d = 0; d < 4; d++)
      for (const t of TITLES) sql.exec(`INSERT INTO views (day, title_id, plays, bytes, est_bytes) VALUES (?, ?, 1, 100, 0)`, today - d, t);
  });
});

describe("a site's state", () => {
  it("lists a bounded number of each OCA's titles with their total, and pages on through the OCA's titles route", async () => {
    const { status, body } = await json<SiteBody>(`/admin/sites/${SITE}?titles=1`);
    expect(status).toBe(200);
    const oca = body.ocas.find((o) => o.ocaId === OCA)!;
    expect(oca.titles.map((t) => t.titleId)).toEqual(["lists-a"]);
    expect(oca.titles[0].complete).toBe(true);
    expect(oca.titlesTotal).toBe(3);
    const seen = oca.titles.map((t) => t.titleId);
    let cursor = oca.titlesCursor;
    while (cursor) {
      const page = await json<{ titles: Array<{ titleId: string }>; cursor?: string }>(`/admin/sites/${SITE}/ocas/${OCA}/titles?limit=1&cursor=${cursor}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.titles.map((t) => t.titleId));
      cursor = page.body.cursor;
    }
    expect(seen).toEqual(TITLES);
    const whole = await json<{ titles: Array<{ titleId: string }>; cursor?: string }>(`/admin/sites/${SITE}/ocas/${OCA}/titles`);
    expect(whole.body.titles.map((t) => t.titleId)).toEqual(TITLES);
    expect(whole.body.cursor).toBeUndefined();
  });

  it("lists the most frequent misses first, as many as asked, with how many there are", async () => {
    const { body } = await json<SiteBody>(`/admin/sites/${SITE}?misses=2&titles=0`);
    expect(body.misses.map((m) => [m.titleId, m.count])).toEqual([
      ["lists-c", 30],
      ["lists-b", 20],
    ]);
    expect(body.missesTotal).toBe(3);
    expect(body.ocas.every((o) => o.titles.length === 0)).toBe(true);
  });

  it("refuses counts past the bounds, an unknown OCA and a cursor that is no title id", async () => {
    for (const path of [
      `/admin/sites/${SITE}?titles=1001`,
      `/admin/sites/${SITE}?misses=-1`,
      `/admin/sites/${SITE}/ocas/${OCA}/titles?limit=0`,
      `/admin/sites/${SITE}/ocas/${OCA}/titles?cursor=__proto__`,
    ]) {
      const { status, body } = await json<{ error: { code: string } }>(path);
      expect(status, path).toBe(400);
      expect(body.error.code).toBe("invalid_request");
    }
    const unknown = await json<{ error: { code: string } }>(`/admin/sites/${SITE}/ocas/nowhere-9/titles`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("unknown_oca");
  });
});

describe("a site's viewing history", () => {
  type ViewsBody = { views: Array<{ day: number; titleId: string }>; cursor?: string };

  it("answers a page at a time by day then title, and its cursor reaches every row once", async () => {
    const whole = await json<ViewsBody>(`/admin/sites/${SITE}/views?days=7`);
    expect(whole.body.views).toHaveLength(12);
    expect(whole.body.cursor).toBeUndefined();
    const rows: ViewsBody["views"] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await json<ViewsBody>(`/admin/sites/${SITE}/views?days=7&limit=5${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      expect(page.body.views.length).toBeLessThanOrEqual(5);
      rows.push(...page.body.views);
      cursor = page.body.cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(rows).toEqual(whole.body.views);
    const keys = rows.map((r) => `${r.day}:${r.titleId}`);
    expect(new Set(keys).size).toBe(12);
    expect([...keys].sort((a, b) => (a < b ? -1 : 1))).toEqual(keys);
  });

  it("refuses a page size past 5,000 and a cursor it did not give", async () => {
    for (const q of ["limit=5001", "limit=0", "cursor=abc", "cursor=1:__proto__x!", `cursor=${"9".repeat(12)}:a`]) {
      const { status, body } = await json<{ error: { code: string } }>(`/admin/sites/${SITE}/views?${q}`);
      expect(status, q).toBe(400);
      expect(body.error.code).toBe("invalid_request");
    }
  });
});
