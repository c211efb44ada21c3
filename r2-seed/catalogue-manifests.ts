/**
 * HLS (multivariant + media playlists), DASH MPD and WebVTT writers for the demo catalogue.
 * Every URI written here is RELATIVE (files are served behind a tokenised path prefix).
 */

export interface PackagedSegment {
  /** file name relative to the rendition dir, e.g. "seg-00001.m4s" */
  uri: string;
  durationS: number;
  bytes: number;
}

export interface PackagedMediaRendition {
  id: string;
  kind: "video" | "audio";
  /** rendition dir relative to the title dir, e.g. "video/avc-240p" */
  dir: string;
  codec: string;
  timescale: number;
  /** nominal segment duration in timescale units */
  segmentDuration: number;
  width?: number;
  height?: number;
  frameRate?: number;
  language?: string;
  name?: string;
  channels?: number;
  sampleRate?: number;
  segments: PackagedSegment[];
  /** max over segments of bytes*8/duration */
  peakBandwidth: number;
  averageBandwidth: number;
}

export interface PackagedSubtitle {
  id: string;
  language: string;
  name: string;
  /** relative to the title dir, e.g. "subs/sub-en.vtt" */
  vttPath: string;
  /** relative to the title dir, e.g. "subs/sub-en.m3u8" */
  playlistPath: string;
  bytes: number;
  bandwidth: number;
}

const fmtDur = (s: number): string => s.toFixed(6);

export function mediaPlaylist(r: PackagedMediaRendition): string {
  const target = Math.max(1, ...r.segments.map((s) => Math.round(s.durationS)));
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:7",
    `#EXT-X-TARGETDURATION:${target}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    "#EXT-X-PLAYLIST-TYPE:VOD",
    "#EXT-X-INDEPENDENT-SEGMENTS",
    '#EXT-X-MAP:URI="init.mp4"',
  ];
  for (const s of r.segments) lines.push(`#EXTINF:${fmtDur(s.durationS)},`, s.uri);
  lines.push("#EXT-X-ENDLIST");
  return lines.join("\n") + "\n";
}

/** One-segment subtitle media playlist pointing at the whole .vtt (same directory). */
export function subtitlePlaylist(durationS: number, vttFileName: string): string {
  return (
    [
      "#EXTM3U",
      "#EXT-X-VERSION:7",
      `#EXT-X-TARGETDURATION:${Math.ceil(durationS)}`,
      "#EXT-X-MEDIA-SEQUENCE:0",
      "#EXT-X-PLAYLIST-TYPE:VOD",
      `#EXTINF:${fmtDur(durationS)},`,
      vttFileName,
      "#EXT-X-ENDLIST",
    ].join("\n") + "\n"
  );
}

function vttTime(s: number): string {
  const ms = Math.round(s * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sec = Math.floor((ms % 60_000) / 1000);
  const milli = ms % 1000;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}.${String(milli).padStart(3, "0")}`;
}

/**
 * WebVTT with cues spread evenly over the duration. Includes an X-TIMESTAMP-MAP header
 * (cue time 0 == media time 0; our fMP4 tracks start at decode time 0), which hls.js and
 * Safari use to align subtitles and which WebVTT/DASH parsers ignore as a header line.
 */
export function webvtt(titleName: string, texts: string[], durationS: number): string {
  const out = ["WEBVTT", "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000", ""];
  const slot = durationS / texts.length;
  texts.forEach((text, i) => {
    const start = i * slot + 0.5;
    const end = (i + 1) * slot - 0.5;
    out.push(`${i + 1}`, `${vttTime(start)} --> ${vttTime(end)}`, titleName, text, "");
  });
  return out.join("\n");
}

function q(v: string): string {
  if (/["\n\r]/.test(v)) throw new Error(`invalid HLS quoted-string: ${v}`);
  return `"${v}"`;
}

export function masterPlaylist(
  video: PackagedMediaRendition[],
  audio: PackagedMediaRendition[],
  subs: PackagedSubtitle[],
): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS", ""];
  audio.forEach((a, i) => {
    lines.push(
      "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\"" +
        `,LANGUAGE=${q(a.language ?? "und")},NAME=${q(a.name ?? a.id)}` +
        `,DEFAULT=${i === 0 ? "YES" : "NO"},AUTOSELECT=YES,CHANNELS=${q(String(a.channels ?? 2))}` +
        `,URI=${q(`${a.dir}/index.m3u8`)}`,
    );
  });
  lines.push("");
  for (const s of subs) {
    lines.push(
      "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\"" +
        `,LANGUAGE=${q(s.language)},NAME=${q(s.name)},DEFAULT=NO,AUTOSELECT=YES,FORCED=NO` +
        `,URI=${q(s.playlistPath)}`,
    );
  }
  lines.push("");
  const audioCodec = audio[0]?.codec;
  const audioPeak = Math.max(0, ...audio.map((a) => a.peakBandwidth));
  const audioAvg = Math.max(0, ...audio.map((a) => a.averageBandwidth));
  for (const v of [...video].sort((a, b) => (a.height ?? 0) - (b.height ?? 0))) {
    const codecs = [v.codec, audioCodec].filter(Boolean).join(",");
    // Attribute list on ONE line, immediately followed by its URI line (the CDN removes
    // variants above a height cap by deleting this pair of lines).
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${Math.ceil(v.peakBandwidth + audioPeak)}` +
        `,AVERAGE-BANDWIDTH=${Math.ceil(v.averageBandwidth + audioAvg)}` +
        `,CODECS=${q(codecs)},RESOLUTION=${v.width}x${v.height}` +
        `,FRAME-RATE=${(v.frameRate ?? 25).toFixed(3)}` +
        `,AUDIO="aud"${subs.length ? ',SUBTITLES="subs"' : ""}`,
      `${v.dir}/index.m3u8`,
    );
  }
  return lines.join("\n") + "\n";
}

function xmlAttr(v: string | number): string {
  return String(v).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function isoDuration(s: number): string {
  return `PT${s.toFixed(3)}S`;
}

function segmentTemplate(r: PackagedMediaRendition): string {
  return (
    `<SegmentTemplate timescale="${r.timescale}" duration="${r.segmentDuration}" startNumber="1"` +
    ` initialization="${xmlAttr(`${r.dir}/init.mp4`)}" media="${xmlAttr(`${r.dir}/seg-$Number%05d$.m4s`)}"/>`
  );
}

/**
 * Static isoff-live MPD. Each video Representation carries width/height and is closed with
 * `</Representation>` (the CDN drops Representations above a height cap with a regex).
 */
export function dashMpd(
  durationS: number,
  video: PackagedMediaRendition[],
  audio: PackagedMediaRendition[],
  subs: PackagedSubtitle[],
): string {
  const maxSeg = Math.max(...[...video, ...audio].flatMap((r) => r.segments.map((s) => s.durationS)));
  const L: string[] = [];
  L.push('<?xml version="1.0" encoding="UTF-8"?>');
  L.push(
    '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static"' +
      ` mediaPresentationDuration="${isoDuration(durationS)}" maxSegmentDuration="${isoDuration(maxSeg)}" minBufferTime="PT4.000S">`,
  );
  L.push(`  <Period id="0" start="PT0S">`);
  let asId = 0;
  const frameRate = video[0]?.frameRate ?? 25;
  L.push(
    `    <AdaptationSet id="${asId++}" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1" frameRate="${frameRate}">`,
  );
  for (const v of [...video].sort((a, b) => (a.height ?? 0) - (b.height ?? 0))) {
    L.push(
      `      <Representation id="${xmlAttr(v.id)}" bandwidth="${Math.ceil(v.peakBandwidth)}" codecs="${xmlAttr(v.codec)}"` +
        ` width="${v.width}" height="${v.height}" frameRate="${frameRate}" sar="1:1">`,
    );
    L.push(`        ${segmentTemplate(v)}`);
    L.push(`      </Representation>`);
  }
  L.push(`    </AdaptationSet>`);
  audio.forEach((a, i) => {
    L.push(
      `    <AdaptationSet id="${asId++}" contentType="audio" mimeType="audio/mp4" lang="${xmlAttr(a.language ?? "und")}" segmentAlignment="true" startWithSAP="1">`,
    );
    L.push(`      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="${i === 0 ? "main" : "dub"}"/>`);
    L.push(
      `      <Representation id="${xmlAttr(a.id)}" bandwidth="${Math.ceil(a.peakBandwidth)}" codecs="${xmlAttr(a.codec)}" audioSamplingRate="${a.sampleRate ?? 48000}">`,
    );
    L.push(
      `        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${a.channels ?? 2}"/>`,
    );
    L.push(`        ${segmentTemplate(a)}`);
    L.push(`      </Representation>`);
    L.push(`    </AdaptationSet>`);
  });
  for (const s of subs) {
    L.push(`    <AdaptationSet id="${asId++}" contentType="text" mimeType="text/vtt" lang="${xmlAttr(s.language)}">`);
    L.push(`      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="subtitle"/>`);
    L.push(`      <Representation id="${xmlAttr(s.id)}" bandwidth="${Math.max(1, Math.ceil(s.bandwidth))}">`);
    L.push(`        <BaseURL>${xmlAttr(s.vttPath)}</BaseURL>`);
    L.push(`      </Representation>`);
    L.push(`    </AdaptationSet>`);
  }
  L.push(`  </Period>`);
  L.push(`</MPD>`);
  return L.join("\n") + "\n";
}
