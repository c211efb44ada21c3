import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../ingest/exec";
import { publishTitle } from "../../ingest/publish";
import { catalogueDir } from "../../r2-seed/build-catalogue";
import { demoRegistration } from "../../r2-seed/seed";
import { ffmpegPath, ffprobePath } from "../../ingest/ffmpeg-path";
import { pressPlay, startLocalStack, type LocalStack } from "../../r2-seed/local-stack";

interface Play {
  sessionId: string;
  hls: string;
  dash: string;
  ocas: Array<{ siteId: string; ocaId: string; tier: string; url: string }>;
  renditions: { video: Array<{ id: string; height: number }>; audio: Array<{ id: string }>; subtitles: Array<{ id: string }> };
}

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack();
});

afterAll(async () => {
  await stack?.stop();
});

describe("pressing play on the local Worker and playing with ffmpeg", () => {
  it("steers a Lumen Fiber client in New York to its embedded OCA first", async () => {
    const res = await pressPlay(stack, stack.catalogue.titles[0].id, "asn=64500;country=US;lat=40.71;lon=-74.0");
    expect(res.status).toBe(200);
    const play = (await res.json()) as Play;
    expect(play.ocas.map((o) => `${o.siteId}/${o.ocaId}`)).toEqual(["lumen-nyc/lumen-nyc-1", "ixp-nyc/ixp-nyc-1", "origin/origin"]);
    expect(play.hls.startsWith(play.ocas[0].url)).toBe(true);
  });

  it.each([0, 1, 2])("decodes every rendition of demo title %i from the hls URL without error", async (i) => {
    const title = stack.catalogue.titles[i];
    const play = (await (await pressPlay(stack, title.id, "asn=64500;country=US;lat=40.71;lon=-74.0")).json()) as Play;
    const { code, stderr } = await run(ffmpegPath, ["-v", "error", "-i", play.hls, "-map", "0", "-f", "null", "-"]);
    expect(stderr.trim()).toBe("");
    expect(code).toBe(0);
    // ffprobe sees every rendition of the ladder and both audio languages through the OCA.
    const probe = await run(ffprobePath, [
      "-v",
      "error",
      "-show_entries",
      "stream=codec_type,height:stream_tags=language,variant_bitrate",
      "-of",
      "json",
      play.hls,
    ]);
    expect(probe.code).toBe(0);
    const streams = (JSON.parse(probe.stdout) as { streams: Array<{ codec_type: string; height?: number }> }).streams;
    const heights = new Set(streams.filter((s) => s.codec_type === "video").map((s) => s.height));
    expect([...heights].sort((a, b) => a! - b!)).toEqual(
      title.renditions
        .filter((r) => r.kind === "video")
        .map((r) => r.height)
        .sort((a, b) => a! - b!),
    );
    expect(streams.filter((s) => s.codec_type === "audio").length).toBeGreaterThanOrEqual(2);
  });

  it("serves the DASH MPD, and every initialization segment it names, from the same OCA", async () => {
    const play = (await (await pressPlay(stack, stack.catalogue.titles[0].id, "asn=64500;country=US;lat=40.71;lon=-74.0")).json()) as Play;
    const res = await fetch(play.dash);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/dash+xml");
    const mpd = await res.text();
    expect(mpd).toMatch(/<MPD[\s>]/);
    for (const r of play.renditions.video) expect(mpd).toContain(`id="${r.id}"`);
    const inits = [...mpd.matchAll(/initialization="([^"]+)"/g)].map((m) => m[1]);
    expect(inits.length).toBeGreaterThanOrEqual(play.renditions.video.length);
    for (const init of inits) {
      const url = new URL(init.replace(/\$RepresentationID\$/g, "x"), play.dash).href;
      const seg = await fetch(url, { headers: { Range: "bytes=0-7" } });
      expect(seg.status, url).toBe(206);
      expect(new TextDecoder().decode((await seg.arrayBuffer()).slice(4, 8))).toMatch(/ftyp|styp/);
    }
  });

  it("refuses a title not licensed in the client's country with 451", async () => {
    const res = await pressPlay(stack, "signal-test", "asn=64520;country=DE;lat=52.52;lon=13.40");
    expect(res.status).toBe(451);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe("this title is not licensed in DE");
  });

  it("re-published mid-stream with one changed segment: the old session finishes on its own bytes, a new play gets the new ones", async () => {
    const title = stack.catalogue.titles[0];
    const NYC = "asn=64500;country=US;lat=40.71;lon=-74.0";
    const before = (await (await pressPlay(stack, title.id, NYC)).json()) as Play & { version: number };
    // A changed segment that is still valid media: the same fragment with a 'free' box after it.
    const seg = title.files.filter((f) => /^video\/[^/]+\/seg-\d+\.m4s$/.test(f.path))[1].path;
    const dir = await mkdtemp(path.join(tmpdir(), "vcdn-republish-"));
    try {
      await cp(path.join(catalogueDir(), title.id), dir, { recursive: true });
      const oldBytes = await readFile(path.join(dir, ...seg.split("/")));
      const free = Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from("free"), Buffer.from("republished!")]);
      const newBytes = Buffer.concat([oldBytes, free]);
      await writeFile(path.join(dir, ...seg.split("/")), newBytes);
      const files = title.files.map((f) =>
        f.path === seg ? { path: seg, bytes: newBytes.length, sha256: createHash("sha256").update(newBytes).digest("hex") } : f,
      );
      const target = { baseUrl: stack.worker.url, adminToken: stack.adminToken };
      const published = await publishTitle(target, title.id, dir, demoRegistration(title, files));
      const registeredAt = Date.now();
      // Only the changed file goes up: the rest of the new version is the old version's bytes.
      expect(published).toMatchObject({ uploaded: 1, skipped: files.length - 1 });
      // The serving OCA takes the one changed file; it then holds both versions.
      const fill = await fetch(`${stack.worker.url}/admin/fill`, {
        method: "POST",
        headers: { Authorization: `Bearer ${stack.adminToken}`, "Content-Type": "application/json" },
        body: JSON.stringify({ placements: [{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [title.id] }] }),
      });
      expect(((await fill.json()) as { results: Array<{ copied: number }> }).results[0].copied).toBe(1);

      // The session started before plays to the end, every rendition, without an error, on its own bytes.
      const old = await run(ffmpegPath, ["-v", "error", "-i", before.hls, "-map", "0", "-f", "null", "-"]);
      expect(old.stderr.trim()).toBe("");
      expect(old.code).toBe(0);
      const oldSeg = await fetch(`${before.ocas[0].url}${seg}`);
      expect(oldSeg.headers.get("X-OCA")).toBe("lumen-nyc/lumen-nyc-1");
      expect(Buffer.from(await oldSeg.arrayBuffer()).equals(oldBytes)).toBe(true);

      // A new play gets the new version, from the same OCA, and plays it without an error.
      // Plays see a publish within twice the catalogue view's freshness (CATALOGUE_TTL_S, 5 s by default).
      let after = (await (await pressPlay(stack, title.id, NYC)).json()) as Play & { version: number };
      while (after.version === before.version && Date.now() - registeredAt < 15_000) {
        await new Promise((r) => setTimeout(r, 250));
        after = (await (await pressPlay(stack, title.id, NYC)).json()) as Play & { version: number };
      }
      expect(after.version).toBe(before.version + 1);
      expect(after.ocas[0].ocaId).toBe("lumen-nyc-1");
      const newSeg = await fetch(`${after.ocas[0].url}${seg}`);
      expect(newSeg.headers.get("X-OCA-Source")).toBe("local");
      expect(Buffer.from(await newSeg.arrayBuffer()).equals(newBytes)).toBe(true);
      const fresh = await run(ffmpegPath, ["-v", "error", "-i", after.hls, "-map", "0", "-f", "null", "-"]);
      expect(fresh.stderr.trim()).toBe("");
      expect(fresh.code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
