import { describe, expect, it } from "vitest";
import { REGISTRATION_LIMITS } from "../shared/catalogue";
import { ADMIN, call } from "./fixtures";

/**
 * An OCA reads a title's top manifest whole to filter it per session's height cap, in a Worker's 128 MB:
 * one of hundreds of MB (a packager gone wrong, a hostile upload) would fail every play of the title at
 * every OCA. Registration refuses it before anything is stored; other files (a media playlist, a
 * segment) are read in ranges or streamed and are not bound by it.
 */

const register = (titleId: string, files: Array<{ path: string; bytes: number }>) =>
  call(`/admin/titles/${titleId}`, {
    method: "PUT",
    headers: { ...ADMIN, "Content-Type": "application/json" },
    body: JSON.stringify({
      name: "Huge manifest",
      durationS: 8,
      renditions: [{ id: "avc-240p", kind: "video", codec: "avc1.64001e", width: 426, height: 240, bandwidth: 400000 }],
      files: files.map((f) => ({ ...f, sha256: "a".repeat(64) })),
      licences: [],
    }),
  });

describe("a registration's top manifest", () => {
  it("is refused 400 manifest_too_large past 8 MiB, HLS or DASH, before origin is read", async () => {
    for (const path of ["master.m3u8", "manifest.mpd"]) {
      const res = await register("huge-top-manifest", [{ path, bytes: REGISTRATION_LIMITS.topManifestBytes + 1 }]);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "manifest_too_large", message: expect.stringContaining(path) } });
    }
  });

  it("is not refused at 8 MiB, nor is a large media playlist (they go on to be checked against origin)", async () => {
    const res = await register("huge-top-manifest", [
      { path: "master.m3u8", bytes: REGISTRATION_LIMITS.topManifestBytes },
      { path: "video/avc-240p/index.m3u8", bytes: 64 * 1024 * 1024 },
    ]);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: "files_not_in_origin" } });
  });
});
