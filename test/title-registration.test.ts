import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { originKey } from "../shared/file-keys";
import worker from "../workers/index";
import { ADMIN, call, GEO, memberToken, pressPlay, publishTitle, sha256Hex, type PlayResponse } from "./fixtures";

/**
 * What a title's registration may say: the catalogue keys renditions by id and licences by country,
 * and play signs every session with its title's top bitrate and full-watch bytes, so registration
 * refuses what the catalogue or play could not take (a clear 400, never a 500 later).
 */

const VIDEO = { kind: "video", codec: "avc1.64001e", width: 426, height: 240 };
const AUDIO = { id: "aac-en", kind: "audio", codec: "mp4a.40.2", bandwidth: 128000, language: "en" };
const FROM = "2020-01-01T00:00:00.000Z";

describe("a title registration", () => {
  it("naming a rendition twice is refused with 400 duplicate_rendition", async () => {
    const renditions = [
      { ...VIDEO, id: "avc-240p", bandwidth: 400000 },
      { ...AUDIO, id: "avc-240p" },
    ];
    await expect(publishTitle("reg-dup-rendition", { register: { renditions } })).rejects.toThrow(/: 400 .*"duplicate_rendition".*avc-240p/);
  });

  it("licensing a country twice is refused with 400 duplicate_licence", async () => {
    const licences = [
      { country: "US", availableFrom: FROM },
      { country: "US", availableFrom: "2021-01-01T00:00:00.000Z" },
    ];
    await expect(publishTitle("reg-dup-licence", { register: { licences } })).rejects.toThrow(/: 400 .*"duplicate_licence".*US/);
  });

  it("with a bitrate above 10 Gb/s is refused with 400 naming the field", async () => {
    const renditions = [{ ...VIDEO, id: "avc-240p", bandwidth: 200_000_000_000 }, AUDIO];
    await expect(publishTitle("reg-huge-rate", { register: { renditions } })).rejects.toThrow(/: 400 .*"invalid_request".*renditions\.0\.bandwidth/);
  });

  it("with video in a folder that does not name its height, or media outside the video and audio folders, is refused with 400 bad_layout", async () => {
    for (const path of ["video/hd/seg-00001.m4s", "1080p/seg-00001.m4s"]) {
      const change = { [path]: new Uint8Array([1, 2, 3]) };
      await expect(publishTitle(`reg-layout-${path.length}`, { change })).rejects.toThrow(new RegExp(`: 400 .*"bad_layout".*${path}`));
    }
  });

  it("at the longest duration and highest bitrates allowed still plays", async () => {
    const renditions = [
      { ...VIDEO, id: "avc-240p", bandwidth: 10_000_000_000 },
      { ...AUDIO, bandwidth: 10_000_000_000 },
    ];
    await publishTitle("reg-longest", { register: { renditions, durationS: 172_800 } });
    const res = await pressPlay(await memberToken("premium"), { titleId: "reg-longest" }, GEO.lumenNyc);
    const body = (await res.json()) as PlayResponse;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.renditions.video.map((r) => r.bandwidth)).toEqual([10_000_000_000]);
    expect(body.sessionToken.length).toBeGreaterThan(0);
  });

  it("with an encoding too large or nested too deep to store is refused with 400 before a version is claimed", async () => {
    const TITLE = "reg-encoding-bound";
    const first = await publishTitle(TITLE);
    // New contents, so a registration that got through would claim version 2.
    const extra = new Uint8Array([9, 9, 9]);
    const sha256 = await sha256Hex(extra);
    const path = "video/avc-240p/seg-00002.m4s";
    const upload = await call(`/admin/origin/${TITLE}/${path}`, {
      method: "PUT",
      body: extra,
      headers: { ...ADMIN, "X-Content-SHA256": sha256, "Content-Length": "3" },
    });
    expect(upload.status).toBe(201);
    const files = [...Object.keys(first.files).map((p) => ({ path: p, bytes: first.files[p].byteLength, sha256: first.sha[p] })), { path, bytes: 3, sha256 }];
    const registration = {
      name: "Bounded",
      durationS: 8,
      renditions: [{ ...VIDEO, id: "avc-240p", bandwidth: 400000 }, AUDIO],
      files,
      licences: [{ country: "US", availableFrom: FROM }],
    };
    // The encoding spliced in as raw JSON; deep nesting is refused by the same bound as size.
    const put = (encodingJson: string) =>
      call(`/admin/titles/${TITLE}`, {
        method: "PUT",
        headers: { ...ADMIN, "Content-Type": "application/json" },
        body: JSON.stringify({ ...registration, encoding: "@" }).replace('"@"', encodingJson),
      });
    const depth = 100_000;
    const refused = {
      "a 2.5 MB note": JSON.stringify({ reason: "why", ladder: [], note: "x".repeat(2_500_000) }),
      "an object nested 100,000 deep": `{"reason":"why","ladder":[],"deep":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`,
    };
    for (const [what, encoding] of Object.entries(refused)) {
      const res = await put(encoding);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, what).toBe(400);
      expect(body.error.code, what).toBe("invalid_request");
      expect(body.error.message, what).toMatch(/^encoding: .*65536 bytes/);
    }
    const described = (await (await call(`/admin/titles/${TITLE}`, { headers: ADMIN })).json()) as { versions: Array<{ version: number }> };
    expect(described.versions.map((v) => v.version)).toEqual([first.version]);
    // What ingest registers fits, and takes the next version: none was burnt.
    const ok = await put(
      JSON.stringify({ reason: "why", complexity: 1, ladder: [{ id: "avc-240p", codec: "h264", width: 426, height: 240, bitrate: 400000 }] }),
    );
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(((await ok.json()) as { version: number }).version).toBe(first.version + 1);
  });

  it("of a feature-length title checks origin with a list call per page of files, not a call per file", { timeout: 60_000 }, async () => {
    // 2,400 segments (80 minutes of one rung at 2 s), put straight into origin under their content keys.
    const TITLE = "reg-feature";
    const bytes = new Uint8Array([7, 7, 7]);
    const sha256 = await sha256Hex(bytes);
    const files = Array.from({ length: 2400 }, (_, i) => ({ path: `video/avc-240p/seg-${String(i + 1).padStart(5, "0")}.m4s`, bytes: 3, sha256 }));
    for (let i = 0; i < files.length; i += 100) await Promise.all(files.slice(i, i + 100).map((f) => env.ORIGIN.put(originKey(TITLE, f.path, sha256), bytes)));
    // Origin's calls counted by a proxy around the binding: the one thing mocked here.
    const calls: string[] = [];
    const origin = new Proxy(env.ORIGIN, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          calls.push(String(key));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const body = {
      name: "Feature",
      durationS: 4800,
      renditions: [{ ...VIDEO, id: "avc-240p", bandwidth: 400000 }],
      files,
      licences: [{ country: "US", availableFrom: FROM }],
    };
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`http://cdn.test/admin/titles/${TITLE}`, {
        method: "PUT",
        headers: { ...ADMIN, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }),
      { ...env, ORIGIN: origin },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status, await res.clone().text()).toBe(200);
    // A page holds up to 1,000 keys, fewer with their checksums (custom metadata): 100 a page locally.
    expect(calls.filter((c) => c === "list").length).toBeLessThanOrEqual(files.length / 100);
    expect(calls.filter((c) => c === "head")).toEqual([]);
    // One file short in origin is named, as before.
    await env.ORIGIN.delete(originKey(TITLE, files[1234].path, sha256));
    const short = await worker.fetch(
      new Request(`http://cdn.test/admin/titles/${TITLE}`, {
        method: "PUT",
        headers: { ...ADMIN, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }),
      env,
      createExecutionContext(),
    );
    expect(short.status).toBe(409);
    expect(((await short.json()) as { error: { details: { paths: string[] } } }).error.details.paths).toEqual([files[1234].path]);
  });
});
