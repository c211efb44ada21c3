/** Object keys and content types of a title's files: the same for the Worker, ingest and the seed. */

/** Key of a title file in the origin bucket. */
export function originKey(titleId: string, path: string): string {
  return `${titleId}/${path}`;
}

/** Key of an OCA's copy of a title file in its tier bucket. */
export function ocaKey(siteId: string, ocaId: string, titleId: string, path: string): string {
  return `${siteId}/${ocaId}/${titleId}/${path}`;
}

/** Content-Type by extension for the kinds of file a title has. */
export function contentTypeFor(path: string): string {
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  switch (ext) {
    case "m3u8":
      return "application/vnd.apple.mpegurl";
    case "mpd":
      return "application/dash+xml";
    case "m4s":
      return path.startsWith("audio/") ? "audio/iso.segment" : "video/iso.segment";
    case "mp4":
      return path.startsWith("audio/") ? "audio/mp4" : "video/mp4";
    case "m4a":
      return "audio/mp4";
    case "vtt":
      return "text/vtt; charset=utf-8";
    case "json":
      return "application/json";
    default:
      return "application/octet-stream";
  }
}

/** Manifests change meaning with the session's cap and may be re-published; media files never change. */
export function isManifest(path: string): boolean {
  return path.endsWith(".m3u8") || path.endsWith(".mpd");
}

/** Height of the video rendition a path belongs to (video/{codec}-{height}p/...), or null. */
export function videoHeightOf(path: string): number | null {
  const m = /^video\/[a-z0-9]+-(\d{2,4})p\//.exec(path);
  return m ? Number(m[1]) : null;
}
