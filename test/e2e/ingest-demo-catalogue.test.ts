import { existsSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { validateSource } from "../../ingest/validate";
import { buildCatalogue, catalogueDir } from "../../r2-seed/build-catalogue";
import { BROKEN_SOURCE, TITLES } from "../../r2-seed/catalogue-sources";
import type { Catalogue } from "../../r2-seed/catalogue-types";

let catalogue: Catalogue;

beforeAll(async () => {
  // built once and cached (shared with ffmpeg-plays.test.ts)
  catalogue = await buildCatalogue({ onProgress: (m) => console.log(`[catalogue] ${m}`) });
});

describe("the demo catalogue comes out of the ingest pipeline", () => {
  it("has every demo title with a 240p/480p/720p H.264 ladder chosen for that title, and the reason", () => {
    expect(catalogue.titles.map((t) => t.id)).toEqual(TITLES.map((t) => t.id));
    for (const t of catalogue.titles) {
      expect(t.encoding?.reason, t.id).toMatch(/constant-quality probe/);
      expect(t.encoding!.ladder.map((r) => r.id)).toEqual(["avc-240p", "avc-480p", "avc-720p"]);
      expect(t.renditions.filter((r) => r.kind === "video").map((r) => r.height)).toEqual([240, 480, 720]);
      expect(t.renditions.filter((r) => r.kind === "audio").map((r) => r.language)).toEqual(["en", "es"]);
      expect(t.renditions.filter((r) => r.kind === "subtitle").map((r) => r.language)).toEqual(["en", "es"]);
      expect(t.durationS).toBe(24);
    }
    // the simplest title (colour bars) gets the lowest bitrates, the fractal zoom the highest
    const top = (id: string) => catalogue.titles.find((t) => t.id === id)!.encoding!.ladder.find((r) => r.height === 720)!.bitrate;
    expect(top("signal-test")).toBeLessThan(top("orbit-city"));
    expect(top("orbit-city")).toBeLessThan(top("sintel-sunrise"));
  });

  it("rejected its deliberately broken source, with every reason, and did not publish it", async () => {
    expect(catalogue.titles.map((t) => t.id)).not.toContain(BROKEN_SOURCE.id);
    const rejected = catalogue.rejected?.find((r) => r.id === BROKEN_SOURCE.id);
    expect(rejected).toBeDefined();
    expect(rejected!.reasons.map((r) => r.code).sort()).toEqual([...BROKEN_SOURCE.expectedReasons].sort());
    // the broken source is kept, and validating it again gives the same verdict
    const source = path.join(catalogueDir(), rejected!.source);
    expect(existsSync(source)).toBe(true);
    const again = await validateSource({ source, sourceLanguage: "en", audio: [], subtitles: [] });
    expect(again.ok).toBe(false);
    expect(again.reasons.map((r) => r.code)).toEqual(rejected!.reasons.map((r) => r.code));
  });
});
