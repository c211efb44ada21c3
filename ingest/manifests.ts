/**
 * HLS (multivariant + media playlists) and DASH MPD writers (moved here from
 * r2-seed/catalogue-manifests.ts; now with several video codecs and fractional frame rates).
 * Every URI written here is RELATIVE (files are served behind a tokenised path prefix).
 */

export interface PackagedSegment {
  /** file name relative to the rendition dir, e.g. "seg-00001.m4s" */
  uri: string;
  durationS: number;
  /** duration in the rendition's timescale (exact) */
  ticks: number;
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
  /** frames per second as num/den (video) */
  frameRate?: { num: number; den: number };
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

/** A media playlist's EXT-X-TARGETDURATION: every segment's duration rounded to the nearest second fits in it (RFC 8216 4.3.3.1). */
export function targetDuration(segments: ReadonlyArray<Pick<PackagedSegment, "durationS">>): number {
  return Math.max(1, ...segments.map((s) => Math.round(s.durationS)));
}

/**
 * The peak segment bit rate (RFC 8216 4.3.4.2, BANDWIDTH): the largest bit rate of any run of consecutive
 * segments lasting between 0.5 and 1.5 target durations, or of them all when the whole is shorter. A
 * single segment's own rate is not it: the last segment is often a few frames starting with a keyframe,
 * whose rate alone was several times the rendition's, and players steer by BANDWIDTH.
 */
export function peakSegmentBitrate(segments: ReadonlyArray<Pick<PackagedSegment, "durationS" | "bytes">>): number {
  const target = targetDuration(segments);
  let peak = 0;
  for (let i = 0; i < segments.length; i++) {
    let s = 0;
    let bytes = 0;
    // a run ends once it is past 1.5 target durations: segments are about one each, so runs are short
    for (let j = i; j < segments.length && s + segments[j].durationS <= 1.5 * target; j++) {
      s += segments[j].durationS;
      bytes += segments[j].bytes;
      if (s >= 0.5 * target) peak = Math.max(peak, (bytes * 8) / s);
    }
  }
  if (peak > 0) return Math.ceil(peak);
  // no run qualifies (all of it lasts under half a second): the rate of the whole
  const totalS = segments.reduce((n, x) => n + x.durationS, 0);
  const totalBytes = segments.reduce((n, x) => n + x.bytes, 0);
  return totalS > 0 ? Math.ceil((totalBytes * 8) / totalS) : 0;
}

export function mediaPlaylist(r: PackagedMediaRendition): string {
  const target = targetDuration(r.segments);
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

function q(v: string): string {
  if (/["\n\r]/.test(v)) throw new Error(`invalid HLS quoted-string: ${v}`);
  return `"${v}"`;
}

export function masterPlaylist(video: PackagedMediaRendition[], audio: PackagedMediaRendition[], subs: PackagedSubtitle[]): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS", ""];
  audio.forEach((a, i) => {
    lines.push(
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud"' +
        `,LANGUAGE=${q(a.language ?? "und")},NAME=${q(a.name ?? a.id)}` +
        `,DEFAULT=${i === 0 ? "YES" : "NO"},AUTOSELECT=YES,CHANNELS=${q(String(a.channels ?? 2))}` +
        `,URI=${q(`${a.dir}/index.m3u8`)}`,
    );
  });
  lines.push("");
  for (const s of subs) {
    lines.push(
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs"' +
        `,LANGUAGE=${q(s.language)},NAME=${q(s.name)},DEFAULT=NO,AUTOSELECT=YES,FORCED=NO` +
        `,URI=${q(s.playlistPath)}`,
    );
  }
  lines.push("");
  const audioCodec = audio[0]?.codec;
  const audioPeak = Math.max(0, ...audio.map((a) => a.peakBandwidth));
  const audioAvg = Math.max(0, ...audio.map((a) => a.averageBandwidth));
  for (const v of sortVideo(video)) {
    const codecs = [v.codec, audioCodec].filter(Boolean).join(",");
    // Attribute list on ONE line, immediately followed by its URI line (the CDN removes
    // variants above a height cap by deleting this pair of lines).
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${Math.ceil(v.peakBandwidth + audioPeak)}` +
        `,AVERAGE-BANDWIDTH=${Math.ceil(v.averageBandwidth + audioAvg)}` +
        `,CODECS=${q(codecs)},RESOLUTION=${v.width}x${v.height}` +
        `,FRAME-RATE=${v.frameRate ? (v.frameRate.num / v.frameRate.den).toFixed(3) : "25.000"}` +
        `,AUDIO="aud"${subs.length ? ',SUBTITLES="subs"' : ""}`,
      `${v.dir}/index.m3u8`,
    );
  }
  return lines.join("\n") + "\n";
}

const CODEC_ORDER = ["avc1", "avc3", "vp09", "av01"];
const family = (codec: string) => codec.split(".")[0];

/** Video renditions by codec family (H.264 first), then by height. */
function sortVideo(video: PackagedMediaRendition[]): PackagedMediaRendition[] {
  const rank = (c: string) => CODEC_ORDER.indexOf(family(c)) + 1 || 99;
  return [...video].sort((a, b) => rank(a.codec) - rank(b.codec) || (a.height ?? 0) - (b.height ?? 0) || a.id.localeCompare(b.id));
}

function frameRateAttr(fr: { num: number; den: number } | undefined): string {
  if (!fr) return "25";
  return fr.den === 1 ? String(fr.num) : `${fr.num}/${fr.den}`;
}

function xmlAttr(v: string | number): string {
  return String(v).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function isoDuration(s: number): string {
  return `PT${Number(s.toFixed(6))}S`;
}

/**
 * SegmentTemplate with an explicit SegmentTimeline (run-length encoded): the number and exact
 * duration of every segment is written out, so players never have to derive the segment count
 * from a floating-point division of the period duration (which is off by one for 29.97 fps
 * content), and audio segments (whole AAC frames) are described as they really are.
 */
function segmentTemplate(r: PackagedMediaRendition, indent: string): string {
  const runs: Array<{ d: number; r: number }> = [];
  for (const seg of r.segments) {
    const last = runs[runs.length - 1];
    if (last && last.d === seg.ticks) last.r++;
    else runs.push({ d: seg.ticks, r: 0 });
  }
  const lines = [
    `${indent}<SegmentTemplate timescale="${r.timescale}" startNumber="1"` +
      ` initialization="${xmlAttr(`${r.dir}/init.mp4`)}" media="${xmlAttr(`${r.dir}/seg-$Number%05d$.m4s`)}">`,
    `${indent}  <SegmentTimeline>`,
    ...runs.map((x, i) => `${indent}    <S ${i === 0 ? 't="0" ' : ""}d="${x.d}"${x.r ? ` r="${x.r}"` : ""}/>`),
    `${indent}  </SegmentTimeline>`,
    `${indent}</SegmentTemplate>`,
  ];
  return lines.join("\n");
}

/**
 * Static isoff-live MPD. Each video Representation carries width/height and is closed with
 * `</Representation>` (the CDN drops Representations above a height cap with a regex).
 */
export function dashMpd(durationS: number, video: PackagedMediaRendition[], audio: PackagedMediaRendition[], subs: PackagedSubtitle[]): string {
  const maxSeg = Math.max(...[...video, ...audio].flatMap((r) => r.segments.map((s) => s.durationS)));
  const L: string[] = [];
  L.push('<?xml version="1.0" encoding="UTF-8"?>');
  L.push(
    '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static"' +
      ` mediaPresentationDuration="${isoDuration(durationS)}" maxSegmentDuration="${isoDuration(maxSeg)}" minBufferTime="PT4.000S">`,
  );
  L.push(`  <Period id="0" start="PT0S">`);
  let asId = 0;
  // one video AdaptationSet per codec family (players pick the family they can decode)
  const families = [...new Set(sortVideo(video).map((v) => family(v.codec)))];
  for (const fam of families) {
    const reps = sortVideo(video).filter((v) => family(v.codec) === fam);
    const frameRate = frameRateAttr(reps[0].frameRate);
    L.push(
      `    <AdaptationSet id="${asId++}" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1" frameRate="${frameRate}"` +
        ` maxWidth="${Math.max(...reps.map((r) => r.width ?? 0))}" maxHeight="${Math.max(...reps.map((r) => r.height ?? 0))}">`,
    );
    for (const v of reps) {
      // one line per Representation start tag, with height="N" (the CDN drops Representations above a cap)
      L.push(
        `      <Representation id="${xmlAttr(v.id)}" bandwidth="${Math.ceil(v.peakBandwidth)}" codecs="${xmlAttr(v.codec)}"` +
          ` width="${v.width}" height="${v.height}" frameRate="${frameRateAttr(v.frameRate)}" sar="1:1">`,
      );
      L.push(segmentTemplate(v, "        "));
      L.push(`      </Representation>`);
    }
    L.push(`    </AdaptationSet>`);
  }
  audio.forEach((a, i) => {
    L.push(
      `    <AdaptationSet id="${asId++}" contentType="audio" mimeType="audio/mp4" lang="${xmlAttr(a.language ?? "und")}" segmentAlignment="true" startWithSAP="1">`,
    );
    L.push(`      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="${i === 0 ? "main" : "dub"}"/>`);
    L.push(
      `      <Representation id="${xmlAttr(a.id)}" bandwidth="${Math.ceil(a.peakBandwidth)}" codecs="${xmlAttr(a.codec)}" audioSamplingRate="${a.sampleRate ?? 48000}">`,
    );
    L.push(`        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${a.channels ?? 2}"/>`);
    L.push(segmentTemplate(a, "        "));
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
