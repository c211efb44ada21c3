/// <reference path="../../ingest/parsers.d.ts" />
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse as parseMpd } from "mpd-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../ingest/exec";
import { makeSource } from "../../ingest/fixtures";
import { ingest, type IngestResult } from "../../ingest/pipeline";
import { createReporter } from "../../ingest/progress";
import { ffmpegPath, ffprobePath } from "../../ingest/ffmpeg-path";
import { startLocalWorker, type LocalWorker } from "../../r2-seed/local-worker";

const TITLE = "ingest-play";
const GEO = "asn=64500;country=US;lat=40.71;lon=-74.0";
let dir: string;
let persistTo: string;
let worker: LocalWorker;
let result: IngestResult;
const adminToken = randomBytes(16).toString("hex");
const A = { Authorization: `Bearer ${adminToken}` };

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ingest-play-"));
  persistTo = await mkdtemp(path.join(tmpdir(), "ingest-play-state-"));
  const workerStarting = startLocalWorker({
    persistTo,
    vars: {
      DEV_MODE: "true",
      ADMIN_TOKEN: adminToken,
      MEMBER_JWT_SECRET: randomBytes(24).toString("hex"),
      URL_SIGNING_KEYS: JSON.stringify({ k1: randomBytes(24).toString("hex") }),
    },
  });
  // a small title with two audio languages and subtitles, in all three codecs (160x90 keeps AV1 quick)
  const source = await makeSource(path.join(dir, "source.mp4"), { width: 160, height: 90, seconds: 4, gop: 25 });
  const es = path.join(dir, "es.wav");
  await run(ffmpegPath, ["-v", "error", "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000:duration=4", "-c:a", "pcm_s16le", es]);
  const vtt = path.join(dir, "en.vtt");
  await writeFile(vtt, "WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nHello from ingest\n\n00:00:02.500 --> 00:00:03.500\nGoodbye\n");
  worker = await workerStarting;
  result = await ingest({
    source,
    titleId: TITLE,
    title: "Ingest Play",
    description: "published by the ingest pipeline",
    releaseYear: 2026,
    audio: [{ language: "es", path: es }],
    subtitles: [{ language: "en", path: vtt }],
    codecs: ["h264", "vp9", "av1"],
    segmentSeconds: 2,
    chunkSeconds: 2,
    countries: ["US"],
    workDir: path.join(dir, "work"),
    publish: { baseUrl: worker.url, adminToken },
    reporter: createReporter({ mode: "none" }),
  });
});

afterAll(async () => {
  await worker?.stop();
  await rm(persistTo, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

describe("a title published by the ingest pipeline", () => {
  it("is registered with its ladder, the reason for it, renditions, files and licences", async () => {
    expect(result.status).toBe("published");
    expect(result.publish).toMatchObject({ uploaded: result.packaged!.files.length, skipped: 0, registered: true });
    const res = await fetch(`${worker.url}/admin/titles/${TITLE}`, { headers: A });
    expect(res.status).toBe(200);
    const t = (await res.json()) as {
      title: { name: string; encoding: { reason: string; complexity: number; ladder: Array<{ id: string }> } };
      renditions: Array<{ id: string; kind: string }>;
      files: { files: number };
      licences: Array<{ country: string }>;
    };
    expect(t.title.name).toBe("Ingest Play");
    expect(t.title.encoding.ladder.map((r) => r.id)).toEqual(["avc-46p", "avc-90p", "vp9-46p", "vp9-90p", "av1-46p", "av1-90p"]);
    expect(t.title.encoding.reason).toBe(result.ladder!.reason);
    expect(
      t.renditions
        .filter((r) => r.kind === "audio")
        .map((r) => r.id)
        .sort(),
    ).toEqual(["aac-en", "aac-es"]);
    expect(t.renditions.filter((r) => r.kind === "subtitle").map((r) => r.id)).toEqual(["sub-en"]);
    expect(t.files.files).toBe(result.packaged!.files.length);
    expect(t.licences.map((l) => l.country)).toEqual(["US"]);
  });

  it("plays through the data plane: ffmpeg decodes every rendition of every codec from the OCA's hls URL", async () => {
    const fill = await fetch(`${worker.url}/admin/fill`, {
      method: "POST",
      headers: { ...A, "Content-Type": "application/json" },
      body: JSON.stringify({ placements: [{ siteId: "lumen-nyc", ocaId: "lumen-nyc-1", titleIds: [TITLE] }] }),
    });
    expect(fill.status, await fill.clone().text()).toBe(200);
    const { token } = (await (
      await fetch(`${worker.url}/v1/dev/token`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ memberId: "ingest-e2e", plan: "premium" }),
      })
    ).json()) as { token: string };
    const playRes = await fetch(`${worker.url}/v1/play`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "X-Client-Geo": GEO },
      body: JSON.stringify({ titleId: TITLE, device: { codecs: ["avc1", "mp4a"], maxHeight: 1080 } }),
    });
    expect(playRes.status).toBe(200);
    const play = (await playRes.json()) as { hls: string; dash: string; ocas: Array<{ siteId: string; ocaId: string; url: string }> };
    expect(`${play.ocas[0].siteId}/${play.ocas[0].ocaId}`).toBe("lumen-nyc/lumen-nyc-1");
    expect(play.hls.startsWith(play.ocas[0].url)).toBe(true);

    const decode = await run(ffmpegPath, ["-v", "error", "-i", play.hls, "-map", "0", "-f", "null", "-"], { timeoutMs: 120_000 });
    expect(decode.stderr.trim()).toBe("");
    expect(decode.code).toBe(0);
    const probe = await run(ffprobePath, ["-v", "error", "-show_entries", "stream=codec_type,codec_name,height:stream_tags=language", "-of", "json", play.hls]);
    expect(probe.code).toBe(0);
    const streams = (JSON.parse(probe.stdout) as { streams: Array<{ codec_type: string; codec_name: string; height?: number; tags?: { language?: string } }> })
      .streams;
    const video = [...new Set(streams.filter((s) => s.codec_type === "video").map((s) => `${s.codec_name}-${s.height}`))].sort();
    expect(video).toEqual(["av1-46", "av1-90", "h264-46", "h264-90", "vp9-46", "vp9-90"]);
    expect(new Set(streams.filter((s) => s.codec_type === "audio").map((s) => s.tags?.language))).toEqual(new Set(["en", "es"]));

    // the DASH MPD from the same OCA parses (mpd-parser) and names init segments the OCA serves
    const mpdRes = await fetch(play.dash);
    expect(mpdRes.status).toBe(200);
    const mpd = parseMpd(await mpdRes.text(), { manifestUri: play.dash });
    expect(mpd.playlists.map((p) => p.attributes.NAME).sort()).toEqual(["av1-46p", "av1-90p", "avc-46p", "avc-90p", "vp9-46p", "vp9-90p"]);
    for (const p of mpd.playlists) {
      const init = await fetch(p.segments[0].map!.resolvedUri, { headers: { Range: "bytes=0-7" } });
      expect(init.status).toBe(206);
      expect(Buffer.from(await init.arrayBuffer()).toString("latin1", 4, 8)).toBe("ftyp");
    }
    expect(Object.keys(mpd.mediaGroups.AUDIO.audio ?? {}).length).toBe(2);
  });
});
