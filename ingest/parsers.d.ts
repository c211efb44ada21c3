/** Types for the parts of mpd-parser (videojs, ships no types) that the self-check uses. */
declare module "mpd-parser" {
  export interface MpdSegment {
    uri: string;
    resolvedUri: string;
    duration: number;
    number: number;
    map?: { uri: string; resolvedUri: string };
  }
  export interface MpdPlaylist {
    attributes: {
      NAME: string;
      BANDWIDTH: number;
      CODECS?: string;
      RESOLUTION?: { width: number; height: number };
      "FRAME-RATE"?: number;
      AUDIO?: string;
      SUBTITLES?: string;
    };
    uri: string;
    resolvedUri: string;
    segments: MpdSegment[];
  }
  export interface MpdMediaGroupEntry {
    language: string;
    default?: boolean;
    autoselect?: boolean;
    playlists: MpdPlaylist[];
    uri?: string;
  }
  export interface ParsedMpd {
    duration: number;
    playlists: MpdPlaylist[];
    mediaGroups: {
      AUDIO: Record<string, Record<string, MpdMediaGroupEntry>>;
      SUBTITLES: Record<string, Record<string, MpdMediaGroupEntry>>;
    };
  }
  export function parse(manifest: string, options?: { manifestUri?: string }): ParsedMpd;
}
