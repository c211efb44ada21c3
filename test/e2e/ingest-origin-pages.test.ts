import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileEntry } from "../../ingest/package";
import { originListing, PublishError, publishTitle, type TitleRegistration } from "../../ingest/publish";

/**
 * GET /admin/origin/{titleId} answers a page at a time (`cursor` while more remain); ingest needs the
 * whole listing to upload only what origin lacks, so it follows the cursor to the end. The admin API is
 * faked here: the Worker pages at 1,000 files, which a test title would take minutes to upload
 * (test/origin-listing-pages.test.ts pages the real route).
 */

const TITLE = "origin-pages";
const TOKEN = "admin-token-0123456789";
let dir: string;
let files: FileEntry[];

/** An admin API listing `listed` two files a page; GETs and PUTs recorded. */
function pagedAdmin(listed: FileEntry[], opts: { cursorForever?: boolean } = {}) {
  const gets: string[] = [];
  const puts: string[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    if (method === "GET" && url.pathname === `/admin/origin/${TITLE}`) {
      gets.push(url.search);
      const from = opts.cursorForever ? 0 : Number(url.searchParams.get("cursor") ?? "0");
      const page = listed.slice(from, from + 2).map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 }));
      const next = from + 2 < listed.length ? { cursor: String(from + 2) } : {};
      return Response.json({ titleId: TITLE, files: page, ...(opts.cursorForever ? { cursor: "2" } : next) });
    }
    if (method === "PUT" && url.pathname.startsWith(`/admin/origin/${TITLE}/`)) {
      puts.push(decodeURIComponent(url.pathname.slice(`/admin/origin/${TITLE}/`.length)));
      await new Response(init?.body as ReadableStream).arrayBuffer();
      return Response.json({}, { status: 201 });
    }
    if (method === "PUT" && url.pathname === `/admin/titles/${TITLE}`) return Response.json({ titleId: TITLE, version: 1 });
    return Response.json({ error: { code: "not_found" } }, { status: 404 });
  }) as typeof fetch;
  return { gets, puts, fetch: fetchImpl };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-origin-pages-"));
  files = [];
  for (let i = 1; i <= 7; i++) {
    const p = `video/avc-90p/seg-${String(i).padStart(5, "0")}.m4s`;
    const text = `segment ${i}`;
    await mkdir(path.join(dir, "video", "avc-90p"), { recursive: true });
    await writeFile(path.join(dir, ...p.split("/")), text);
    files.push({ path: p, bytes: Buffer.byteLength(text), sha256: createHash("sha256").update(text).digest("hex") });
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ingest's view of origin across pages", () => {
  it("follows the cursor to the last page and lists every file", async () => {
    const admin = pagedAdmin(files);
    const listing = await originListing({ baseUrl: "http://admin.example", adminToken: TOKEN, fetch: admin.fetch }, TITLE);
    expect(admin.gets).toEqual(["", "?cursor=2", "?cursor=4", "?cursor=6"]);
    expect([...listing.keys()].sort()).toEqual(files.map((f) => f.path).sort());
  });

  it("uploads only what is on no page: a re-run whose files are all in origin uploads none", async () => {
    const registration = { name: "x", description: "", durationS: 7, renditions: [], files, licences: [] } as unknown as TitleRegistration;
    const all = pagedAdmin(files);
    const r = await publishTitle({ baseUrl: "http://admin.example", adminToken: TOKEN, fetch: all.fetch }, TITLE, dir, registration);
    expect(r).toMatchObject({ uploaded: 0, skipped: 7, registered: true });
    expect(all.puts).toEqual([]);
    // One file missing from origin (on what would be the last page): that one alone is uploaded.
    const short = pagedAdmin(files.filter((f) => f.path !== files[6].path));
    const again = await publishTitle({ baseUrl: "http://admin.example", adminToken: TOKEN, fetch: short.fetch }, TITLE, dir, registration);
    expect(again).toMatchObject({ uploaded: 1, skipped: 6 });
    expect(short.puts).toEqual([files[6].path]);
  });

  it("fails in one line, rather than list forever, when a page gives back a cursor it gave before", async () => {
    const admin = pagedAdmin(files, { cursorForever: true });
    const err = await originListing({ baseUrl: "http://admin.example", adminToken: TOKEN, fetch: admin.fetch }, TITLE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    expect((err as Error).message).toMatch(/^GET \/admin\/origin\/origin-pages: the listing does not end/);
    expect(admin.gets.length).toBe(2);
  });

  it("names the page a refusal came on, as one line", async () => {
    const refuses = (async (input: string | URL | Request) =>
      String(input).includes("cursor=")
        ? Response.json({ error: { code: "invalid_cursor", message: "cursor is not one this API gave" } }, { status: 400 })
        : Response.json({ titleId: TITLE, files: [], cursor: "abc" })) as typeof fetch;
    const err = await originListing({ baseUrl: "http://admin.example", adminToken: TOKEN, fetch: refuses }, TITLE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    expect((err as Error).message).toMatch(/^GET \/admin\/origin\/origin-pages\?cursor=abc: 400 .*invalid_cursor/);
    expect((err as Error).message).not.toContain("\n");
  });
});
