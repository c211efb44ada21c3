import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { SILENCE_MS, StreamBook } from "../durable-objects/member/streams";
import { TOUCH_EVERY_MS } from "../shared/stream-touch";
import { steeredHlsPlaylist } from "../workers/control/content-steering";
import { noteStreamActivity } from "../workers/shared/stream-activity";
import { ADMIN, call, fill, GEO, MASTER, memberToken, pressPlay, publishTitle, type PlayResponse } from "./fixtures";

/**
 * A review of the steered HLS playlist and the steering server: I-frame variants kept per pathway,
 * relative references resolved inside the title's own path, the lowest rung judged on the session's
 * own ladder, and a taken-down title's poll not counted as stream activity.
 */

const enc = new TextEncoder();
const IFRAME_TITLE = "rv-iframe-title";
const LADDER_TITLE = "rv-ladder-title";
const DOWN_TITLE = "rv-down-title";

/** The fixture's master with an I-frame variant per rung (URIs inline, in the URI attribute). */
const IFRAME_MASTER = `${MASTER}#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,CODECS="avc1.64001e",RESOLUTION=426x240,URI="video/avc-240p/iframes.m3u8"
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=250000,CODECS="avc1.64001f",RESOLUTION=1280x720,URI="video/avc-720p/iframes.m3u8"
`;
const IFRAMES = `#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-I-FRAMES-ONLY\n#EXT-X-MAP:URI="init.mp4"\n#EXT-X-BYTERANGE:700@0\n#EXTINF:4,\nseg-00001.m4s\n#EXT-X-ENDLIST\n`;

const PATHWAYS = [
  { siteId: "s1", ocaId: "a", url: "https://cdn.test/oca/s1/a/tok/t1/" },
  { siteId: "s2", ocaId: "b", url: "https://cdn.test/oca/s2/b/tok/t1/" },
];
const SERVER = "https://cdn.test/v1/steering/st/t1/steering.json";
const lines = (text: string) => text.split("\n");
/** Every URI the playlist names: the line after each variant tag, and every URI attribute. */
const urisOf = (text: string) => {
  const out: string[] = [];
  const ls = lines(text);
  ls.forEach((l, i) => {
    for (const m of l.matchAll(/URI="([^"]*)"/g)) if (!l.startsWith("#EXT-X-CONTENT-STEERING")) out.push(m[1]);
    if (l.startsWith("#EXT-X-STREAM-INF")) out.push(ls[i + 1]);
  });
  return out;
};

const play = async (titleId: string, token?: string) => {
  const res = await pressPlay(token ?? (await memberToken("premium")), { titleId, device: { codecs: ["avc1", "mp4a"], maxHeight: 2160 } }, GEO.lumenNyc);
  expect(res.status).toBe(200);
  return (await res.json()) as PlayResponse;
};
const priority = async (url: string) => ((await (await call(url)).json()) as { "PATHWAY-PRIORITY": string[] })["PATHWAY-PRIORITY"];

beforeAll(async () => {
  await publishTitle(IFRAME_TITLE, {
    change: {
      "master.m3u8": enc.encode(IFRAME_MASTER),
      "video/avc-240p/iframes.m3u8": enc.encode(IFRAMES),
      "video/avc-720p/iframes.m3u8": enc.encode(IFRAMES),
    },
  });
  await publishTitle(LADDER_TITLE);
  await publishTitle(DOWN_TITLE);
  const ocas = [
    { siteId: "lumen-nyc", ocaId: "lumen-nyc-1" },
    { siteId: "lumen-nyc", ocaId: "lumen-nyc-2" },
    { siteId: "ixp-nyc", ocaId: "ixp-nyc-1" },
  ];
  expect((await fill(ocas.map((o) => ({ ...o, titleIds: [IFRAME_TITLE, LADDER_TITLE] })))).status).toBe(200);
});

describe("the steered HLS playlist's I-frame variants", () => {
  it("clones each I-frame variant per pathway, with PATHWAY-ID and an absolute URI into that pathway's OCA", () => {
    const text = steeredHlsPlaylist(IFRAME_MASTER, PATHWAYS, SERVER);
    for (const p of PATHWAYS) {
      const iframes = lines(text).filter((l) => l.startsWith("#EXT-X-I-FRAME-STREAM-INF:") && l.includes(`PATHWAY-ID="${p.ocaId}"`));
      expect(iframes).toEqual([
        `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,CODECS="avc1.64001e",RESOLUTION=426x240,URI="${p.url}video/avc-240p/iframes.m3u8",PATHWAY-ID="${p.ocaId}"`,
        `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=250000,CODECS="avc1.64001f",RESOLUTION=1280x720,URI="${p.url}video/avc-720p/iframes.m3u8",PATHWAY-ID="${p.ocaId}"`,
      ]);
    }
    // An I-frame tag carries its URI inline: the next tag is not taken for its URI line.
    expect(lines(text).filter((l) => l.startsWith("#EXT-X-STREAM-INF"))).toHaveLength(6);
  });

  it("suffixes an I-frame variant's VIDEO group per pathway, like the EXT-X-MEDIA it names", () => {
    const master = `#EXTM3U
#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="cam",NAME="Main",DEFAULT=YES,URI="video/main/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=500000,VIDEO="cam"
video/main/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,VIDEO="cam",URI="video/main/iframes.m3u8"
`;
    const text = steeredHlsPlaylist(master, PATHWAYS, SERVER);
    for (const p of PATHWAYS) {
      expect(text).toContain(`#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,VIDEO="cam-${p.ocaId}",URI="${p.url}video/main/iframes.m3u8",PATHWAY-ID="${p.ocaId}"`);
    }
  });

  it("serves a registered title's I-frame playlists through the session's steered playlist, within its height cap", async () => {
    const p = await (async () => {
      const res = await pressPlay(await memberToken("standard"), { titleId: IFRAME_TITLE }, GEO.lumenNyc);
      expect(res.status).toBe(200);
      return (await res.json()) as PlayResponse;
    })();
    const text = await (await call(p.steering.hls)).text();
    const iframes = lines(text).filter((l) => l.startsWith("#EXT-X-I-FRAME-STREAM-INF:"));
    // standard plan: 720p is within its cap, one I-frame variant per rung per pathway.
    expect(iframes).toHaveLength(2 * p.ocas.length);
    for (const o of p.ocas) {
      const mine = iframes.filter((l) => l.endsWith(`,PATHWAY-ID="${o.ocaId}"`));
      expect(mine.map((l) => /URI="([^"]+)"/.exec(l)![1])).toEqual([`${o.url}video/avc-240p/iframes.m3u8`, `${o.url}video/avc-720p/iframes.m3u8`]);
    }
    const res = await call(/URI="([^"]+)"/.exec(iframes[0])![1]);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(IFRAMES);
  });
});

describe("the steered HLS playlist's URIs", () => {
  const master = `#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",URI="/audio/aac-en/index.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",URI="./subs/../subs/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=500000,AUDIO="aud",SUBTITLES="subs"
/video/avc-240p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1400000,AUDIO="aud",SUBTITLES="subs"
video/avc-480p/index.m3u8?v=2
#EXT-X-STREAM-INF:BANDWIDTH=2800000,AUDIO="aud",SUBTITLES="subs"
../../../other-title/video/avc-720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3800000,AUDIO="aud",SUBTITLES="subs"
%2e%2e/%2E%2E/x/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="/video/avc-240p/../avc-240p/iframes.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=4800000
https://elsewhere.example/video/index.m3u8
`;

  it("resolves an absolute-path reference against the title's root: no double slash", () => {
    const text = steeredHlsPlaylist(master, PATHWAYS, SERVER);
    for (const p of PATHWAYS) {
      expect(text).toContain(`${p.url}video/avc-240p/index.m3u8`);
      expect(text).toContain(`URI="${p.url}audio/aac-en/index.m3u8"`);
      expect(text).toContain(`URI="${p.url}video/avc-240p/iframes.m3u8"`);
      expect(text).toContain(`URI="${p.url}subs/en.m3u8"`);
      expect(text).toContain(`${p.url}video/avc-480p/index.m3u8?v=2`);
    }
    expect(text).not.toMatch(/t1\/\//);
  });

  it("never names a URI outside the title's own path on the OCA (dot segments, encoded or not)", () => {
    const text = steeredHlsPlaylist(master, PATHWAYS, SERVER);
    const uris = urisOf(text);
    expect(uris.length).toBeGreaterThan(0);
    for (const u of uris) {
      if (u.startsWith("https://elsewhere.example/")) continue; // an absolute URI is kept as written
      expect(
        PATHWAYS.some((p) => u.startsWith(p.url)),
        u,
      ).toBe(true);
      expect(u, u).not.toMatch(/\/\.\.?(\/|$)|%2e/i);
      expect(u.slice(u.indexOf("/t1/") + 4)).not.toMatch(/^\//);
    }
    for (const p of PATHWAYS) {
      expect(text).toContain(`${p.url}other-title/video/avc-720p/index.m3u8`);
      expect(text).toContain(`${p.url}x/index.m3u8`);
    }
    expect(text).toContain("\nhttps://elsewhere.example/video/index.m3u8\n");
  });
});

describe("the steering server's lowest rung", () => {
  it("judges a session's reported throughput on the ladder of the session's own version, not one re-published since", async () => {
    const old = await play(LADDER_TITLE);
    const [a, b] = old.ocas.map((o) => o.ocaId);
    // 1 Mbit/s carries the session's lowest rung (400 kbit/s): the pathway keeps its place.
    const probe = (p: PlayResponse, x: string) => priority(`${p.steering.server}?_HLS_pathway=${x}&_HLS_throughput=1000000`);
    expect((await probe(old, a)).slice(0, 2), "before the re-publish").toEqual([a, b]);
    // Re-published with another ladder (new bytes: a new version) whose lowest rung is 3 Mbit/s.
    const v2 = await publishTitle(LADDER_TITLE, {
      change: { "video/avc-240p/seg-00001.m4s": enc.encode("another encode") },
      register: {
        renditions: [
          { id: "avc-240p", kind: "video", codec: "avc1.64001e", width: 426, height: 240, bandwidth: 3_000_000 },
          { id: "avc-480p", kind: "video", codec: "avc1.64001e", width: 854, height: 480, bandwidth: 4_000_000 },
          { id: "avc-720p", kind: "video", codec: "avc1.64001f", width: 1280, height: 720, bandwidth: 5_000_000 },
          { id: "aac-en", kind: "audio", codec: "mp4a.40.2", bandwidth: 128000, language: "en", label: "English" },
        ],
      },
    });
    expect(v2.version).toBeGreaterThan(old.version);
    expect((await fill(old.ocas.slice(0, 3).map((o) => ({ siteId: o.siteId, ocaId: o.ocaId, titleIds: [LADDER_TITLE] })))).status).toBe(200);
    // The old session still plays its own ladder: 1 Mbit/s is not too slow for it.
    expect((await probe(old, a)).slice(0, 2), "the old session after the re-publish").toEqual([a, b]);
    // A session of the new version is judged on the new ladder: 1 Mbit/s cannot carry 3 Mbit/s.
    const fresh = await play(LADDER_TITLE);
    expect(fresh.version).toBe(v2.version);
    const [c, d] = fresh.ocas.map((o) => o.ocaId);
    expect((await probe(fresh, c)).slice(0, 2), "a session of the new version").toEqual([d, c]);
  });
});

describe("a steering poll of a title taken down", () => {
  it("answers 410 and does not count as the stream's activity", async () => {
    const id = `rv-down-${crypto.randomUUID().slice(0, 8)}`;
    const member = env.MEMBER_STREAMS.get(env.MEMBER_STREAMS.idFromName(id));
    const p = await play(DOWN_TITLE, await memberToken("basic", id));
    const lastSeen = () =>
      runInDurableObject(
        member,
        async (_i, state) =>
          state.storage.sql.exec<{ last_seen: number }>(`SELECT last_seen FROM streams WHERE session_id = ?`, p.sessionId).toArray()[0]?.last_seen,
      );
    // The stream has been silent a while (its clock moved back in storage, read afresh by the object).
    await runInDurableObject(member, async (instance, state) => {
      state.storage.sql.exec(`UPDATE streams SET last_seen = last_seen - ?`, SILENCE_MS + 1);
      Object.assign(instance, { book: new StreamBook(state.storage.sql) });
    });
    const before = (await lastSeen())!;
    expect(before).toBeGreaterThan(0);
    expect((await call(`/admin/titles/${DOWN_TITLE}`, { method: "DELETE", headers: ADMIN })).status).toBe(200);
    // This isolate last told the object of the stream a minute ago: a touch is due.
    noteStreamActivity(p.sessionId, Date.now() - TOUCH_EVERY_MS);
    const res = await call(p.steering.server);
    expect(res.status).toBe(410);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("taken_down");
    await new Promise((r) => setTimeout(r, 300));
    expect(await lastSeen()).toBe(before);
  });
});
