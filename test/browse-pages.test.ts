import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, GEO, memberToken, publishTitle } from "./fixtures";
import { BROWSE_PAGE_DEFAULT, browsePage, compareBrowse, decodeBrowseCursor, encodeBrowseCursor } from "../workers/control/browse-page";

/**
 * `GET /v1/titles` a page at a time: a country's licensed catalogue (thousands of titles) is never one
 * answer. The cursor names the last title given, so titles taken down between pages shift nothing.
 */

type Page = { country: string; total: number; titles: Array<{ id: string; name: string }>; cursor?: string; error?: { code: string } };

let member: string;
const browse = async (query = "") => call(`/v1/titles${query}`, { headers: { Authorization: `Bearer ${member}` }, geo: GEO.lumenNyc });

/** Every page from the start, `limit` at a time. */
async function allPages(limit: number): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor: string | undefined;
  do {
    const res = await browse(`?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as Page;
    pages.push(page);
    cursor = page.cursor;
  } while (cursor && pages.length < 100);
  return pages;
}

beforeAll(async () => {
  member = await memberToken("premium");
  // Titles whose names tie: the list's order falls back to the id.
  for (const id of ["page-tie-b", "page-tie-a", "page-tie-c"]) await publishTitle(id, { register: { name: "Page Tie" } });
  for (const [id, name] of [
    ["page-accent", "Émile"],
    ["page-zulu", "Zulu"],
    ["page-alpha", "Alpha"],
    ["page-mid", "Middle"],
  ])
    await publishTitle(id, { register: { name } });
});

describe("the browse list a page at a time", () => {
  it("gives the whole list across pages, in name then id order, each title once, with the total on each page", async () => {
    const whole = (await (await browse(`?limit=200`)).json()) as Page;
    expect(whole.cursor).toBeUndefined();
    expect(whole.total).toBe(whole.titles.length);
    expect(whole.titles.length).toBeGreaterThan(6);
    const ids = whole.titles.map((t) => t.id);
    const tie = ids.filter((id) => id.startsWith("page-tie-"));
    expect(tie).toEqual(["page-tie-a", "page-tie-b", "page-tie-c"]);
    expect(ids.indexOf("page-tie-c") + 1).toBe(ids.indexOf("page-tie-a") + 3);
    expect([...whole.titles].sort(compareBrowse)).toEqual(whole.titles);

    const pages = await allPages(2);
    expect(pages.length).toBe(Math.ceil(whole.titles.length / 2));
    expect(pages.flatMap((p) => p.titles.map((t) => t.id))).toEqual(ids);
    for (const p of pages) expect(p.total).toBe(whole.total);
    expect(pages.at(-1)?.cursor).toBeUndefined();
    for (const p of pages.slice(0, -1)) expect(p.titles).toHaveLength(2);
  });

  it("gives at most the default page without a limit, and a cursor when more remain", async () => {
    const res = (await (await browse()).json()) as Page;
    expect(res.titles.length).toBe(Math.min(res.total, BROWSE_PAGE_DEFAULT));
    expect(res.cursor === undefined).toBe(res.total <= BROWSE_PAGE_DEFAULT);
  });

  it("goes on after a title of the page before was taken down, skipping none that stay", async () => {
    const first = (await (await browse("?limit=3")).json()) as Page;
    const rest = (await (await browse("?limit=200")).json()) as Page;
    const gone = first.titles[2].id;
    const del = await call(`/admin/titles/${gone}`, { method: "DELETE", headers: ADMIN });
    expect(del.status).toBe(200);
    const next = (await (await browse(`?limit=200&cursor=${encodeURIComponent(first.cursor!)}`)).json()) as Page;
    expect(next.titles.map((t) => t.id)).toEqual(rest.titles.slice(3).map((t) => t.id));
    expect(next.titles.map((t) => t.id)).not.toContain(gone);
  });

  it.each([
    ["a limit of 0", "?limit=0", "invalid_request"],
    ["a limit past 200", "?limit=201", "invalid_request"],
    ["a fractional limit", "?limit=2.5", "invalid_request"],
    ["a limit that is no number", "?limit=abc", "invalid_request"],
    ["a cursor that is not base64url", "?cursor=not-a-cursor!", "invalid_cursor"],
    ["a cut cursor", `?cursor=${encodeBrowseCursor({ name: "x", id: "y" }).slice(0, -2)}@@`, "invalid_cursor"],
    ["a cursor of another shape", `?cursor=${btoa('{"name":"x"}').replace(/=+$/, "")}`, "invalid_cursor"],
    ["a cursor of 3,000 characters", `?cursor=${"A".repeat(3000)}`, "invalid_request"],
  ])("refuses %s with a 400 naming what is wrong", async (_label, query, code) => {
    const res = await browse(query);
    expect(res.status).toBe(400);
    expect(((await res.json()) as Page).error?.code).toBe(code);
  });
});

describe("browsePage", () => {
  const list = ["a", "b", "c", "d", "e"].map((id) => ({ id, name: "n" }));

  it("starts after the cursor's title even when that title is no longer listed", () => {
    expect(browsePage(list, { name: "n", id: "bb" }, 2).items.map((t) => t.id)).toEqual(["c", "d"]);
    expect(browsePage(list, { name: "m", id: "z" }, 9).items).toHaveLength(5);
    expect(browsePage(list, { name: "o", id: "" }, 9)).toEqual({ items: [] });
  });

  it("gives a cursor only when titles remain past the page", () => {
    expect(browsePage(list, undefined, 5).next).toBeUndefined();
    const p = browsePage(list, undefined, 4);
    expect(decodeBrowseCursor(p.next!)).toEqual({ name: "n", id: "d" });
  });
});
