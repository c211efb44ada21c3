import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { originKey, versionIndexKey } from "../shared/file-keys";
import worker from "../workers/index";
import { ADMIN, call, sha256Hex } from "./fixtures";

/**
 * GET /admin/origin/{titleId} lists a title's files a page at a time: every version's files stay in
 * origin, so a title's listing grows with its versions (up to 20,000 files each) and one answer of all
 * of them would be unbounded. Each page costs a bounded number of R2 list calls; the pages together
 * list every file once.
 */

const TITLE = "origin-pages";
/** 1,050 paths in two contents each (two versions' files): 2,100 files, more than two pages of 1,000. */
const PATHS = Array.from({ length: 1050 }, (_, i) => `video/avc-240p/seg-${String(i + 1).padStart(5, "0")}.m4s`);
const CONTENTS = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6, 7])];
const expected: string[] = [];

type Listing = { titleId: string; files: Array<{ path: string; bytes: number; sha256: string }>; cursor?: string };

/** Every page of the listing, following the cursor; the R2 list calls of each page counted. */
async function allPages(query: string): Promise<Array<{ body: Listing; listCalls: number }>> {
  const pages: Array<{ body: Listing; listCalls: number }> = [];
  let cursor: string | undefined;
  do {
    // Origin's calls counted by a proxy around the binding: the one thing mocked here.
    let listCalls = 0;
    const origin = new Proxy(env.ORIGIN, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (key === "list") listCalls++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const q = [query, cursor ? `cursor=${encodeURIComponent(cursor)}` : ""].filter(Boolean).join("&");
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`http://cdn.test/admin/origin/${TITLE}${q ? `?${q}` : ""}`, { headers: ADMIN }),
      { ...env, ORIGIN: origin },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as Listing;
    pages.push({ body, listCalls });
    cursor = body.cursor;
    if (pages.length > 50) throw new Error("the cursor never ends");
  } while (cursor);
  return pages;
}

const error = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

beforeAll(async () => {
  for (const bytes of CONTENTS) {
    const sha256 = await sha256Hex(bytes);
    for (let i = 0; i < PATHS.length; i += 100)
      await Promise.all(PATHS.slice(i, i + 100).map((p) => env.ORIGIN.put(originKey(TITLE, p, sha256), bytes, { customMetadata: { sha256 } })));
    for (const p of PATHS) expected.push(`${p} ${sha256}`);
  }
  // Not files: a version index and a key without a content tag, which no page lists.
  await env.ORIGIN.put(versionIndexKey(TITLE, 1), "{}");
  await env.ORIGIN.put(`${TITLE}/stray.bin`, "x");
}, 60_000);

describe("the origin listing of a title with more files than a page", () => {
  it("lists every file exactly once across pages of at most 1,000, each page a bounded number of R2 list calls", { timeout: 60_000 }, async () => {
    const pages = await allPages("");
    expect(pages.length).toBe(3);
    for (const p of pages) {
      expect(p.body.titleId).toBe(TITLE);
      expect(p.body.files.length).toBeLessThanOrEqual(1000);
      // up to 10 list calls to fill the page (fewer keys a call with their checksums) and one to see if more remain
      expect(p.listCalls).toBeLessThanOrEqual(11);
    }
    // Full pages while more remain, and no cursor on the last.
    expect(pages.map((p) => p.body.files.length)).toEqual([1000, 1000, 100]);
    expect(pages.map((p) => p.body.cursor === undefined)).toEqual([false, false, true]);
    const listed = pages.flatMap((p) => p.body.files.map((f) => `${f.path} ${f.sha256}`));
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed.sort()).toEqual([...expected].sort());
  });

  it("pages by the limit asked for", { timeout: 60_000 }, async () => {
    const pages = await allPages("limit=700");
    expect(pages.map((p) => p.body.files.length)).toEqual([700, 700, 700]);
    const listed = pages.flatMap((p) => p.body.files.map((f) => `${f.path} ${f.sha256}`));
    expect(new Set(listed).size).toBe(expected.length);
  });

  it("answers a title with fewer files than a page in one page without a cursor", async () => {
    const res = await call("/admin/origin/origin-pages-none", { headers: ADMIN });
    expect(await res.json()).toEqual({ titleId: "origin-pages-none", files: [] });
  });
});

describe("the origin listing's query", () => {
  it("refuses a limit that is not a whole number from 1 to 1,000 with 400 invalid_request", async () => {
    for (const limit of ["0", "1001", "-1", "2.5", "abc", ""]) {
      const res = await call(`/admin/origin/${TITLE}?limit=${limit}`, { headers: ADMIN });
      expect(res.status, `limit=${limit}`).toBe(400);
      expect((await error(res)).code).toBe("invalid_request");
    }
  });

  it("refuses a cursor it did not give with a 400 JSON error, never a 5xx", async () => {
    const bad: Array<[string, string]> = [
      ["not base64url!", "invalid_cursor"],
      ["%00", "invalid_cursor"],
      ["_w", "invalid_cursor"], // one byte, 0xff: not UTF-8
      ["a", "invalid_cursor"], // not a whole byte
      ["A".repeat(5000), "invalid_request"], // longer than any key it could name
    ];
    for (const [cursor, code] of bad) {
      const res = await call(`/admin/origin/${TITLE}?cursor=${encodeURIComponent(cursor)}`, { headers: ADMIN });
      expect(res.status, `cursor=${cursor.slice(0, 20)}`).toBe(400);
      expect((await error(res)).code).toBe(code);
    }
    const empty = await call(`/admin/origin/${TITLE}?cursor=`, { headers: ADMIN });
    expect(empty.status).toBe(400);
  });
});
