import { beforeAll, describe, expect, it } from "vitest";
import { videoHeightOf } from "../shared/file-keys";
import { ADMIN, call, fill, GEO, memberToken, patternBytes, pressPlay, sha256Hex, type PlayResponse } from "./fixtures";

/**
 * Titles packaged by other tools, in the shapes they write (laid out in the folders the OCAs' height cap
 * reads), published through the admin API and played: every URI and URL a player resolves from the
 * steered HLS playlist, the steered MPD and each OCA's capped master and MPD (and from the media
 * playlists they name) must land on a file of the title, on the pathway's own OCA, within the session's
 * height cap, and serve its bytes (a byte range: 206 and those bytes).
 */

const enc = new TextEncoder();
const HEIGHTS = [240, 720, 1080] as const;
const WIDTH: Record<number, number> = { 240: 426, 720: 1280, 1080: 1920 };
const CODEC: Record<number, string> = { 240: "avc1.64001e", 720: "avc1.64001f", 1080: "avc1.640028" };
const BW: Record<number, number> = { 240: 400_000, 720: 2_500_000, 1080: 5_000_000 };

interface Packaged {
  titleId: string;
  files: Record<string, Uint8Array>;
}

let seed = 100;
const bytes = (n: number) => patternBytes(n, seed++);

/**
 * Shaka Packager: HLS and DASH on-demand from single-file renditions (one fMP4 each: init 0-822, sidx
 * 823-894, then two 4 s subsegments), media playlists beside the master with #EXT-X-BYTERANGE, I-frame
 * playlists, EXT-X-SESSION-KEY absolute (FairPlay) and relative (an AES-128 key in the title), and the
 * MPD's SegmentBase with indexRange under a relative BaseURL per Representation. The team adds
 * EXT-X-SESSION-DATA naming a file of the title.
 */
function shaka(titleId: string): Packaged {
  const f: Record<string, Uint8Array> = {};
  const single = (path: string) => (f[path] = bytes(4000));
  let master = `#EXTM3U
## Generated with https://github.com/shaka-project/shaka-packager version v3.2.0
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://fixture-key-1",KEYFORMATVERSIONS="1",KEYFORMAT="com.apple.streamingkeydelivery"
#EXT-X-SESSION-KEY:METHOD=AES-128,URI="keys/key.bin",KEYFORMAT="identity"
#EXT-X-SESSION-DATA:DATA-ID="com.example.chapters",URI="chapters.json",LANGUAGE="en"

#EXT-X-MEDIA:TYPE=AUDIO,URI="audio_en.m3u8",GROUP-ID="default-audio-group",LANGUAGE="en",NAME="stream_3",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2"
#EXT-X-MEDIA:TYPE=SUBTITLES,URI="text_en.m3u8",GROUP-ID="default-text-group",LANGUAGE="en",NAME="stream_4",AUTOSELECT=YES

`;
  const playlist = (file: string, extra = "", iframe = false) =>
    `#EXTM3U
#EXT-X-VERSION:6
## Generated with https://github.com/shaka-project/shaka-packager version v3.2.0
#EXT-X-TARGETDURATION:4
#EXT-X-PLAYLIST-TYPE:VOD
${iframe ? "#EXT-X-I-FRAMES-ONLY\n" : ""}#EXT-X-MAP:URI="${file}",BYTERANGE="823@0"
${extra}#EXTINF:4.000,
#EXT-X-BYTERANGE:${iframe ? "600" : "1553"}@895
${file}
#EXTINF:4.000,
#EXT-X-BYTERANGE:${iframe ? "600@2448" : "1552"}
${file}
#EXT-X-ENDLIST
`;
  const key = '#EXT-X-KEY:METHOD=AES-128,URI="keys/key.bin",IV=0x00000000000000000000000000000001,KEYFORMAT="identity"\n';
  let iframes = "";
  for (const h of HEIGHTS) {
    const file = `video/h264-${h}p/h264_${h}p.mp4`;
    single(file);
    f[`h264_${h}p.m3u8`] = enc.encode(playlist(file, key));
    f[`h264_${h}p_iframe.m3u8`] = enc.encode(playlist(file, key, true));
    master += `#EXT-X-STREAM-INF:BANDWIDTH=${BW[h]},AVERAGE-BANDWIDTH=${BW[h] - 1000},CODECS="${CODEC[h]},mp4a.40.2",RESOLUTION=${WIDTH[h]}x${h},FRAME-RATE=25.000,VIDEO-RANGE=SDR,AUDIO="default-audio-group",SUBTITLES="default-text-group",CLOSED-CAPTIONS=NONE\nh264_${h}p.m3u8\n`;
    iframes += `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=${BW[h] / 10},AVERAGE-BANDWIDTH=${BW[h] / 12},CODECS="${CODEC[h]}",RESOLUTION=${WIDTH[h]}x${h},VIDEO-RANGE=SDR,URI="h264_${h}p_iframe.m3u8"\n`;
  }
  f["master.m3u8"] = enc.encode(`${master}\n${iframes}`);
  single("audio/aac-en/audio_en.mp4");
  f["audio_en.m3u8"] = enc.encode(playlist("audio/aac-en/audio_en.mp4", key));
  f["subs/text_en.vtt"] = enc.encode("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello\n");
  f["text_en.m3u8"] = enc.encode(
    "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:8\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:8.000,\nsubs/text_en.vtt\n#EXT-X-ENDLIST\n",
  );
  f["keys/key.bin"] = bytes(16);
  f["chapters.json"] = enc.encode('{"chapters":[{"start":0,"title":"Opening"}]}');
  const reps = HEIGHTS.map(
    (h, i) => `      <Representation id="${i}" bandwidth="${BW[h]}" codecs="${CODEC[h]}" mimeType="video/mp4" sar="1:1" width="${WIDTH[h]}" height="${h}">
        <BaseURL>video/h264-${h}p/h264_${h}p.mp4</BaseURL>
        <SegmentBase indexRange="823-894" timescale="12800">
          <Initialization range="0-822"/>
        </SegmentBase>
      </Representation>`,
  ).join("\n");
  f["manifest.mpd"] = enc.encode(`<?xml version="1.0" encoding="UTF-8"?>
<!--Generated with https://github.com/shaka-project/shaka-packager version v3.2.0-->
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cenc="urn:mpeg:cenc:2013" xsi:schemaLocation="urn:mpeg:dash:schema:mpd:2011 DASH-MPD.xsd" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" minBufferTime="PT2S" type="static" mediaPresentationDuration="PT8S">
  <Period id="0">
    <AdaptationSet id="0" contentType="video" maxWidth="1920" maxHeight="1080" frameRate="12800/512" subsegmentAlignment="true" par="16:9">
${reps}
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" lang="en" subsegmentAlignment="true">
      <Representation id="3" bandwidth="130000" codecs="mp4a.40.2" mimeType="audio/mp4" audioSamplingRate="48000">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>
        <BaseURL>audio/aac-en/audio_en.mp4</BaseURL>
        <SegmentBase indexRange="823-894" timescale="48000">
          <Initialization range="0-822"/>
        </SegmentBase>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="2" contentType="text" lang="en">
      <Representation id="4" bandwidth="256" mimeType="text/vtt">
        <BaseURL>subs/text_en.vtt</BaseURL>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
`);
  return { titleId, files: f };
}

/**
 * Bento4 (mp4dash --hls): a folder per Representation named by its id, one SegmentTemplate per
 * AdaptationSet under a BaseURL per set (`video/`, `audio/`): video by $Number$, audio by a
 * SegmentTimeline and $Time$; HLS media and I-frame playlists in each rendition's folder.
 */
function bento4(titleId: string): Packaged {
  const f: Record<string, Uint8Array> = {};
  let master = `#EXTM3U
# Created with Bento4 mp4-dash.py, VERSION=2.0.0-640
#
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS

# Media Playlists
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio/mp4a",NAME="English",LANGUAGE="en",AUTOSELECT=YES,DEFAULT=YES,CHANNELS="2",URI="audio/aac-en/media.m3u8"

# Main Playlist
`;
  let iframes = "\n# I-Frame Playlists\n";
  const reps: string[] = [];
  for (const h of HEIGHTS) {
    const dir = `video/avc1-${h}p`;
    f[`${dir}/init.mp4`] = bytes(700);
    f[`${dir}/seg-1.m4s`] = bytes(3000);
    f[`${dir}/seg-2.m4s`] = bytes(3000);
    f[`${dir}/media.m3u8`] = enc.encode(
      `#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.000000,\nseg-1.m4s\n#EXTINF:4.000000,\nseg-2.m4s\n#EXT-X-ENDLIST\n`,
    );
    f[`${dir}/iframes.m3u8`] = enc.encode(
      `#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-I-FRAMES-ONLY\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.000000,\n#EXT-X-BYTERANGE:1200@0\nseg-1.m4s\n#EXTINF:4.000000,\n#EXT-X-BYTERANGE:1200@0\nseg-2.m4s\n#EXT-X-ENDLIST\n`,
    );
    master += `#EXT-X-STREAM-INF:AUDIO="audio/mp4a",AVERAGE-BANDWIDTH=${BW[h]},BANDWIDTH=${BW[h] + 200_000},CODECS="${CODEC[h]},mp4a.40.2",RESOLUTION=${WIDTH[h]}x${h},FRAME-RATE=25.000\n${dir}/media.m3u8\n`;
    iframes += `#EXT-X-I-FRAME-STREAM-INF:AVERAGE-BANDWIDTH=${BW[h] / 10},BANDWIDTH=${BW[h] / 8},CODECS="${CODEC[h]}",RESOLUTION=${WIDTH[h]}x${h},URI="${dir}/iframes.m3u8"\n`;
    reps.push(
      `      <Representation id="avc1-${h}p" codecs="${CODEC[h]}" width="${WIDTH[h]}" height="${h}" scanType="progressive" frameRate="25" bandwidth="${BW[h]}"/>`,
    );
  }
  f["master.m3u8"] = enc.encode(master + iframes);
  f["audio/aac-en/init.mp4"] = bytes(600);
  f["audio/aac-en/seg-0.m4s"] = bytes(2000);
  f["audio/aac-en/seg-192000.m4s"] = bytes(2000);
  f["audio/aac-en/media.m3u8"] = enc.encode(
    `#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.000000,\nseg-0.m4s\n#EXTINF:4.000000,\nseg-192000.m4s\n#EXT-X-ENDLIST\n`,
  );
  f["manifest.mpd"] = enc.encode(`<?xml version="1.0" ?>
<MPD mediaPresentationDuration="PT8.000S" minBufferTime="PT2.00S" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" xmlns="urn:mpeg:dash:schema:mpd:2011">
  <!-- Created with Bento4 mp4-dash.py, VERSION=2.0.0-640 -->
  <Period>
    <!-- Video -->
    <AdaptationSet maxHeight="1080" maxWidth="1920" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <BaseURL>video/</BaseURL>
      <SegmentTemplate duration="4000" initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/seg-$Number$.m4s" startNumber="1" timescale="1000"/>
${reps.join("\n")}
    </AdaptationSet>
    <!-- Audio -->
    <AdaptationSet lang="en" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1">
      <BaseURL>audio/</BaseURL>
      <SegmentTemplate initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/seg-$Time$.m4s" timescale="48000">
        <SegmentTimeline>
          <S d="192000" r="1" t="0"/>
        </SegmentTimeline>
      </SegmentTemplate>
      <Representation audioSamplingRate="48000" bandwidth="128000" codecs="mp4a.40.2" id="aac-en">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:mpegB:cicp:ChannelConfiguration" value="2"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
`);
  return { titleId, files: f };
}

/**
 * ffmpeg's dash muxer (-hls_playlist 1): Representations numbered from 0, a SegmentTemplate inside each
 * with a SegmentTimeline, `init-stream$RepresentationID$.m4s` and `chunk-stream$RepresentationID$-$Number%05d$.m4s`;
 * each rendition's files moved into its folder, which a BaseURL per Representation names; the HLS media
 * playlists `media_N.m3u8` beside the master.
 */
function ffmpeg(titleId: string): Packaged {
  const f: Record<string, Uint8Array> = {};
  let master = `#EXTM3U\n#EXT-X-VERSION:7\n\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_A1",NAME="audio_3",DEFAULT=YES,URI="media_3.m3u8"\n`;
  const reps: string[] = [];
  const media = (dir: string, i: number) =>
    `#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI="${dir}/init-stream${i}.m4s"\n#EXTINF:4.000000,\n${dir}/chunk-stream${i}-00001.m4s\n#EXTINF:4.000000,\n${dir}/chunk-stream${i}-00002.m4s\n#EXT-X-ENDLIST\n`;
  const template = (
    timescale: number,
  ) => `				<SegmentTemplate timescale="${timescale}" initialization="init-stream$RepresentationID$.m4s" media="chunk-stream$RepresentationID$-$Number%05d$.m4s" startNumber="1">
					<SegmentTimeline>
						<S t="0" d="${timescale * 4}" r="1" />
					</SegmentTimeline>
				</SegmentTemplate>`;
  HEIGHTS.forEach((h, i) => {
    const dir = `video/avc-${h}p`;
    f[`${dir}/init-stream${i}.m4s`] = bytes(800);
    f[`${dir}/chunk-stream${i}-00001.m4s`] = bytes(2500);
    f[`${dir}/chunk-stream${i}-00002.m4s`] = bytes(2500);
    f[`media_${i}.m3u8`] = enc.encode(media(dir, i));
    master += `#EXT-X-STREAM-INF:BANDWIDTH=${BW[h]},RESOLUTION=${WIDTH[h]}x${h},CODECS="${CODEC[h]},mp4a.40.2",AUDIO="group_A1"\nmedia_${i}.m3u8\n\n`;
    reps.push(`			<Representation id="${i}" mimeType="video/mp4" codecs="${CODEC[h]}" bandwidth="${BW[h]}" width="${WIDTH[h]}" height="${h}" sar="1:1">
				<BaseURL>${dir}/</BaseURL>
${template(12800)}
			</Representation>`);
  });
  f["audio/aac-en/init-stream3.m4s"] = bytes(600);
  f["audio/aac-en/chunk-stream3-00001.m4s"] = bytes(1500);
  f["audio/aac-en/chunk-stream3-00002.m4s"] = bytes(1500);
  f["media_3.m3u8"] = enc.encode(media("audio/aac-en", 3));
  f["master.m3u8"] = enc.encode(master);
  f["manifest.mpd"] = enc.encode(`<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
	xmlns="urn:mpeg:dash:schema:mpd:2011"
	xmlns:xlink="http://www.w3.org/1999/xlink"
	xsi:schemaLocation="urn:mpeg:DASH:schema:MPD:2011 http://standards.iso.org/ittf/PubliclyAvailableStandards/MPEG-DASH_schema_files/DASH-MPD.xsd"
	profiles="urn:mpeg:dash:profile:isoff-live:2011"
	type="static"
	mediaPresentationDuration="PT8.0S"
	maxSegmentDuration="PT4.0S"
	minBufferTime="PT8.0S">
	<ProgramInformation>
	</ProgramInformation>
	<ServiceDescription id="0">
	</ServiceDescription>
	<Period id="0" start="PT0.0S">
		<AdaptationSet id="0" contentType="video" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true" frameRate="25/1" maxWidth="1920" maxHeight="1080" par="16:9" lang="und">
${reps.join("\n")}
		</AdaptationSet>
		<AdaptationSet id="1" contentType="audio" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true" lang="und">
			<Representation id="3" mimeType="audio/mp4" codecs="mp4a.40.2" bandwidth="128000" audioSamplingRate="48000">
				<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2" />
				<BaseURL>audio/aac-en/</BaseURL>
${template(48000)}
			</Representation>
		</AdaptationSet>
	</Period>
</MPD>
`);
  return { titleId, files: f };
}

/** Uploads a packaged title's files to origin and registers it (`PUT /admin/origin/…`, `PUT /admin/titles/…`). */
async function publish(t: Packaged): Promise<void> {
  const list = [];
  for (const [path, body] of Object.entries(t.files)) {
    const sha256 = await sha256Hex(body);
    const res = await call(`/admin/origin/${t.titleId}/${path}`, {
      method: "PUT",
      body,
      headers: { ...ADMIN, "X-Content-SHA256": sha256, "Content-Length": String(body.byteLength) },
    });
    if (res.status !== 201) throw new Error(`upload ${path}: ${res.status} ${await res.text()}`);
    list.push({ path, bytes: body.byteLength, sha256 });
  }
  const from = "2020-01-01T00:00:00.000Z";
  const res = await call(`/admin/titles/${t.titleId}`, {
    method: "PUT",
    headers: { ...ADMIN, "Content-Type": "application/json" },
    body: JSON.stringify({
      name: `Foreign ${t.titleId}`,
      description: "a title packaged by another tool",
      durationS: 8,
      renditions: [
        ...HEIGHTS.map((h) => ({ id: `avc-${h}p`, kind: "video", codec: CODEC[h], width: WIDTH[h], height: h, bandwidth: BW[h] })),
        { id: "aac-en", kind: "audio", codec: "mp4a.40.2", bandwidth: 128000, language: "en", label: "English" },
      ],
      files: list,
      licences: [{ country: "US", availableFrom: from }],
    }),
  });
  if (res.status !== 200) throw new Error(`register ${t.titleId}: ${res.status} ${await res.text()}`);
}

// ---- what a player resolves -------------------------------------------------------------------

/** One request a player would make: a URL, the pathway (OCA) it was reached through, and a byte range. */
interface Fetch {
  url: string;
  ocaId: string;
  range?: [number, number];
  from: string;
}

/** A playlist's or MPD's text (workerd warns of `.text()` on a type it does not take for text). */
const textOf = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

const attr = (tag: string, name: string) => new RegExp(`(?:^|[:,])${name}="([^"]*)"`).exec(tag)?.[1];

/** The requests a media playlist (at `url`) names: EXT-X-MAP, EXT-X-KEY and segments, with their byte ranges. */
function mediaPlaylistFetches(text: string, url: string, ocaId: string): Fetch[] {
  const out: Fetch[] = [];
  let next: [number, number] | undefined;
  const lastEnd = new Map<string, number>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#EXT-X-MAP:") || line.startsWith("#EXT-X-KEY:")) {
      const u = attr(line, "URI");
      if (!u || !/^https?:|^[^:]*$/.test(u)) continue;
      const br = attr(line, "BYTERANGE");
      const [len, off] = (br ?? "").split("@").map(Number);
      out.push({ url: new URL(u, url).href, ocaId, from: url, range: br ? [off, off + len - 1] : undefined });
    } else if (line.startsWith("#EXT-X-BYTERANGE:")) {
      const [len, off] = line.slice(17).split("@").map(Number);
      next = [off ?? Number.NaN, len];
    } else if (line && !line.startsWith("#")) {
      const abs = new URL(line, url).href;
      let range: [number, number] | undefined;
      if (next) {
        const start = Number.isNaN(next[0]) ? lastEnd.get(abs)! : next[0];
        range = [start, start + next[1] - 1];
        lastEnd.set(abs, start + next[1]);
      }
      out.push({ url: abs, ocaId, from: url, range });
      next = undefined;
    }
  }
  return out;
}

/** Every request a player makes from a multivariant playlist (steered: by PATHWAY-ID; else all on `ocaId`), media playlists followed. */
async function hlsFetches(master: string, masterUrl: string, ocaOf: (tag: string) => string): Promise<Fetch[]> {
  const out: Fetch[] = [];
  const lines = master.split("\n");
  const playlists: Fetch[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line.startsWith("#EXT-X-CONTENT-STEERING")) return;
    if (line.startsWith("#EXT-X-STREAM-INF:")) {
      let j = i + 1;
      while (lines[j].trim() === "" || lines[j].startsWith("#")) j++;
      playlists.push({ url: new URL(lines[j].trim(), masterUrl).href, ocaId: ocaOf(line), from: masterUrl });
      return;
    }
    const u = line.startsWith("#EXT") ? attr(line, "URI") : undefined;
    if (u === undefined || !/^https?:|^[^:]*$/.test(u)) return; // skd:, data: name no file
    const f = { url: new URL(u, masterUrl).href, ocaId: ocaOf(line), from: masterUrl };
    if (line.startsWith("#EXT-X-MEDIA:") || line.startsWith("#EXT-X-I-FRAME-STREAM-INF:")) playlists.push(f);
    else out.push(f);
  });
  for (const p of playlists) {
    out.push(p);
    const res = await call(p.url);
    expect(res.status, `${p.url} (from ${p.from})`).toBe(200);
    out.push(...mediaPlaylistFetches(await textOf(res), p.url, p.ocaId));
  }
  return out;
}

interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
  text: string;
}

/** A small XML reader, enough for an MPD: elements, attributes, text. */
function parseXml(xml: string): El {
  const root: El = { name: "#document", attrs: {}, children: [], text: "" };
  const stack = [root];
  const unesc = (s: string) =>
    s
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, "&");
  for (const m of xml.matchAll(/<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<(\/?)([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g)) {
    if (m[5] !== undefined) stack[stack.length - 1].text += unesc(m[5]);
    else if (!m[2]) continue;
    else if (m[1]) stack.pop();
    else {
      const attrs = Object.fromEntries([...m[3].matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)].map((a) => [a[1], unesc(a[2] ?? a[3])]));
      const el: El = { name: m[2], attrs, children: [], text: "" };
      stack[stack.length - 1].children.push(el);
      if (!m[4]) stack.push(el);
    }
  }
  return root.children.find((e) => e.name === "MPD")!;
}

const kids = (e: El, name: string) => e.children.filter((c) => c.name === name);
const seconds = (d: string) => {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?$/.exec(d)!;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
};

/**
 * Each element's bases (ISO/IEC 23009-1 §5.6, RFC 3986 §5.2): its BaseURLs each resolved against each of
 * its parent's, or the parent's own when it has none. A base carries the pathway its MPD-level BaseURL
 * named (serviceLocation) or, with none, `ocaId`.
 */
function basesOf(e: El, parents: Array<{ url: string; ocaId: string }>): Array<{ url: string; ocaId: string }> {
  const own = kids(e, "BaseURL");
  if (!own.length) return parents;
  return parents.flatMap((p) => own.map((b) => ({ url: new URL(b.text.trim(), p.url).href, ocaId: b.attrs.serviceLocation ?? p.ocaId })));
}

/** $RepresentationID$, $Bandwidth$, $Number$, $Time$ (with %0Nd widths) and $$ in a SegmentTemplate's string. */
function expand(t: string, rep: El, number?: number, time?: number): string {
  return t.replace(/\$(RepresentationID|Bandwidth|Number|Time|)(?:%0(\d+)d)?\$/g, (_x, id: string, w?: string) => {
    const v = id === "" ? "$" : id === "RepresentationID" ? rep.attrs.id : String(id === "Bandwidth" ? rep.attrs.bandwidth : id === "Number" ? number : time);
    return w ? v.padStart(Number(w), "0") : v;
  });
}

/** Every request a player makes from an MPD at `mpdUrl` (with no MPD-level pathway, all on `ocaId`); and the heights it offers. */
function dashFetches(text: string, mpdUrl: string, ocaId: string): { fetches: Fetch[]; heights: number[] } {
  const mpd = parseXml(text);
  const total = seconds(mpd.attrs.mediaPresentationDuration);
  const fetches: Fetch[] = [];
  const heights: number[] = [];
  const top = basesOf(mpd, [{ url: mpdUrl, ocaId }]);
  for (const period of kids(mpd, "Period")) {
    const pb = basesOf(period, top);
    for (const set of kids(period, "AdaptationSet")) {
      const sb = basesOf(set, pb);
      for (const rep of kids(set, "Representation")) {
        if (rep.attrs.height) heights.push(Number(rep.attrs.height));
        const rb = basesOf(rep, sb);
        // A Representation's SegmentTemplate inherits its AdaptationSet's, attribute by attribute.
        const templates = [...kids(set, "SegmentTemplate"), ...kids(rep, "SegmentTemplate")];
        const attrs: Record<string, string> = Object.assign({}, ...templates.map((e) => e.attrs));
        const timeline = templates.flatMap((e) => kids(e, "SegmentTimeline")).pop();
        const segBase = kids(rep, "SegmentBase")[0] ?? kids(set, "SegmentBase")[0];
        for (const b of rb) {
          const at = (ref: string, range?: [number, number]) => fetches.push({ url: new URL(ref, b.url).href, ocaId: b.ocaId, from: mpdUrl, range });
          if (attrs.media) {
            if (attrs.initialization) at(expand(attrs.initialization, rep));
            const start = Number(attrs.startNumber ?? 1);
            if (timeline) {
              let n = start;
              let t = 0;
              for (const s of kids(timeline, "S")) {
                if (s.attrs.t !== undefined) t = Number(s.attrs.t);
                for (let k = 0; k <= Number(s.attrs.r ?? 0); k++, n++, t += Number(s.attrs.d)) at(expand(attrs.media, rep, n, t));
              }
            } else {
              const count = Math.ceil(total / (Number(attrs.duration) / Number(attrs.timescale ?? 1)));
              for (let k = 0; k < count; k++) at(expand(attrs.media, rep, start + k));
            }
          } else if (segBase) {
            const range = (r: string) => r.split("-").map(Number) as [number, number];
            const init = kids(segBase, "Initialization")[0];
            if (init) at("", range(init.attrs.range));
            at("", range(segBase.attrs.indexRange));
            at("");
          } else at("");
        }
      }
    }
  }
  return { fetches, heights };
}

/**
 * Fetches each request through the Worker and checks it lands where it must: under one of `pathways`
 * (the one it was reached through), on a file of the title (not above `cap`), with that file's bytes.
 */
async function expectServed(fetches: Fetch[], t: Packaged, pathways: PlayResponse["ocas"], cap: number): Promise<void> {
  expect(fetches.length).toBeGreaterThan(0);
  for (const f of fetches) {
    const where = `${f.url} (from ${f.from})`;
    const oca = pathways.find((o) => o.ocaId === f.ocaId);
    expect(oca, where).toBeDefined();
    expect(f.url.startsWith(oca!.url), `${where} is not under ${oca!.url}`).toBe(true);
    const path = f.url.slice(oca!.url.length).split("?")[0];
    expect(Object.keys(t.files), where).toContain(path);
    expect(videoHeightOf(path) ?? 0, where).toBeLessThanOrEqual(cap);
    const res = await call(f.url, f.range ? { headers: { Range: `bytes=${f.range[0]}-${f.range[1]}` } } : {});
    expect(res.status, where).toBe(f.range ? 206 : 200);
    const body = new Uint8Array(await res.arrayBuffer());
    const want = f.range ? t.files[path].slice(f.range[0], f.range[1] + 1) : t.files[path];
    expect(body.byteLength, where).toBe(want.byteLength);
    expect(
      body.every((x, k) => x === want[k]),
      where,
    ).toBe(true);
  }
}

// ---- the titles, published and played -----------------------------------------------------------

const TITLES = [shaka("fp-shaka"), bento4("fp-bento4"), ffmpeg("fp-ffmpeg")];
const CAP = { standard: 720, premium: 2160 } as const;

beforeAll(async () => {
  for (const t of TITLES) await publish(t);
  const ocas = [
    { siteId: "lumen-nyc", ocaId: "lumen-nyc-1" },
    { siteId: "lumen-nyc", ocaId: "lumen-nyc-2" },
    { siteId: "ixp-nyc", ocaId: "ixp-nyc-1" },
  ];
  expect((await fill(ocas.map((o) => ({ ...o, titleIds: TITLES.map((t) => t.titleId) })))).status).toBe(200);
}, 60_000);

async function play(titleId: string, plan: keyof typeof CAP): Promise<PlayResponse> {
  const res = await pressPlay(await memberToken(plan), { titleId, device: { codecs: ["avc1", "mp4a"], maxHeight: 2160 } }, GEO.lumenNyc);
  expect(res.status).toBe(200);
  return (await res.json()) as PlayResponse;
}

describe.each(TITLES.map((t) => [t.titleId, t] as const))("a title packaged as %s", (_name, t) => {
  it.each(["standard", "premium"] as const)(
    "plays from the steered HLS playlist on every pathway, %s plan",
    async (plan) => {
      const p = await play(t.titleId, plan);
      const text = await textOf(await call(p.steering.hls));
      const first = /PATHWAY-ID="([^"]+)"/.exec(text)![1];
      // A variant names its pathway; a rendition's group is suffixed with it; a tag of the whole playlist goes to the first.
      const ocaOf = (tag: string) => attr(tag, "PATHWAY-ID") ?? p.ocas.find((o) => attr(tag, "GROUP-ID")?.endsWith(`-${o.ocaId}`))?.ocaId ?? first;
      const fetches = await hlsFetches(text, p.steering.hls, ocaOf);
      for (const o of p.ocas)
        expect(
          fetches.some((f) => f.ocaId === o.ocaId && f.url.includes("/video/")),
          o.ocaId,
        ).toBe(true);
      await expectServed(fetches, t, p.ocas, CAP[plan]);
    },
    60_000,
  );

  it.each(["standard", "premium"] as const)(
    "plays from the steered MPD on every pathway, %s plan",
    async (plan) => {
      const p = await play(t.titleId, plan);
      const text = await (await call(p.steering.dash)).text();
      const { fetches, heights } = dashFetches(text, p.steering.dash, "(the steering server)");
      expect(Math.max(...heights)).toBe(Math.min(1080, CAP[plan]));
      for (const o of p.ocas)
        expect(
          fetches.some((f) => f.ocaId === o.ocaId && f.url.includes("/video/")),
          o.ocaId,
        ).toBe(true);
      await expectServed(fetches, t, p.ocas, CAP[plan]);
    },
    60_000,
  );

  it("plays from each OCA's capped master and MPD", async () => {
    const p = await play(t.titleId, "standard");
    for (const o of p.ocas) {
      const hls = await call(`${o.url}master.m3u8`);
      expect(hls.status).toBe(200);
      const text = await textOf(hls);
      expect(text).not.toContain("1080");
      await expectServed(await hlsFetches(text, `${o.url}master.m3u8`, () => o.ocaId), t, p.ocas, CAP.standard);
      const mpd = await call(`${o.url}manifest.mpd`);
      expect(mpd.status).toBe(200);
      const { fetches, heights } = dashFetches(await mpd.text(), `${o.url}manifest.mpd`, o.ocaId);
      expect(Math.max(...heights)).toBe(720);
      await expectServed(fetches, t, p.ocas, CAP.standard);
    }
  }, 60_000);
});
