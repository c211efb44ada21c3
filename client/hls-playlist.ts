/**
 * A small HLS playlist parser: enough of RFC 8216 (and the Content Steering tag) for the SDK's
 * headless segment fetcher. Pure; URIs are resolved against the playlist's own URL.
 */

export type Attrs = Record<string, string>;

/** Parses an attribute list: KEY=value,KEY="quoted, with commas",... */
export function parseAttributes(list: string): Attrs {
  const out: Attrs = {};
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
  const ls = text.split(/\r?\n/).map((l) => l.trim());
  if (ls[0] !== "#EXTM3U") throw new Error("not an HLS playlist (no #EXTM3U)");
  return ls;
}

const resolve = (uri: string, base: string) => new URL(uri, base).href;

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
      const [w, h] = (a.RESOLUTION ?? "").split("x").map(Number);
      variants.push({
        uri: resolve(ls[j], baseUrl),
        bandwidth: Number(a.BANDWIDTH),
        averageBandwidth: a["AVERAGE-BANDWIDTH"] ? Number(a["AVERAGE-BANDWIDTH"]) : undefined,
        codecs: a.CODECS,
        width: w || undefined,
        height: h || undefined,
        audio: a.AUDIO,
        subtitles: a.SUBTITLES,
        pathwayId: a["PATHWAY-ID"] ?? ".",
      });
      i = j;
    } else if (l.startsWith("#EXT-X-MEDIA:")) {
      const a = parseAttributes(l.slice("#EXT-X-MEDIA:".length));
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
      steering = { serverUri: resolve(a["SERVER-URI"], baseUrl), pathwayId: a["PATHWAY-ID"] };
    }
  }
  return { variants, media, steering };
}

export function parseMediaPlaylist(text: string, baseUrl: string): MediaPlaylist {
  const ls = lines(text);
  const segments: Segment[] = [];
  let initUri: string | undefined;
  let targetDurationS = 0;
  let endList = false;
  let t = 0;
  let pendingDur: number | null = null;
  for (const l of ls) {
    if (l.startsWith("#EXT-X-TARGETDURATION:")) targetDurationS = Number(l.split(":")[1]);
    else if (l.startsWith("#EXT-X-MAP:")) initUri = resolve(parseAttributes(l.slice("#EXT-X-MAP:".length)).URI, baseUrl);
    else if (l.startsWith("#EXTINF:")) pendingDur = parseFloat(l.slice("#EXTINF:".length));
    else if (l === "#EXT-X-ENDLIST") endList = true;
    else if (l !== "" && !l.startsWith("#") && pendingDur !== null) {
      segments.push({ uri: resolve(l, baseUrl), durationS: pendingDur, startS: t });
      t += pendingDur;
      pendingDur = null;
    }
  }
  return { initUri, targetDurationS, segments, endList, totalS: t };
}
