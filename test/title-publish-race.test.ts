import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { titleRegistrationSchema } from "../shared/catalogue";
import { catalogueDb } from "../workers/shared/catalogue-db";
import { patternBytes, publishTitle } from "./fixtures";

/**
 * Two publishes of one title at once: a metadata-only one read the current version (1) while another
 * with new contents claimed and registered version 2. The first must not take the catalogue back to 1
 * (its files superseded, dropped after their retention), nor mix its renditions and licences into 2's.
 * The interleaving is made by calling the registration as the slower publish would, after the other.
 */
describe("a title published twice at once", () => {
  it("never goes back to an older version: the slower registration writes nothing and says so", async () => {
    const TITLE = "publish-race-title";
    const v1 = await publishTitle(TITLE);
    const v2 = await publishTitle(TITLE, { change: { "video/avc-720p/seg-00001.m4s": patternBytes(64 * 1024, 4242) } });
    expect(v2.version).toBe(v1.version + 1);
    const stale = titleRegistrationSchema.parse({
      name: "Stale metadata",
      description: "a publish that read version 1",
      durationS: 8,
      renditions: [{ id: "avc-240p", kind: "video", codec: "avc1.64001e", width: 426, height: 240, bandwidth: 400000 }],
      files: Object.entries(v1.files).map(([path, bytes]) => ({ path, bytes: bytes.byteLength, sha256: v1.sha[path] })),
      licences: [{ country: "GB", availableFrom: "2020-01-01T00:00:00.000Z" }],
    });
    const now = Date.now();
    const ok = await catalogueDb.register(env.DB, TITLE, stale, { version: v1.version, newVersion: false, retainUntil: now, stops: { lagMs: 0, since: now } });
    expect(ok).toBe(false);
    const row = await env.DB.prepare(`SELECT version, name FROM titles WHERE id = ?`).bind(TITLE).first<{ version: number; name: string }>();
    expect(row).toEqual({ version: v2.version, name: `Fixture ${TITLE}` });
    const renditions = await env.DB.prepare(`SELECT COUNT(*) AS n FROM renditions WHERE title_id = ?`).bind(TITLE).first<{ n: number }>();
    expect(renditions?.n).toBe(5);
    const countries = await env.DB.prepare(`SELECT country FROM licences WHERE title_id = ? ORDER BY country`).bind(TITLE).all<{ country: string }>();
    expect(countries.results.map((r) => r.country)).toEqual(["DE", "FR", "NL", "US"]);
    const versions = await env.DB.prepare(`SELECT version, files FROM title_versions WHERE title_id = ? ORDER BY version`).bind(TITLE).all();
    expect(versions.results.map((r) => r.version)).toEqual([v1.version, v2.version]);
  });
});
