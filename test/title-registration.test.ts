import { describe, expect, it } from "vitest";
import { GEO, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

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
});
