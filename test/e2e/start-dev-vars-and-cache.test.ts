import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDevVars } from "../../ingest/dev-vars";
import { CATALOGUE_FILE, loadCatalogueIfComplete, sourcesDigest, TITLE_IDS } from "../../r2-seed/build-catalogue";
import type { Catalogue } from "../../r2-seed/catalogue-types";
import { ensureDevVars } from "../../r2-seed/dev-vars";

/**
 * What `npm start` reuses from an earlier run: the .dev.vars it wrote (perhaps by an older version, or
 * edited by hand) and the demo catalogue it cached.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "review-seed-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe(".dev.vars from an earlier run", () => {
  it("gets a fresh value for each secret the Worker would refuse (empty, short, not a key ring with the signing key), and keeps the good ones", async () => {
    const file = path.join(dir, "weak.dev.vars");
    await writeFile(file, "DEV_MODE='true'\nMEMBER_JWT_SECRET='0123456789abcdef0123456789abcdef'\nADMIN_TOKEN=''\nURL_SIGNING_KEYS='{\"dev\":\"short\"}'\n");
    const changes: string[] = [];
    const vars = ensureDevVars({ file, onChange: (m) => changes.push(m) });
    expect(vars.ADMIN_TOKEN.length).toBeGreaterThanOrEqual(16);
    expect(vars.MEMBER_JWT_SECRET).toBe("0123456789abcdef0123456789abcdef");
    const ring = JSON.parse(vars.URL_SIGNING_KEYS) as Record<string, string>;
    expect(ring.k1?.length).toBeGreaterThanOrEqual(16);
    expect(changes.join("\n")).toMatch(/ADMIN_TOKEN/);
    expect(changes.join("\n")).toMatch(/URL_SIGNING_KEYS/);
    // what wrangler dev will read is what npm start seeds and prints with
    const onDisk = parseDevVars(await readFile(file, "utf8"));
    expect(onDisk.get("ADMIN_TOKEN")).toBe(vars.ADMIN_TOKEN);
    expect(onDisk.get("URL_SIGNING_KEYS")).toBe(vars.URL_SIGNING_KEYS);
  });

  it("fills in a variable an older version did not write, keeping the developer's own lines and making the file private", async () => {
    const file = path.join(dir, "old.dev.vars");
    const admin = "a".repeat(48);
    const keys = JSON.stringify({ k1: "b".repeat(64) });
    await writeFile(file, `# mine\nDEV_MODE='true'\nADMIN_TOKEN='${admin}'\nURL_SIGNING_KEYS='${keys}'\nCATALOGUE_TTL_S='0'\n`, { mode: 0o644 });
    const vars = ensureDevVars({ file });
    expect(vars.ADMIN_TOKEN).toBe(admin);
    expect(vars.URL_SIGNING_KEYS).toBe(keys);
    expect(vars.MEMBER_JWT_SECRET.length).toBeGreaterThanOrEqual(16);
    const text = await readFile(file, "utf8");
    expect(text).toContain("# mine");
    expect(parseDevVars(text).get("CATALOGUE_TTL_S")).toBe("0");
    expect(parseDevVars(text).get("MEMBER_JWT_SECRET")).toBe(vars.MEMBER_JWT_SECRET);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // a second run changes nothing
    expect(ensureDevVars({ file })).toEqual(vars);
    expect(await readFile(file, "utf8")).toBe(text);
  });
});

describe("the cached demo catalogue", () => {
  /** A complete-looking catalogue (every listed file present with its size) recording `sources`. */
  async function fakeCatalogue(cacheDir: string, sources: string | undefined): Promise<void> {
    const titles = [];
    for (const id of TITLE_IDS) {
      await mkdir(path.join(cacheDir, id), { recursive: true });
      await writeFile(path.join(cacheDir, id, "master.m3u8"), "#EXTM3U\n");
      titles.push({
        id,
        name: id,
        description: "",
        releaseYear: 2020,
        durationS: 24,
        renditions: [],
        files: [{ path: "master.m3u8", bytes: 8, sha256: "0".repeat(64) }],
      });
    }
    const catalogue: Catalogue = { version: 1, builtAt: "2024-01-01T00:00:00.000Z", ...(sources ? { sources } : {}), titles };
    await writeFile(path.join(cacheDir, CATALOGUE_FILE), JSON.stringify(catalogue));
  }

  it("is rebuilt when it was built from other demo sources (or by a version that did not record them), and reused otherwise", async () => {
    const current = path.join(dir, "cat-current");
    await fakeCatalogue(current, sourcesDigest());
    expect((await loadCatalogueIfComplete(current)).catalogue).not.toBeNull();

    const other = path.join(dir, "cat-other");
    await fakeCatalogue(other, "0123456789abcdef");
    const r = await loadCatalogueIfComplete(other);
    expect(r.catalogue).toBeNull();
    expect(r.reason).toMatch(/other demo sources/);

    const legacy = path.join(dir, "cat-legacy");
    await fakeCatalogue(legacy, undefined);
    expect((await loadCatalogueIfComplete(legacy)).catalogue).toBeNull();
  });
});
