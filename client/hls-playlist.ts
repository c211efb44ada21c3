/**
 * A small HLS playlist parser: enough of RFC 8216 (and the Content Steering tag) for the SDK's
 * headless segment fetcher. Pure; URIs are resolved against the playlist's own URL.
 */

export type Attrs = Record<string, string>;

/**
 * Bounds on what a playlist off the network may hold: the parser refuses more rather than keep it.
 * A day of 1 s segments is 86,400; a ladder of every codec at every height is a few dozen variants.
 */
export const PLAYLIST_LIMITS = {
  /** Characters of one playlist. */
  chars: 16 * 1024 * 1024,
  /** Variants (EXT-X-STREAM-INF) and renditions (EXT-X-MEDIA) of a multivariant playlist, each. */
  variants: 1_000,
  /** Segments of a media playlist. */
  segments: 200_000,
  /** Seconds of one segment (EXTINF); a segment must also last more than 0. */
  segmentS: 600,
} as const;

/** A playlist that cannot be played as it is: not HLS, over a bound, or a segment duration out of range. */
export class PlaylistError extends Error {}

/** A positive whole number of bits/s (BANDWIDTH, AVERAGE-BANDWIDTH are decimal-integers), else undefined. */
function bitsPerS(v: string | undefined): number | undefined {
  const n = v === undefined || !/^\d{1,15}$/.test(v) ? Number.NaN : Number(v);
  return n > 0 ? n : undefined;
}

/** Parses an attribute list: KEY=value,KEY="quoted, with commas",... (no prototype: keys come off the network). */
export function parseAttributes(list: string): Attrs {
  const out: Attrs = Object.create(null);
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(list)) !== null) {
    const v = m[2];
    out[m[1]] = v.startsWith('"') ? v.slice(1, -1) : v;
    if (m[0] === "") re.lastIndex++;
  }
  return out;
}

export interface Variant {
  uri: string;
  bandwidth: number;
  averageBandwidth?: number;
  codecs?: string;
  width?: number;
  height?: number;
  audio?: string;
  subtitles?: string;
  pathwayId: string;
}

export interface Media {
  type: "AUDIO" | "SUBTITLES" | "VIDEO" | "CLOSED-CAPTIONS";
  groupId: string;
  language?: string;
  name: string;
  default: boolean;
  uri?: string;
}

export interface Multivariant {
  variants: Variant[];
  media: Media[];
  steering?: { serverUri: string; pathwayId?: string };
}

export interface Segment {
  uri: string;
  durationS: number;
  /** Start time within the playlist (s). */
  startS: number;
}

export interface MediaPlaylist {
  initUri?: string;
  targetDurationS: number;
  segments: Segment[];
  endList: boolean;
  totalS: number;
}

function lines(text: string): string[] {
  if (text.length > PLAYLIST_LIMITS.chars) throw new PlaylistError(`playlist over ${PLAYLIST_LIMITS.chars} characters`);
  const ls = text.split(/\r?\n/).map((l) => l.trim());
  if (ls[0] !== "#EXTM3U") throw new PlaylistError("not an HLS playlist (no #EXTM3U)");
  return ls;
}

const resolve = (uri: string, base: string) => new URL(uri, base).href;

/**
 * Parses a multivariant playlist. A variant without a valid BANDWIDTH (a positive decimal-integer) is
 * left out: the ladder is sorted and chosen by it. Throws a PlaylistError beyond PLAYLIST_LIMITS.
 */
export function parseMultivariant(text: string, baseUrl: string): Multivariant {
  const ls = lines(text);
  const variants: Variant[] = [];
  const media: Media[] = [];
  let steering: Multivariant["steering"];
  for (let i = 0; i < ls.length; i++) {
    const l = ls[i];
    if (l.startsWith("#EXT-X-STREAM-INF:")) {
      const a = parseAttributes(l.slice("#EXT-X-STREAM-INF:".length));
      let j = i + 1;
      while (j < ls.length && (ls[j] === "" || ls[j].startsWith("#"))) j++;
      if (j >= ls.length) break;
      i = j;
      const bandwidth = bitsPerS(a.BANDWIDTH);
      if (bandwidth === undefined) continue;
      if (variants.length >= PLAYLIST_LIMITS.variants) throw new PlaylistError(`over ${PLAYLIST_LIMITS.variants} variants`);
      const [w, h] = (a.RESOLUTION ?? "").split("x").map(Number);
      variants.push({
        uri: resolve(ls[j], baseUrl),
        bandwidth,
        averageBandwidth: bitsPerS(a["AVERAGE-BANDWIDTH"]),
        codecs: a.CODECS,
        width: w || undefined,
        height: h || undefined,
        audio: a.AUDIO,
        subtitles: a.SUBTITLES,
        pathwayId: a["PATHWAY-ID"] ?? ".",
      });
    } else if (l.startsWith("#EXT-X-MEDIA:")) {
      const a = parseAttributes(l.slice("#EXT-X-MEDIA:".length));
      if (media.length >= PLAYLIST_LIMITS.variants) throw new PlaylistError(`over ${PLAYLIST_LIMITS.variants} renditions`);
      media.push({
        type: a.TYPE as Media["type"],
        groupId: a["GROUP-ID"],
        language: a.LANGUAGE,
        name: a.NAME,
        default: a.DEFAULT === "YES",
        uri: a.URI ? resolve(a.URI, baseUrl) : undefined,
      });
    } else if (l.startsWith("#EXT-X-CONTENT-STEERING:")) {
      const a = parseAttributes(l.slice("#EXT-X-CONTENT-STEERING:".length));
      if (a["SERVER-URI"] !== undefined) steering = { serverUri: resolve(a["SERVER-URI"], baseUrl), pathwayId: a["PATHWAY-ID"] };
    }
  }
  return { variants, media, steering };
}

/**
 * Parses a media playlist. Throws a PlaylistError on a segment whose duration is not a number of
 * seconds in (0, PLAYLIST_LIMITS.segmentS] (one NaN, negative or huge EXTINF would stall or end the
 * playback clock) or beyond PLAYLIST_LIMITS.
 */
export function parseMediaPlaylist(text: string, baseUrl: string): MediaPlaylist {
  const ls = lines(text);
  const segments: Segment[] = [];
  let initUri: string | undefined;
  let targetDurationS = 0;
  let endList = false;
  let t = 0;
  let pendingDur: number | null = null;
  for (const l of ls) {
    if (l.startsWith("#EXT-X-TARGETDURATION:")) {
      const target = Number(l.slice("#EXT-X-TARGETDURATION:".length));
      targetDurationS = Number.isFinite(target) && target > 0 ? target : 0;
    } else if (l.startsWith("#EXT-X-MAP:")) {
      const uri = parseAttributes(l.slice("#EXT-X-MAP:".length)).URI;
      if (uri !== undefined) initUri = resolve(uri, baseUrl);
    } else if (l.startsWith("#EXTINF:")) {
      // "#EXTINF:<duration>,[<title>]": parseFloat would read "4abc" as 4 and "1e9" as a 31-year segment.
      const dur = Number(l.slice("#EXTINF:".length).split(",")[0]);
      if (!(Number.isFinite(dur) && dur > 0 && dur <= PLAYLIST_LIMITS.segmentS))
        throw new PlaylistError(`segment ${segments.length + 1}: duration not in (0, ${PLAYLIST_LIMITS.segmentS}] s`);
      pendingDur = dur;
    } else if (l === "#EXT-X-ENDLIST") endList = true;
    else if (l !== "" && !l.startsWith("#") && pendingDur !== null) {
      if (segments.length >= PLAYLIST_LIMITS.segments) throw new PlaylistError(`over ${PLAYLIST_LIMITS.segments} segments`);
      segments.push({ uri: resolve(l, baseUrl), durationS: pendingDur, startS: t });
      t += pendingDur;
      pendingDur = null;
    }
  }
  return { initUri, targetDurationS, segments, endList, totalS: t };
}
